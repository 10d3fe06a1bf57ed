using System;
using System.Collections.Generic;
using System.Linq;
using DhubBatches.Emulator.Prefect.Flows;
using DhubBatches.Emulator.Prefect.Store;
using static DhubBatches.Emulator.Prefect.Runs.RunLogText;

namespace DhubBatches.Emulator.Prefect.Runs;

/// <summary>
/// Turns a stored run into its <see cref="RunScript"/>: the first attempt played from creation, then each
/// set_state intervention in turn cuts the timeline where it happened and continues it (a cancel the worker acts
/// on one step later, a restart that becomes a new attempt, ...). Scripts are pure functions of stored facts, so
/// they are cached by the facts' versions; a run that can no longer change also memoises its flow-level view.
/// Rules followed: <c>src/prefect/server/orchestration/core_policy.py</c> and <c>global_policy.py</c>.
/// </summary>
internal sealed class FlowRunLifecycle
{
    private const int CacheCapacity = 1024;
    // Two generations: a full one becomes the older, so the scripts in use (a page being read) survive the turn.
    private Dictionary<Guid, (long Stamp, RunScript Script)> _cache = new();
    private Dictionary<Guid, (long Stamp, RunScript Script)> _older = new();
    private readonly Func<string, Guid> _flowIdFor;

    public FlowRunLifecycle(PrefectDialect dialect, Func<string, Guid> flowIdFor)
    {
        Dialect = dialect;
        _flowIdFor = flowIdFor;
    }

    public PrefectDialect Dialect { get; }

    /// <summary>Scripts built since the last reset: a measure of how much work requests cost.</summary>
    public long ScriptsBuilt { get; private set; }

    public void Clear()
    {
        _cache.Clear();
        _older.Clear();
        ScriptsBuilt = 0;
    }

    /// <summary>The run's script, cached until the run (or what it depends on) changes. Call under the store lock.</summary>
    public RunScript Script(StoredFlowRun run)
    {
        var stamp = Stamp(run);
        if (_cache.TryGetValue(run.Id, out var cached) && cached.Stamp == stamp)
        {
            return cached.Script;
        }

        var script = _older.TryGetValue(run.Id, out var old) && old.Stamp == stamp
            ? old.Script
            : Build(run, run.Queue is { } q ? (true, q.SlotFree(run, TerminalAt)) : default);
        if (_cache.Count >= CacheCapacity)
        {
            _older = _cache;
            _cache = new();
        }

        _cache[run.Id] = (stamp, script);
        return script;
    }

    /// <summary>The run's script with its log lines: built afresh, as only a logs query asks for it.</summary>
    public RunScript ScriptWithLogs(StoredFlowRun run) =>
        Build(run, run.Queue is { } q ? (true, q.SlotFree(run, TerminalAt)) : default, logging: true);

    /// <summary>The run's flow-level view at <paramref name="now"/>; memoised once the run has settled.</summary>
    public FlowRunView FlowAt(StoredFlowRun run, DateTimeOffset now)
    {
        if (run.SettledView is { } settled)
        {
            return settled;
        }

        var script = Script(run);
        var view = script.FlowAt(now);
        if (script.SettledAt is { } at && at <= now)
        {
            run.SettledView = view;
        }

        return view;
    }

    private static long Stamp(StoredFlowRun run) =>
        ((long)run.Version << 40) ^ ((long)(run.Queue?.Version ?? 0) << 20) ^ (run.Parent?.Version ?? 0);

    /// <summary>When a queued run first reaches a terminal state, had it got its slot at <paramref name="acquired"/>.</summary>
    private DateTimeOffset? TerminalAt(StoredFlowRun run, DateTimeOffset acquired) =>
        Build(run, (true, acquired)).States.FirstOrDefault(e => e.State.At >= acquired && StateTypes.IsTerminal(e.State.Type))?.State.At;

    private RunScript Build(StoredFlowRun run, (bool Queued, DateTimeOffset? Free) slot, bool logging = false)
    {
        ScriptsBuilt++;
        var w = new ScriptWriter(run, Dialect, _flowIdFor, logging);
        if (run.Parent is not null)
        {
            AttemptPlayer.Child(w);
        }
        else
        {
            w.State("initial", run.Created, StateTypes.Scheduled, message: run.AutoScheduled ? "Flow run scheduled" : null,
                scheduledTime: run.ExpectedStart, serverMade: true);
            AttemptPlayer.FromScheduled(w, 1, "a1", run.Created, run.ExpectedStart, "Running", slot);
        }

        var interventions = Interventions(run);
        for (var i = 0; i < interventions.Count; i++)
        {
            var intervention = interventions[i];
            // A runner that never kills the process lets the running task finish: keep what it scripted until then.
            w.Cut(intervention.Kind == InterventionKind.Cancelling && run.Definition.CancelStaysCancelling && run.Parent is null
                ? EndOfRunningTasks(w, intervention.At)
                : intervention.At);
            Apply(w, intervention, i);
        }

        return w.Finish();
    }

    /// <summary>The run's own interventions; a subflow run also follows its parent's cancellation.</summary>
    private static List<Intervention> Interventions(StoredFlowRun run)
    {
        var own = run.Interventions.ToList();
        if (run.Parent is { } parent)
        {
            own.AddRange(parent.Interventions.Where(i => i.At >= run.Created && i.Kind is InterventionKind.Cancelling or InterventionKind.Cancelled)
                .Select(i => i with { TransitionId = null, Message = "The parent flow run was cancelled." }));
            own.Sort((a, b) => a.At.CompareTo(b.At));
        }

        return own;
    }

    private void Apply(ScriptWriter w, Intervention iv, int index)
    {
        var key = "iv" + index;
        var before = w.FlowAt(iv.At);
        switch (iv.Kind)
        {
            case InterventionKind.Cancelling:
                w.State(key, iv.At, StateTypes.Cancelling, iv.Name, iv.Message, iv.TransitionId, serverMade: true);
                if (w.Run.Definition.CancelStaysCancelling && w.Run.Parent is null && w.WorkerGoneAt is null)
                {
                    ExitAtNextTask(w, iv.At, key, before);
                }
                else
                {
                    FollowCancelling(w, iv.At, key);
                }

                break;
            case InterventionKind.Cancelled:
                w.State(key, iv.At, StateTypes.Cancelled, iv.Name, iv.Message, iv.TransitionId, serverMade: true);
                break;
            case InterventionKind.Rescheduled:
                // HandleFlowTerminalStateTransitions marks a run leaving a terminal state for SCHEDULED as rescheduled.
                var scheduledTime = iv.ScheduledTime ?? iv.At;
                w.State(key, iv.At, StateTypes.Scheduled, iv.Name, iv.Message, iv.TransitionId, scheduledTime,
                    retryType: StateTypes.IsTerminal(before.State.Type) ? "reschedule" : null, serverMade: true);
                // The engine proposes Running(); RenameReruns is a task-run rule (CoreTaskPolicy), so a flow run's next attempt is "Running" too.
                AttemptPlayer.FromScheduled(w, before.RunCount + 1, "a" + (before.RunCount + 1) + key, iv.At, scheduledTime, "Running");
                break;
            default:
                w.State(key, iv.At, iv.Type, iv.Name, iv.Message, iv.TransitionId, iv.ScheduledTime, countsAttempt: iv.Type == StateTypes.Running, serverMade: true);
                if (!StateTypes.IsTerminal(iv.Type))
                {
                    // Nothing scripted follows a state a client forced; the run holds it.
                    w.OpenEnded();
                }

                break;
        }
    }

    /// <summary>When the task runs that were RUNNING at <paramref name="at"/> finish as scripted (with their result artifact).</summary>
    private static DateTimeOffset EndOfRunningTasks(ScriptWriter w, DateTimeOffset at)
    {
        var end = at;
        foreach (var track in RunningAt(w, at))
        {
            var last = track.Events.FirstOrDefault(e => e.State.At > at && StateTypes.IsTerminal(e.State.Type));
            if (last is not null && last.State.At + ScriptWriter.Tick > end)
            {
                end = last.State.At + ScriptWriter.Tick;
            }
        }

        return end;
    }

    private static List<TaskRunTrack> RunningAt(ScriptWriter w, DateTimeOffset at) => w.Script.Tasks
        .Where(t => t.ChildFlowRunId is null && t.Events.LastOrDefault(e => e.State.At <= at)?.State.Type == StateTypes.Running)
        .ToList();

    /// <summary>
    /// <c>flow.serve()</c>'s runner on a CANCELLING run (recorded on 2.16.8): the flow process goes on until its next task
    /// call, which the server aborts (the task run stays PENDING); the flow's final state is refused, the process exits
    /// cleanly, and the runner, which cancels only live processes, never sets CANCELLED.
    /// </summary>
    private void ExitAtNextTask(ScriptWriter w, DateTimeOffset at, string key, FlowRunView before)
    {
        var tick = ScriptWriter.Tick;
        var definition = w.Run.Definition;
        var running = RunningAt(w, at);
        var end = running.Count == 0 ? at : running.Max(t => t.Events[^1].State.At);
        if (before.State.Type == StateTypes.Running)
        {
            var failed = running.Any(t => t.Events[^1].State.Type == StateTypes.Failed);
            var started = w.Script.Tasks.Select(t => t.TaskName).ToHashSet(StringComparer.Ordinal);
            var next = running.Count > 0
                ? definition.Tasks.Select((t, i) => (t, i)).Where(p => p.t.Name == running[0].TaskName).Select(p => p.i + 1).FirstOrDefault()
                : definition.Tasks.Select((t, i) => (t, i)).Where(p => !started.Contains(p.t.Name)).Select(p => p.i).DefaultIfEmpty(definition.Tasks.Count).First();
            if (!failed && next < definition.Tasks.Count && definition.Tasks[next].Subflow is null)
            {
                new TaskPlayer(w, before.RunCount).Aborted(next, definition.Tasks[next], end + (tick * 30));
            }
        }

        w.Log(end + (tick * 40), FlowLogger, Info, FinalStateRefused);
        w.Log(end + (tick * 41), FlowLogger, Error, $"Finished in state Cancelling({PythonText.Repr(w.FlowAt(at).State.Message ?? string.Empty)})");
        w.Log(end + (tick * 50), WorkerLogger(Dialect), Info, ExitedCleanly(w.Run.Name));
    }

    /// <summary>
    /// The worker watching a CANCELLING run kills its process one step later and sets CANCELLED ("Flow run was
    /// cancelled successfully."); the task run that was running ends CRASHED half a step in. Prefect 3 often leaves
    /// it RUNNING instead (its state is written asynchronously and lost with the process): even-numbered runs show
    /// CRASHED and odd ones RUNNING, so clients meet both. A run whose worker is gone stays CANCELLING.
    /// </summary>
    private void FollowCancelling(ScriptWriter w, DateTimeOffset at, string key)
    {
        if (w.WorkerGoneAt is { } gone && gone <= at)
        {
            w.OpenEnded();
            return;
        }

        var d = w.D;
        foreach (var track in w.Script.Tasks.Where(t => t.Events.Count > 0 && t.Events[^1].State.Type == StateTypes.Running).ToList())
        {
            if (track.ChildFlowRunId is { } child)
            {
                // The subflow run is cancelled with its parent; its tracking task run mirrors it.
                w.TaskState(track, key + "/mirror", at + d + ScriptWriter.Tick * 2, StateTypes.Cancelled, message: "The parent flow run was cancelled.",
                    childFlowRunId: child);
            }
            else if (Dialect.IsV2 || w.Run.Seq % 2 == 0)
            {
                w.TaskState(track, key + "/crash", at + (d / 2), StateTypes.Crashed, message: CancelledByRuntime);
                w.Log(at + (d / 2), TaskLogger, Error, CrashDetected(CancelledByRuntime), track.Id);
            }
        }

        w.State(key + "/done", at + d, StateTypes.Cancelled, message: CancelledSuccessfully);
        if (w.Run.Parent is null)
        {
            w.Log(at + d + ScriptWriter.Tick, WorkerLogger(Dialect), Info, CancelledRun(w.Run.Name));
        }
    }
}
