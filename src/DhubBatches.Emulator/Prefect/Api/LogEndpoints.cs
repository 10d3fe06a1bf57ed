using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using DhubBatches.Emulator.Hosting;
using DhubBatches.Emulator.Prefect.Json;
using DhubBatches.Emulator.Prefect.Query;

namespace DhubBatches.Emulator.Prefect.Api;

/// <summary>
/// <c>POST /logs/filter</c> (<c>src/prefect/server/api/logs.py</c>): the lines a run has written by now, filtered by
/// level, time, flow run and task run, sorted TIMESTAMP_ASC (the default) or TIMESTAMP_DESC, paged by limit/offset.
/// </summary>
internal static class LogEndpoints
{
    public static async Task Filter(PrefectCall call)
    {
        if (await call.Body("Body_read_logs_logs_filter_post", true) is not { } body)
        {
            return;
        }

        if (!call.Paging(body, out var limit, out var offset, out var error))
        {
            await error!;
            return;
        }

        var prefect = call.Prefect;
        var ignored = new List<string>();
        ReadOnlyMemory<byte> json;
        lock (prefect.Store.Lock)
        {
            var now = prefect.UtcNow;
            prefect.Sync(now);
            var found = ArtifactLogQuery.Logs(body, prefect.Store, now, prefect.Lifecycle.ScriptWithLogs, ignored);
            var ordered = PrefectCall.Sort(body, "TIMESTAMP_ASC") == "TIMESTAMP_DESC"
                ? found.OrderByDescending(l => l.At).ThenByDescending(l => l.Id.ToString(), StringComparer.Ordinal)
                : found.OrderBy(l => l.At).ThenBy(l => l.Id.ToString(), StringComparer.Ordinal);
            var page = ordered.Skip(offset).Take(limit).ToList();
            json = JsonResponse.Serialize(w =>
            {
                w.WriteStartArray();
                foreach (var log in page)
                {
                    ArtifactLogJson.Log(w, prefect.Dialect, log);
                }

                w.WriteEndArray();
            });
            prefect.Examined(found.Select(l => l.FlowRunId).Distinct().Count());
        }

        call.NoteIgnored(ignored);
        await call.Json(200, json);
    }
}
