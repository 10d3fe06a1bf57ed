using System;

namespace DhubBatches;

/// <summary>One line of a batch's log (Get-DhubBatchLog).</summary>
public sealed class BatchLogEntry
{
    internal BatchLogEntry(string pipelineId, string batchId, string? step, DateTimeOffset timestamp, BatchLogLevel level, string message, DhubConnection connection)
    {
        PipelineId = pipelineId;
        BatchId = batchId;
        Step = step;
        Timestamp = timestamp;
        Level = level;
        Message = message;
        Connection = connection;
    }

    public string PipelineId { get; }

    public string BatchId { get; }

    /// <summary>The step the line belongs to; null for lines about the batch as a whole.</summary>
    public string? Step { get; }

    public DateTimeOffset Timestamp { get; }

    public BatchLogLevel Level { get; }

    public string Message { get; }

    /// <summary>Where the batch came from.</summary>
    public DhubConnection Connection { get; }

    /// <summary>Python's level numbers (Prefect stores them) by name; a custom level counts as the one below it.</summary>
    internal static BatchLogLevel LevelOf(int level) => level switch
    {
        < 20 => BatchLogLevel.Debug,
        < 30 => BatchLogLevel.Info,
        < 40 => BatchLogLevel.Warning,
        < 50 => BatchLogLevel.Error,
        _ => BatchLogLevel.Critical,
    };

    public override string ToString() => $"{Timestamp:u} {Level} {(Step == null ? string.Empty : "[" + Step + "] ")}{Message}";
}
