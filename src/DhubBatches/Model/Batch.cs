using System;
using System.Collections.Generic;
using System.Linq;
using DhubBatches.Contract;

namespace DhubBatches;

/// <summary>One execution of a pipeline, on either backend, as read at one moment.</summary>
public sealed class Batch
{
    private readonly BatchOutcome? _engineOutcome;

    internal Batch(BatchSnapshot snapshot, DhubConnection connection)
    {
        PipelineId = snapshot.PipelineId;
        Id = snapshot.Id;
        Name = snapshot.Name;
        Deployment = snapshot.Deployment;
        State = snapshot.State;
        EngineState = snapshot.EngineState;
        StartTime = snapshot.StartTime;
        EndTime = snapshot.EndTime;
        Attempt = snapshot.Attempt;
        Backend = connection.BackendName;
        Connection = connection;
        Steps = snapshot.Steps.Count == 0
            ? BatchStepList.Empty
            : new BatchStepList(snapshot.Steps.Select(s => new BatchStep(snapshot.PipelineId, snapshot.Id, s, connection)).ToList());
        Warnings = snapshot.Warnings;
        Snapshot = snapshot;
        _engineOutcome = snapshot.Outcome;
        // Everything it depends on is fixed here; a wait asks every batch each round.
        IsComplete = snapshot.IsComplete ?? (State == BatchState.Stop || (Steps.Count > 0 && Steps.All(s => s.IsFinished)));
    }

    /// <summary>The pipeline the batch belongs to, as the user named it.</summary>
    public string PipelineId { get; }

    /// <summary>Batch id (dhub <c>batch-…</c>; Prefect: the flow run id).</summary>
    public string Id { get; }

    public string? Name { get; }

    public string? Deployment { get; }

    public BatchState State { get; }

    public BatchStepList Steps { get; }

    /// <summary>The seed document's rule: every step is success or failed, or the batch state is stop.</summary>
    public bool IsComplete { get; }

    public BatchOutcome Outcome => _engineOutcome ?? OutcomeFromSteps();

    /// <summary>e.g. <c>extract=success; transform=running; load=pending</c>; null when the steps were not read (-NoSteps).</summary>
    public string? StepSummary => Snapshot.StepsRead ? Steps.ToString() : null;

    /// <summary>Raw engine state where the backend has one (Prefect <c>CANCELLING</c>, <c>SCHEDULED/Late</c>).</summary>
    public string? EngineState { get; }

    /// <summary>The state as messages and progress show it: the engine's own where it has one, else the wire value.</summary>
    internal string StateText => EngineState ?? State.ToString().ToLowerInvariant();

    public DateTimeOffset? StartTime { get; }

    public DateTimeOffset? EndTime { get; }

    /// <summary>How long the batch ran: <see cref="EndTime"/> − <see cref="StartTime"/> once both are known, else null.</summary>
    public TimeSpan? Duration => StartTime.HasValue && EndTime.HasValue ? EndTime.Value - StartTime.Value : (TimeSpan?)null;

    /// <summary>Which attempt this is (Prefect's flow run <c>run_count</c>, grown by Restart-DhubBatch); null on dhub.</summary>
    public int? Attempt { get; }

    /// <summary><c>Dhub</c> or <c>Prefect</c>.</summary>
    public string Backend { get; }

    /// <summary>Where the batch came from, so piping it to another command acts on the same server.</summary>
    public DhubConnection Connection { get; }

    /// <summary>Parts of the record that could not be read; written as warnings by the command that read it.</summary>
    internal IReadOnlyList<string> Warnings { get; }

    /// <summary>What the engine read, so a wait can hand it back and skip reading an unchanged batch again.</summary>
    internal BatchSnapshot Snapshot { get; }

    /// <summary>A batch known only by its ids (Wait-DhubBatch -BatchId), in state Unknown until read.</summary>
    internal static Batch Placeholder(string pipelineId, string id, DhubConnection connection) =>
        new Batch(new BatchSnapshot(pipelineId, id), connection);

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
