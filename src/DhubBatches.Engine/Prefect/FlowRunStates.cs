using System;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;
using DhubBatches.Contract;
using DhubBatches.Engine.Http;

namespace DhubBatches.Engine.Prefect;

/// <summary>
/// The state changes this module proposes to a flow run — stop, mark stopped, restart — and how it reads Prefect's
/// orchestration answers (ACCEPT, REJECT, ABORT, WAIT; docs/prefect.md, "Stop", "Restart" and "Delete").
/// </summary>
internal sealed class FlowRunStates
{
    /// <summary>How often a WAIT answer is honoured before giving up.</summary>
    private const int MaxWaitAnswers = 10;

    /// <summary>How often a restart whose answer was lost is sent again (each time only after the run reads as still finished).</summary>
    private const int MaxLostAnswers = 3;

    private readonly IPrefectApi _api;

    public FlowRunStates(IPrefectApi api)
    {
        _api = api;
    }

    /// <summary>
    /// Proposes CANCELLING (force false, a fresh transition id, so a retried POST cannot apply twice). REJECT with a
    /// CANCELLED state is success (a scheduled run with no infrastructure); ABORT means the run is already terminal —
    /// stopped when that state is CANCELLED (for instance when our own first answer was lost), finished otherwise.
    /// </summary>
    public async Task<StopOutcome> CancelAsync(string flowRunId, CancellationToken cancellationToken)
    {
        var result = await ProposeAsync(flowRunId, "CANCELLING", "Cancelling", "Cancelled with Stop-DhubBatch (DhubBatches PowerShell module)", cancellationToken).ConfigureAwait(false);
        var now = result.State?.NormalType;
        switch (result.Status?.ToUpperInvariant())
        {
            case "ACCEPT":
                return StopOutcome.Requested;
            case "REJECT" when now == "CANCELLED":
                return StopOutcome.Stopped;
            case "REJECT" when now == "CANCELLING":
                return StopOutcome.AlreadyStopping;
            case "ABORT" when now == "CANCELLED":
                EngineLog.Current?.Verbose($"Prefect: {result.Details?.Reason} The run is stopped.");
                return StopOutcome.Stopped;
            case "ABORT":
                EngineLog.Current?.Verbose($"Prefect: {result.Details?.Reason}");
                return StopOutcome.AlreadyFinished;
            default:
                throw Refused(flowRunId, "the cancellation", result);
        }
    }

    /// <summary>
    /// Marks a run that is stuck in CANCELLING as CANCELLED: the one transition Prefect allows from there. Nothing acts
    /// on the infrastructure, so a process that still runs keeps running.
    /// </summary>
    public async Task MarkCancelledAsync(string flowRunId, CancellationToken cancellationToken)
    {
        var result = await ProposeAsync(
            flowRunId,
            "CANCELLED",
            "Cancelled",
            "Marked cancelled with -Force (DhubBatches PowerShell module): nothing acted on the cancellation; infrastructure that may still run was not stopped",
            cancellationToken,
            // Forced, as the Prefect UI's "mark as cancelled" is, so a run whose cancel never took (still RUNNING) is marked too;
            // a fresh transition id still keeps a retried request from applying twice.
            force: true).ConfigureAwait(false);
        switch (result.Status?.ToUpperInvariant())
        {
            case "ACCEPT":
            case "ABORT": // it reached a terminal state meanwhile: nothing left to mark
                return;
            default:
                throw Refused(flowRunId, "marking the run cancelled", result);
        }
    }

    /// <summary>
    /// As <c>prefect flow-run retry</c> does: SCHEDULED with force, so the run goes again in place as a new attempt.
    /// Forced, it is not protected by the transition id, so it is never sent blindly twice (see IPrefectApi): when an
    /// answer is lost, the run is read, and the restart is sent again only while the run is still finished.
    /// </summary>
    public async Task RestartAsync(string flowRunId, CancellationToken cancellationToken)
    {
        for (var lost = 0; ; lost++)
        {
            try
            {
                await ForceScheduledAsync(flowRunId, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (DhubException ex) when (ex.MayHaveBeenApplied && lost < MaxLostAnswers)
            {
                var run = await ApiCall.ContentAsync(_api.ReadFlowRunAsync(flowRunId, cancellationToken), PrefectCalls.FlowRunNotFound, cancellationToken).ConfigureAwait(false);
                if (!PrefectMapper.IsTerminal(run.Type))
                {
                    EngineLog.Current?.Verbose($"The restart's answer was lost, but flow run {flowRunId} is {run.Type} now: it was restarted.");
                    return;
                }
                EngineLog.Current?.Verbose($"The restart's answer was lost and flow run {flowRunId} is still {run.Type}: asking again.");
            }
        }
    }

    private async Task ForceScheduledAsync(string flowRunId, CancellationToken cancellationToken)
    {
        for (var answer = 0; answer < MaxWaitAnswers; answer++)
        {
            var body = new SetStateRequest(
                new StateCreate("SCHEDULED", "Scheduled")
                {
                    Message = "Restarted with Restart-DhubBatch (DhubBatches PowerShell module)",
                    StateDetails = new StateDetailsCreate { TransitionId = Guid.NewGuid().ToString() },
                },
                force: true);
            var result = await ApiCall.ContentAsync(_api.ForceFlowRunStateAsync(flowRunId, body, cancellationToken), PrefectCalls.FlowRunNotFound, cancellationToken).ConfigureAwait(false);
            switch (result.Status?.ToUpperInvariant())
            {
                case "ACCEPT":
                    return;
                case "WAIT":
                    await WaitAsync(result, cancellationToken).ConfigureAwait(false);
                    continue;
                default:
                    throw Refused(flowRunId, "the restart", result);
            }
        }
        throw TooManyWaits(flowRunId);
    }

    private async Task<PrefectOrchestrationResult> ProposeAsync(string flowRunId, string type, string name, string message, CancellationToken cancellationToken, bool force = false)
    {
        for (var answer = 0; answer < MaxWaitAnswers; answer++)
        {
            var body = new SetStateRequest(
                new StateCreate(type, name)
                {
                    Message = message,
                    StateDetails = new StateDetailsCreate { TransitionId = Guid.NewGuid().ToString() },
                },
                force: force);
            var result = await ApiCall.ContentAsync(_api.ProposeFlowRunStateAsync(flowRunId, body, cancellationToken), PrefectCalls.FlowRunNotFound, cancellationToken).ConfigureAwait(false);
            if (!string.Equals(result.Status, "WAIT", StringComparison.OrdinalIgnoreCase))
            {
                return result;
            }
            await WaitAsync(result, cancellationToken).ConfigureAwait(false);
        }
        throw TooManyWaits(flowRunId);
    }

    private static async Task WaitAsync(PrefectOrchestrationResult result, CancellationToken cancellationToken)
    {
        var delay = TimeSpan.FromSeconds(Math.Min(60, Math.Max(0.1, result.Details?.DelaySeconds ?? 1)));
        EngineLog.Current?.Verbose(string.Format(CultureInfo.InvariantCulture, "Prefect asked to wait {0:0.#} s before the state change ({1}).", delay.TotalSeconds, result.Details?.Reason));
        await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
    }

    private static DhubException Refused(string flowRunId, string what, PrefectOrchestrationResult result)
    {
        var status = result.Status?.ToUpperInvariant();
        if (status != "REJECT" && status != "ABORT")
        {
            return new DhubException(
                DhubErrorKind.DhubInvalidResponse,
                $"POST /flow_runs/{flowRunId}/set_state -> orchestration status '{result.Status}' is not one this version knows.");
        }
        var reason = result.Details?.Reason;
        return new DhubException(
            DhubErrorKind.DhubConflict,
            $"POST /flow_runs/{flowRunId}/set_state: Prefect refused {what} ({status}: {reason ?? "no reason given"}); the run is {result.State?.NormalType ?? "unchanged"}.")
        {
            ServerMessage = reason,
        };
    }

    private static DhubException TooManyWaits(string flowRunId) => new DhubException(
        DhubErrorKind.DhubServiceUnavailable,
        $"POST /flow_runs/{flowRunId}/set_state: Prefect answered WAIT {MaxWaitAnswers} times; the state was not changed.");
}
