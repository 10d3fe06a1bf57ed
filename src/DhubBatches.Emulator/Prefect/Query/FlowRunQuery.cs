using System;
using System.Collections.Generic;
using System.Linq;
using DhubBatches.Emulator.Prefect.Runs;
using DhubBatches.Emulator.Prefect.Store;

namespace DhubBatches.Emulator.Prefect.Query;

/// <summary>
/// Answers <c>/flow_runs/filter</c> and <c>/flow_runs/count</c> from the store's indexes: ids, a deployment's or a
/// flow's run list (or the runs with or without a deployment) narrow the candidates, an expected_start_time window is a binary search, and when nothing else has
/// to be checked a page is a slice, so reading page 500 of 100,000 runs costs what page 1 does. Otherwise the
/// candidates are walked in order and each is checked (settled runs answer their state from a memo).
/// </summary>
internal sealed class FlowRunQuery
{
    private readonly PrefectStore _store;
    private readonly FlowRunLifecycle _lifecycle;
    private readonly DateTimeOffset _now;

    public FlowRunQuery(PrefectStore store, FlowRunLifecycle lifecycle, DateTimeOffset now)
    {
        _store = store;
        _lifecycle = lifecycle;
        _now = now;
    }

    /// <summary>Runs whose criteria or state this query had to look at (the cost of the request).</summary>
    public int Examined { get; private set; }

    public FlowRunView View(StoredFlowRun run) => _lifecycle.FlowAt(run, _now);

    public List<StoredFlowRun> Page(FlowRunCriteria criteria, string sort, int offset, int limit)
    {
        if (sort is "EXPECTED_START_TIME_DESC" or "EXPECTED_START_TIME_ASC")
        {
            var descending = sort.EndsWith("DESC", StringComparison.Ordinal);
            var (list, from, to, used) = Source(criteria);
            if (list is not null && !criteria.NeedsCheck(used))
            {
                var page = new List<StoredFlowRun>();
                for (var i = offset; i < to - from && page.Count < limit; i++)
                {
                    page.Add(list[descending ? to - 1 - i : from + i]);
                }

                return page;
            }

            return Walk(criteria, descending).Skip(offset).Take(limit).ToList();
        }

        var all = Walk(criteria, descending: false).ToList();
        IEnumerable<StoredFlowRun> ordered = sort switch
        {
            // START_TIME sorts use coalesce(start_time, expected_start_time).
            "START_TIME_ASC" => all.OrderBy(r => View(r).StartTime ?? r.ExpectedStart),
            "START_TIME_DESC" => all.OrderByDescending(r => View(r).StartTime ?? r.ExpectedStart),
            "NAME_ASC" => all.OrderBy(r => r.Name, StringComparer.Ordinal),
            "NAME_DESC" => all.OrderByDescending(r => r.Name, StringComparer.Ordinal),
            // DESC puts NULLs first (Postgres' default).
            "END_TIME_DESC" => all.OrderByDescending(r => View(r).EndTime ?? DateTimeOffset.MaxValue),
            "NEXT_SCHEDULED_START_TIME_ASC" => all.OrderBy(r => View(r) is { State.Type: StateTypes.Scheduled } v ? v.State.ScheduledTime ?? DateTimeOffset.MaxValue : DateTimeOffset.MaxValue),
            // ID_DESC orders by the random uuid, so it is not chronological.
            _ => all.OrderByDescending(r => r.Id.ToString(), StringComparer.Ordinal),
        };
        return ordered.Skip(offset).Take(limit).ToList();
    }

    public int Count(FlowRunCriteria criteria)
    {
        var (list, from, to, used) = Source(criteria);
        return list is not null && !criteria.NeedsCheck(used) ? to - from : Walk(criteria, descending: false).Count();
    }

    /// <summary>Every match in expected-start order, checked one by one.</summary>
    public IEnumerable<StoredFlowRun> Walk(FlowRunCriteria criteria, bool descending)
    {
        var (list, from, to, used) = Source(criteria);
        IEnumerable<StoredFlowRun> candidates;
        if (list is not null)
        {
            candidates = Range(list, from, to, descending);
        }
        else
        {
            var merged = Candidates(criteria).OrderBy(r => r.ExpectedStart).ThenBy(r => r.Seq);
            candidates = descending ? merged.Reverse() : merged;
        }

        foreach (var run in candidates)
        {
            Examined++;
            if (criteria.Matches(run, () => View(run), used))
            {
                yield return run;
            }
        }
    }

    /// <summary>
    /// One ordered list to take a window of, when the criteria allow it: a deployment's runs, a flow's (either
    /// split by whether runs have a deployment), all runs with or without one, or every run. Else null: several
    /// deployments, flows or ids to merge (see <see cref="Candidates"/>).
    /// </summary>
    private (RunList? List, int From, int To, IndexKind[] Used) Source(FlowRunCriteria criteria)
    {
        if (criteria.IndexIds is not null)
        {
            return (null, 0, 0, new[] { IndexKind.Ids });
        }

        var flows = FlowIds(criteria);
        var has = criteria.IndexHasDeployment;
        var used = new List<IndexKind> { IndexKind.Window };
        if (has is not null)
        {
            used.Add(IndexKind.HasDeployment);
        }

        RunList list;
        if (criteria.IndexDeployments is { } deployments)
        {
            if (deployments.Count != 1)
            {
                return (null, 0, 0, new[] { IndexKind.Deployment });
            }

            list = _store.Runs.OfDeployment(deployments.First());
            used.Add(IndexKind.Deployment);
            // A deployment's runs share one flow and all have a deployment: those clauses hold for all of them or none.
            if (flows is not null)
            {
                used.Add(IndexKind.Flow);
                if (list.Count > 0 && !flows.Contains(list[0].FlowId))
                {
                    list = new RunList();
                }
            }

            if (has == false)
            {
                list = new RunList();
            }
        }
        else if (flows is not null)
        {
            if (flows.Count > 1)
            {
                return (null, 0, 0, used.Where(k => k != IndexKind.Window).Append(IndexKind.Flow).ToArray());
            }

            list = flows.Count == 0 ? new RunList() : _store.Runs.OfFlow(flows.First(), has);
            used.Add(IndexKind.Flow);
        }
        else
        {
            list = has is { } deployed ? _store.Runs.ByDeployment(deployed) : _store.All;
        }

        var (from, to) = list.Window(criteria.ExpectedAfter, criteria.ExpectedBefore);
        return (list, from, to, used.ToArray());
    }

    /// <summary>The flows every match must be of (by name or id, resolved without creating any), or null for no such limit.</summary>
    private HashSet<Guid>? FlowIds(FlowRunCriteria criteria)
    {
        var names = criteria.Flows.IndexNames;
        var ids = criteria.Flows.IndexIds;
        if (names is null && ids is null)
        {
            return null;
        }

        var set = names is null ? new HashSet<Guid>(ids!) : names.Select(n => _store.Flow(n)?.Id).OfType<Guid>().ToHashSet();
        if (names is not null && ids is not null)
        {
            set.IntersectWith(ids);
        }

        return set;
    }

    private IEnumerable<StoredFlowRun> Candidates(FlowRunCriteria criteria)
    {
        if (criteria.IndexIds is { } ids)
        {
            return ids.Select(_store.Get).Where(r => r is not null).Select(r => r!);
        }

        IEnumerable<RunList> lists = criteria.IndexDeployments is { } deployments
            ? deployments.Select(_store.Runs.OfDeployment)
            : FlowIds(criteria)!.Select(f => _store.Runs.OfFlow(f, criteria.IndexHasDeployment));
        return lists.SelectMany(list =>
        {
            var (from, to) = list.Window(criteria.ExpectedAfter, criteria.ExpectedBefore);
            return Range(list, from, to, descending: false);
        });
    }

    private static IEnumerable<StoredFlowRun> Range(RunList list, int from, int to, bool descending)
    {
        for (var i = 0; i < to - from; i++)
        {
            yield return list[descending ? to - 1 - i : from + i];
        }
    }
}
