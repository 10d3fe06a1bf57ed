using System;
using System.Collections.Generic;

namespace DhubBatches.Contract;

/// <summary>
/// What a backend read about one batch at one moment. The engine fills it in; the cmdlets turn it into the
/// <see cref="Batch"/> users see, adding the connection it came from.
/// </summary>
public sealed class BatchSnapshot
{
    private static readonly StepSnapshot[] s_noSteps = new StepSnapshot[0];
    private static readonly string[] s_noWarnings = new string[0];

    public BatchSnapshot(string pipelineId, string id)
    {
        PipelineId = pipelineId;
        Id = id;
    }

    public string PipelineId { get; }

    public string Id { get; }

    public string? Name { get; set; }

    public string? Deployment { get; set; }

    public BatchState State { get; set; }

    /// <summary>Raw engine state where the backend has one (Prefect <c>CANCELLING</c>, <c>SCHEDULED/Late</c>).</summary>
    public string? EngineState { get; set; }

    public DateTimeOffset? StartTime { get; set; }

    public DateTimeOffset? EndTime { get; set; }

    /// <summary>Which attempt of the batch this is (Prefect's flow run <c>run_count</c>); null where the backend has none.</summary>
    public int? Attempt { get; set; }

    /// <summary>False when the steps were not read (a listing with -NoSteps): then no step summary can be told.</summary>
    public bool StepsRead { get; set; } = true;

    /// <summary>In the order the backend's mapping rules give.</summary>
    public IReadOnlyList<StepSnapshot> Steps { get; set; } = s_noSteps;

    /// <summary>
    /// Set by a backend that decides the outcome itself (Prefect: CANCELLED is Stopped even when every step
    /// succeeded); null means "derive it from the steps" (the dhub seed's rule).
    /// </summary>
    public BatchOutcome? Outcome { get; set; }

    /// <summary>
    /// Set by a backend with terminal states of its own: there, a run whose listed tasks are all done may still be
    /// running. Null means the seed's rule (every step finished, or the batch state is stop).
    /// </summary>
    public bool? IsComplete { get; set; }

    /// <summary>Parts of the record that could not be read (a non-integer offset, an unreadable artifact), one line each.</summary>
    public IReadOnlyList<string> Warnings { get; set; } = s_noWarnings;

    /// <summary>
    /// The engine's own summary of what it read (Prefect: the state id, run count and update time), so a later polling
    /// round can tell the batch has not changed and skip reading its steps again; null when the backend has none.
    /// </summary>
    public string? ChangeToken { get; set; }

    /// <summary>
    /// Whether <paramref name="other"/> says the same about the batch, field by field (a field added here must be
    /// compared too). dhub hands back a new snapshot every round; a wait keeps its Batch, and writes no progress, for one
    /// that says nothing new.
    /// </summary>
    internal bool SameAs(BatchSnapshot other)
    {
        if (ReferenceEquals(this, other))
        {
            return true;
        }
        if (!string.Equals(PipelineId, other.PipelineId, StringComparison.Ordinal)
            || !string.Equals(Id, other.Id, StringComparison.Ordinal)
            || !string.Equals(Name, other.Name, StringComparison.Ordinal)
            || !string.Equals(Deployment, other.Deployment, StringComparison.Ordinal)
            || State != other.State
            || !string.Equals(EngineState, other.EngineState, StringComparison.Ordinal)
            || StartTime != other.StartTime
            || EndTime != other.EndTime
            || Attempt != other.Attempt
            || StepsRead != other.StepsRead
            || Outcome != other.Outcome
            || IsComplete != other.IsComplete
            || !string.Equals(ChangeToken, other.ChangeToken, StringComparison.Ordinal)
            || Steps.Count != other.Steps.Count
            || Warnings.Count != other.Warnings.Count)
        {
            return false;
        }
        for (var i = 0; i < Warnings.Count; i++)
        {
            if (!string.Equals(Warnings[i], other.Warnings[i], StringComparison.Ordinal))
            {
                return false;
            }
        }
        for (var i = 0; i < Steps.Count; i++)
        {
            if (!Steps[i].SameAs(other.Steps[i]))
            {
                return false;
            }
        }
        return true;
    }
}

/// <summary>One step of a <see cref="BatchSnapshot"/>.</summary>
public sealed class StepSnapshot
{
    private static readonly KeyValuePair<string, long>[] s_noOffsets = new KeyValuePair<string, long>[0];

    public StepSnapshot(string name, StepState state, IReadOnlyList<KeyValuePair<string, long>>? offsets = null)
    {
        Name = name;
        State = state;
        Offsets = offsets ?? s_noOffsets;
    }

    public string Name { get; }

    public StepState State { get; }

    /// <summary>Partition → offset, in the order the server wrote them.</summary>
    public IReadOnlyList<KeyValuePair<string, long>> Offsets { get; }

    /// <summary>When the step's latest attempt started; null where the backend has no times or it has not started.</summary>
    public DateTimeOffset? StartTime { get; set; }

    /// <summary>When the step's latest attempt ended; null until it has.</summary>
    public DateTimeOffset? EndTime { get; set; }

    /// <summary>Which attempt of the step this is (Prefect's task run <c>run_count</c>); null where the backend has none.</summary>
    public int? Attempt { get; set; }

    internal bool SameAs(StepSnapshot other)
    {
        if (!string.Equals(Name, other.Name, StringComparison.Ordinal)
            || State != other.State
            || StartTime != other.StartTime
            || EndTime != other.EndTime
            || Attempt != other.Attempt
            || Offsets.Count != other.Offsets.Count)
        {
            return false;
        }
        for (var i = 0; i < Offsets.Count; i++)
        {
            if (!string.Equals(Offsets[i].Key, other.Offsets[i].Key, StringComparison.Ordinal) || Offsets[i].Value != other.Offsets[i].Value)
            {
                return false;
            }
        }
        return true;
    }
}
