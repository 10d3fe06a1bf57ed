using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using DhubBatches.Emulator.Hosting;
using DhubBatches.Emulator.Prefect.Json;
using DhubBatches.Emulator.Prefect.Query;
using DhubBatches.Emulator.Prefect.Runs;
using DhubBatches.Emulator.Prefect.Store;

namespace DhubBatches.Emulator.Prefect.Api;

/// <summary>Task runs (<c>src/prefect/server/api/task_runs.py</c>): filter, count, read one.</summary>
internal static class TaskRunEndpoints
{
    public static Task Filter(PrefectCall call) => call.FilterAsync<(StoredFlowRun Run, TaskRunView Task)>(
        "Body_read_task_runs_task_runs_filter_post",
        (body, offset, limit, ignored) =>
        {
            var prefect = call.Prefect;
            var now = prefect.UtcNow;
            var (found, examined) = Find(prefect, body, now, ignored);
            prefect.Examined(examined);
            var page = TaskRunQuery.Sort(found, PrefectCall.Sort(body, "ID_DESC")).Skip(offset).Take(limit).ToList();
            return (page, (w, item) => TaskRunJson.Write(w, prefect.Dialect, item.Run.Id, item.Task, now));
        });

    public static Task Count(PrefectCall call) => call.CountAsync(
        "Body_count_task_runs_task_runs_count_post",
        (body, ignored) =>
        {
            var (found, examined) = Find(call.Prefect, body, call.Prefect.UtcNow, ignored);
            call.Prefect.Examined(examined);
            return found.Count;
        });

    /// <summary>404 <c>{"detail":"Task not found"}</c> for an unknown id; the id leads back to its flow run.</summary>
    public static Task Read(PrefectCall call)
    {
        var prefect = call.Prefect;
        lock (prefect.Store.Lock)
        {
            var now = prefect.UtcNow;
            prefect.Sync(now);
            if (prefect.Store.OwnerOf(call.Id) is { DeletedAt: null } run
                && prefect.Lifecycle.Script(run).TasksAt(now).FirstOrDefault(t => t.Track.Id == call.Id) is { } task)
            {
                return call.Json(200, JsonResponse.Serialize(w => TaskRunJson.Write(w, prefect.Dialect, run.Id, task, now)));
            }

            return call.Detail(404, "Task not found");
        }
    }

    private static (List<(StoredFlowRun Run, TaskRunView Task)> Found, int Examined) Find(PrefectState prefect, JsonElement body, DateTimeOffset now,
        List<string> ignored)
    {
        prefect.Sync(now);
        var criteria = FlowRunCriteria.From(body, prefect.Store.HasDeployments);
        ignored.AddRange(criteria.Ignored.Where(i => i != "task_runs"));
        var query = new FlowRunQuery(prefect.Store, prefect.Lifecycle, now);
        var found = TaskRunQuery.Find(body, query, prefect.Store, criteria, now, prefect.Lifecycle.Script, ignored);
        return (found, query.Examined + found.Select(f => f.Run).Distinct().Count());
    }
}
