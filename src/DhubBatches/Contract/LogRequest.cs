using System;
using System.Collections.Generic;

namespace DhubBatches.Contract;

/// <summary>Which log lines of one batch to read (Get-DhubBatchLog).</summary>
public sealed class LogRequest
{
    public LogRequest(string pipelineId, string batchId)
    {
        PipelineId = pipelineId;
        BatchId = batchId;
    }

    public string PipelineId { get; }

    public string BatchId { get; }

    /// <summary>Only lines of these steps (by step name); null for the whole batch, flow-level lines included.</summary>
    public IReadOnlyCollection<string>? Steps { get; set; }

    /// <summary>Only lines at this level or above (Prefect levels: 10 debug … 50 critical); null for all.</summary>
    public int? MinimumLevel { get; set; }

    /// <summary>Start with only the newest N lines instead of the oldest; null reads from the start.</summary>
    public int? Tail { get; set; }
}

/// <summary>One log line.</summary>
public sealed class LogLine
{
    public LogLine(string id, DateTimeOffset timestamp, int level, string message, string? step)
    {
        Id = id;
        Timestamp = timestamp;
        Level = level;
        Message = message;
        Step = step;
    }

    public string Id { get; }

    public DateTimeOffset Timestamp { get; }

    /// <summary>Python logging levels, as Prefect stores them: 10, 20, 30, 40, 50.</summary>
    public int Level { get; }

    public string Message { get; }

    /// <summary>The step the line belongs to (named by the same rules as steps); null for batch-level lines.</summary>
    public string? Step { get; }
}
