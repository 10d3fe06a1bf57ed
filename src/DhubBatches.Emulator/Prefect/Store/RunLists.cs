using System;
using System.Collections.Generic;
using System.Linq;

namespace DhubBatches.Emulator.Prefect.Store;

/// <summary>
/// The ordered run lists a flow run query takes a window of: every run, the runs of each deployment, of each flow,
/// and each of those split by whether a run has a deployment (<c>deployment_id.is_null_</c>). Keeping one list per
/// thing a filter names is what lets page 500 of a flow's runs cost what page 1 does.
/// </summary>
internal sealed class RunLists
{
    private readonly Dictionary<Guid, RunList> _byDeployment = new();
    private readonly Dictionary<(Guid Flow, bool? Deployed), RunList> _byFlow = new();
    private readonly RunList _deployed = new();
    private readonly RunList _undeployed = new();

    public RunList All { get; } = new();

    public void Clear()
    {
        _byDeployment.Clear();
        _byFlow.Clear();
        _deployed.Clear();
        _undeployed.Clear();
        All.Clear();
    }

    /// <summary>The deployment's runs (kept after the deployment is deleted: its runs still name it).</summary>
    public RunList OfDeployment(Guid deploymentId) => _byDeployment.GetValueOrDefault(deploymentId) ?? new RunList();

    /// <summary>The flow's runs; <paramref name="deployed"/> true or false keeps only runs with or without a deployment.</summary>
    public RunList OfFlow(Guid flowId, bool? deployed) => _byFlow.GetValueOrDefault((flowId, deployed)) ?? new RunList();

    /// <summary>Every run with (or without) a deployment.</summary>
    public RunList ByDeployment(bool deployed) => deployed ? _deployed : _undeployed;

    public void Insert(StoredFlowRun run)
    {
        foreach (var list in ListsOf(run))
        {
            list.Insert(run);
        }
    }

    /// <summary>Adds a batch in order; each list gets the part of it that belongs there.</summary>
    public void AddRange(List<StoredFlowRun> runs)
    {
        if (runs.Count == 0)
        {
            return;
        }

        // A batch usually belongs to one deployment: then every list gets the same runs.
        var first = runs[0];
        if (runs.TrueForAll(r => r.Deployment?.Id == first.Deployment?.Id && r.FlowId == first.FlowId))
        {
            foreach (var list in ListsOf(first))
            {
                list.AddRange(runs);
            }

            return;
        }

        foreach (var group in runs.SelectMany(r => ListsOf(r).Select(list => (list, r))).GroupBy(x => x.list, x => x.r))
        {
            group.Key.AddRange(group.ToList());
        }
    }

    public void Remove(StoredFlowRun run)
    {
        foreach (var list in ListsOf(run))
        {
            list.Remove(run);
        }
    }

    private IEnumerable<RunList> ListsOf(StoredFlowRun run)
    {
        var deployed = run.Deployment is not null;
        yield return All;
        yield return deployed ? _deployed : _undeployed;
        yield return Get(_byFlow, (run.FlowId, null));
        yield return Get(_byFlow, (run.FlowId, deployed));
        if (run.Deployment is { } d)
        {
            yield return Get(_byDeployment, d.Id);
        }
    }

    private static RunList Get<TKey>(Dictionary<TKey, RunList> lists, TKey key)
        where TKey : notnull
    {
        if (!lists.TryGetValue(key, out var list))
        {
            list = new RunList();
            lists[key] = list;
        }

        return list;
    }
}
