using System;

namespace DhubBatches.Emulator.Dhub;

/// <summary>A stored batch and its current state, for test assertions.</summary>
public sealed record BatchInfo(
    string Id,
    string PipelineId,
    string? PipelineVersion,
    long Seq,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StoppedAt,
    BatchView View);

/// <summary>A batch removed by DELETE; <see cref="StoppedFirst"/> is true when it was still active.</summary>
public sealed record DeletedBatch(string PipelineId, string BatchId, bool StoppedFirst, DateTimeOffset DeletedAt);
