using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using DhubBatches.Emulator.Hosting;
using DhubBatches.Emulator.Prefect.Json;
using DhubBatches.Emulator.Prefect.Query;
using DhubBatches.Emulator.Prefect.Runs;

namespace DhubBatches.Emulator.Prefect.Api;

/// <summary>Artifacts (<c>src/prefect/server/api/artifacts.py</c>): filter, count, read one.</summary>
internal static class ArtifactEndpoints
{
    public static Task Filter(PrefectCall call) => call.FilterAsync<ArtifactRecord>(
        "Body_read_artifacts_artifacts_filter_post",
        (body, offset, limit, ignored) =>
        {
            var found = Find(call.Prefect, body, ignored);
            var page = ArtifactLogQuery.SortArtifacts(found, PrefectCall.Sort(body, "ID_DESC")).Skip(offset).Take(limit).ToList();
            return (page, (w, artifact) => ArtifactLogJson.Artifact(w, call.Dialect, artifact));
        });

    public static Task Count(PrefectCall call) => call.CountAsync(
        "Body_count_artifacts_artifacts_count_post",
        (body, ignored) => Find(call.Prefect, body, ignored).Count);

    /// <summary>404 <c>{"detail":"Artifact not found."}</c>; the id leads back to its flow run (deleted ones included).</summary>
    public static Task Read(PrefectCall call)
    {
        var prefect = call.Prefect;
        lock (prefect.Store.Lock)
        {
            var now = prefect.UtcNow;
            prefect.Sync(now);
            if (prefect.Store.OwnerOf(call.Id) is { } run
                && prefect.Lifecycle.Script(run).ArtifactsAt(run.DeletedAt ?? now).FirstOrDefault(a => a.Id == call.Id) is { } artifact)
            {
                return call.Json(200, JsonResponse.Serialize(w => ArtifactLogJson.Artifact(w, prefect.Dialect, artifact)));
            }

            return call.Detail(404, "Artifact not found.");
        }
    }

    private static List<ArtifactRecord> Find(PrefectState prefect, JsonElement body, List<string> ignored)
    {
        var now = prefect.UtcNow;
        prefect.Sync(now);
        var criteria = FlowRunCriteria.From(body, prefect.Store.HasDeployments);
        ignored.AddRange(criteria.Ignored.Where(i => i != "task_runs"));
        var query = new FlowRunQuery(prefect.Store, prefect.Lifecycle, now);
        var found = ArtifactLogQuery.Artifacts(body, query, prefect.Store, criteria, now, prefect.Lifecycle.Script, ignored);
        prefect.Examined(query.Examined + found.Select(a => a.FlowRunId).Distinct().Count());
        return found;
    }
}
