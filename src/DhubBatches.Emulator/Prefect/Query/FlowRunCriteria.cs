using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using DhubBatches.Emulator.Prefect.Runs;
using DhubBatches.Emulator.Prefect.Store;
using static DhubBatches.Emulator.Prefect.Query.FilterJson;

namespace DhubBatches.Emulator.Prefect.Query;

/// <summary>What part of the store a clause is answered by, so a query that used that index can skip it.</summary>
internal enum IndexKind
{
    None,
    Deployment,
    Window,
    Ids,
    Flow,
    HasDeployment,
}

/// <summary>
/// A <c>flows</c> + <c>deployments</c> + <c>flow_runs</c> filter (<c>FlowRunFilter</c> with <c>operator</c>
/// <c>and_</c>/<c>or_</c>, <c>src/prefect/server/schemas/filters.py</c>). Members the emulator does not evaluate are
/// listed in <see cref="Ignored"/> (sent back in <c>X-Emulator-Ignored-Filters</c>) rather than silently matching.
/// Under <c>and_</c> it also tells the query which indexes narrow the candidates.
/// </summary>
internal sealed class FlowRunCriteria
{
    private readonly List<Clause> _joined = new();
    private readonly List<Clause> _runs = new();
    private bool _or;

    public List<string> Ignored { get; } = new();

    /// <summary>Deployments every match must belong to (from an <c>and_</c> deployment_id/deployments.id filter).</summary>
    public HashSet<Guid>? IndexDeployments { get; private set; }

    /// <summary>Runs every match must be one of (<c>flow_runs.id.any_</c> under <c>and_</c>).</summary>
    public HashSet<Guid>? IndexIds { get; private set; }

    /// <summary>The <c>flows</c> criteria; their <c>any_</c> lists name the flows every match must be of.</summary>
    public FlowCriteria Flows { get; private set; } = null!;

    /// <summary>Whether every match has a deployment (<c>deployment_id.is_null_</c> alone, under <c>and_</c>), or null.</summary>
    public bool? IndexHasDeployment { get; private set; }

    public DateTimeOffset? ExpectedAfter { get; private set; }

    public DateTimeOffset? ExpectedBefore { get; private set; }

    /// <summary>True when something beyond the given indexes has to be checked run by run.</summary>
    public bool NeedsCheck(params IndexKind[] used) =>
        _joined.Concat(_runs).Any(c => !used.Contains(c.Index)) || (_or && _runs.Count > 1);

    /// <param name="body">The filter body.</param>
    /// <param name="hasDeployments">Whether a flow has a deployment (<c>flows.deployment.is_null_</c>).</param>
    /// <param name="filterName">The body member holding the run criteria.</param>
    public static FlowRunCriteria From(JsonElement body, Func<Guid, bool> hasDeployments, string filterName = "flow_runs")
    {
        var c = new FlowRunCriteria();
        var flows = FlowCriteria.From(Obj(body, "flows"), c.Ignored, hasDeployments);
        c.Flows = flows;
        if (!flows.IsEmpty)
        {
            c._joined.Add(Static(flows.OnlyIndexed ? IndexKind.Flow : IndexKind.None, r => flows.Matches(r.FlowName, r.FlowId)));
        }

        var deployments = Obj(body, "deployments");
        foreach (var p in Members(deployments))
        {
            var v = p.Value;
            switch (p.Name)
            {
                case "id" when Guids(v, "any_") is { } ids:
                    c.IndexDeployments = ids;
                    c._joined.Add(Static(IndexKind.Deployment, r => r.Deployment is { } d && ids.Contains(d.Id)));
                    break;
                case "name" when Strings(v, "any_") is { } names:
                    c._joined.Add(Static(IndexKind.None, r => r.Deployment is { } d && names.Contains(d.Name)));
                    break;
                default:
                    c.Ignored.Add("deployments." + p.Name);
                    break;
            }
        }

        var runs = Obj(body, filterName);
        c._or = IsOr(runs);
        foreach (var p in Members(runs))
        {
            c.AddRunClause(p.Name, p.Value, filterName);
        }

        foreach (var other in new[] { "task_runs", "work_pools", "work_pool_queues" })
        {
            if (Obj(body, other) is not null && other != filterName)
            {
                c.Ignored.Add(other);
            }
        }

        return c;
    }

    public bool Matches(StoredFlowRun run, Func<FlowRunView> view, params IndexKind[] used)
    {
        FlowRunView? cached = null;
        FlowRunView View() => cached ??= view();
        foreach (var clause in _joined)
        {
            if (!used.Contains(clause.Index) && !clause.Test(run))
            {
                return false;
            }
        }

        // The run clauses combine with the operator; none at all means "match".
        var tested = 0;
        foreach (var clause in _runs)
        {
            if (!_or && used.Contains(clause.Index))
            {
                continue;
            }

            var ok = clause.NeedsView ? clause.ViewTest!(run, View()) : clause.Test(run);
            if (ok == _or)
            {
                return _or;
            }

            tested++;
        }

        return tested == 0 || !_or;
    }

    private void AddRunClause(string name, JsonElement v, string filterName)
    {
        var indexable = !_or;
        switch (name)
        {
            case "id":
                var ids = Guids(v, "any_");
                var notIds = Guids(v, "not_any_");
                if (ids is not null && notIds is null && indexable)
                {
                    IndexIds = ids;
                }

                Add(IndexKind.Ids, r => (ids is null || ids.Contains(r.Id)) && (notIds is null || !notIds.Contains(r.Id)), ids is not null && notIds is null);
                break;
            case "name":
                var names = Strings(v, "any_");
                var like = String(v, "like_");
                Add(IndexKind.None, r => (names is null || names.Contains(r.Name)) && (like is null || Like(r.Name, like)));
                break;
            case "tags":
                var all = Strings(v, "all_");
                var anyTags = Strings(v, "any_");
                var noTags = Bool(v, "is_null_");
                Add(IndexKind.None, r => Combine(IsOr(v), new[]
                {
                    all is null || all.All(t => r.Tags.Contains(t)),
                    anyTags is null || anyTags.Any(t => r.Tags.Contains(t)),
                    noTags is null || noTags == (r.Tags.Length == 0),
                }));
                break;
            case "deployment_id":
                var deployments = Guids(v, "any_");
                var isNull = Bool(v, "is_null_");
                var onlyAny = deployments is not null && isNull is null;
                var onlyNull = isNull is not null && deployments is null;
                if (onlyAny && indexable)
                {
                    IndexDeployments = IndexDeployments is null ? deployments : IndexDeployments.Intersect(deployments!).ToHashSet();
                }

                if (onlyNull && indexable)
                {
                    IndexHasDeployment = !isNull;
                }

                Add(onlyNull ? IndexKind.HasDeployment : IndexKind.Deployment, r => Combine(IsOr(v), new[]
                {
                    deployments is null || (r.Deployment is { } d && deployments.Contains(d.Id)),
                    isNull is null || isNull == (r.Deployment is null),
                }.Where((_, i) => i == 0 ? deployments is not null : isNull is not null).ToList()), onlyAny || onlyNull);
                break;
            case "expected_start_time":
                var before = Time(v, "before_");
                var after = Time(v, "after_");
                if (indexable)
                {
                    ExpectedBefore = before;
                    ExpectedAfter = after;
                }

                Add(IndexKind.Window, r => (before is null || r.ExpectedStart <= before) && (after is null || r.ExpectedStart >= after), true);
                break;
            case "idempotency_key":
                var keys = Strings(v, "any_");
                var notKeys = Strings(v, "not_any_");
                Add(IndexKind.None, r => (keys is null || (r.IdempotencyKey is { } k && keys.Contains(k)))
                    && (notKeys is null || r.IdempotencyKey is null || !notKeys.Contains(r.IdempotencyKey)));
                break;
            case "parent_task_run_id":
                var parents = Guids(v, "any_");
                var noParent = Bool(v, "is_null_");
                Add(IndexKind.None, r => Combine(IsOr(v), new[]
                {
                    parents is null || (r.ParentTaskRunId is { } p && parents.Contains(p)),
                    noParent is null || noParent == (r.ParentTaskRunId is null),
                }));
                break;
            case "parent_flow_run_id":
                var parentRuns = Guids(v, "any_");
                Add(IndexKind.None, r => parentRuns is null || (r.Parent is { } p && parentRuns.Contains(p.Id)));
                break;
            case "work_queue_name":
                var queues = Strings(v, "any_");
                var noQueue = Bool(v, "is_null_");
                Add(IndexKind.None, r => (queues is null || (r.Deployment is not null && queues.Contains("default")))
                    && (noQueue is null || noQueue == (r.Deployment is null)));
                break;
            case "state":
                AddStateClause(v);
                break;
            case "flow_version":
                var versions = Strings(v, "any_");
                AddView((_, view) => versions is null || (view.RunCount > 0 && versions.Contains(Json.FlowRunJson.FlowVersion)));
                break;
            case "start_time":
                AddTimeClause(v, view => view.StartTime);
                break;
            case "end_time":
                AddTimeClause(v, view => view.EndTime);
                break;
            case "next_scheduled_start_time":
                AddTimeClause(v, view => view.State.Type == StateTypes.Scheduled ? view.State.ScheduledTime : null);
                break;
            default:
                Ignored.Add(filterName + "." + name);
                break;
        }
    }

    private void AddStateClause(JsonElement v)
    {
        var type = Obj(v, "type");
        var stateName = Obj(v, "name");
        var types = Strings(type, "any_");
        var notTypes = Strings(type, "not_any_");
        var names = Strings(stateName, "any_");
        var notNames = Strings(stateName, "not_any_");
        var or = IsOr(v);
        AddView((_, view) => Combine(or, new[]
        {
            (types is null || types.Contains(view.State.Type)) && (notTypes is null || !notTypes.Contains(view.State.Type)),
            (names is null || names.Contains(view.State.Name)) && (notNames is null || !notNames.Contains(view.State.Name)),
        }.Where((_, i) => i == 0 ? type is not null : stateName is not null).ToList()));
    }

    private void AddTimeClause(JsonElement v, Func<FlowRunView, DateTimeOffset?> field)
    {
        var before = Time(v, "before_");
        var after = Time(v, "after_");
        var isNull = Bool(v, "is_null_");
        AddView((_, view) =>
        {
            var t = field(view);
            return (before is null || (t is { } b && b <= before)) && (after is null || (t is { } a && a >= after)) && (isNull is null || isNull == (t is null));
        });
    }

    private void Add(IndexKind index, Func<StoredFlowRun, bool> test, bool indexed = false) =>
        _runs.Add(new Clause(false, null, indexed ? index : IndexKind.None, test));

    private void AddView(Func<StoredFlowRun, FlowRunView, bool> test) => _runs.Add(new Clause(true, test, IndexKind.None, _ => true));

    private static Clause Static(IndexKind index, Func<StoredFlowRun, bool> test) => new(false, null, index, test);

    private sealed record Clause(bool NeedsView, Func<StoredFlowRun, FlowRunView, bool>? ViewTest, IndexKind Index, Func<StoredFlowRun, bool> Test);
}
