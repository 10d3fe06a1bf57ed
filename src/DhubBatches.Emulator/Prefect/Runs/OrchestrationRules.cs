using System;
using DhubBatches.Emulator.Prefect.Store;

namespace DhubBatches.Emulator.Prefect.Runs;

/// <summary>A state a client proposes through <c>set_state</c>.</summary>
internal sealed record StateProposal(string Type, string Name, string? Message, string? TransitionId, DateTimeOffset? ScheduledTime, bool PauseReschedule);

/// <summary>An orchestration answer: <c>ACCEPT</c>, <c>REJECT</c>, <c>ABORT</c> or <c>WAIT</c>, and what it writes (if anything).</summary>
internal sealed record OrchestrationDecision(string Status, string? Reason, Intervention? Write, int DelaySeconds = 0)
{
    public static OrchestrationDecision Accept(Intervention write) => new("ACCEPT", null, write);

    /// <summary>A REJECT that keeps the current state (<paramref name="substitute"/> null) or writes a substitute.</summary>
    public static OrchestrationDecision Reject(string reason, Intervention? substitute = null) => new("REJECT", reason, substitute);

    public static OrchestrationDecision Abort(string reason) => new("ABORT", reason, null);

    public static OrchestrationDecision Wait(string reason, int seconds) => new("WAIT", reason, null, seconds);
}

/// <summary>
/// The part of Prefect's flow run orchestration a client's <c>set_state</c> meets, in Prefect's priority order
/// (<c>src/prefect/server/orchestration/core_policy.py</c>, <c>CoreFlowPolicy</c>): with <c>force</c> only
/// <c>MinimalFlowPolicy</c> applies, which keeps the bypass for cancelling runs that have no infrastructure.
/// </summary>
internal static class OrchestrationRules
{
    public static OrchestrationDecision Decide(StoredFlowRun run, FlowRunView view, StateProposal proposed, bool force, DateTimeOffset now)
    {
        var current = view.State;
        if (!force)
        {
            // PreventDuplicateTransitions: a retried request cannot apply twice.
            if (proposed.TransitionId is not null && proposed.TransitionId == current.TransitionId)
            {
                return OrchestrationDecision.Reject("This run has already made this state transition.");
            }

            if (StateTypes.IsTerminal(current.Type))
            {
                // HandleFlowTerminalStateTransitions.
                if (proposed.Type is StateTypes.Cancelling or StateTypes.Paused or StateTypes.Crashed)
                {
                    return OrchestrationDecision.Abort($"Run is already in terminal state {current.Type}.");
                }

                if (current.Type == StateTypes.Completed && !StateTypes.IsTerminal(proposed.Type) && current.Result == ResultKind.Persisted)
                {
                    return OrchestrationDecision.Reject("Run is already COMPLETED.");
                }

                if (proposed.Type == StateTypes.Scheduled && run.Deployment is null)
                {
                    return OrchestrationDecision.Abort("Cannot reschedule a run without an associated deployment.");
                }
            }

            // EnforceCancellingToCancelledTransition.
            if (current.Type == StateTypes.Cancelling && proposed.Type != StateTypes.Cancelled)
            {
                return OrchestrationDecision.Reject("Cannot transition flows that are cancelling to a state other than Cancelled.");
            }
        }

        // BypassCancellingFlowRunsWithNoInfra (also under force): nothing to tear down, so the run is CANCELLED at once.
        if (proposed.Type == StateTypes.Cancelling)
        {
            if ((current.Type == StateTypes.Scheduled && view.InfrastructurePid is null) || current.Name == "Resuming")
            {
                return OrchestrationDecision.Reject("Scheduled flow run has no infrastructure to terminate.", Substitute(now, StateTypes.Cancelled));
            }

            if (current.Type == StateTypes.Paused && current.PauseReschedule)
            {
                return OrchestrationDecision.Reject("Suspended flow run has no infrastructure to terminate.", Substitute(now, StateTypes.Cancelled));
            }
        }

        if (!force && Refusal(run, view, proposed, now) is { } refusal)
        {
            return refusal;
        }

        var kind = proposed.Type switch
        {
            StateTypes.Cancelling => InterventionKind.Cancelling,
            StateTypes.Cancelled => InterventionKind.Cancelled,
            StateTypes.Scheduled => InterventionKind.Rescheduled,
            _ => InterventionKind.Forced,
        };
        return OrchestrationDecision.Accept(new Intervention(kind, now, proposed.Type, proposed.Name, proposed.Message, proposed.TransitionId,
            proposed.Type == StateTypes.Scheduled ? proposed.ScheduledTime ?? now : null));
    }

    /// <summary>The rules after the bypass, which only apply without <c>force</c>.</summary>
    private static OrchestrationDecision? Refusal(StoredFlowRun run, FlowRunView view, StateProposal proposed, DateTimeOffset now)
    {
        var current = view.State;

        // PreventPendingTransitions (a renamed PENDING → PENDING is allowed).
        if (proposed.Type == StateTypes.Pending && current.Type is StateTypes.Pending or StateTypes.Cancelling or StateTypes.Running or StateTypes.Cancelled
            && !(current.Type == StateTypes.Pending && proposed.Name != current.Name && proposed.Name != "Pending"))
        {
            return OrchestrationDecision.Abort($"This run is in a {current.Type} state and cannot transition to a PENDING state.");
        }

        // EnsureOnlyScheduledFlowsMarkedLate.
        if (proposed.Type == StateTypes.Scheduled && proposed.Name == "Late" && current.Type != StateTypes.Scheduled)
        {
            return OrchestrationDecision.Reject("Only scheduled flows can be marked late.");
        }

        // HandlePausingFlows.
        if (proposed.Type == StateTypes.Paused)
        {
            var verb = proposed.Name == "Suspended" ? "suspend" : "pause";
            if (current.Type != StateTypes.Running)
            {
                return OrchestrationDecision.Reject($"Cannot {verb} flows that are not currently running.");
            }

            if (proposed.PauseReschedule && run.Parent is not null)
            {
                return OrchestrationDecision.Abort($"Cannot {verb} subflows.");
            }

            if (proposed.PauseReschedule && run.Deployment is null)
            {
                return OrchestrationDecision.Abort($"Cannot {verb} flows without a deployment.");
            }
        }

        // HandleResumingPausedFlows.
        if (current.Type == StateTypes.Paused
            && proposed.Type is not (StateTypes.Running or StateTypes.Scheduled) && !StateTypes.IsTerminal(proposed.Type))
        {
            return OrchestrationDecision.Reject($"This run cannot transition to the {proposed.Type} state from the {current.Type} state.");
        }

        // WaitForScheduledTime.
        if (proposed.Type == StateTypes.Running && current.Type is StateTypes.Scheduled or StateTypes.Pending
            && current.ScheduledTime is { } scheduled && scheduled > now)
        {
            return OrchestrationDecision.Wait("Scheduled time is in the future", (int)Math.Round((scheduled - now).TotalSeconds));
        }

        // RetryFailedFlows: a failure with retries left becomes AwaitingRetry.
        if (current.Type == StateTypes.Running && proposed.Type == StateTypes.Failed && view.RunCount <= run.Definition.Retries)
        {
            return OrchestrationDecision.Reject("Retrying",
                new Intervention(InterventionKind.Rescheduled, now, StateTypes.Scheduled, "AwaitingRetry", proposed.Message, null, now));
        }

        return null;
    }

    private static Intervention Substitute(DateTimeOffset now, string type) =>
        new(InterventionKind.Cancelled, now, type, StateTypes.DefaultName(type), null, null, null);
}
