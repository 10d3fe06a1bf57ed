using System;
using System.Collections.Generic;
using System.Linq;
using DhubBatches.Emulator.Prefect.Flows;
using DhubBatches.Emulator.Prefect.Runs;

namespace DhubBatches.Emulator.Prefect.Store;

/// <summary>
/// In-memory flows, deployments and flow runs. Deployments are keyed by (flow, name), so flows other than the
/// pipelines' one can have deployments of the same names. Runs sit in ordered lists (<see cref="RunLists"/>: all,
/// per deployment, per flow), plus indexes by id, by sequence number (derived ids carry it) and by idempotency key.
/// One lock guards everything, and request handlers do their reading under it: pages are small, so it is held briefly.
/// </summary>
internal sealed class PrefectStore
{
    private readonly string _pipelineFlow;
    private readonly Func<DateTimeOffset> _now;
    private readonly Dictionary<(string Flow, string Name), PrefectDeployment> _deployments = new();
    private readonly Dictionary<Guid, PrefectDeployment> _deploymentsById = new();
    private readonly Dictionary<Guid, ConcurrencyQueue> _queues = new();
    private readonly Dictionary<string, PrefectFlow> _flows = new(StringComparer.Ordinal);
    private readonly Dictionary<Guid, PrefectFlow> _flowsById = new();
    private readonly Dictionary<Guid, StoredFlowRun> _byId = new();
    private readonly Dictionary<long, StoredFlowRun> _bySeq = new();
    private readonly Dictionary<(Guid FlowId, string Key), StoredFlowRun> _byKey = new();
    private readonly Dictionary<Guid, StoredFlowRun> _deleted = new();
    private readonly Dictionary<(string Flow, string Name), (int Created, int Repeats)> _created = new();
    private readonly HashSet<StoredFlowRun> _subflowParents = new();
    private long _seq;

    /// <param name="pipelineFlow">The flow whose deployments are the pipelines.</param>
    /// <param name="now">The emulator's clock (a flow's <c>created</c>).</param>
    public PrefectStore(string pipelineFlow, Func<DateTimeOffset> now)
    {
        _pipelineFlow = pipelineFlow;
        _now = now;
    }

    public object Lock { get; } = new();

    public RunLists Runs { get; } = new();

    public RunList All => Runs.All;

    public IEnumerable<PrefectDeployment> Deployments => _deployments.Values;

    public IEnumerable<PrefectFlow> Flows => _flows.Values;

    public void Clear()
    {
        _deployments.Clear();
        _deploymentsById.Clear();
        _queues.Clear();
        _flows.Clear();
        _flowsById.Clear();
        _byId.Clear();
        _bySeq.Clear();
        _byKey.Clear();
        _deleted.Clear();
        _created.Clear();
        _subflowParents.Clear();
        Runs.Clear();
        _seq = 0;
    }

    /// <summary>The flow's id (one per flow name: the pipelines' flow, other flows with deployments, each subflow), made on first use.</summary>
    public Guid FlowIdFor(string flowName) => FlowNamed(flowName).Id;

    public PrefectFlow FlowNamed(string flowName)
    {
        if (!_flows.TryGetValue(flowName, out var flow))
        {
            flow = new PrefectFlow(Guid.NewGuid(), flowName, _now());
            _flows[flowName] = flow;
            _flowsById[flow.Id] = flow;
        }

        return flow;
    }

    /// <summary>The flow of that name if it exists (a read never creates one).</summary>
    public PrefectFlow? Flow(string flowName) => _flows.GetValueOrDefault(flowName);

    public PrefectFlow? Flow(Guid id) => _flowsById.GetValueOrDefault(id);

    /// <summary>Adds (or replaces the definition of) the deployment of a pipeline.</summary>
    public PrefectDeployment PutDeployment(string pipeline, FlowDefinition definition, DateTimeOffset now) =>
        PutDeployment(_pipelineFlow, pipeline, definition, now);

    /// <summary>Adds (or replaces the definition of) the deployment <c>{flow}/{name}</c>; a new one gets a new id.</summary>
    public PrefectDeployment PutDeployment(string flowName, string name, FlowDefinition definition, DateTimeOffset now)
    {
        if (_deployments.TryGetValue((flowName, name), out var existing))
        {
            var updated = existing with { Definition = definition, Updated = now };
            _deployments[(flowName, name)] = updated;
            _deploymentsById[updated.Id] = updated;
            return updated;
        }

        var deployment = new PrefectDeployment(Guid.NewGuid(), flowName, FlowIdFor(flowName), name, now, now, "1.0.0", Guid.NewGuid(), definition,
            flowName == _pipelineFlow);
        _deployments[(flowName, name)] = deployment;
        _deploymentsById[deployment.Id] = deployment;
        return deployment;
    }

    /// <summary>The pipeline's deployment (a deployment of the pipelines' flow).</summary>
    public PrefectDeployment? Deployment(string pipeline) => Deployment(_pipelineFlow, pipeline);

    public PrefectDeployment? Deployment(string flowName, string name) => _deployments.GetValueOrDefault((flowName, name));

    public PrefectDeployment? Deployment(Guid id) => _deploymentsById.GetValueOrDefault(id);

    /// <summary>Whether the flow has a deployment (<c>flows.deployment.is_null_</c>).</summary>
    public bool HasDeployments(Guid flowId) => _deployments.Values.Any(d => d.FlowId == flowId);

    public RunList RunsOf(Guid deploymentId) => Runs.OfDeployment(deploymentId);

    /// <summary>
    /// Removes the deployment record. Its runs are the caller's business: Prefect deletes the SCHEDULED ones and
    /// leaves the rest pointing at the id that no longer exists (<c>flow_run.deployment_id</c> has no foreign key).
    /// </summary>
    public PrefectDeployment? RemoveDeployment(Guid id)
    {
        if (!_deploymentsById.Remove(id, out var deployment))
        {
            return null;
        }

        _deployments.Remove((deployment.FlowName, deployment.Name));
        _queues.Remove(id);
        return deployment;
    }

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
        var key = (deployment.FlowName, deployment.Name);
        _created.TryGetValue(key, out var counts);
        if (idempotencyKey is not null && _byKey.TryGetValue((flowId, idempotencyKey), out var existing))
        {
            _created[key] = (counts.Created, counts.Repeats + 1);
            return (existing, false);
        }

        var run = make(NextSeq());
        Insert(run);
        if (deployment.Definition.ConcurrencyLimit is { } limit)
        {
            QueueOf(deployment, limit).Join(run);
        }

        _created[key] = (counts.Created + 1, counts.Repeats);
        return (run, true);
    }

    /// <summary>Adds runs that are not counted as created (seeding, the scheduler).</summary>
    public void AddUncounted(List<StoredFlowRun> runs)
    {
        Runs.AddRange(runs);
        _byId.EnsureCapacity(_byId.Count + runs.Count);
        _bySeq.EnsureCapacity(_bySeq.Count + runs.Count);
        foreach (var run in runs)
        {
            Index(run);
        }
    }

    public void Insert(StoredFlowRun run)
    {
        Runs.Insert(run);
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

        Runs.Remove(run);

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

    public PrefectPipelineCounts Counts(string pipeline) => Counts(_pipelineFlow, pipeline);

    public PrefectPipelineCounts Counts(string flowName, string name)
    {
        _created.TryGetValue((flowName, name), out var c);
        var runs = _deployments.TryGetValue((flowName, name), out var d) ? RunsOf(d.Id).Count : 0;
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
