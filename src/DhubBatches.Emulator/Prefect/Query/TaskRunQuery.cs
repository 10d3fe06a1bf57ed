using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using DhubBatches.Emulator.Prefect.Runs;
using DhubBatches.Emulator.Prefect.Store;
using static DhubBatches.Emulator.Prefect.Query.FilterJson;

namespace DhubBatches.Emulator.Prefect.Query;

/// <summary>
/// <c>/task_runs/filter</c>: a <c>TaskRunFilter</c> (id, name, state, flow_run_id, subflow_runs, time windows) joined
/// with a flow run filter. Candidate runs come from the ids given (<c>task_runs.flow_run_id.any_</c>,
/// <c>flow_runs.id.any_</c>, or the runs behind <c>task_runs.id.any_</c>), so a page of 200 runs costs 200 scripts.
/// </summary>
internal static class TaskRunQuery
{
    public static List<(StoredFlowRun Run, TaskRunView Task)> Find(JsonElement body, FlowRunQuery runs, PrefectStore store,
        FlowRunCriteria flowCriteria, DateTimeOffset now, Func<StoredFlowRun, RunScript> script, List<string> ignored)
    {
        var filter = Obj(body, "task_runs");
        var or = IsOr(filter);
        var clauses = new List<Func<StoredFlowRun, TaskRunView, bool>>();
        HashSet<Guid>? runIds = null, taskIds = null;
        foreach (var p in Members(filter))
        {
            var v = p.Value;
            switch (p.Name)
            {
                case "id":
                    var ids = Guids(v, "any_");
                    var notIds = Guids(v, "not_any_");
                    taskIds = or || notIds is not null ? null : ids;
                    clauses.Add((_, t) => (ids is null || ids.Contains(t.Track.Id)) && (notIds is null || !notIds.Contains(t.Track.Id)));
                    break;
                case "name":
                    var names = Strings(v, "any_");
                    var like = String(v, "like_");
                    clauses.Add((_, t) => (names is null || names.Contains(t.Name)) && (like is null || Like(t.Name, like)));
                    break;
                case "flow_run_id":
                    var flowRuns = Guids(v, "any_");
                    var isNull = Bool(v, "is_null_");
                    runIds = or || isNull is not null ? null : flowRuns;
                    // Every task run here belongs to a flow run: is_null_ true matches none.
                    clauses.Add((r, _) => (flowRuns is null || flowRuns.Contains(r.Id)) && isNull is not true);
                    break;
                case "state":
                    var types = Strings(Obj(v, "type"), "any_");
                    var notTypes = Strings(Obj(v, "type"), "not_any_");
                    var stateNames = Strings(Obj(v, "name"), "any_");
                    var notNames = Strings(Obj(v, "name"), "not_any_");
                    clauses.Add((_, t) => (types is null || types.Contains(t.State.Type)) && (notTypes is null || !notTypes.Contains(t.State.Type))
                        && (stateNames is null || stateNames.Contains(t.State.Name)) && (notNames is null || !notNames.Contains(t.State.Name)));
                    break;
                case "subflow_runs":
                    var exists = Bool(v, "exists_");
                    clauses.Add((_, t) => exists is null || exists == (t.Track.ChildFlowRunId is not null));
                    break;
                case "expected_start_time":
                    clauses.Add(Window(v, t => t.Track.Created));
                    break;
                case "start_time":
                    clauses.Add(Window(v, t => t.StartTime));
                    break;
                case "end_time":
                    clauses.Add(Window(v, t => t.EndTime));
                    break;
                default:
                    ignored.Add("task_runs." + p.Name);
                    break;
            }
        }

        if (flowCriteria.IndexIds is { } flowRunIds)
        {
            runIds = runIds is null ? flowRunIds : runIds.Intersect(flowRunIds).ToHashSet();
        }

        IEnumerable<StoredFlowRun> candidates = runIds is not null
            ? runIds.Select(store.Get).Where(r => r is not null).Select(r => r!).Where(r => flowCriteria.Matches(r, () => runs.View(r)))
            : taskIds is not null
                ? taskIds.Select(store.OwnerOf).Where(r => r is { DeletedAt: null }).Select(r => r!).Distinct()
                    .Where(r => flowCriteria.Matches(r, () => runs.View(r)))
                : runs.Walk(flowCriteria, descending: false);

        var found = new List<(StoredFlowRun, TaskRunView)>();
        foreach (var run in candidates)
        {
            foreach (var task in script(run).TasksAt(now))
            {
                if (Matches(or, clauses, run, task))
                {
                    found.Add((run, task));
                }
            }
        }

        return found;
    }

    public static IEnumerable<(StoredFlowRun Run, TaskRunView Task)> Sort(List<(StoredFlowRun Run, TaskRunView Task)> items, string sort) => sort switch
    {
        "EXPECTED_START_TIME_ASC" => items.OrderBy(i => i.Task.Track.Created),
        "EXPECTED_START_TIME_DESC" => items.OrderByDescending(i => i.Task.Track.Created),
        "NAME_ASC" => items.OrderBy(i => i.Task.Name, StringComparer.Ordinal),
        "NAME_DESC" => items.OrderByDescending(i => i.Task.Name, StringComparer.Ordinal),
        "END_TIME_DESC" => items.OrderByDescending(i => i.Task.EndTime ?? DateTimeOffset.MaxValue),
        "NEXT_SCHEDULED_START_TIME_ASC" => items,
        _ => items.OrderByDescending(i => i.Task.Track.Id.ToString(), StringComparer.Ordinal),
    };

    private static Func<StoredFlowRun, TaskRunView, bool> Window(JsonElement v, Func<TaskRunView, DateTimeOffset?> field)
    {
        var before = Time(v, "before_");
        var after = Time(v, "after_");
        var isNull = Bool(v, "is_null_");
        return (_, t) =>
        {
            var value = field(t);
            return (before is null || (value is { } b && b <= before)) && (after is null || (value is { } a && a >= after))
                && (isNull is null || isNull == (value is null));
        };
    }
}
