using System;
using System.Threading.Tasks;
using DhubBatches.Emulator.Hosting;
using DhubBatches.Emulator.Prefect.Json;
using DhubBatches.Emulator.Prefect.Query;
using DhubBatches.Emulator.Prefect.Store;

namespace DhubBatches.Emulator.Prefect.Api;

/// <summary>Flow runs (<c>src/prefect/server/api/flow_runs.py</c>): filter, count, read one, delete.</summary>
internal static class FlowRunEndpoints
{
    public static Task Filter(PrefectCall call) => call.FilterAsync<StoredFlowRun>(
        "Body_read_flow_runs_flow_runs_filter_post",
        (body, offset, limit, ignored) =>
        {
            var prefect = call.Prefect;
            var criteria = FlowRunCriteria.From(body, prefect.Store.HasDeployments);
            ignored.AddRange(criteria.Ignored);
            var now = prefect.UtcNow;
            prefect.Sync(now);
            var query = new FlowRunQuery(prefect.Store, prefect.Lifecycle, now);
            var page = query.Page(criteria, PrefectCall.Sort(body, "ID_DESC"), offset, limit);
            prefect.Examined(query.Examined + page.Count);
            return (page, (w, run) => FlowRunJson.Write(w, prefect.Dialect, run, query.View(run), prefect.WorkPoolId, now));
        });

    /// <summary>A bare JSON integer.</summary>
    public static Task Count(PrefectCall call) => call.CountAsync(
        "Body_count_flow_runs_flow_runs_count_post",
        (body, ignored) =>
        {
            var prefect = call.Prefect;
            var criteria = FlowRunCriteria.From(body, prefect.Store.HasDeployments);
            ignored.AddRange(criteria.Ignored);
            var now = prefect.UtcNow;
            prefect.Sync(now);
            var query = new FlowRunQuery(prefect.Store, prefect.Lifecycle, now);
            var count = query.Count(criteria);
            prefect.Examined(query.Examined);
            return count;
        });

    public static Task Read(PrefectCall call)
    {
        var prefect = call.Prefect;
        lock (prefect.Store.Lock)
        {
            var now = prefect.UtcNow;
            prefect.Sync(now);
            if (prefect.Store.Get(call.Id) is not { } run)
            {
                return call.Detail(404, "Flow run not found");
            }

            var view = prefect.Lifecycle.FlowAt(run, now);
            prefect.Examined(1);
            return call.Json(200, JsonResponse.Serialize(w => FlowRunJson.Write(w, prefect.Dialect, run, view, prefect.WorkPoolId, now)));
        }
    }

    /// <summary>204 and the run is gone (its idempotency key freed); it does not stop a running process.</summary>
    public static Task Delete(PrefectCall call)
    {
        var prefect = call.Prefect;
        lock (prefect.Store.Lock)
        {
            var now = prefect.UtcNow;
            if (prefect.Store.Delete(call.Id, now) is not { } run)
            {
                return call.Detail(404, "Flow run not found");
            }

            prefect.Record(new PrefectDeletedRun(run.Id.ToString(), run.Pipeline, now));
        }

        call.Http.Response.StatusCode = 204;
        call.Http.Response.ContentLength = 0;
        return Task.CompletedTask;
    }
}
