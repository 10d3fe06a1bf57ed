using System;
using System.Collections.Generic;
using DhubBatches.Emulator.Prefect.Flows;
using static DhubBatches.Emulator.Prefect.Runs.RunLogText;

namespace DhubBatches.Emulator.Prefect.Runs;

/// <summary>
/// Plays one attempt of a flow run from its SCHEDULED state: a worker claims it one step later (PENDING,
/// <c>infrastructure_pid</c>), the flow starts one step after that (RUNNING, <c>run_count</c>+1) and runs its tasks
/// one step each, pausing, retrying, failing, crashing or hanging as its definition says. Rule names in comments
/// are Prefect's (<c>src/prefect/server/orchestration/core_policy.py</c>, <c>global_policy.py</c>).
/// </summary>
internal static class AttemptPlayer
{
    private static TimeSpan T(int ticks) => ScriptWriter.Tick * ticks;

    /// <param name="w">The run's script.</param>
    /// <param name="attempt">The run count this attempt will have once RUNNING.</param>
    /// <param name="key">Distinguishes this attempt's states from other attempts'.</param>
    /// <param name="scheduledAt">When the SCHEDULED state was written.</param>
    /// <param name="scheduledTime">Its <c>scheduled_time</c>: a worker takes the run no earlier.</param>
    /// <param name="runningName">The RUNNING state's name ("Running": RenameReruns is in CoreTaskPolicy only, never renaming a flow run's).</param>
    /// <param name="slotFree">For a run waiting in a deployment concurrency queue: when a slot is free (null: never); else not given.</param>
    public static void FromScheduled(ScriptWriter w, int attempt, string key, DateTimeOffset scheduledAt, DateTimeOffset scheduledTime,
        string runningName, (bool Queued, DateTimeOffset? Free) slotFree = default)
    {
        var d = w.D;
        var definition = w.Run.Definition;
        if (definition.Worker == WorkerBehaviour.Absent)
        {
            // The late_runs service renames a SCHEDULED "Scheduled" run once it is overdue; nobody ever claims it.
            w.State(ScriptKeys.Join("late/", key), scheduledTime + d, StateTypes.Scheduled, "Late", scheduledTime: scheduledTime, serverMade: true);
            w.OpenEnded();
            return;
        }

        var claim = scheduledAt + d > scheduledTime ? scheduledAt + d : scheduledTime;
        if (slotFree.Queued && (slotFree.Free is not { } free || free > claim))
        {
            if (w.Dialect.IsV2)
            {
                // Prefect 2 has no deployment limits: a work queue limit just leaves the run Scheduled until it is Late.
                w.State(ScriptKeys.Join("late/", key), scheduledTime + d, StateTypes.Scheduled, "Late", scheduledTime: scheduledTime, serverMade: true);
            }
            else
            {
                // SecureFlowConcurrencySlots rejects the worker's PENDING with this substitute while the limit is reached.
                w.State(ScriptKeys.Join("slot/", key), claim, StateTypes.Scheduled, "AwaitingConcurrencySlot", scheduledTime: claim + TimeSpan.FromSeconds(30), serverMade: true);
            }

            if (slotFree.Free is null)
            {
                w.OpenEnded();
                return;
            }

            claim = slotFree.Free.Value;
        }

        Claim(w, key, claim, scheduledTime);
        var runAt = claim + d;
        w.Log(runAt - T(2), FlowLogger, Info, DownloadingCode);
        if (definition.UndeclaredIn(w.Run.CallParameterNames) is not null)
        {
            // The engine binds the parameters to the flow function before RUNNING; an unknown one fails the run there.
            w.Log(runAt - T(1), FlowLogger, Error, ParameterValidation(definition, w.Run.CallParameterNames));
            var failed = w.State(ScriptKeys.Join("invalid/", key), runAt, StateTypes.Failed,
                message: FlowParameters.SignatureMismatch(definition, w.Run.CallParameterNames));
            if (!w.Dialect.IsV2)
            {
                w.Log(runAt + T(1), FlowLogger, Error, Finished(failed));
            }

            w.Log(runAt + T(2), WorkerLogger(w.Dialect), Error, ExitedWithError(w.Run.Name));
            return;
        }

        Run(w, attempt, runAt, runningName);
    }

    /// <summary>The subflow run of a parent: created PENDING by the parent's process, running at once, no worker.</summary>
    public static void Child(ScriptWriter w)
    {
        var created = w.Run.Created;
        w.State("pending", created, StateTypes.Pending, serverMade: true);
        Run(w, 1, created + T(1), "Running", startTasksAt: created + T(2));
    }

    private static void Claim(ScriptWriter w, string key, DateTimeOffset at, DateTimeOffset scheduledTime)
    {
        // CopyScheduledTime carries the scheduled time onto PENDING.
        w.State(ScriptKeys.Join("pending/", key), at, StateTypes.Pending, scheduledTime: scheduledTime, claims: true);
        var logger = WorkerLogger(w.Dialect);
        w.Log(at, logger, Info, Submitting(w.Dialect, w.Id("worker"), w.Run.Id));
        w.Log(at + T(1), logger, Info, OpeningProcess);
        w.Log(at + T(2), logger, Info, SubmissionCompleted(w.Run.Id));
    }

    /// <summary>RUNNING and the tasks; an in-process flow retry (RetryFailedFlows) continues here as the next attempt.</summary>
    private static void Run(ScriptWriter w, int attempt, DateTimeOffset at, string runningName, DateTimeOffset? startTasksAt = null)
    {
        var d = w.D;
        var definition = w.Run.Definition;
        w.State(ScriptKeys.Of("running/a", attempt), at, StateTypes.Running, runningName, countsAttempt: true);
        var tasks = new TaskPlayer(w, attempt);
        var t = startTasksAt ?? at;
        IReadOnlyList<Guid> upstream = Array.Empty<Guid>();
        TaskOutcome? failure = null;
        var notReady = 0;
        for (var i = 0; i < definition.Tasks.Count; i++)
        {
            var task = definition.Tasks[i];
            if (failure is not null)
            {
                if (definition.CallsInOrder)
                {
                    // The exception ends the flow function: no later call happens, so no task run is created.
                    break;
                }

                upstream = tasks.NotReady(i, task, failure.Next + T(notReady), failure.FailedTaskRunId!.Value, upstream);
                notReady += upstream.Count + 1;
                continue;
            }

            var outcome = tasks.Play(i, task, t, upstream);
            if (outcome.Hung)
            {
                return;
            }

            if (outcome.Crashed)
            {
                var crashed = w.State(ScriptKeys.Of("crashed/a", attempt), outcome.Next + T(2), StateTypes.Crashed, message: CancelledByRuntime);
                w.Log(outcome.Next + T(2), FlowLogger, Error, CrashDetected(CancelledByRuntime));
                w.Log(outcome.Next + T(3), FlowLogger, Error, Finished(crashed));
                return;
            }

            upstream = outcome.TaskRunIds;
            t = outcome.Next;
            if (outcome.FailedTaskRunId is not null)
            {
                failure = outcome;
            }
            else if (definition.Pause is { } pause && pause.AfterTask == task.Name)
            {
                t = Pause(w, attempt, t, pause);
            }
        }

        if (failure is not null)
        {
            Fail(w, attempt, failure, notReady);
            return;
        }

        if (definition.ReportLink)
        {
            var link = $"https://reports.example.com/{w.Run.Pipeline}/{w.Run.Id}";
            w.Artifact(ScriptKeys.Of("report/a", attempt), null, t, "report", "link", null, new ArtifactData(ArtifactDataKind.Text, link), null);
        }

        var completed = w.State(ScriptKeys.Of("completed/a", attempt), t + T(1), StateTypes.Completed);
        w.Log(t + T(1), FlowLogger, Info, Finished(completed));
        if (w.Run.Parent is null)
        {
            w.Log(t + T(2), WorkerLogger(w.Dialect), Info, ExitedCleanly(w.Run.Name));
        }
    }

    private static void Fail(ScriptWriter w, int attempt, TaskOutcome failure, int notReady)
    {
        var at = failure.Next + T(notReady + 2);
        var message = FlowFailed(w.Dialect, failure.FailedTask!);
        w.Log(at, FlowLogger, Error, FlowTraceback(w.Run.FlowName, failure.FailedTask!));
        if (attempt <= w.Run.Definition.Retries)
        {
            // RetryFailedFlows: the FAILED proposal is rejected with AwaitingRetry; the engine runs the flow again in process.
            var next = failure.Next + w.D;
            w.State(ScriptKeys.Of("awaiting/a", attempt), at + T(1), StateTypes.Scheduled, "AwaitingRetry", message, scheduledTime: next, retryType: "in_process", serverMade: true);
            w.Log(at + T(2), FlowLogger, Info, WillRunAgain);
            // The flow engine then proposes Running() (flow_engine.py handle_exception); no flow rule renames it.
            Run(w, attempt + 1, next, "Running");
            return;
        }

        var failed = w.State(ScriptKeys.Of("failed/a", attempt), at + T(1), StateTypes.Failed, message: message, clearsRetryType: true);
        w.Log(at + T(2), FlowLogger, Error, Finished(failed));
        if (w.Run.Parent is null)
        {
            w.Log(at + T(3), WorkerLogger(w.Dialect), Error, ExitedWithError(w.Run.Name));
        }
    }

    /// <summary>
    /// <c>pause_flow_run</c>: PAUSED "Paused" in process, then RUNNING again (not counted: the run is resuming).
    /// <c>suspend_flow_run</c>: PAUSED "Suspended" (<c>pause_reschedule</c>), the process exits, and resuming goes
    /// SCHEDULED "Resuming" (<c>resume_flow_run</c>), is claimed by a worker and runs on.
    /// </summary>
    private static DateTimeOffset Pause(ScriptWriter w, int attempt, DateTimeOffset at, PauseDefinition pause)
    {
        var d = w.D;
        var resumeAt = at + (d * pause.Steps);
        w.State(ScriptKeys.Of("paused/a", attempt), at, StateTypes.Paused, pause.Suspend ? "Suspended" : "Paused",
            details: s => s with { PauseTimeout = at + TimeSpan.FromHours(1), PauseKey = "1", PauseReschedule = pause.Suspend });
        w.Log(at + T(1), FlowLogger, Info, pause.Suspend ? Suspending : Pausing);
        if (!pause.Suspend)
        {
            w.State(ScriptKeys.Of("resumed/a", attempt), resumeAt, StateTypes.Running, "Running");
            w.Log(resumeAt + T(1), FlowLogger, Info, Resuming);
            return resumeAt;
        }

        w.State(ScriptKeys.Of("resuming/a", attempt), resumeAt, StateTypes.Scheduled, "Resuming", scheduledTime: resumeAt, serverMade: true);
        Claim(w, ScriptKeys.Of("resume/a", attempt), resumeAt + d, resumeAt);
        var runAt = resumeAt + (d * 2);
        w.Log(runAt - T(2), FlowLogger, Info, DownloadingCode);
        w.State(ScriptKeys.Of("resumed/a", attempt), runAt, StateTypes.Running, "Running");
        w.Log(runAt + T(1), FlowLogger, Info, Resuming);
        return runAt;
    }
}
