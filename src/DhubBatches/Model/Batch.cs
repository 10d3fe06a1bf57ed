using System;
using System.Linq;

namespace DhubBatches;

/// <summary>One execution of a pipeline, on either backend.</summary>
public sealed class Batch
{
    public Batch(string pipelineId, string id, BackendKind backend)
    {
        PipelineId = pipelineId;
        Id = id;
        Backend = backend.ToString();
    }

    /// <summary>The pipeline the batch belongs to, as the user named it.</summary>
    public string PipelineId { get; }

    /// <summary>Batch id (dhub <c>batch-…</c>; Prefect: the flow run id).</summary>
    public string Id { get; }

    public string? Name { get; internal set; }

    public string? Deployment { get; internal set; }

    public BatchState State { get; internal set; }

    public BatchStepList Steps { get; internal set; } = BatchStepList.Empty;

    /// <summary>The seed document's rule: every step is success or failed, or the batch state is stop.</summary>
    public bool IsComplete => EngineIsComplete ?? (State == BatchState.Stop || (Steps.Count > 0 && Steps.All(s => s.IsFinished)));

    public BatchOutcome Outcome => EngineOutcome ?? OutcomeFromSteps();

    /// <summary>e.g. <c>extract=success; transform=running; load=pending</c>.</summary>
    public string StepSummary => Steps.ToString();

    /// <summary>Raw engine state where the backend has one (Prefect <c>CANCELLING</c>, <c>SCHEDULED/Late</c>).</summary>
    public string? EngineState { get; internal set; }

    public DateTimeOffset? StartTime { get; internal set; }

    public DateTimeOffset? EndTime { get; internal set; }

    /// <summary><c>Dhub</c> or <c>Prefect</c>.</summary>
    public string Backend { get; }

    /// <summary>
    /// Set by a backend whose engine decides the outcome itself (Prefect: CANCELLED is Stopped even when every
    /// step succeeded); null means "derive it from the steps".
    /// </summary>
    internal BatchOutcome? EngineOutcome { get; set; }

    /// <summary>
    /// Set by a backend with terminal states of its own (Prefect §11): there, a run whose listed tasks are all
    /// done may still be running. Null means "the seed's rule".
    /// </summary>
    internal bool? EngineIsComplete { get; set; }

    public override string ToString() => PipelineId + "/" + Id + " (" + State.ToString().ToLowerInvariant() + ")";

    private BatchOutcome OutcomeFromSteps()
    {
        if (!IsComplete)
        {
            return BatchOutcome.InProgress;
        }
        if (Steps.Any(s => s.State == StepState.Failed))
        {
            return BatchOutcome.Failed;
        }
        return Steps.Count > 0 && Steps.All(s => s.State == StepState.Success)
            ? BatchOutcome.Succeeded
            : BatchOutcome.Stopped;
    }
}
