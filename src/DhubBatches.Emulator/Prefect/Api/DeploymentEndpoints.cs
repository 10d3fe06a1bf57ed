using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using DhubBatches.Emulator.Hosting;
using DhubBatches.Emulator.Prefect.Flows;
using DhubBatches.Emulator.Prefect.Json;
using DhubBatches.Emulator.Prefect.Query;
using DhubBatches.Emulator.Prefect.Runs;
using DhubBatches.Emulator.Prefect.Store;

namespace DhubBatches.Emulator.Prefect.Api;

/// <summary>
/// Deployments (<c>src/prefect/server/api/deployments.py</c>) of any flow: read by name or id, list and count,
/// delete, and <c>create_flow_run</c> with the deployment's parameter merge, schema enforcement and idempotency key.
/// </summary>
internal static class DeploymentEndpoints
{
    public static Task ByName(PrefectCall call)
    {
        var (flow, name) = (call.Segments[2], call.Segments[3]);
        var prefect = call.Prefect;
        lock (prefect.Store.Lock)
        {
            var deployment = prefect.Store.Deployment(flow, name);
            return deployment is null ? call.Detail(404, "Deployment not found") : call.Json(200, Write(prefect, deployment));
        }
    }

    public static Task ById(PrefectCall call)
    {
        var prefect = call.Prefect;
        lock (prefect.Store.Lock)
        {
            var deployment = prefect.Store.Deployment(call.Id);
            return deployment is null ? call.Detail(404, "Deployment not found") : call.Json(200, Write(prefect, deployment));
        }
    }

    /// <summary>
    /// Sorted as Prefect sorts (one column each); ties, which SQL leaves in any order, go by flow name then id so
    /// that offset paging is stable here.
    /// </summary>
    public static Task Filter(PrefectCall call) => call.FilterAsync<PrefectDeployment>(
        "Body_read_deployments_deployments_filter_post",
        (body, offset, limit, ignored) =>
        {
            var prefect = call.Prefect;
            var list = Matching(call, body, ignored);
            var ordered = PrefectCall.Sort(body, "NAME_ASC") switch
            {
                "NAME_DESC" => list.OrderByDescending(d => d.Name, StringComparer.Ordinal),
                "CREATED_DESC" => list.OrderByDescending(d => d.Created),
                "UPDATED_DESC" => list.OrderByDescending(d => d.Updated),
                _ => list.OrderBy(d => d.Name, StringComparer.Ordinal),
            };
            var page = ordered.ThenBy(d => d.FlowName, StringComparer.Ordinal).ThenBy(d => d.Id).Skip(offset).Take(limit).ToList();
            var now = prefect.UtcNow;
            prefect.Sync(now); // the active slots it reports count runs as of now
            return (page, (w, d) => DeploymentJson.Write(w, prefect.Dialect, d, ActiveSlots(prefect, d, now), now));
        });

    public static Task Count(PrefectCall call) => call.CountAsync(
        "Body_count_deployments_deployments_count_post",
        (body, ignored) => Matching(call, body, ignored).Count);

    /// <summary>
    /// 204, or 404 "Deployment not found". The deployment's SCHEDULED runs go with it; its other runs stay and keep
    /// its id as <c>deployment_id</c> (see <see cref="PrefectState.DeleteDeployment"/>).
    /// </summary>
    public static Task Delete(PrefectCall call)
    {
        if (!call.Prefect.DeleteDeployment(call.Id))
        {
            return call.Detail(404, "Deployment not found");
        }

        call.Http.Response.StatusCode = 204;
        call.Http.Response.ContentLength = 0;
        return Task.CompletedTask;
    }

    /// <summary>
    /// <c>create_flow_run</c>: parameters shallow-merged over the deployment's, checked against its schema when it
    /// enforces it (409), tags unioned; 201 for a new run, 200 with the existing run for a repeated
    /// (flow, idempotency_key) pair (<c>models/flow_runs.py</c>).
    /// </summary>
    public static async Task CreateFlowRun(PrefectCall call)
    {
        if (await call.Body("DeploymentFlowRunCreate", false) is not { } body)
        {
            return;
        }

        var prefect = call.Prefect;
        var parameters = body.TryGetProperty("parameters", out var p) && p.ValueKind == JsonValueKind.Object
            ? (JsonObject)JsonNode.Parse(p.GetRawText())!
            : new JsonObject();
        var tags = body.TryGetProperty("tags", out var t) && t.ValueKind == JsonValueKind.Array
            ? t.EnumerateArray().Select(x => x.GetString()!).ToList()
            : new List<string>();
        var name = body.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
        var key = body.TryGetProperty("idempotency_key", out var k) && k.ValueKind == JsonValueKind.String ? k.GetString() : null;
        var enforceOverride = body.TryGetProperty("enforce_parameter_schema", out var e) && e.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? e.GetBoolean()
            : (bool?)null;
        DateTimeOffset? scheduledTime = null;
        if (body.TryGetProperty("state", out var state) && state.ValueKind == JsonValueKind.Object
            && FilterJson.Time(FilterJson.Obj(state, "state_details"), "scheduled_time") is { } at)
        {
            scheduledTime = at;
        }

        ReadOnlyMemory<byte> json;
        int status;
        lock (prefect.Store.Lock)
        {
            var now = prefect.UtcNow;
            prefect.Sync(now);
            var deployment = prefect.Store.Deployment(call.Id);
            if (deployment is null)
            {
                json = default;
                status = 404;
            }
            else
            {
                var merged = RunFactory.DeploymentParameters(deployment);
                foreach (var (key2, value) in parameters)
                {
                    merged[key2] = value?.DeepClone();
                }

                if ((enforceOverride ?? DeploymentJson.Enforces(prefect.Dialect, deployment))
                    && FlowParameters.EnforcementError(FlowParameters.Schema(deployment.Definition, !prefect.Dialect.IsV2), merged) is { } refusal)
                {
                    json = JsonResponse.Serialize(w => new JsonObject { ["detail"] = refusal }.WriteTo(w));
                    status = 409;
                }
                else
                {
                    var (run, created) = prefect.Store.Create(deployment,
                        seq => prefect.Factory.Manual(deployment, seq, name, parameters, tags, key, now, scheduledTime), key, deployment.FlowId);
                    var view = prefect.Lifecycle.FlowAt(run, now);
                    json = JsonResponse.Serialize(w => FlowRunJson.Write(w, prefect.Dialect, run, view, prefect.WorkPoolId, now));
                    status = created ? 201 : 200;
                }
            }
        }

        await (status == 404 ? call.Detail(404, "Deployment not found") : call.Json(status, json));
    }

    /// <summary>Deployments of every flow matching the <c>flows</c> and <c>deployments</c> criteria (a pipeline's only while it is known).</summary>
    private static List<PrefectDeployment> Matching(PrefectCall call, JsonElement body, List<string> ignored)
    {
        var prefect = call.Prefect;
        var criteria = DeploymentCriteria.FromBody(body, prefect.Store);
        ignored.AddRange(criteria.Ignored);
        var list = new List<PrefectDeployment>();
        foreach (var d in prefect.Store.Deployments)
        {
            if (criteria.Matches(d) && (!d.IsPipeline || prefect.IsKnownPipeline(d.Name)))
            {
                list.Add(d);
            }
        }

        return list;
    }

    private static ReadOnlyMemory<byte> Write(PrefectState prefect, PrefectDeployment d)
    {
        var now = prefect.UtcNow;
        prefect.Sync(now);
        return JsonResponse.Serialize(w => DeploymentJson.Write(w, prefect.Dialect, d, ActiveSlots(prefect, d, now), now));
    }

    /// <summary>Runs of the deployment holding a concurrency slot right now (claimed and not yet terminal).</summary>
    private static int ActiveSlots(PrefectState prefect, PrefectDeployment d, DateTimeOffset now)
    {
        if (d.Definition.ConcurrencyLimit is null)
        {
            return 0;
        }

        var runs = prefect.Store.RunsOf(d.Id);
        var (from, to) = runs.Window(null, now);
        var active = 0;
        for (var i = to - 1; i >= from && i >= to - 50; i--)
        {
            var view = prefect.Lifecycle.FlowAt(runs[i], now);
            if (view.InfrastructurePid is not null && !StateTypes.IsTerminal(view.State.Type))
            {
                active++;
            }
        }

        return active;
    }
}
