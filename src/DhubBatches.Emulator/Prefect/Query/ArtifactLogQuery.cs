using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using DhubBatches.Emulator.Prefect.Runs;
using DhubBatches.Emulator.Prefect.Store;
using static DhubBatches.Emulator.Prefect.Query.FilterJson;

namespace DhubBatches.Emulator.Prefect.Query;

/// <summary>
/// <c>/artifacts/filter</c> (<c>ArtifactFilter</c> joined with flow run filters) and <c>/logs/filter</c>
/// (<c>LogFilter</c>). Candidate runs come from the run or task run ids given, so reading the artifacts of a page of
/// runs costs that page. Artifacts outlive a deleted run (no foreign key) and read as of its deletion; logs go with it.
/// </summary>
internal static class ArtifactLogQuery
{
    public static List<ArtifactRecord> Artifacts(JsonElement body, FlowRunQuery runs, PrefectStore store, FlowRunCriteria flowCriteria,
        DateTimeOffset now, Func<StoredFlowRun, RunScript> script, List<string> ignored)
    {
        var filter = Obj(body, "artifacts");
        var or = IsOr(filter);
        var clauses = new List<Func<ArtifactRecord, bool>>();
        HashSet<Guid>? runIds = null, owners = null;
        foreach (var p in Members(filter))
        {
            var v = p.Value;
            switch (p.Name)
            {
                case "id":
                    var ids = Guids(v, "any_");
                    owners = or ? null : Owners(store, ids);
                    clauses.Add(a => ids is null || ids.Contains(a.Id));
                    break;
                case "key":
                    var keys = Strings(v, "any_");
                    var like = String(v, "like_");
                    var exists = Bool(v, "exists_");
                    clauses.Add(a => (keys is null || (a.Key is not null && keys.Contains(a.Key))) && (like is null || Like(a.Key, like))
                        && (exists is null || exists == (a.Key is not null)));
                    break;
                case "flow_run_id":
                    var flowRuns = Guids(v, "any_");
                    runIds = or ? null : flowRuns;
                    clauses.Add(a => flowRuns is null || flowRuns.Contains(a.FlowRunId));
                    break;
                case "task_run_id":
                    var taskRuns = Guids(v, "any_");
                    owners = or ? owners : Owners(store, taskRuns);
                    clauses.Add(a => taskRuns is null || (a.TaskRunId is { } t && taskRuns.Contains(t)));
                    break;
                case "type":
                    var types = Strings(v, "any_");
                    var notTypes = Strings(v, "not_any_");
                    clauses.Add(a => (types is null || types.Contains(a.Type)) && (notTypes is null || !notTypes.Contains(a.Type)));
                    break;
                default:
                    ignored.Add("artifacts." + p.Name);
                    break;
            }
        }

        if (Obj(body, "task_runs") is not null)
        {
            ignored.Add("task_runs");
        }

        if (flowCriteria.IndexIds is { } joined)
        {
            runIds = runIds is null ? joined : runIds.Intersect(joined).ToHashSet();
        }

        runIds ??= owners;
        var candidates = runIds is not null
            ? runIds.Select(store.GetIncludingDeleted).Where(r => r is not null).Select(r => r!)
            : store.All.Range().Concat(store.Deleted);
        var found = new List<ArtifactRecord>();
        foreach (var run in candidates)
        {
            var at = run.DeletedAt is { } deleted && deleted < now ? deleted : now;
            if (!flowCriteria.Matches(run, () => runs.View(run)))
            {
                continue;
            }

            foreach (var artifact in script(run).Artifacts)
            {
                if (artifact.At <= at && Matches(or, clauses, artifact))
                {
                    found.Add(artifact);
                }
            }
        }

        return found;
    }

    public static IEnumerable<ArtifactRecord> SortArtifacts(List<ArtifactRecord> items, string sort) => sort switch
    {
        "CREATED_DESC" or "UPDATED_DESC" => items.OrderByDescending(a => a.At),
        "KEY_DESC" => items.OrderByDescending(a => a.Key, StringComparer.Ordinal),
        "KEY_ASC" => items.OrderBy(a => a.Key, StringComparer.Ordinal),
        _ => items.OrderByDescending(a => a.Id.ToString(), StringComparer.Ordinal),
    };

    public static List<LogRecord> Logs(JsonElement body, PrefectStore store, DateTimeOffset now, Func<StoredFlowRun, RunScript> script, List<string> ignored)
    {
        var filter = Obj(body, "logs");
        var or = IsOr(filter);
        var clauses = new List<Func<LogRecord, bool>>();
        HashSet<Guid>? runIds = null;
        foreach (var p in Members(filter))
        {
            var v = p.Value;
            switch (p.Name)
            {
                case "level":
                    var ge = Long(v, "ge_");
                    var le = Long(v, "le_");
                    clauses.Add(l => (ge is null || l.Level >= ge) && (le is null || l.Level <= le));
                    break;
                case "timestamp":
                    var before = Time(v, "before_");
                    var after = Time(v, "after_");
                    clauses.Add(l => (before is null || l.At <= before) && (after is null || l.At >= after));
                    break;
                case "flow_run_id":
                    var flowRuns = Guids(v, "any_");
                    runIds = or ? null : flowRuns;
                    clauses.Add(l => flowRuns is null || flowRuns.Contains(l.FlowRunId));
                    break;
                case "task_run_id":
                    var taskRuns = Guids(v, "any_");
                    var isNull = Bool(v, "is_null_");
                    runIds = or || runIds is not null ? runIds : Owners(store, taskRuns);
                    clauses.Add(l => (taskRuns is null || (l.TaskRunId is { } t && taskRuns.Contains(t))) && (isNull is null || isNull == (l.TaskRunId is null)));
                    break;
                default:
                    ignored.Add("logs." + p.Name);
                    break;
            }
        }

        var candidates = runIds is not null ? runIds.Select(store.Get).Where(r => r is not null).Select(r => r!) : store.All.Range();
        var found = new List<LogRecord>();
        foreach (var run in candidates)
        {
            foreach (var log in script(run).Logs)
            {
                if (log.At <= now && Matches(or, clauses, log))
                {
                    found.Add(log);
                }
            }
        }

        return found;
    }

    /// <summary>The runs derived ids (task runs, artifacts) belong to, or null when none were given.</summary>
    private static HashSet<Guid>? Owners(PrefectStore store, HashSet<Guid>? ids) =>
        ids?.Select(store.OwnerOf).Where(r => r is not null).Select(r => r!.Id).ToHashSet();
}
