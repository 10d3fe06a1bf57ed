using System;
using System.Text.Json;
using System.Threading.Tasks;
using DhubBatches.Emulator.Hosting;
using DhubBatches.Emulator.Prefect.Json;
using DhubBatches.Emulator.Prefect.Query;
using DhubBatches.Emulator.Prefect.Runs;

namespace DhubBatches.Emulator.Prefect.Api;

/// <summary>
/// <c>POST /flow_runs/{id}/set_state</c>: the proposal goes through <see cref="OrchestrationRules"/> (or a WAIT/ABORT
/// knob), an accepted or substituted state becomes an intervention in the run's timeline, and the answer is an
/// <c>OrchestrationResult</c>: 201 when the state returned was written by this request, 200 otherwise (as
/// <c>flow_runs.py</c> decides it: "set the 201 if a new state was created").
/// </summary>
internal static class SetStateEndpoint
{
    public static async Task SetState(PrefectCall call)
    {
        if (await call.Body("Body_set_flow_run_state_flow_runs__id__set_state_post", true, required: "state") is not { } body)
        {
            return;
        }

        var prefect = call.Prefect;
        var proposal = Proposal(body.GetProperty("state"));
        var force = body.TryGetProperty("force", out var f) && f.ValueKind == JsonValueKind.True;
        ReadOnlyMemory<byte> json;
        int status;
        lock (prefect.Store.Lock)
        {
            var now = prefect.UtcNow;
            prefect.Sync(now);
            if (prefect.Store.Get(call.Id) is not { } run)
            {
                // ObjectNotFoundError from the model layer uses exception_message, not detail.
                json = default;
                status = 404;
            }
            else
            {
                var view = prefect.Lifecycle.FlowAt(run, now);
                var decision = prefect.TakeKnob() is { } knob
                    ? new OrchestrationDecision(knob.Status, knob.Reason, null, knob.Status == "WAIT" ? 1 : 0)
                    : OrchestrationRules.Decide(run, view, proposal, force, now);
                if (decision.Write is { } write)
                {
                    run.Add(write);
                    prefect.Store.Changed(run);
                    view = prefect.Lifecycle.FlowAt(run, now);
                }

                prefect.Record(new PrefectSetStateCall(run.Id.ToString(), proposal.Type, proposal.TransitionId, decision.Status, now, force));
                var shown = view.State;
                status = shown.At >= now && decision.Write is not null ? 201 : 200;
                json = JsonResponse.Serialize(w =>
                {
                    w.WriteStartObject();
                    w.WritePropertyName("state");
                    PrefectJsonWriter.State(w, prefect.Dialect, shown, run.Id, run.ParentTaskRunId);
                    w.WriteString("status", decision.Status);
                    w.WriteStartObject("details");
                    w.WriteString("type", decision.Status.ToLowerInvariant() + "_details");
                    if (decision.Status == "WAIT")
                    {
                        w.WriteNumber("delay_seconds", decision.DelaySeconds);
                    }

                    if (decision.Reason is not null)
                    {
                        w.WriteString("reason", decision.Reason);
                    }

                    w.WriteEndObject();
                    w.WriteEndObject();
                });
            }
        }

        await (status == 404
            ? JsonResponse.WriteExceptionMessageAsync(call.Http, 404, $"Flow run with id {call.Id} not found")
            : call.Json(status, json));
    }

    /// <summary>The proposed <c>StateCreate</c>: its name defaults from the type, as Prefect's model does.</summary>
    private static StateProposal Proposal(JsonElement state)
    {
        var type = state.GetProperty("type").GetString()!;
        var details = FilterJson.Obj(state, "state_details");
        return new StateProposal(
            type,
            FilterJson.String(state, "name") ?? StateTypes.DefaultName(type),
            FilterJson.String(state, "message"),
            FilterJson.String(details, "transition_id"),
            FilterJson.Time(details, "scheduled_time"),
            FilterJson.Bool(details, "pause_reschedule") ?? false);
    }
}
