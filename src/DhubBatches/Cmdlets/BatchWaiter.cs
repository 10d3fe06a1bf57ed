using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using DhubBatches.Contract;

namespace DhubBatches.Cmdlets;

/// <summary>
/// The wait loop of Wait-DhubBatch and of -Wait on Start-, Stop- and Restart-DhubBatch. One loop for all batches: each
/// round asks every connection's engine once for all of its unfinished batches (the engine reads them in as few
/// requests as its API allows), outputs each batch as it completes, and shows progress. Runs on the pipeline thread.
/// </summary>
internal sealed class BatchWaiter
{
    /// <summary>
    /// The last look after -Timeout gets at most this long: enough for a healthy server's answer, so a batch that
    /// finished in the last interval is not reported late, and short enough that a hung server stretches -Timeout by
    /// no more than this.
    /// </summary>
    private static readonly TimeSpan s_lastLookBudget = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A worker's normal cancel takes 10–30 s; a run still cancelling with no step running after that has likely lost
    /// whatever should end it (Prefect: a runner that cancels only live processes).
    /// </summary>
    private static readonly TimeSpan s_stuckCancel = TimeSpan.FromSeconds(30);

    private readonly ICommandStreams _host;
    private readonly CommandPump _pump;
    private readonly TimeSpan? _timeout;
    private readonly TimeSpan _interval;
    private readonly bool _any;
    private readonly WaitProgress _progress;
    private readonly Dictionary<DhubConnection, IBatchRefresher> _refreshers = new Dictionary<DhubConnection, IBatchRefresher>();

    public BatchWaiter(DhubCmdlet host, TimeSpan? timeout, TimeSpan interval, bool any = false)
        : this(host, host.Pump, timeout, interval, any)
    {
    }

    /// <summary>A wait that writes to <paramref name="output"/> through <paramref name="pump"/>: a job's, under -AsJob.</summary>
    public BatchWaiter(ICommandStreams output, CommandPump pump, TimeSpan? timeout, TimeSpan interval, bool any = false)
    {
        _host = output;
        _pump = pump;
        _timeout = timeout;
        _interval = interval;
        _any = any;
        _progress = new WaitProgress(output);
    }

    /// <summary>Write each completed batch (off for Stop-DhubBatch -Wait without -PassThru).</summary>
    public bool WriteBatches { get; set; } = true;

    /// <summary>Write DhubBatchFailed for a batch that completes Failed (Wait-DhubBatch, Start and Restart -Wait).</summary>
    public bool ReportFailures { get; set; } = true;

    /// <summary>Warn once about a batch that stays stopping with nothing running (Stop-DhubBatch -Wait).</summary>
    public bool WarnStuckStops { get; set; }

    /// <summary>
    /// Where the wait gets each connection's refresher; by default a new one per wait. Jobs share one per connection
    /// (<see cref="SharedRefreshers"/>) so their rounds are read together.
    /// </summary>
    public Func<DhubConnection, IBatchRefresher>? RefresherSource { get; set; }

    /// <summary>
    /// Count the interval from each round's answer instead of its start: jobs that shared a round then ask for the
    /// next one together and share it again.
    /// </summary>
    public bool PaceFromAnswer { get; set; }

    private CommandPump Pump => _pump;

    /// <summary>Waits for the batches, writing each as it completes; writes DhubWaitTimeout for the rest.</summary>
    public void Run(IReadOnlyList<Batch> batches)
    {
        var pending = Distinct(batches);
        var total = pending.Count;
        var clock = Stopwatch.StartNew();
        try
        {
            while (true)
            {
                var roundStarted = clock.Elapsed;
                Refresh(pending, _timeout - clock.Elapsed);
                if (PaceFromAnswer)
                {
                    roundStarted = clock.Elapsed;
                }
                if (EmitCompleted(pending))
                {
                    return;
                }
                if (WarnStuckStops)
                {
                    WarnStuck(pending, clock.Elapsed);
                }
                _progress.Show(pending.Select(e => e.Latest).ToList(), total);

                var untilNextRound = roundStarted + _interval - clock.Elapsed;
                if (_timeout.HasValue)
                {
                    var left = _timeout.Value - clock.Elapsed;
                    if (left <= TimeSpan.Zero)
                    {
                        LastLook(pending);
                        return;
                    }
                    if (left < untilNextRound)
                    {
                        untilNextRound = left;
                    }
                }
                if (untilNextRound > TimeSpan.Zero)
                {
                    Pump.Run(token => Task.Delay(untilNextRound, token));
                }
                if (_timeout.HasValue && clock.Elapsed >= _timeout.Value)
                {
                    LastLook(pending);
                    return;
                }
            }
        }
        finally
        {
            _progress.CompleteAll();
        }
    }

    /// <summary>-Timeout has passed: read the unfinished batches once more, so one that finished meanwhile is not reported late.</summary>
    private void LastLook(List<Entry> pending)
    {
        Refresh(pending, s_lastLookBudget);
        if (EmitCompleted(pending))
        {
            return;
        }
        foreach (var entry in pending)
        {
            var batch = entry.Latest;
            if (WriteBatches)
            {
                _host.WriteObject(batch);
            }
            var state = batch.StateText;
            var steps = batch.Steps.Count > 0 ? "; " + batch.StepSummary : string.Empty;
            // A batch that is stopping is not running on: say what it waits for, and how to end it.
            var after = IsStopping(batch)
                ? " It is still Cancelling: a stop was asked and nothing has finished it. If its worker or runner is gone, Stop-DhubBatch -Force marks it Cancelled."
                : " The batch keeps running.";
            WriteItemError(
                new DhubException(
                    DhubErrorKind.DhubWaitTimeout,
                    string.Format(CultureInfo.InvariantCulture, "Batch {0}/{1} did not complete within {2:0.###} s (state {3}{4}).{5}", batch.PipelineId, batch.Id, _timeout!.Value.TotalSeconds, state, steps, after)),
                batch);
        }
    }

    private static bool IsStopping(Batch batch) =>
        batch.EngineState != null && batch.EngineState.StartsWith("CANCELLING", StringComparison.OrdinalIgnoreCase);

    /// <summary>One warning per batch that has been stopping for <see cref="s_stuckCancel"/> with no step running.</summary>
    private void WarnStuck(List<Entry> pending, TimeSpan now)
    {
        foreach (var entry in pending)
        {
            var batch = entry.Latest;
            if (!IsStopping(batch) || batch.Steps.Any(s => s.State == StepState.Running))
            {
                entry.StoppingIdleSince = null;
                continue;
            }
            entry.StoppingIdleSince ??= now;
            if (!entry.StuckWarned && now - entry.StoppingIdleSince.Value >= s_stuckCancel)
            {
                entry.StuckWarned = true;
                _host.WriteWarning(string.Format(CultureInfo.InvariantCulture,
                    "Batch {0}/{1} is still Cancelling and no step has run for {2:0} s: its worker or runner may be gone, and nothing may ever finish the stop. Stop-DhubBatch -Force marks it Cancelled.",
                    batch.PipelineId, batch.Id, (now - entry.StoppingIdleSince.Value).TotalSeconds));
            }
        }
    }

    /// <summary>Outputs and removes the batches that completed (or failed to be read); true when the wait is over.</summary>
    private bool EmitCompleted(List<Entry> pending)
    {
        foreach (var entry in pending.Where(e => e.Dropped || e.Latest.IsComplete).ToList())
        {
            pending.Remove(entry);
            if (entry.Dropped)
            {
                continue;
            }
            _progress.Complete(entry.Latest);
            Emit(entry.Latest);
            if (_any)
            {
                return true;
            }
        }
        return pending.Count == 0;
    }

    /// <summary>One round: every connection's unfinished batches at once; a round cut short by -Timeout keeps the last known states.</summary>
    private void Refresh(List<Entry> pending, TimeSpan? budget)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(Pump.StopToken);
        if (budget.HasValue && budget.Value > TimeSpan.Zero)
        {
            deadline.CancelAfter(budget.Value);
        }
        var rounds = new List<(List<Entry> Entries, Task<IReadOnlyList<RefreshResult>> Task)>();
        foreach (var group in pending.GroupBy(e => e.Latest.Connection))
        {
            var entries = group.ToList();
            var refresher = RefresherOf(group.Key);
            var keys = entries.Select(e => e.Key).ToList();
            rounds.Add((entries, Pump.Start(token => refresher.RefreshAsync(keys, token), deadline.Token)));
        }
        Pump.Run(_ => Settled(rounds.Select(r => (Task)r.Task)));
        if (Pump.StopToken.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }

        var failures = new List<(Entry Entry, DhubException Error)>();
        foreach (var (entries, task) in rounds)
        {
            if (task.IsCanceled)
            {
                continue; // -Timeout passed during the round: these batches keep their last known state.
            }
            if (task.IsFaulted)
            {
                var error = task.Exception!.InnerException as DhubException
                    ?? new DhubException(DhubErrorKind.DhubInvalidResponse, task.Exception.InnerException?.Message ?? "The refresh failed.");
                failures.AddRange(entries.Select(e => (e, error)));
                continue;
            }
            var byKey = entries.ToDictionary(e => e.Key);
            foreach (var result in task.Result)
            {
                if (!byKey.TryGetValue(result.Key, out var entry))
                {
                    continue;
                }
                if (result.Error != null)
                {
                    failures.Add((entry, result.Error));
                }
                else if (result.Snapshot != null && !ReferenceEquals(result.Snapshot, entry.Latest.Snapshot))
                {
                    // A snapshot the refresher handed back unchanged needs no new Batch.
                    entry.Latest = entry.Latest.Connection.ToBatch(result.Snapshot);
                    WarnOnce(entry);
                }
            }
        }
        Triage(failures);
    }

    /// <summary>
    /// A failure the server may recover from keeps the batch waiting (one warning per distinct cause and round);
    /// anything else (not found, refused) ends that batch's wait with its error.
    /// </summary>
    private void Triage(List<(Entry Entry, DhubException Error)> failures)
    {
        foreach (var group in failures.GroupBy(f => (f.Error.Kind, f.Error.Message)))
        {
            var first = group.First();
            if (first.Error.Kind == DhubErrorKind.DhubServiceUnavailable || first.Error.Kind == DhubErrorKind.DhubInvalidResponse)
            {
                var which = group.Count() == 1 ? $"batch {first.Entry.Latest}" : $"{group.Count()} batches (the first {first.Entry.Latest})";
                _host.WriteWarning($"Could not refresh {which}: {first.Error.Message} Still waiting.");
                continue;
            }
            foreach (var (entry, error) in group)
            {
                entry.Dropped = true;
                WriteItemError(error, entry.Latest);
            }
        }
    }

    /// <summary>A record's damage is reported once per wait, not once per poll.</summary>
    private void WarnOnce(Entry entry)
    {
        foreach (var warning in entry.Latest.Warnings)
        {
            if (entry.Warned.Add(warning))
            {
                _host.WriteWarning(warning);
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
            WriteItemError(
                new DhubException(DhubErrorKind.DhubBatchFailed, $"Batch {batch.PipelineId}/{batch.Id} failed" + (failed.Length > 0 ? $" (step {failed})." : ".")),
                batch);
        }
    }

    private IBatchRefresher RefresherOf(DhubConnection connection)
    {
        if (!_refreshers.TryGetValue(connection, out var refresher))
        {
            refresher = RefresherSource?.Invoke(connection) ?? connection.Engine.CreateRefresher();
            _refreshers[connection] = refresher;
        }
        return refresher;
    }

    private void WriteItemError(DhubException ex, object? target) => _host.WriteError(DhubErrors.Record(ex, target));

    /// <summary>Completes when every task has, whatever their outcome (each is inspected afterwards).</summary>
    private static async Task<bool> Settled(IEnumerable<Task> tasks)
    {
        foreach (var task in tasks)
        {
            try
            {
                await task.ConfigureAwait(false);
            }
            catch (Exception)
            {
                // inspected by the caller through the task itself
            }
        }
        return true;
    }

    private static List<Entry> Distinct(IReadOnlyList<Batch> batches)
    {
        var seen = new HashSet<(DhubConnection, string, string)>();
        var result = new List<Entry>();
        foreach (var batch in batches)
        {
            if (seen.Add((batch.Connection, batch.PipelineId, batch.Id)))
            {
                result.Add(new Entry(batch));
            }
        }
        return result;
    }

    private sealed class Entry
    {
        public Entry(Batch batch)
        {
            Latest = batch;
            Key = new BatchKey(batch.PipelineId, batch.Id, batch.Snapshot);
        }

        public BatchKey Key { get; }

        public Batch Latest { get; set; }

        public bool Dropped { get; set; }

        public HashSet<string> Warned { get; } = new HashSet<string>(StringComparer.Ordinal);

        /// <summary>Since when (in the wait's time) the batch has been stopping with no step running; null while not so.</summary>
        public TimeSpan? StoppingIdleSince { get; set; }

        public bool StuckWarned { get; set; }
    }
}
