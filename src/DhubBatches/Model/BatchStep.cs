namespace DhubBatches;

/// <summary>One step (extract, transform, load, …) of a batch.</summary>
public sealed class BatchStep
{
    public BatchStep(string pipelineId, string batchId, string name, StepState state, OffsetMap? offsets = null)
    {
        PipelineId = pipelineId;
        BatchId = batchId;
        Name = name;
        State = state;
        Offsets = offsets ?? new OffsetMap();
    }

    public string PipelineId { get; }

    public string BatchId { get; }

    public string Name { get; }

    public StepState State { get; }

    public OffsetMap Offsets { get; }

    /// <summary>Offsets as one line, e.g. <c>partition_0=1000; partition_1=500</c>.</summary>
    public string OffsetSummary => Offsets.ToString();

    public bool IsFinished => State == StepState.Success || State == StepState.Failed;

    /// <summary>Wire spelling, e.g. <c>extract=success</c>.</summary>
    public override string ToString() => Name + "=" + State.ToString().ToLowerInvariant();
}
