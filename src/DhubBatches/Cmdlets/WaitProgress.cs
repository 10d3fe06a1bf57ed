using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Management.Automation;

namespace DhubBatches.Cmdlets;

/// <summary>
/// The progress display of a wait: an overall bar when there are several batches, one bar per batch (the first few),
/// a child bar per step. Throttled to a few updates a second; every bar shown gets its Completed record. A bar is
/// written again only when what it shows changed: the display keeps the last record of each bar, and a job's Progress
/// would otherwise fill with copies every round.
/// </summary>
internal sealed class WaitProgress
{
    /// <summary>Per-batch bars beyond this many would flood the console; the overall bar still counts them all.</summary>
    private const int MaxBatchBars = 10;

    private const int OverallId = 1;

    private static readonly TimeSpan s_interval = TimeSpan.FromMilliseconds(250);

    private readonly ICommandStreams _host;
    // Keyed by the objects themselves, not by text built from them: looking a bar up costs no allocation.
    private readonly Dictionary<(DhubConnection, string, string), int> _batchIds = new Dictionary<(DhubConnection, string, string), int>();
    private readonly Dictionary<(int, string), int> _stepIds = new Dictionary<(int, string), int>();
    private readonly Dictionary<int, ProgressRecord> _shown = new Dictionary<int, ProgressRecord>();
    /// <summary>The Batch each batch bar last showed: a wait keeps the same Batch while nothing about it changes.</summary>
    private readonly Dictionary<int, Batch> _drawn = new Dictionary<int, Batch>();
    private readonly Stopwatch _sinceLast = new Stopwatch();
    private int _nextId = OverallId + 1;
    private int _doneShown = -1;

    public WaitProgress(ICommandStreams host) => _host = host;

    /// <summary>False while the last update is too recent to show another.</summary>
    public bool IsDue => !_sinceLast.IsRunning || _sinceLast.Elapsed >= s_interval;

    /// <summary>The bars of the batches still waited on, out of <paramref name="total"/>; a thousand job waits call it every round, so it allocates nothing for a bar that has not changed.</summary>
    public void Show(IReadOnlyList<WaitEntry> pending, int total)
    {
        if (!IsDue)
        {
            return;
        }
        _sinceLast.Restart();
        var parent = -1;
        if (total > 1)
        {
            var done = total - pending.Count;
            if (done != _doneShown)
            {
                _doneShown = done;
                Write(OverallId, new ProgressRecord(OverallId, "Waiting for batches", $"{done} of {total} complete")
                {
                    PercentComplete = done * 100 / total,
                });
            }
            parent = OverallId;
        }
        for (var i = 0; i < pending.Count && i < MaxBatchBars; i++)
        {
            var batch = pending[i].Latest;
            var id = BarOf(batch);
            if (_drawn.TryGetValue(id, out var drawn) && ReferenceEquals(drawn, batch))
            {
                continue;
            }
            _drawn[id] = batch;
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
                var stepId = StepBarOf(id, step.Name);
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
        if (!_batchIds.TryGetValue((batch.Connection, batch.PipelineId, batch.Id), out var id))
        {
            return; // never shown
        }
        foreach (var step in batch.Steps)
        {
            if (_stepIds.TryGetValue((id, step.Name), out var stepId))
            {
                CompleteBar(stepId);
            }
        }
        CompleteBar(id);
        _drawn.Remove(id);
    }

    public void CompleteAll()
    {
        foreach (var record in _shown.Values.OrderByDescending(r => r.ActivityId).ToList())
        {
            record.RecordType = ProgressRecordType.Completed;
            _host.WriteProgress(record);
        }
        _shown.Clear();
        _drawn.Clear();
    }

    private void CompleteBar(int id)
    {
        if (_shown.TryGetValue(id, out var record))
        {
            record.RecordType = ProgressRecordType.Completed;
            _host.WriteProgress(record);
            _shown.Remove(id);
        }
    }

    private int BarOf(Batch batch)
    {
        var key = (batch.Connection, batch.PipelineId, batch.Id);
        if (!_batchIds.TryGetValue(key, out var id))
        {
            id = _nextId++;
            _batchIds[key] = id;
        }
        return id;
    }

    private int StepBarOf(int batchBar, string step)
    {
        if (!_stepIds.TryGetValue((batchBar, step), out var id))
        {
            id = _nextId++;
            _stepIds[(batchBar, step)] = id;
        }
        return id;
    }

    private void Write(int id, ProgressRecord record)
    {
        _shown[id] = record;
        _host.WriteProgress(record);
    }
}
