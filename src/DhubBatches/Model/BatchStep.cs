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
        Connection = connection;
    }

    public string PipelineId { get; }

    public string BatchId { get; }

    public string Name { get; }

    public StepState State { get; }

    public OffsetMap Offsets { get; }

    /// <summary>Offsets as one line, e.g. <c>partition_0=1000; partition_1=500</c>.</summary>
    public string OffsetSummary => Offsets.ToString();

    /// <summary>Where the step's batch came from (so a piped step's commands reach the same server).</summary>
    public DhubConnection Connection { get; }

    public bool IsFinished => State == StepState.Success || State == StepState.Failed;

    /// <summary>Wire spelling, e.g. <c>extract=success</c>.</summary>
    public override string ToString() => Name + "=" + State.ToString().ToLowerInvariant();
}
