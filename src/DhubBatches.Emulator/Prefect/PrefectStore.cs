using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;

namespace DhubBatches.Emulator.Prefect;

/// <summary>A deployment <c>{flow}/{pipeline}</c> (§4), one per registered pipeline.</summary>
internal sealed record PrefectDeployment(Guid Id, string Name, DateTimeOffset Created, string Version, Guid WorkQueueId);

/// <summary>
/// What the store keeps per flow run. Creation facts are fixed; the cancellation fields are written by
/// set_state (§9) under the store lock, and everything else is computed by <see cref="FlowRunLifecycle"/>.
/// </summary>
internal sealed class StoredFlowRun
{
    public required Guid Id { get; init; }
    public required long Seq { get; init; }
    public required string Name { get; init; }
    public required string Pipeline { get; init; }
    public required PrefectDeployment Deployment { get; init; }
    public required DateTimeOffset Created { get; init; }
    public required TimeSpan StepDuration { get; init; }
    public required bool FailsAtTransform { get; init; }
    public required bool ObjectData { get; init; }
    public required string ParametersJson { get; init; }
    public required string[] Tags { get; init; }
    public string? IdempotencyKey { get; init; }
    /// <summary>The simulated worker's process id (shown once it claimed the run).</summary>
    public string InfrastructurePid => "emulator-worker:" + (4000 + (Seq % 60000));

    public DateTimeOffset? CancelRequestedAt { get; set; }
    public string? CancellingTransitionId { get; set; }
    public string? CancellingMessage { get; set; }

    /// <summary>A CANCELLED written directly (REJECT substitute, or a client proposing CANCELLED).</summary>
    public DateTimeOffset? CancelledAt { get; set; }
    public string? CancelledMessage { get; set; }
    public string? CancelledTransitionId { get; set; }

    /// <summary>When the run becomes CANCELLED: directly, or when the simulated worker acts one step after CANCELLING.</summary>
    public DateTimeOffset? FinalCancelAt =>
        CancelledAt is { } direct ? direct
        : CancelRequestedAt is { } requested ? requested + StepDuration
        : null;

    public DateTimeOffset? DeletedAt { get; set; }
}

/// <summary>Counters for test assertions about the Prefect side.</summary>
public sealed record PrefectPipelineCounts(int Runs, int Created, int IdempotentRepeats);

/// <summary>A set_state call as received (for assertions), with the orchestration status it got.</summary>
public sealed record PrefectSetStateCall(string FlowRunId, string ProposedType, string? TransitionId, string Status, DateTimeOffset At);

/// <summary>A flow run removed by DELETE (§10).</summary>
public sealed record PrefectDeletedRun(string FlowRunId, string Pipeline, DateTimeOffset DeletedAt);

/// <summary>
/// In-memory deployments and flow runs. Runs are kept in one list ordered by (expected_start_time, seq) plus an
/// id index, so the "latest" query walks from the end and 100,000 seeded runs stay cheap. One lock guards all.
/// </summary>
internal sealed class PrefectStore
{
    private static readonly string[] Adjectives = { "amber", "brisk", "calm", "daring", "eager", "fuzzy", "gentle", "hidden", "icy", "jolly", "keen", "lucky", "mellow", "noble", "odd", "proud", "quiet", "rapid", "silver", "tidy" };
    private static readonly string[] Animals = { "otter", "falcon", "badger", "lynx", "heron", "marmot", "gecko", "ibis", "jackal", "koala", "lemur", "moose", "newt", "okapi", "panda", "quail", "raven", "stoat", "tapir", "walrus" };

    // Prefect's default run name is a random two-word slug (§5).
    private static readonly string[] Slugs = Adjectives.SelectMany(a => Animals.Select(b => a + "-" + b)).ToArray();

    private readonly object _lock = new();
    private readonly Dictionary<string, PrefectDeployment> _deployments = new(StringComparer.Ordinal);
    private readonly List<StoredFlowRun> _runs = new();
    private readonly Dictionary<Guid, StoredFlowRun> _byId = new();
    private readonly Dictionary<Guid, StoredFlowRun> _deleted = new();
    private readonly Dictionary<string, StoredFlowRun> _byKey = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (int Created, int Repeats)> _created = new(StringComparer.Ordinal);
    private readonly List<PrefectSetStateCall> _setStateCalls = new();
    private readonly List<PrefectDeletedRun> _deletedLog = new();
    private long _seq;
    private int _waitRemaining;

    public object Lock => _lock;

    public Guid FlowId { get; private set; } = Guid.NewGuid();

    public Guid WorkPoolId { get; private set; } = Guid.NewGuid();

    public void Clear()
    {
        lock (_lock)
        {
            _deployments.Clear();
            _runs.Clear();
            _byId.Clear();
            _deleted.Clear();
            _byKey.Clear();
            _created.Clear();
            _setStateCalls.Clear();
            _deletedLog.Clear();
            _waitRemaining = 0;
            FlowId = Guid.NewGuid();
            WorkPoolId = Guid.NewGuid();
        }
    }

    /// <summary>Deployments for every registered pipeline (created on first sight, then stable), by name.</summary>
    public IReadOnlyList<PrefectDeployment> Deployments(IEnumerable<string> pipelines, DateTimeOffset now)
    {
        lock (_lock)
        {
            var result = new List<PrefectDeployment>();
            foreach (var p in pipelines)
            {
                result.Add(DeploymentLocked(p, now));
            }

            return result;
        }
    }

    public PrefectDeployment DeploymentLocked(string pipeline, DateTimeOffset now)
    {
        if (!_deployments.TryGetValue(pipeline, out var d))
        {
            d = new PrefectDeployment(Guid.NewGuid(), pipeline, now, "1.0.0", Guid.NewGuid());
            _deployments[pipeline] = d;
        }

        return d;
    }

    /// <summary>§5 / §5.2: a new run (true) or the existing run holding the idempotency key (false).</summary>
    public (StoredFlowRun Run, bool Created) Create(PrefectDeployment deployment, string? name, JsonObject parameters, IEnumerable<string> tags,
        string? idempotencyKey, DateTimeOffset now, TimeSpan step, bool fails, bool objectData)
    {
        lock (_lock)
        {
            _created.TryGetValue(deployment.Name, out var counts);
            if (idempotencyKey is not null && _byKey.TryGetValue(idempotencyKey, out var existing))
            {
                _created[deployment.Name] = (counts.Created, counts.Repeats + 1);
                return (existing, false);
            }

            var run = NewRun(deployment, name, parameters.ToJsonString(), tags.ToArray(), idempotencyKey, now, step, fails, objectData);
            Insert(run);
            _created[deployment.Name] = (counts.Created + 1, counts.Repeats);
            return (run, true);
        }
    }

    /// <summary>Finished runs are dated in the past, one second apart and oldest first; unfinished ones just now.</summary>
    public void Seed(PrefectDeployment deployment, int count, bool finished, DateTimeOffset now, TimeSpan step, bool fails, bool objectData)
    {
        lock (_lock)
        {
            var runs = new List<StoredFlowRun>(count);
            for (var i = 0; i < count; i++)
            {
                var created = finished
                    ? now - (step * 6) - TimeSpan.FromSeconds(count - i)
                    : now - TimeSpan.FromTicks(count - i);
                runs.Add(NewRun(deployment, null, "{}", new[] { "pipeline" }, null, created, step, fails, objectData));
            }

            // Seeded runs are ascending; sort only when they interleave with runs already stored.
            var needsSort = _runs.Count > 0 && runs.Count > 0 && CompareByExpectedStart(_runs[^1], runs[0]) > 0;
            _runs.AddRange(runs);
            _byId.EnsureCapacity(_byId.Count + runs.Count);
            foreach (var r in runs)
            {
                _byId[r.Id] = r;
            }

            if (needsSort)
            {
                _runs.Sort(CompareByExpectedStart);
            }
        }
    }

    public StoredFlowRun? Get(Guid id)
    {
        lock (_lock)
        {
            return _byId.GetValueOrDefault(id);
        }
    }

    /// <summary>A run, deleted ones included (artifacts outlive their run, §10).</summary>
    public StoredFlowRun? GetIncludingDeleted(Guid id)
    {
        lock (_lock)
        {
            return _byId.GetValueOrDefault(id) ?? _deleted.GetValueOrDefault(id);
        }
    }

    /// <summary>All runs ordered by expected_start_time ascending (a snapshot copy).</summary>
    public StoredFlowRun[] Snapshot()
    {
        lock (_lock)
        {
            return _runs.ToArray();
        }
    }

    public StoredFlowRun[] SnapshotIncludingDeleted()
    {
        lock (_lock)
        {
            return _runs.Concat(_deleted.Values).ToArray();
        }
    }

    /// <summary>§10: removes the run and frees its idempotency key.</summary>
    public bool Delete(Guid id, DateTimeOffset now)
    {
        lock (_lock)
        {
            if (!_byId.Remove(id, out var run))
            {
                return false;
            }

            var index = _runs.BinarySearch(run, Comparer<StoredFlowRun>.Create(CompareByExpectedStart));
            if (index >= 0)
            {
                _runs.RemoveAt(index);
            }
            else
            {
                _runs.Remove(run);
            }

            if (run.IdempotencyKey is { } key && _byKey.TryGetValue(key, out var holder) && holder == run)
            {
                _byKey.Remove(key);
            }

            run.DeletedAt = now;
            _deleted[id] = run;
            _deletedLog.Add(new PrefectDeletedRun(id.ToString(), run.Pipeline, now));
            return true;
        }
    }

    public void RecordSetState(PrefectSetStateCall call)
    {
        lock (_lock)
        {
            _setStateCalls.Add(call);
        }
    }

    public IReadOnlyList<PrefectSetStateCall> SetStateCalls()
    {
        lock (_lock)
        {
            return _setStateCalls.ToArray();
        }
    }

    public IReadOnlyList<PrefectDeletedRun> DeletedRuns()
    {
        lock (_lock)
        {
            return _deletedLog.ToArray();
        }
    }

    public PrefectPipelineCounts Counts(string pipeline)
    {
        lock (_lock)
        {
            _created.TryGetValue(pipeline, out var c);
            return new PrefectPipelineCounts(_runs.Count(r => r.Pipeline == pipeline), c.Created, c.Repeats);
        }
    }

    public void SetWait(int count)
    {
        lock (_lock)
        {
            _waitRemaining = Math.Max(0, count);
        }
    }

    /// <summary>True (and counts down) while the WAIT knob has calls left.</summary>
    public bool TakeWait()
    {
        lock (_lock)
        {
            if (_waitRemaining <= 0)
            {
                return false;
            }

            _waitRemaining--;
            return true;
        }
    }

    private StoredFlowRun NewRun(PrefectDeployment deployment, string? name, string parametersJson, string[] tags, string? key,
        DateTimeOffset created, TimeSpan step, bool fails, bool objectData)
    {
        // §6.1: ids are random UUIDs, so ID_DESC is not chronological.
        Guid id;
        do
        {
            id = Guid.NewGuid();
        }
        while (_byId.ContainsKey(id));

        var seq = ++_seq;
        return new StoredFlowRun
        {
            Id = id,
            Seq = seq,
            Name = name ?? Slugs[Random.Shared.Next(Slugs.Length)],
            Pipeline = deployment.Name,
            Deployment = deployment,
            Created = created,
            StepDuration = step,
            FailsAtTransform = fails,
            ObjectData = objectData,
            ParametersJson = parametersJson,
            Tags = tags,
            IdempotencyKey = key,
        };
    }

    private void Insert(StoredFlowRun run)
    {
        var index = _runs.BinarySearch(run, Comparer<StoredFlowRun>.Create(CompareByExpectedStart));
        _runs.Insert(index < 0 ? ~index : index, run);
        _byId[run.Id] = run;
        if (run.IdempotencyKey is { } key)
        {
            _byKey[key] = run;
        }
    }

    private static int CompareByExpectedStart(StoredFlowRun a, StoredFlowRun b)
    {
        var c = a.Created.CompareTo(b.Created);
        return c != 0 ? c : a.Seq.CompareTo(b.Seq);
    }
}
