using System;
using System.Collections.Generic;
using System.Threading;
using DhubBatches.Emulator.Dhub;
using DhubBatches.Emulator.Faults;
using DhubBatches.Emulator.Prefect;
using DhubBatches.Emulator.Requests;

namespace DhubBatches.Emulator;

/// <summary>
/// The live in-memory state of one emulator: settings, pipelines and batches, fault rules and the
/// request log. Tests use it directly instead of the HTTP control API; both do the same thing.
/// </summary>
public sealed class EmulatorState
{
    private readonly EmulatorOptions _options;
    private readonly TimeProvider _clock;
    private string? _token;
    private long _stepTicks;

    public EmulatorState(EmulatorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Clone();
        _clock = _options.TimeProvider ?? TimeProvider.System;
        Reset();
    }

    internal BatchStore Batches { get; } = new();

    internal FaultRuleSet FaultRules { get; } = new();

    /// <summary>The last 10,000 API requests.</summary>
    internal BoundedLog<RequestLogEntry> RequestLog { get; } = new(10_000);

    internal PrefectStore Prefect { get; } = new();

    internal PrefectCsrfTokens CsrfTokens { get; } = new();

    /// <summary>The last 1,000 Prefect request bodies, so tests can check what a client really sent (§1.3).</summary>
    internal BoundedLog<PrefectRequestBody> PrefectBodies { get; } = new(1_000);

    /// <summary>Prefect basic auth <c>user:pass</c> (§2.2); null disables it.</summary>
    public string? PrefectAuthString { get; set; }

    /// <summary>Prefect API key required as Bearer (§2.1); null disables it.</summary>
    public string? PrefectApiKey { get; set; }

    /// <summary>Prefect CSRF protection on POST/PUT/PATCH/DELETE (§2.5).</summary>
    public bool PrefectCsrf { get; set; }

    /// <summary>The flow whose deployments are the pipelines (§4).</summary>
    public string PrefectFlowName => _options.PrefectFlowName ?? "run-pipeline";

    /// <summary>Bearer token the dhub API requires; null disables authentication.</summary>
    public string? Token
    {
        get => Volatile.Read(ref _token);
        set => Volatile.Write(ref _token, value);
    }

    /// <summary>Step duration for batches created from now on (pipelines may override it).</summary>
    public TimeSpan StepDuration
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _stepTicks));
        set => Interlocked.Exchange(ref _stepTicks, value < TimeSpan.Zero ? 0 : value.Ticks);
    }

    public string FailingPipelinePrefix => _options.FailingPipelinePrefix ?? string.Empty;

    public int MaxPageSize => _options.MaxPageSize;

    public DateTimeOffset UtcNow => _clock.GetUtcNow();

    public IReadOnlyList<string> Pipelines => Batches.PipelineIds();

    /// <summary>Registers a pipeline (or updates its step duration override).</summary>
    public void AddPipeline(string pipelineId, TimeSpan? stepDuration = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(pipelineId);
        Batches.AddPipeline(pipelineId, stepDuration);
    }

    public bool IsKnownPipeline(string pipelineId) => Batches.IsKnown(pipelineId);

    /// <summary>Creates a batch as <c>POST /api/v1/batches/{pipeline}</c> does; returns its id.</summary>
    public string CreateBatch(string pipelineId, string? pipelineVersion = null) =>
        Batches.Create(pipelineId, pipelineVersion, UtcNow, Defaults)?.Id
        ?? throw new KeyNotFoundException($"Pipeline '{pipelineId}' not found");

    /// <summary>Adds <paramref name="count"/> batches; finished ones are dated in the past. Not counted as created.</summary>
    public void Seed(string pipelineId, int count, bool finished = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (Batches.Seed(pipelineId, count, finished, UtcNow, Defaults) < 0)
        {
            throw new KeyNotFoundException($"Pipeline '{pipelineId}' not found");
        }
    }

    public BatchInfo? GetBatch(string pipelineId, string batchId)
    {
        if (Batches.TryGet(pipelineId, batchId, out var batch) != StoreResult.Ok || batch is null)
        {
            return null;
        }

        return new BatchInfo(batch.Id, batch.PipelineId, batch.PipelineVersion, batch.Seq, batch.CreatedAt, batch.StoppedAt,
            BatchLifecycle.Compute(batch, UtcNow));
    }

    /// <summary>Batches currently stored for the pipeline (0 when unknown).</summary>
    public int BatchCount(string pipelineId) => Batches.Counts(pipelineId)?.Batches ?? 0;

    /// <summary>Batches created through the create call (not seeding), including deleted ones.</summary>
    public int CreatedCount(string pipelineId) => Batches.Counts(pipelineId)?.Created ?? 0;

    public IReadOnlyList<DeletedBatch> DeletedBatches => Batches.Deleted();

    /// <summary>
    /// Adds <paramref name="count"/> Prefect flow runs to the pipeline's deployment (finished ones in the past, one
    /// second apart, so EXPECTED_START_TIME_DESC lists the newest first). Not counted as created.
    /// </summary>
    public void SeedPrefect(string pipelineId, int count, bool finished = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (!IsKnownPipeline(pipelineId))
        {
            throw new KeyNotFoundException($"Pipeline '{pipelineId}' not found");
        }

        var now = UtcNow;
        lock (Prefect.Lock)
        {
            var deployment = Prefect.DeploymentLocked(pipelineId, now);
            Prefect.Seed(deployment, count, finished, now, PrefectStepDuration(pipelineId), FailsAtTransform(pipelineId),
                pipelineId.StartsWith(PrefectArtifacts.ObjectDataPrefix, StringComparison.Ordinal));
        }
    }

    /// <summary>The deployment id of the pipeline (created on first use), or null for an unknown pipeline.</summary>
    public string? PrefectDeploymentId(string pipelineId)
    {
        if (!IsKnownPipeline(pipelineId))
        {
            return null;
        }

        lock (Prefect.Lock)
        {
            return Prefect.DeploymentLocked(pipelineId, UtcNow).Id.ToString();
        }
    }

    /// <summary>Flow runs stored for the pipeline, and create_flow_run calls that created a run vs. returned one by idempotency key (§5.2).</summary>
    public PrefectPipelineCounts PrefectCounts(string pipelineId) => Prefect.Counts(pipelineId);

    /// <summary>create_flow_run calls that created a new run (201) for the pipeline.</summary>
    public int PrefectCreatedCount(string pipelineId) => Prefect.Counts(pipelineId).Created;

    /// <summary>Every set_state call received (§9), oldest first.</summary>
    public IReadOnlyList<PrefectSetStateCall> PrefectSetStateCalls => Prefect.SetStateCalls();

    /// <summary>Flow runs removed by DELETE (§10).</summary>
    public IReadOnlyList<PrefectDeletedRun> PrefectDeletedRuns => Prefect.DeletedRuns();

    /// <summary>Current state type of a flow run (e.g. "RUNNING"), or null when there is no such run.</summary>
    public string? PrefectRunStateType(string flowRunId) =>
        Guid.TryParse(flowRunId, out var id) && Prefect.Get(id) is { } run ? FlowRunLifecycle.Compute(run, UtcNow).State.Type : null;

    /// <summary>The next <paramref name="count"/> set_state calls answer WAIT (§9).</summary>
    public void PrefectWaitNextSetState(int count) => Prefect.SetWait(count);

    /// <summary>Bodies of the Prefect POSTs received (the last 1,000), oldest first, with the request model they were judged by (§1.3).</summary>
    public IReadOnlyList<PrefectRequestBody> PrefectRequestBodies => PrefectBodies.Snapshot();

    /// <summary>Makes every issued CSRF token expired, so the next change request gets 403 (§2.5).</summary>
    public void ExpirePrefectCsrfTokens() => CsrfTokens.ExpireAll();

    internal TimeSpan PrefectStepDuration(string pipelineId) => Batches.StepDurationOf(pipelineId) ?? StepDuration;

    internal bool FailsAtTransform(string pipelineId) =>
        FailingPipelinePrefix.Length > 0 && pipelineId.StartsWith(FailingPipelinePrefix, StringComparison.Ordinal);

    /// <summary>Adds a rule (validated; id generated when "auto"); returns the same instance, whose counters stay live.</summary>
    public FaultRule AddFault(FaultRule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        return FaultRules.Add(rule);
    }

    public void ClearFaults() => FaultRules.Clear();

    public IReadOnlyList<FaultRule> Faults => FaultRules.Snapshot();

    /// <summary>Logged API requests (control requests excluded), oldest first.</summary>
    public IReadOnlyList<RequestLogEntry> Requests => RequestLog.Snapshot();

    public void ClearRequests() => RequestLog.Clear();

    /// <summary>Back to the start-up options: no batches, faults or log; only the configured pipelines.</summary>
    public void Reset()
    {
        Token = _options.Token;
        StepDuration = _options.StepDuration;
        Batches.Clear(_options.Pipelines);
        Prefect.Clear();
        CsrfTokens.Clear();
        PrefectBodies.Clear();
        PrefectAuthString = _options.PrefectAuthString;
        PrefectApiKey = _options.PrefectApiKey;
        PrefectCsrf = _options.PrefectCsrf;
        FaultRules.Clear();
        RequestLog.Clear();
    }

    internal BatchDefaults Defaults => new(StepDuration, FailingPipelinePrefix);
}
