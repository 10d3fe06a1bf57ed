using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using DhubBatches.Emulator.Hosting;
using DhubBatches.Emulator.Prefect.Json;
using DhubBatches.Emulator.Prefect.Query;
using DhubBatches.Emulator.Prefect.Store;

namespace DhubBatches.Emulator.Prefect.Api;

/// <summary>
/// Flows (<c>src/prefect/server/api/flows.py</c>): read by name or id (404 "Flow not found"), list and count. A
/// flow exists once something used its name: the pipelines' flow, a flow given a deployment, a subflow.
/// </summary>
internal static class FlowEndpoints
{
    public static Task ByName(PrefectCall call) => Read(call, store => store.Flow(call.Segments[2]));

    public static Task ById(PrefectCall call) => Read(call, store => store.Flow(call.Id));

    /// <summary>Sorted NAME_ASC by default, as <c>FlowSort</c>; names are unique, so the order is total.</summary>
    public static Task Filter(PrefectCall call) => call.FilterAsync<PrefectFlow>(
        "Body_read_flows_flows_filter_post",
        (body, offset, limit, ignored) =>
        {
            var prefect = call.Prefect;
            var list = Matching(prefect, body, ignored);
            var ordered = PrefectCall.Sort(body, "NAME_ASC") switch
            {
                "NAME_DESC" => list.OrderByDescending(f => f.Name, StringComparer.Ordinal),
                "CREATED_DESC" or "UPDATED_DESC" => list.OrderByDescending(f => f.Created).ThenBy(f => f.Name, StringComparer.Ordinal),
                _ => list.OrderBy(f => f.Name, StringComparer.Ordinal),
            };
            return (ordered.Skip(offset).Take(limit).ToList(), (w, f) => FlowJson.Write(w, prefect.Dialect, f));
        });

    public static Task Count(PrefectCall call) => call.CountAsync(
        "Body_count_flows_flows_count_post",
        (body, ignored) => Matching(call.Prefect, body, ignored).Count);

    private static Task Read(PrefectCall call, Func<PrefectStore, PrefectFlow?> find)
    {
        var prefect = call.Prefect;
        lock (prefect.Store.Lock)
        {
            return find(prefect.Store) is { } flow
                ? call.Json(200, JsonResponse.Serialize(w => FlowJson.Write(w, prefect.Dialect, flow)))
                : call.Detail(404, "Flow not found");
        }
    }

    /// <summary>Flows matching <c>flows</c>, and having a deployment that matches <c>deployments</c> when that is given.</summary>
    private static List<PrefectFlow> Matching(PrefectState prefect, JsonElement body, List<string> ignored)
    {
        var store = prefect.Store;
        var flows = FlowCriteria.From(FilterJson.Obj(body, "flows"), ignored, store.HasDeployments);
        HashSet<Guid>? deployed = null;
        if (FilterJson.Obj(body, "deployments") is { } deploymentFilter)
        {
            var deployments = DeploymentCriteria.From(null, deploymentFilter, store);
            ignored.AddRange(deployments.Ignored);
            deployed = store.Deployments.Where(deployments.Matches).Select(d => d.FlowId).ToHashSet();
        }

        foreach (var other in new[] { "flow_runs", "task_runs", "work_pools" })
        {
            if (FilterJson.Obj(body, other) is not null)
            {
                ignored.Add(other);
            }
        }

        return store.Flows.Where(f => flows.Matches(f.Name, f.Id) && (deployed is null || deployed.Contains(f.Id))).ToList();
    }
}
