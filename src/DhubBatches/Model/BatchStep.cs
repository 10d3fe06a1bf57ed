using System;
using DhubBatches.Contract;

namespace DhubBatches;

/// <summary>One step (extract, transform, load, …) of a batch.</summary>
public sealed class BatchStep
{
    internal BatchStep(string pipelineId, string batchId, StepSnapshot step, DhubConnection connection)
    {
        PipelineId = pipelineId;
        BatchId = batchId;
        Name = step.Name;
        State = step.State;
        Offsets = new OffsetMap(step.Offsets);
        StartTime = step.StartTime;
        EndTime = step.EndTime;
        Attempt = step.Attempt;
        Connection = connection;
    }

    public string PipelineId { get; }

    public string BatchId { get; }

    public string Name { get; }

    public StepState State { get; }

    public OffsetMap Offsets { get; }

    /// <summary>Offsets as one line, e.g. <c>partition_0=1000; partition_1=500</c>.</summary>
    public string OffsetSummary => Offsets.ToString();

    /// <summary>When the step's latest attempt started (Prefect: its task run's <c>start_time</c>); null on dhub or before it starts.</summary>
    public DateTimeOffset? StartTime { get; }

    /// <summary>When it ended; null until it has.</summary>
    public DateTimeOffset? EndTime { get; }

    /// <summary><see cref="EndTime"/> − <see cref="StartTime"/> once the step has both, else null.</summary>
    public TimeSpan? Duration => StartTime.HasValue && EndTime.HasValue ? EndTime.Value - StartTime.Value : (TimeSpan?)null;

    /// <summary>Which attempt of the step this is (Prefect's task run <c>run_count</c>: retries count up); null on dhub.</summary>
    public int? Attempt { get; }

    /// <summary>Where the step's batch came from (so a piped step's commands reach the same server).</summary>
    public DhubConnection Connection { get; }

    public bool IsFinished => State == StepState.Success || State == StepState.Failed;

    /// <summary>Wire spelling, e.g. <c>extract=success</c>.</summary>
    public override string ToString() => Name + "=" + State.ToString().ToLowerInvariant();
}
