using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Management.Automation;

namespace DhubBatches.Cmdlets;

/// <summary>
/// The progress display of a wait: an overall bar when there are several batches, one bar per batch (the first few),
/// a child bar per step. Throttled to a few updates a second; every bar shown gets its Completed record.
/// </summary>
internal sealed class WaitProgress
{
    /// <summary>Per-batch bars beyond this many would flood the console; the overall bar still counts them all.</summary>
    private const int MaxBatchBars = 10;

    private const int OverallId = 1;

    private static readonly TimeSpan s_interval = TimeSpan.FromMilliseconds(250);

    private readonly ICommandStreams _host;
    private readonly Dictionary<string, int> _ids = new Dictionary<string, int>(StringComparer.Ordinal);
    private readonly Dictionary<int, ProgressRecord> _shown = new Dictionary<int, ProgressRecord>();
    private readonly Stopwatch _sinceLast = new Stopwatch();
    private int _nextId = OverallId + 1;

    public WaitProgress(ICommandStreams host) => _host = host;

    public void Show(IReadOnlyList<Batch> pending, int total)
    {
        if (_sinceLast.IsRunning && _sinceLast.Elapsed < s_interval)
        {
            return;
        }
        _sinceLast.Restart();
        var parent = -1;
        if (total > 1)
        {
            var done = total - pending.Count;
            Write(OverallId, new ProgressRecord(OverallId, "Waiting for batches", $"{done} of {total} complete")
            {
                PercentComplete = done * 100 / total,
            });
            parent = OverallId;
        }
        foreach (var batch in pending.Take(MaxBatchBars))
        {
            var id = IdOf(KeyOf(batch));
            var finished = batch.Steps.Count(s => s.IsFinished);
            var running = batch.Steps.FirstOrDefault(s => s.State == StepState.Running);
            var status = batch.StateText + (running != null ? " - " + running.Name : string.Empty);
            Write(id, new ProgressRecord(id, $"Batch {batch.PipelineId}/{batch.Id}", status)
            {
                ParentActivityId = parent,
                PercentComplete = batch.Steps.Count == 0 ? 0 : finished * 100 / batch.Steps.Count,
            });
            foreach (var step in batch.Steps)
            {
                var stepId = IdOf(KeyOf(batch) + "\n" + step.Name);
                var text = step.State.ToString().ToLowerInvariant() + (step.Offsets.Count > 0 ? ": " + step.OffsetSummary : string.Empty);
                Write(stepId, new ProgressRecord(stepId, step.Name, text)
                {
                    ParentActivityId = id,
                    PercentComplete = step.IsFinished ? 100 : 0,
                });
            }
        }
    }

    /// <summary>Removes a completed batch's bars.</summary>
    public void Complete(Batch batch)
    {
        foreach (var step in batch.Steps)
        {
            CompleteKey(KeyOf(batch) + "\n" + step.Name);
        }
        CompleteKey(KeyOf(batch));
    }

    public void CompleteAll()
    {
        foreach (var record in _shown.Values.OrderByDescending(r => r.ActivityId).ToList())
        {
            record.RecordType = ProgressRecordType.Completed;
            _host.WriteProgress(record);
        }
        _shown.Clear();
    }

    private static string KeyOf(Batch batch) => batch.Connection.Uri + "\n" + batch.PipelineId + "\n" + batch.Id;

    private void CompleteKey(string key)
    {
        if (_ids.TryGetValue(key, out var id) && _shown.TryGetValue(id, out var record))
        {
            record.RecordType = ProgressRecordType.Completed;
            _host.WriteProgress(record);
            _shown.Remove(id);
        }
    }

    private int IdOf(string key)
    {
        if (!_ids.TryGetValue(key, out var id))
        {
            id = _nextId++;
            _ids[key] = id;
        }
        return id;
    }

    private void Write(int id, ProgressRecord record)
    {
        _shown[id] = record;
        _host.WriteProgress(record);
    }
}
