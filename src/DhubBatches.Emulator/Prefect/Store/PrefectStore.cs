using System;
using System.Collections.Generic;
using System.Linq;
using DhubBatches.Emulator.Prefect.Flows;
using DhubBatches.Emulator.Prefect.Runs;

namespace DhubBatches.Emulator.Prefect.Store;

/// <summary>
/// In-memory deployments and flow runs. Runs sit in one <see cref="RunList"/> (subflow runs included) and one
/// per deployment, plus indexes by id, by sequence number (derived ids carry it) and by idempotency key. One lock
/// guards everything, and request handlers do their reading under it: pages are small, so it is held briefly.
/// </summary>
internal sealed class PrefectStore
{
    private readonly Dictionary<string, PrefectDeployment> _deployments = new(StringComparer.Ordinal);
    private readonly Dictionary<Guid, PrefectDeployment> _deploymentsById = new();
    private readonly Dictionary<Guid, RunList> _byDeployment = new();
    private readonly Dictionary<Guid, ConcurrencyQueue> _queues = new();
    private readonly Dictionary<string, Guid> _flowIds = new(StringComparer.Ordinal);
    private readonly Dictionary<Guid, StoredFlowRun> _byId = new();
    private readonly Dictionary<long, StoredFlowRun> _bySeq = new();
    private readonly Dictionary<(Guid FlowId, string Key), StoredFlowRun> _byKey = new();
    private readonly Dictionary<Guid, StoredFlowRun> _deleted = new();
    private readonly Dictionary<string, (int Created, int Repeats)> _created = new(StringComparer.Ordinal);
    private readonly HashSet<StoredFlowRun> _subflowParents = new();
    private long _seq;

    public object Lock { get; } = new();

    public RunList All { get; } = new();

    public IEnumerable<PrefectDeployment> Deployments => _deployments.Values;

    public void Clear()
    {
        _deployments.Clear();
        _deploymentsById.Clear();
        _byDeployment.Clear();
        _queues.Clear();
        _flowIds.Clear();
        _byId.Clear();
        _bySeq.Clear();
        _byKey.Clear();
        _deleted.Clear();
        _created.Clear();
        _subflowParents.Clear();
        All.Clear();
        _seq = 0;
    }

    /// <summary>The flow's id (one per flow name: the pipelines' flow, and each subflow).</summary>
    public Guid FlowIdFor(string flowName)
    {
        if (!_flowIds.TryGetValue(flowName, out var id))
        {
            id = Guid.NewGuid();
            _flowIds[flowName] = id;
        }

        return id;
    }

    /// <summary>Adds (or replaces the definition of) the deployment of a pipeline.</summary>
    public PrefectDeployment PutDeployment(string pipeline, FlowDefinition definition, DateTimeOffset now)
    {
        if (_deployments.TryGetValue(pipeline, out var existing))
        {
            var updated = existing with { Definition = definition };
            _deployments[pipeline] = updated;
            _deploymentsById[updated.Id] = updated;
            return updated;
        }

        var deployment = new PrefectDeployment(Guid.NewGuid(), pipeline, now, "1.0.0", Guid.NewGuid(), definition);
        _deployments[pipeline] = deployment;
        _deploymentsById[deployment.Id] = deployment;
        _byDeployment[deployment.Id] = new RunList();
        return deployment;
    }

    public PrefectDeployment? Deployment(string pipeline) => _deployments.GetValueOrDefault(pipeline);

    public PrefectDeployment? Deployment(Guid id) => _deploymentsById.GetValueOrDefault(id);

    public RunList RunsOf(Guid deploymentId) => _byDeployment.TryGetValue(deploymentId, out var list) ? list : new RunList();

    public StoredFlowRun? Get(Guid id) => _byId.GetValueOrDefault(id);

    /// <summary>A run, deleted ones included (artifacts outlive their run).</summary>
    public StoredFlowRun? GetIncludingDeleted(Guid id) => _byId.GetValueOrDefault(id) ?? _deleted.GetValueOrDefault(id);

    /// <summary>The run a derived id (task run, artifact, log) belongs to, deleted ones included.</summary>
    public StoredFlowRun? OwnerOf(Guid derivedId) =>
        DerivedIds.TryReadSeq(derivedId, out var seq) && _bySeq.TryGetValue(seq, out var run) ? run : null;

    public IEnumerable<StoredFlowRun> Deleted => _deleted.Values;

    public long NextSeq() => ++_seq;

    /// <summary>A new run, or the existing one holding the (flow, idempotency key) pair (201 vs 200).</summary>
    public (StoredFlowRun Run, bool Created) Create(PrefectDeployment deployment, Func<long, StoredFlowRun> make, string? idempotencyKey, Guid flowId)
    {
        _created.TryGetValue(deployment.Name, out var counts);
        if (idempotencyKey is not null && _byKey.TryGetValue((flowId, idempotencyKey), out var existing))
        {
            _created[deployment.Name] = (counts.Created, counts.Repeats + 1);
            return (existing, false);
        }

        var run = make(NextSeq());
        Insert(run);
        if (deployment.Definition.ConcurrencyLimit is { } limit)
        {
            QueueOf(deployment, limit).Join(run);
        }

        _created[deployment.Name] = (counts.Created + 1, counts.Repeats);
        return (run, true);
    }

    /// <summary>Adds runs that are not counted as created (seeding, the scheduler).</summary>
    public void AddUncounted(List<StoredFlowRun> runs)
    {
        All.AddRange(runs);
        foreach (var group in runs.Where(r => r.Deployment is not null).GroupBy(r => r.Deployment!.Id))
        {
            _byDeployment[group.Key].AddRange(group.ToList());
        }

        _byId.EnsureCapacity(_byId.Count + runs.Count);
        _bySeq.EnsureCapacity(_bySeq.Count + runs.Count);
        foreach (var run in runs)
        {
            Index(run);
        }
    }

    public void Insert(StoredFlowRun run)
    {
        All.Insert(run);
        if (run.Deployment is { } d)
        {
            _byDeployment[d.Id].Insert(run);
        }

        Index(run);
    }

    private void Index(StoredFlowRun run)
    {
        _byId[run.Id] = run;
        _bySeq[run.Seq] = run;
        if (run.IdempotencyKey is { } key)
        {
            _byKey[(run.FlowId, key)] = run;
        }

        if (run.Definition.Tasks.Any(t => t.Subflow is not null))
        {
            _subflowParents.Add(run);
        }
    }

    /// <summary>Removes the run and frees its idempotency key; its artifacts stay (no foreign key in Prefect).</summary>
    public StoredFlowRun? Delete(Guid id, DateTimeOffset now)
    {
        if (!_byId.Remove(id, out var run))
        {
            return null;
        }

        All.Remove(run);
        if (run.Deployment is { } d)
        {
            _byDeployment[d.Id].Remove(run);
        }

        if (run.IdempotencyKey is { } key && _byKey.TryGetValue((run.FlowId, key), out var holder) && holder == run)
        {
            _byKey.Remove((run.FlowId, key));
        }

        run.Queue?.Leave(run);
        _subflowParents.Remove(run);
        run.DeletedAt = now;
        _deleted[id] = run;
        return run;
    }

    public PrefectPipelineCounts Counts(string pipeline)
    {
        _created.TryGetValue(pipeline, out var c);
        var runs = _deployments.TryGetValue(pipeline, out var d) ? RunsOf(d.Id).Count : 0;
        return new PrefectPipelineCounts(runs, c.Created, c.Repeats);
    }

    /// <summary>A run restarted or otherwise changed may start subflows again: keep watching it.</summary>
    public void Changed(StoredFlowRun run)
    {
        run.Queue?.Changed();
        if (run.Definition.Tasks.Any(t => t.Subflow is not null) && run.DeletedAt is null)
        {
            _subflowParents.Add(run);
        }
    }

    /// <summary>
    /// Stores the subflow runs whose parents have started them by <paramref name="now"/>. A subflow run is fully
    /// determined by its parent's script, so it only has to exist in the indexes once it has begun.
    /// </summary>
    public void MaterializeChildren(DateTimeOffset now, FlowRunLifecycle lifecycle)
    {
        foreach (var parent in _subflowParents.ToList())
        {
            var script = lifecycle.Script(parent);
            foreach (var spawn in script.ChildrenAt(now))
            {
                if (parent.ChildRuns.ContainsKey(spawn.Key))
                {
                    continue;
                }

                var child = new StoredFlowRun
                {
                    Id = spawn.ChildId,
                    Seq = (1L << 40) | (parent.Seq << 8) | (uint)(parent.ChildRuns.Count & 0xFF),
                    Name = ScriptWriter.Slug(spawn.ChildId),
                    Deployment = null,
                    Definition = new FlowDefinition
                    {
                        Tasks = spawn.Tasks.Select(t => new TaskDefinition { Name = t }).ToArray(),
                        Offsets = parent.Definition.Offsets,
                    },
                    FlowName = spawn.FlowName,
                    FlowId = FlowIdFor(spawn.FlowName),
                    Created = spawn.At,
                    ExpectedStart = spawn.At,
                    Step = parent.Step,
                    ParametersJson = "{}",
                    CallParameterNames = Array.Empty<string>(),
                    Tags = Array.Empty<string>(),
                    Pipeline = parent.Pipeline,
                    Parent = parent,
                    ParentTaskRunId = spawn.TrackingTaskRunId,
                };
                parent.ChildRuns[spawn.Key] = child;
                Insert(child);
            }

            if (script.SettledAt is { } settled && settled <= now)
            {
                _subflowParents.Remove(parent);
            }
        }
    }

    private ConcurrencyQueue QueueOf(PrefectDeployment deployment, int limit)
    {
        if (!_queues.TryGetValue(deployment.Id, out var queue) || queue.Limit != limit)
        {
            queue = new ConcurrencyQueue(limit);
            _queues[deployment.Id] = queue;
        }

        return queue;
    }
}
