using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using DhubBatches.Emulator.Prefect.Flows;
using DhubBatches.Emulator.Prefect.Runs;
using DhubBatches.Emulator.Prefect.Store;
using DhubBatches.Emulator.Requests;

namespace DhubBatches.Emulator.Prefect;

/// <summary>
/// The Prefect backend's part of an emulator: server settings (auth, CSRF, default limit, version), each
/// pipeline's deployment and flow definition, the flow runs, and the knobs tests turn (WAIT/ABORT answers).
/// Tests reach it as <c>state.Prefect</c>; <c>/_emulator/prefect/...</c> does the same over HTTP.
/// </summary>
public sealed class PrefectState
{
    private readonly EmulatorState _shared;
    private readonly EmulatorOptions _options;
    private readonly Dictionary<string, FlowDefinition> _definitions = new(StringComparer.Ordinal);
    private readonly List<PrefectSetStateCall> _setStateCalls = new();
    private readonly List<PrefectDeletedRun> _deletedRuns = new();
    private int _defaultLimit;
    private int _waitRemaining;
    private int _abortRemaining;
    private string _abortReason = string.Empty;
    private long _runsExamined;

    internal PrefectState(EmulatorState shared, EmulatorOptions options)
    {
        _shared = shared;
        _options = options;
        Dialect = PrefectDialect.For(options.PrefectVersion);
        Store = new PrefectStore(FlowName, () => shared.UtcNow);
        Lifecycle = new FlowRunLifecycle(Dialect, name => Store.FlowIdFor(name));
        // Only the pipelines have a step duration of their own; other flows' deployments take the emulator's.
        Factory = new RunFactory(Store, d => d.IsPipeline ? shared.StepOf(d.Name) : shared.StepDuration);
    }

    internal PrefectDialect Dialect { get; }

    internal PrefectStore Store { get; }

    internal FlowRunLifecycle Lifecycle { get; }

    internal RunFactory Factory { get; }

    internal PrefectCsrfTokens CsrfTokens { get; } = new();

    /// <summary>The last 1,000 Prefect request bodies, so tests can check what a client really sent.</summary>
    internal BoundedLog<PrefectRequestBody> Bodies { get; } = new(1_000);

    internal Guid WorkPoolId { get; private set; } = Guid.NewGuid();

    /// <summary>The Prefect major version imitated (2 or 3).</summary>
    public int Version => Dialect.Major;

    /// <summary>Basic auth <c>user:pass</c>; null disables it.</summary>
    public string? AuthString { get; set; }

    /// <summary>API key required as Bearer; null disables it.</summary>
    public string? ApiKey { get; set; }

    /// <summary>CSRF protection on POST/PUT/PATCH/DELETE.</summary>
    public bool Csrf { get; set; }

    /// <summary>The flow whose deployments are the pipelines.</summary>
    public string FlowName => _options.PrefectFlowName ?? "run-pipeline";

    /// <summary><c>PREFECT_SERVER_API_DEFAULT_LIMIT</c>: default and maximum <c>limit</c> of every filter (at least 1).</summary>
    public int DefaultLimit
    {
        get => Volatile.Read(ref _defaultLimit);
        set => Volatile.Write(ref _defaultLimit, value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), "The limit must be at least 1."));
    }

    /// <summary>Runs requests had to examine since the last reset (criteria checked or state computed): a measure of cost.</summary>
    public long RunsExamined => Interlocked.Read(ref _runsExamined);

    /// <summary>Run scripts built since the last reset.</summary>
    public long ScriptsBuilt
    {
        get
        {
            lock (Store.Lock)
            {
                return Lifecycle.ScriptsBuilt;
            }
        }
    }

    /// <summary>Registers (or re-registers) a pipeline with an explicit flow definition, on both backends.</summary>
    public void RegisterPipeline(string pipeline, FlowDefinition definition)
    {
        ArgumentException.ThrowIfNullOrEmpty(pipeline);
        ArgumentNullException.ThrowIfNull(definition);
        definition.Validate();
        lock (Store.Lock)
        {
            _definitions[pipeline] = definition;
        }

        _shared.AddPipeline(pipeline);
        lock (Store.Lock)
        {
            Store.PutDeployment(pipeline, definition, _shared.UtcNow);
        }
    }

    /// <summary>
    /// Registers (or re-registers) the deployment <c>{flow}/{name}</c> with a flow definition. For the pipelines'
    /// flow that is <see cref="RegisterPipeline"/>; a deployment of any other flow exists on the Prefect side only
    /// and is never a pipeline, whatever its name.
    /// </summary>
    public void RegisterFlowDeployment(string flow, string name, FlowDefinition definition)
    {
        ArgumentException.ThrowIfNullOrEmpty(flow);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(definition);
        if (flow == FlowName)
        {
            RegisterPipeline(name, definition);
            return;
        }

        definition.Validate();
        lock (Store.Lock)
        {
            Store.PutDeployment(flow, name, definition, _shared.UtcNow);
        }
    }

    /// <summary>The definition the deployment <c>{flow}/{name}</c> runs, or null when there is no such deployment.</summary>
    public FlowDefinition? DefinitionOf(string flow, string name)
    {
        lock (Store.Lock)
        {
            return Store.Deployment(flow, name)?.Definition;
        }
    }

    /// <summary>The id of the deployment <c>{flow}/{name}</c>, or null.</summary>
    public string? DeploymentId(string flow, string name)
    {
        lock (Store.Lock)
        {
            return Store.Deployment(flow, name)?.Id.ToString();
        }
    }

    /// <summary>The flow's id, or null when no flow of that name exists.</summary>
    public string? FlowId(string flow)
    {
        lock (Store.Lock)
        {
            return Store.Flow(flow)?.Id.ToString();
        }
    }

    /// <summary>Seeds runs of the deployment <c>{flow}/{name}</c> as <see cref="Seed(string, int, bool)"/> does for a pipeline.</summary>
    public void Seed(string flow, string name, int count, bool finished = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        lock (Store.Lock)
        {
            var deployment = Store.Deployment(flow, name) ?? throw new KeyNotFoundException($"Deployment '{flow}/{name}' not found");
            Factory.Seed(deployment, count, finished, _shared.UtcNow);
        }
    }

    /// <summary>Counters of the deployment <c>{flow}/{name}</c> (runs stored, created, idempotent repeats).</summary>
    public PrefectPipelineCounts Counts(string flow, string name)
    {
        lock (Store.Lock)
        {
            return Store.Counts(flow, name);
        }
    }

    /// <summary>Deployments of flows other than the pipelines' one, as (flow, name), sorted.</summary>
    public IReadOnlyList<(string Flow, string Name)> OtherFlowDeployments()
    {
        lock (Store.Lock)
        {
            return Store.Deployments.Where(d => !d.IsPipeline).Select(d => (d.FlowName, d.Name)).Order().ToArray();
        }
    }

    /// <summary>
    /// <c>DELETE /deployments/{id}</c> (<c>models/deployments.py</c> <c>delete_deployment</c>): the deployment goes, and so
    /// do its runs that are SCHEDULED now (Prefect 3 spares AwaitingConcurrencySlot and runs that already ran). Its
    /// other runs stay, still naming the deleted id. False when there is no such deployment.
    /// </summary>
    public bool DeleteDeployment(Guid id)
    {
        lock (Store.Lock)
        {
            var now = _shared.UtcNow;
            Sync(now);
            if (Store.RemoveDeployment(id) is not { } deployment)
            {
                return false;
            }

            var runs = Store.RunsOf(id);
            var doomed = new List<StoredFlowRun>();
            for (var i = 0; i < runs.Count; i++)
            {
                var view = Lifecycle.FlowAt(runs[i], now);
                if (view.State.Type == StateTypes.Scheduled
                    && (Dialect.IsV2 || (view.State.Name != "AwaitingConcurrencySlot" && view.RunCount == 0)))
                {
                    doomed.Add(runs[i]);
                }
            }

            Examined(runs.Count);
            foreach (var run in doomed)
            {
                Store.Delete(run.Id, now);
                Record(new PrefectDeletedRun(run.Id.ToString(), deployment.Name, now));
            }

            return true;
        }
    }

    /// <summary>The flow definition a pipeline's deployment runs (registered, or the built-in its name picks).</summary>
    public FlowDefinition DefinitionOf(string pipeline)
    {
        lock (Store.Lock)
        {
            return _definitions.TryGetValue(pipeline, out var d) ? d : BuiltInFlows.For(pipeline, _shared.FailingPipelinePrefix);
        }
    }

    /// <summary>The deployment id of the pipeline, or null for an unknown pipeline.</summary>
    public string? DeploymentId(string pipeline)
    {
        lock (Store.Lock)
        {
            return Store.Deployment(pipeline)?.Id.ToString();
        }
    }

    /// <summary>
    /// Adds <paramref name="count"/> flow runs to the pipeline's deployment (finished ones in the past, one second
    /// apart, so EXPECTED_START_TIME_DESC lists the newest first). Not counted as created.
    /// </summary>
    public void Seed(string pipeline, int count, bool finished = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        lock (Store.Lock)
        {
            var deployment = Store.Deployment(pipeline) ?? throw new KeyNotFoundException($"Pipeline '{pipeline}' not found");
            Factory.Seed(deployment, count, finished, _shared.UtcNow);
        }
    }

    /// <summary>Flow runs stored for the pipeline, and create_flow_run calls that created a run vs. returned one by idempotency key.</summary>
    public PrefectPipelineCounts Counts(string pipeline)
    {
        lock (Store.Lock)
        {
            return Store.Counts(pipeline);
        }
    }

    /// <summary>create_flow_run calls that created a new run (201) for the pipeline.</summary>
    public int CreatedCount(string pipeline) => Counts(pipeline).Created;

    /// <summary>Every set_state call received, oldest first.</summary>
    public IReadOnlyList<PrefectSetStateCall> SetStateCalls
    {
        get
        {
            lock (Store.Lock)
            {
                return _setStateCalls.ToArray();
            }
        }
    }

    /// <summary>Flow runs removed by DELETE.</summary>
    public IReadOnlyList<PrefectDeletedRun> DeletedRuns
    {
        get
        {
            lock (Store.Lock)
            {
                return _deletedRuns.ToArray();
            }
        }
    }

    /// <summary>Current state type of a flow run (e.g. "RUNNING"), or null when there is no such run.</summary>
    public string? RunStateType(string flowRunId) => CurrentState(flowRunId)?.Type;

    /// <summary>Current state name of a flow run (e.g. "Late"), or null when there is no such run.</summary>
    public string? RunStateName(string flowRunId) => CurrentState(flowRunId)?.Name;

    /// <summary>The next <paramref name="count"/> set_state calls answer WAIT.</summary>
    public void WaitNextSetState(int count)
    {
        lock (Store.Lock)
        {
            _waitRemaining = Math.Max(0, count);
        }
    }

    /// <summary>The next <paramref name="count"/> set_state calls answer ABORT with <paramref name="reason"/>.</summary>
    public void AbortNextSetState(int count, string reason = "The emulator was told to abort this transition.")
    {
        lock (Store.Lock)
        {
            _abortRemaining = Math.Max(0, count);
            _abortReason = reason;
        }
    }

    /// <summary>Bodies of the Prefect POSTs received (the last 1,000), oldest first, with the request model they were judged by.</summary>
    public IReadOnlyList<PrefectRequestBody> RequestBodies => Bodies.Snapshot();

    /// <summary>Makes every issued CSRF token expired, so the next change request gets 403.</summary>
    public void ExpireCsrfTokens() => CsrfTokens.ExpireAll();

    internal DateTimeOffset UtcNow => _shared.UtcNow;

    internal bool IsKnownPipeline(string pipeline) => _shared.IsKnownPipeline(pipeline);

    /// <summary>The WAIT/ABORT knob's answer for this set_state call, if one is armed (counts it down; armed ABORTs go first). Under the store lock.</summary>
    internal (string Status, string Reason)? TakeKnob()
    {
        if (_abortRemaining > 0)
        {
            _abortRemaining--;
            return ("ABORT", _abortReason);
        }

        if (_waitRemaining > 0)
        {
            _waitRemaining--;
            return ("WAIT", "The emulator was told to delay this transition.");
        }

        return null;
    }

    internal void Record(PrefectSetStateCall call) => _setStateCalls.Add(call);

    internal void Record(PrefectDeletedRun run) => _deletedRuns.Add(run);

    internal void Examined(int runs) => Interlocked.Add(ref _runsExamined, runs);

    /// <summary>Brings time-driven server work up to now: the scheduler's upcoming runs and started subflow runs. Under the store lock.</summary>
    internal void Sync(DateTimeOffset now)
    {
        Factory.ScheduleTick(now);
        Store.MaterializeChildren(now, Lifecycle);
    }

    internal void PipelineAdded(string pipeline)
    {
        lock (Store.Lock)
        {
            if (Store.Deployment(pipeline) is null)
            {
                Store.PutDeployment(pipeline, DefinitionOf(pipeline), _shared.UtcNow);
            }
        }
    }

    internal void Reset(IEnumerable<string> pipelines)
    {
        lock (Store.Lock)
        {
            Store.Clear();
            Lifecycle.Clear();
            Factory.Clear();
            _definitions.Clear();
            _setStateCalls.Clear();
            _deletedRuns.Clear();
            _waitRemaining = 0;
            _abortRemaining = 0;
            Interlocked.Exchange(ref _runsExamined, 0);
            WorkPoolId = Guid.NewGuid();
            var now = _shared.UtcNow;
            foreach (var pipeline in pipelines)
            {
                Store.PutDeployment(pipeline, DefinitionOf(pipeline), now);
            }
        }

        CsrfTokens.Clear();
        Bodies.Clear();
        AuthString = _options.PrefectAuthString;
        ApiKey = _options.PrefectApiKey;
        Csrf = _options.PrefectCsrf;
        DefaultLimit = Math.Max(1, _options.PrefectDefaultLimit);
    }

    private Runs.RunState? CurrentState(string flowRunId)
    {
        if (!Guid.TryParse(flowRunId, out var id))
        {
            return null;
        }

        lock (Store.Lock)
        {
            var now = _shared.UtcNow;
            Sync(now);
            return Store.Get(id) is { } run ? Lifecycle.FlowAt(run, now).State : null;
        }
    }
}
