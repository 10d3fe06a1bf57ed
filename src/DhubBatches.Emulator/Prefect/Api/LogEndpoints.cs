using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using DhubBatches.Emulator.Hosting;
using DhubBatches.Emulator.Prefect.Json;
using DhubBatches.Emulator.Prefect.Query;
using DhubBatches.Emulator.Prefect.Runs;

namespace DhubBatches.Emulator.Prefect.Api;

/// <summary>
/// <c>POST /logs/filter</c> (<c>src/prefect/server/api/logs.py</c>): the lines a run has written by now, filtered by
/// level, time, flow run and task run, sorted TIMESTAMP_ASC (the default) or TIMESTAMP_DESC, paged by limit/offset.
/// </summary>
internal static class LogEndpoints
{
    public static Task Filter(PrefectCall call) => call.FilterAsync<LogRecord>(
        "Body_read_logs_logs_filter_post",
        (body, offset, limit, ignored) =>
        {
            var prefect = call.Prefect;
            var now = prefect.UtcNow;
            prefect.Sync(now);
            var found = ArtifactLogQuery.Logs(body, prefect.Store, now, prefect.Lifecycle.ScriptWithLogs, ignored);
            var ordered = PrefectCall.Sort(body, "TIMESTAMP_ASC") == "TIMESTAMP_DESC"
                ? found.OrderByDescending(l => l.At).ThenByDescending(l => l.Id.ToString(), StringComparer.Ordinal)
                : found.OrderBy(l => l.At).ThenBy(l => l.Id.ToString(), StringComparer.Ordinal);
            prefect.Examined(found.Select(l => l.FlowRunId).Distinct().Count());
            return (ordered.Skip(offset).Take(limit).ToList(), (w, log) => ArtifactLogJson.Log(w, prefect.Dialect, log));
        });
}
