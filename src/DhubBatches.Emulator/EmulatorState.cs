using System;
using System.Collections.Generic;
using System.Threading;
using DhubBatches.Emulator.Dhub;
using DhubBatches.Emulator.Faults;
using DhubBatches.Emulator.Pipelines;
using DhubBatches.Emulator.Prefect;
using DhubBatches.Emulator.Requests;

namespace DhubBatches.Emulator;

/// <summary>
/// The live state of one emulator. What both backends share lives here: the clock, the pipelines, the step
/// duration, fault rules and the request log; each backend's own state is <see cref="Dhub"/> and
/// <see cref="Prefect"/>. Tests use it directly instead of the HTTP control API; both do the same thing.
/// </summary>
public sealed class EmulatorState
{
    private readonly EmulatorOptions _options;
    private readonly TimeProvider _clock;
    private long _stepTicks;
    private long _offsetTicks;

    public EmulatorState(EmulatorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Clone();
        _clock = _options.TimeProvider ?? TimeProvider.System;
        Dhub = new DhubState(this, _options);
        Prefect = new PrefectState(this, _options);
        Reset();
    }

    /// <summary>The dhub Batches API's state: token, batches.</summary>
    public DhubState Dhub { get; }

    /// <summary>The Prefect API's state: settings, deployments, flow runs, knobs.</summary>
    public PrefectState Prefect { get; }

    internal PipelineRegistry Registry { get; } = new();

    internal FaultRuleSet FaultRules { get; } = new();

    /// <summary>The last 10,000 API requests.</summary>
    internal BoundedLog<RequestLogEntry> RequestLog { get; } = new(10_000);

    internal RequestTotals RequestTotals { get; } = new();

    /// <summary>Now, as both backends see it: the configured clock plus whatever <see cref="Advance"/> added.</summary>
    public DateTimeOffset UtcNow => _clock.GetUtcNow() + TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));

    /// <summary>Moves the emulator's clock forward (a process started with the system clock can be fast-forwarded this way).</summary>
    public void Advance(TimeSpan by)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(by, TimeSpan.Zero);
        Interlocked.Add(ref _offsetTicks, by.Ticks);
    }

    /// <summary>Step duration for runs and batches created from now on (pipelines may override it).</summary>
    public TimeSpan StepDuration
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _stepTicks));
        set => Interlocked.Exchange(ref _stepTicks, value < TimeSpan.Zero ? 0 : value.Ticks);
    }

    /// <summary>Pipelines whose id starts with this fail at the transform step (both backends).</summary>
    public string FailingPipelinePrefix => _options.FailingPipelinePrefix ?? string.Empty;

    public IReadOnlyList<string> Pipelines => Registry.Names;

    /// <summary>Registers a pipeline on both backends (or updates its step duration override).</summary>
    public void AddPipeline(string pipelineId, TimeSpan? stepDuration = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(pipelineId);
        Registry.Add(pipelineId, stepDuration);
        Dhub.Batches.AddPipeline(pipelineId, stepDuration);
        Prefect.PipelineAdded(pipelineId);
    }

    public bool IsKnownPipeline(string pipelineId) => Registry.IsKnown(pipelineId);

    /// <summary>The step duration a new run or batch of the pipeline gets.</summary>
    internal TimeSpan StepOf(string pipelineId) => Registry.StepOf(pipelineId) ?? StepDuration;

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

    public IReadOnlyList<RouteTotal> RequestSummary => RequestTotals.Snapshot();

    public void ClearRequests()
    {
        RequestLog.Clear();
        RequestTotals.Clear();
    }

    /// <summary>Back to the start-up options: only the configured pipelines, no runs, batches, faults or log; the clock offset is kept.</summary>
    public void Reset()
    {
        StepDuration = _options.StepDuration;
        Registry.Clear();
        foreach (var pipeline in _options.Pipelines)
        {
            Registry.Add(pipeline, null);
        }

        Dhub.Reset(Registry.Names);
        Prefect.Reset(Registry.Names);
        FaultRules.Clear();
        ClearRequests();
    }
}
