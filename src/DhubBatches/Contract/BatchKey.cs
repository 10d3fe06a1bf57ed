namespace DhubBatches.Contract;

/// <summary>A batch to refresh in a polling round.</summary>
public sealed class BatchKey
{
    public BatchKey(string pipelineId, string batchId, BatchSnapshot? known = null)
    {
        PipelineId = pipelineId;
        BatchId = batchId;
        Known = known;
    }

    public string PipelineId { get; }

    public string BatchId { get; }

    /// <summary>What the caller last saw of the batch, if anything: an engine may answer with it when nothing changed.</summary>
    public BatchSnapshot? Known { get; }
}

/// <summary>What one polling round learned about one batch: its new state, or why it could not be read.</summary>
public sealed class RefreshResult
{
    public RefreshResult(BatchKey key, BatchSnapshot? snapshot, DhubException? error)
    {
        Key = key;
        Snapshot = snapshot;
        Error = error;
    }

    /// <summary>The same object the caller passed in.</summary>
    public BatchKey Key { get; }

    public BatchSnapshot? Snapshot { get; }

    public DhubException? Error { get; }
}
