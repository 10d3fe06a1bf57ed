using System;

namespace DhubBatches.Emulator.Dhub;

/// <summary>
/// What the store keeps per batch. Immutable: a stop replaces the record, so readers can render a
/// snapshot outside the store lock. The step duration and failure behaviour are captured at creation,
/// so changing settings later does not rewrite the history of existing batches.
/// </summary>
internal sealed record StoredBatch(
    string Id,
    string PipelineId,
    string? PipelineVersion,
    long Seq,
    DateTimeOffset CreatedAt,
    TimeSpan StepDuration,
    bool FailsAtTransform,
    DateTimeOffset? StoppedAt);
