using System;
using System.Collections.Generic;
using DhubBatches.Contract;

namespace DhubBatches.Cmdlets;

/// <summary>One batch of a wait: what was last read of it, and what has been said about it.</summary>
internal sealed class WaitEntry
{
    public WaitEntry(Batch batch)
    {
        Latest = batch;
        Key = new BatchKey(batch.PipelineId, batch.Id, batch.Snapshot);
    }

    /// <summary>What every round asks the refresher for (the same object each round, as the refresher contract wants).</summary>
    public BatchKey Key { get; }

    public DhubConnection Connection => Latest.Connection;

    public Batch Latest { get; set; }

    /// <summary>Its wait ended with an error (not found, refused): it is no longer waited on, nor output.</summary>
    public bool Dropped { get; set; }

    public HashSet<string> Warned { get; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>Since when (in the wait's time) the batch has been stopping with no step running; null while not so.</summary>
    public TimeSpan? StoppingIdleSince { get; set; }

    public bool StuckWarned { get; set; }
}
