using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Management.Automation;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using DhubBatches.Engine;

namespace DhubBatches.Cmdlets;

/// <summary>
/// The wait loop of Wait-DhubBatch, Start-DhubBatch -Wait and Stop-DhubBatch -Wait. One loop for all batches:
/// each is polled once per interval (a bounded number at a time), emitted as it completes, and shown with a
/// progress bar per batch and a child bar per step. Runs on the pipeline thread; only the polls are async.
/// </summary>
internal sealed class BatchWaiter
{
    /// <summary>Polls in flight at once; enough to keep 1,000 batches on a 5 s interval, few enough for any server.</summary>
    private const int MaxConcurrentPolls = 16;

    /// <summary>Per-batch bars beyond this many would flood the console; the overall bar still counts them all.</summary>
    private const int MaxBatchBars = 10;

    private static readonly TimeSpan s_progressInterval = TimeSpan.FromMilliseconds(250);

    private readonly DhubCmdlet _host;
    private readonly IBatchEngine _engine;
    private readonly TimeSpan? _timeout;
    private readonly TimeSpan _interval;
    private readonly bool _any;
    private readonly ProgressBars _progress;

    public BatchWaiter(DhubCmdlet host, IBatchEngine engine, TimeSpan? timeout, TimeSpan interval, bool any = false)
    {
        _host = host;
        _engine = engine;
        _timeout = timeout;
        _interval = interval;
        _any = any;
        _progress = new ProgressBars(host);
    }

    /// <summary>Write each completed batch (off for Stop-DhubBatch -Wait without -PassThru).</summary>
    public bool WriteBatches { get; set; } = true;

    /// <summary>Write DhubBatchFailed for a batch that completes Failed (Wait-DhubBatch and Start -Wait).</summary>
    public bool ReportFailures { get; set; } = true;

    /// <summary>Waits for the batches, writing each as it completes; writes DhubWaitTimeout for the rest.</summary>
    public void Run(IReadOnlyList<Batch> batches)
    {
        var pending = Distinct(batches);
        var total = pending.Count;
        var clock = Stopwatch.StartNew();
        try
        {
            while (pending.Count > 0)
            {
                var roundStarted = clock.Elapsed;
                Poll(pending, _timeout - clock.Elapsed);
                foreach (var entry in pending.ToList())
                {
                    if (!entry.Latest.IsComplete && !entry.Dropped)
                    {
                        continue;
                    }
                    pending.Remove(entry);
                    if (entry.Dropped)
                    {
                        continue;
                    }
                    _progress.Complete(entry.Latest);
                    Emit(entry.Latest);
                    if (_any)
                    {
                        return;
                    }
                }
                _progress.Show(pending.Select(e => e.Latest).ToList(), total);
                if (pending.Count == 0)
                {
                    return;
                }

                var untilNextRound = roundStarted + _interval - clock.Elapsed;
                if (_timeout.HasValue)
                {
                    var left = _timeout.Value - clock.Elapsed;
                    if (left <= TimeSpan.Zero)
                    {
                        TimedOut(pending);
                        return;
                    }
                    if (left < untilNextRound)
                    {
                        untilNextRound = left;
                    }
                }
                if (untilNextRound > TimeSpan.Zero)
                {
                    _host.WaitFor(Task.Delay(untilNextRound, _host.StopToken));
                }
                if (_timeout.HasValue && clock.Elapsed >= _timeout.Value)
                {
                    TimedOut(pending);
                    return;
                }
            }
        }
        finally
        {
            _progress.CompleteAll();
        }
    }

    private void Poll(List<Entry> pending, TimeSpan? left)
    {
        // -Timeout bounds the whole call: a poll still retrying a slow or failing server when it passes is given up
        // (the batch keeps its last known state), so the wait never overruns -Timeout by the retries of one round.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(_host.StopToken);
        if (left.HasValue && left.Value > TimeSpan.Zero)
        {
            deadline.CancelAfter(left.Value);
        }
        // A few workers walk the list, each polling the next batch as its previous answer arrives: no per-batch
        // task, waiter or cancellation registration, and no extra thread hop between one answer and the next poll.
        var cursor = new StrongBox<int>(-1);
        var polls = new Task[Math.Min(MaxConcurrentPolls, pending.Count)];
        for (var i = 0; i < polls.Length; i++)
        {
            polls[i] = _host.Start(token => PollEach(pending, cursor, token), deadline.Token);
        }
        _host.WaitFor(Task.WhenAll(polls));
        foreach (var entry in pending.Where(e => e.Error != null))
        {
            var error = entry.Error!;
            entry.Error = null;
            if (error.Kind == DhubErrorKind.DhubServiceUnavailable || error.Kind == DhubErrorKind.DhubInvalidResponse)
            {
                // The server may recover before the timeout: keep the last known state and try again next round.
                _host.WriteWarning($"Could not refresh batch {entry.Latest}: {error.Message} Still waiting.");
                continue;
            }
            entry.Dropped = true;
            _host.WriteError(DhubErrors.Record(error, entry.Latest));
        }
    }

    private async Task PollEach(List<Entry> pending, StrongBox<int> cursor, CancellationToken token)
    {
        int index;
        while ((index = Interlocked.Increment(ref cursor.Value)) < pending.Count)
        {
            if (token.IsCancellationRequested)
            {
                _host.StopToken.ThrowIfCancellationRequested();
                return; // -Timeout passed before these batches' turn: they keep their last known state.
            }
            var entry = pending[index];
            try
            {
                entry.Latest = await _engine.GetAsync(entry.Latest.PipelineId, entry.Latest.Id, token).ConfigureAwait(false);
            }
            catch (DhubException ex)
            {
                entry.Error = ex;
            }
            catch (OperationCanceledException) when (!_host.StopToken.IsCancellationRequested)
            {
                // -Timeout passed during this poll: the batch keeps its last known state.
            }
        }
    }

    private void Emit(Batch batch)
    {
        if (WriteBatches)
        {
            _host.WriteObject(batch);
        }
        if (ReportFailures && batch.Outcome == BatchOutcome.Failed)
        {
            var failed = string.Join(", ", batch.Steps.Where(s => s.State == StepState.Failed).Select(s => s.Name));
            _host.WriteError(DhubErrors.Record(
                DhubErrorKind.DhubBatchFailed,
                $"Batch {batch.PipelineId}/{batch.Id} failed" + (failed.Length > 0 ? $" (step {failed})." : "."),
                batch));
        }
    }

    private void TimedOut(List<Entry> pending)
    {
        foreach (var entry in pending)
        {
            if (WriteBatches)
            {
                _host.WriteObject(entry.Latest);
            }
            _host.WriteError(DhubErrors.Record(
                DhubErrorKind.DhubWaitTimeout,
                $"Batch {entry.Latest.PipelineId}/{entry.Latest.Id} did not complete within {_timeout!.Value.TotalSeconds:0.###} s " +
                $"(state {entry.Latest.State.ToString().ToLowerInvariant()}; {entry.Latest.StepSummary}). The batch keeps running.",
                entry.Latest));
        }
    }

    private static List<Entry> Distinct(IReadOnlyList<Batch> batches)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var result = new List<Entry>();
        foreach (var batch in batches)
        {
            if (seen.Add(batch.PipelineId + "\n" + batch.Id))
            {
                result.Add(new Entry(batch));
            }
        }
        return result;
    }

    private sealed class Entry
    {
        public Entry(Batch batch) => Latest = batch;

        public Batch Latest { get; set; }

        public DhubException? Error { get; set; }

        public bool Dropped { get; set; }
    }

    /// <summary>Throttled progress: at most a few updates a second, and a Completed record for every bar shown.</summary>
    private sealed class ProgressBars
    {
        private const int OverallId = 1;
        private readonly DhubCmdlet _host;
        private readonly Dictionary<string, int> _ids = new Dictionary<string, int>(StringComparer.Ordinal);
        private readonly Dictionary<int, ProgressRecord> _shown = new Dictionary<int, ProgressRecord>();
        private readonly Stopwatch _sinceLast = new Stopwatch();
        private int _nextId = OverallId + 1;

        public ProgressBars(DhubCmdlet host) => _host = host;

        public void Show(IReadOnlyList<Batch> pending, int total)
        {
            if (_sinceLast.IsRunning && _sinceLast.Elapsed < s_progressInterval)
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
                    PercentComplete = total == 0 ? 100 : done * 100 / total,
                });
                parent = OverallId;
            }
            foreach (var batch in pending.Take(MaxBatchBars))
            {
                var id = IdOf(batch.PipelineId + "\n" + batch.Id);
                var finished = batch.Steps.Count(s => s.IsFinished);
                var running = batch.Steps.FirstOrDefault(s => s.State == StepState.Running);
                var status = batch.State.ToString().ToLowerInvariant() + (running != null ? " - " + running.Name : string.Empty);
                Write(id, new ProgressRecord(id, $"Batch {batch.PipelineId}/{batch.Id}", status)
                {
                    ParentActivityId = parent,
                    PercentComplete = batch.Steps.Count == 0 ? 0 : finished * 100 / batch.Steps.Count,
                });
                foreach (var step in batch.Steps)
                {
                    var stepId = IdOf(batch.PipelineId + "\n" + batch.Id + "\n" + step.Name);
                    var text = step.State.ToString().ToLowerInvariant() + (step.Offsets.Count > 0 ? ": " + step.OffsetSummary : string.Empty);
                    Write(stepId, new ProgressRecord(stepId, step.Name, text)
                    {
                        ParentActivityId = id,
                        PercentComplete = step.IsFinished ? 100 : 0,
                    });
                }
            }
        }

        public void Complete(Batch batch)
        {
            foreach (var step in batch.Steps)
            {
                CompleteId(batch.PipelineId + "\n" + batch.Id + "\n" + step.Name);
            }
            CompleteId(batch.PipelineId + "\n" + batch.Id);
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

        private void CompleteId(string key)
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
}
