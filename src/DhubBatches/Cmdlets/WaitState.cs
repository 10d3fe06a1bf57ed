using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using DhubBatches.Contract;

namespace DhubBatches.Cmdlets;

/// <summary>
/// The batches of one wait and what each round's answer does to them: output each as it completes, errors and
/// warnings, progress, and after -Timeout DhubWaitTimeout for the rest. Whoever drives the rounds (the pipeline
/// thread's <see cref="BatchWaiter"/>, or the shared loop of -AsJob waits) calls it one round at a time, so a job
/// writes exactly what the command would have.
/// </summary>
internal sealed class WaitState
{
    /// <summary>
    /// The last look after -Timeout gets at most this long: enough for a healthy server's answer, so a batch that
    /// finished in the last interval is not reported late, and short enough that a hung server stretches -Timeout by
    /// no more than this.
    /// </summary>
    internal static readonly TimeSpan LastLookBudget = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A worker's normal cancel takes 10–30 s; a run still cancelling with no step running after that has likely lost
    /// whatever should end it (Prefect: a runner that cancels only live processes).
    /// </summary>
    private static readonly TimeSpan s_stuckCancel = TimeSpan.FromSeconds(30);

    private readonly ICommandStreams _host;
    private readonly WaitProgress _progress;
    private readonly int _total;

    public WaitState(ICommandStreams host, WaitRules rules, IReadOnlyList<Batch> batches)
    {
        _host = host;
        Rules = rules;
        _progress = new WaitProgress(host);
        Pending = Distinct(batches);
        _total = Pending.Count;
    }

    public WaitRules Rules { get; }

    /// <summary>The batches still waited on, in input order.</summary>
    public List<WaitEntry> Pending { get; }

    /// <summary>Each connection's unfinished batches, for one refresher call per connection.</summary>
    public List<(DhubConnection Connection, List<BatchKey> Keys)> KeysByConnection() =>
        Pending.GroupBy(e => e.Connection).Select(g => (g.Key, g.Select(e => e.Key).ToList())).ToList();

    /// <summary>
    /// Takes in one round: each batch's new state (a new Batch only when it says something new), and its failures. A
    /// connection whose answer was cut short leaves its batches as they were.
    /// </summary>
    public void Apply(IReadOnlyList<RoundAnswer> answers)
    {
        List<(WaitEntry Entry, DhubException Error)>? failures = null;
        foreach (var answer in answers)
        {
            if (answer.Cut)
            {
                continue; // -Timeout passed during the round: these batches keep their last known state.
            }
            foreach (var entry in Pending)
            {
                if (entry.Dropped || !ReferenceEquals(entry.Connection, answer.Connection))
                {
                    continue;
                }
                if (answer.Error != null)
                {
                    (failures ??= new List<(WaitEntry, DhubException)>()).Add((entry, answer.Error));
                    continue;
                }
                var result = answer.For(entry.Key);
                if (result == null)
                {
                    continue;
                }
                if (result.Error != null)
                {
                    (failures ??= new List<(WaitEntry, DhubException)>()).Add((entry, result.Error));
                }
                else if (result.Snapshot != null && !result.Snapshot.SameAs(entry.Latest.Snapshot))
                {
                    entry.Latest = entry.Connection.ToBatch(result.Snapshot);
                    WarnOnce(entry);
                }
            }
        }
        if (failures != null)
        {
            Triage(failures);
        }
    }

    /// <summary>Outputs and removes the batches that completed (or failed to be read); true when the wait is over.</summary>
    public bool EmitCompleted()
    {
        for (var i = 0; i < Pending.Count;)
        {
            var entry = Pending[i];
            if (!entry.Dropped && !entry.Latest.IsComplete)
            {
                i++;
                continue;
            }
            Pending.RemoveAt(i);
            if (entry.Dropped)
            {
                continue;
            }
            _progress.Complete(entry.Latest);
            Emit(entry.Latest);
            if (Rules.Any)
            {
                return true;
            }
        }
        return Pending.Count == 0;
    }

    /// <summary>After a round that did not end the wait: the stuck-stop warning and progress; <paramref name="elapsed"/> is the wait's time so far.</summary>
    public void AfterRound(TimeSpan elapsed)
    {
        if (Rules.WarnStuckStops)
        {
            WarnStuck(elapsed);
        }
        _progress.Show(Pending, _total);
    }

    /// <summary>-Timeout has passed and the last look is done: each batch still unfinished is output with DhubWaitTimeout.</summary>
    public void TimeOut()
    {
        foreach (var entry in Pending)
        {
            var batch = entry.Latest;
            if (Rules.WriteBatches)
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
                    string.Format(CultureInfo.InvariantCulture, "Batch {0}/{1} did not complete within {2:0.###} s (state {3}{4}).{5}", batch.PipelineId, batch.Id, Rules.Timeout!.Value.TotalSeconds, state, steps, after)),
                batch);
        }
    }

    /// <summary>The wait is over, however it ended: every progress bar still shown gets its Completed record.</summary>
    public void Finish() => _progress.CompleteAll();

    private static bool IsStopping(Batch batch) =>
        batch.EngineState != null && batch.EngineState.StartsWith("CANCELLING", StringComparison.OrdinalIgnoreCase);

    /// <summary>One warning per batch that has been stopping for <see cref="s_stuckCancel"/> with no step running.</summary>
    private void WarnStuck(TimeSpan now)
    {
        foreach (var entry in Pending)
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

    /// <summary>
    /// A failure the server may recover from keeps the batch waiting (one warning per distinct cause and round);
    /// anything else (not found, refused) ends that batch's wait with its error.
    /// </summary>
    private void Triage(List<(WaitEntry Entry, DhubException Error)> failures)
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
    private void WarnOnce(WaitEntry entry)
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
        if (Rules.WriteBatches)
        {
            _host.WriteObject(batch);
        }
        if (Rules.ReportFailures && batch.Outcome == BatchOutcome.Failed)
        {
            var failed = string.Join(", ", batch.Steps.Where(s => s.State == StepState.Failed).Select(s => s.Name));
            WriteItemError(
                new DhubException(DhubErrorKind.DhubBatchFailed, $"Batch {batch.PipelineId}/{batch.Id} failed" + (failed.Length > 0 ? $" (step {failed})." : ".")),
                batch);
        }
    }

    private void WriteItemError(DhubException ex, object? target) => _host.WriteError(DhubErrors.Record(ex, target));

    private static List<WaitEntry> Distinct(IReadOnlyList<Batch> batches)
    {
        var seen = new HashSet<(DhubConnection, string, string)>();
        var result = new List<WaitEntry>();
        foreach (var batch in batches)
        {
            if (seen.Add((batch.Connection, batch.PipelineId, batch.Id)))
            {
                result.Add(new WaitEntry(batch));
            }
        }
        return result;
    }
}
