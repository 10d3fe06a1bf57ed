using System;
using System.Collections.Generic;
using System.Linq;

namespace DhubBatches.Emulator.Dhub;

/// <summary>Outcome of a store lookup, mapped to the dhub 404 messages by the endpoints.</summary>
internal enum StoreResult
{
    Ok,
    PipelineNotFound,
    BatchNotFound,
    NoBatches,
}

/// <summary>
/// In-memory batches per pipeline, kept in a list ordered by sequence number (insertion order) plus an
/// id index: creating and seeding append, paging is a binary search, so 100,000 batches stay cheap.
/// One lock guards everything; the records themselves are immutable.
/// </summary>
internal sealed class BatchStore
{
    private readonly object _lock = new();
    private readonly Dictionary<string, PipelineBatches> _pipelines = new(StringComparer.Ordinal);
    private readonly List<DeletedBatch> _deleted = new();
    private long _lastSeq;

    public void Clear(IEnumerable<string> pipelines)
    {
        lock (_lock)
        {
            _pipelines.Clear();
            _deleted.Clear();
            foreach (var id in pipelines)
            {
                _pipelines[id] = new PipelineBatches();
            }
        }
    }

    public void AddPipeline(string pipelineId, TimeSpan? stepDuration)
    {
        lock (_lock)
        {
            if (!_pipelines.TryGetValue(pipelineId, out var pipeline))
            {
                pipeline = new PipelineBatches();
                _pipelines[pipelineId] = pipeline;
            }

            if (stepDuration is not null)
            {
                pipeline.StepDuration = stepDuration;
            }
        }
    }

    public IReadOnlyList<DeletedBatch> Deleted()
    {
        lock (_lock)
        {
            return _deleted.ToArray();
        }
    }

    public (int Batches, int Created)? Counts(string pipelineId)
    {
        lock (_lock)
        {
            return _pipelines.TryGetValue(pipelineId, out var p) ? (p.BySeq.Count, p.Created) : null;
        }
    }

    public IReadOnlyDictionary<string, (int Batches, int Created)> AllCounts()
    {
        lock (_lock)
        {
            return _pipelines.ToDictionary(p => p.Key, p => (p.Value.BySeq.Count, p.Value.Created), StringComparer.Ordinal);
        }
    }

    public StoredBatch? Create(string pipelineId, string? version, DateTimeOffset now, BatchDefaults defaults)
    {
        lock (_lock)
        {
            if (!_pipelines.TryGetValue(pipelineId, out var pipeline))
            {
                return null;
            }

            var batch = NewBatch(pipeline, pipelineId, version, now, defaults);
            pipeline.Created++;
            return batch;
        }
    }

    /// <summary>
    /// Appends <paramref name="count"/> batches. Finished ones are dated in the past (one second apart,
    /// oldest first) far enough back to have completed every step.
    /// </summary>
    public int Seed(string pipelineId, int count, bool finished, DateTimeOffset now, BatchDefaults defaults)
    {
        lock (_lock)
        {
            if (!_pipelines.TryGetValue(pipelineId, out var pipeline))
            {
                return -1;
            }

            var duration = pipeline.StepDuration ?? defaults.StepDuration;
            pipeline.BySeq.Capacity = Math.Max(pipeline.BySeq.Capacity, pipeline.BySeq.Count + count);
            pipeline.ById.EnsureCapacity(pipeline.ById.Count + count);
            for (var i = 0; i < count; i++)
            {
                var created = finished
                    ? now - (duration * 5) - TimeSpan.FromSeconds(count - i)
                    : now;
                NewBatch(pipeline, pipelineId, null, created, defaults);
            }

            return count;
        }
    }

    public StoreResult TryGet(string pipelineId, string batchId, out StoredBatch? batch)
    {
        lock (_lock)
        {
            var found = Find(pipelineId, batchId, out _, out var stored);
            batch = stored;
            return found;
        }
    }

    /// <summary>Looks a batch up (the caller holds the lock).</summary>
    private StoreResult Find(string pipelineId, string batchId, out PipelineBatches pipeline, out StoredBatch batch)
    {
        pipeline = null!;
        batch = null!;
        if (!_pipelines.TryGetValue(pipelineId, out var p))
        {
            return StoreResult.PipelineNotFound;
        }

        pipeline = p;
        if (!p.ById.TryGetValue(batchId, out var b))
        {
            return StoreResult.BatchNotFound;
        }

        batch = b;
        return StoreResult.Ok;
    }

    /// <summary>The most recently created batch (highest sequence number).</summary>
    public StoreResult TryGetLatest(string pipelineId, out StoredBatch? batch)
    {
        batch = null;
        lock (_lock)
        {
            if (!_pipelines.TryGetValue(pipelineId, out var pipeline))
            {
                return StoreResult.PipelineNotFound;
            }

            if (pipeline.BySeq.Count == 0)
            {
                return StoreResult.NoBatches;
            }

            batch = pipeline.BySeq[^1];
            return StoreResult.Ok;
        }
    }

    /// <summary>Newest first, starting below <paramref name="beforeSeq"/> (exclusive) when given.</summary>
    public StoreResult Page(string pipelineId, long? beforeSeq, int limit, out StoredBatch[] items, out long? nextBeforeSeq)
    {
        items = Array.Empty<StoredBatch>();
        nextBeforeSeq = null;
        lock (_lock)
        {
            if (!_pipelines.TryGetValue(pipelineId, out var pipeline))
            {
                return StoreResult.PipelineNotFound;
            }

            var list = pipeline.BySeq;
            // Index of the first item at or above the cursor; everything below it is still to be listed.
            var end = beforeSeq is { } cursor ? LowerBound(list, cursor) : list.Count;
            var take = Math.Min(limit, end);
            items = new StoredBatch[take];
            for (var i = 0; i < take; i++)
            {
                items[i] = list[end - 1 - i];
            }

            if (end - take > 0)
            {
                nextBeforeSeq = items[^1].Seq;
            }

            return StoreResult.Ok;
        }
    }

    /// <summary>Stops an active batch. Stopping a finished batch changes nothing (idempotent).</summary>
    public StoreResult Stop(string pipelineId, string batchId, DateTimeOffset now)
    {
        lock (_lock)
        {
            var found = Find(pipelineId, batchId, out var pipeline, out var batch);
            if (found != StoreResult.Ok)
            {
                return found;
            }

            StopLocked(pipeline, batch, now);
            return StoreResult.Ok;
        }
    }

    /// <summary>Deletes a batch, stopping it first when it is still active (recorded in <see cref="Deleted"/>).</summary>
    public StoreResult Delete(string pipelineId, string batchId, DateTimeOffset now)
    {
        lock (_lock)
        {
            var found = Find(pipelineId, batchId, out var pipeline, out var batch);
            if (found != StoreResult.Ok)
            {
                return found;
            }

            var stoppedFirst = StopLocked(pipeline, batch, now);
            pipeline.ById.Remove(batchId);
            pipeline.BySeq.RemoveAt(LowerBound(pipeline.BySeq, batch.Seq));
            _deleted.Add(new DeletedBatch(pipelineId, batchId, stoppedFirst, now));
            return StoreResult.Ok;
        }
    }

    private bool StopLocked(PipelineBatches pipeline, StoredBatch batch, DateTimeOffset now)
    {
        if (BatchLifecycle.IsFinished(batch, now))
        {
            return false;
        }

        var stopped = batch with { StoppedAt = now };
        pipeline.ById[batch.Id] = stopped;
        pipeline.BySeq[LowerBound(pipeline.BySeq, batch.Seq)] = stopped;
        return true;
    }

    private StoredBatch NewBatch(PipelineBatches pipeline, string pipelineId, string? version, DateTimeOffset created, BatchDefaults defaults)
    {
        // Random (not sequential) ids, like the real service; they are not secrets, so no crypto RNG.
        Span<byte> random = stackalloc byte[6];
        string id;
        do
        {
            Random.Shared.NextBytes(random);
            id = "batch-" + Convert.ToHexStringLower(random);
        }
        while (pipeline.ById.ContainsKey(id));

        var batch = new StoredBatch(
            id,
            pipelineId,
            version,
            ++_lastSeq,
            created,
            pipeline.StepDuration ?? defaults.StepDuration,
            defaults.FailingPrefix.Length > 0 && pipelineId.StartsWith(defaults.FailingPrefix, StringComparison.Ordinal),
            null);
        pipeline.BySeq.Add(batch);
        pipeline.ById.Add(id, batch);
        return batch;
    }

    // First index whose Seq is >= seq (list is sorted by Seq).
    private static int LowerBound(List<StoredBatch> list, long seq)
    {
        int lo = 0, hi = list.Count;
        while (lo < hi)
        {
            var mid = lo + ((hi - lo) / 2);
            if (list[mid].Seq < seq)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    private sealed class PipelineBatches
    {
        public TimeSpan? StepDuration { get; set; }

        public List<StoredBatch> BySeq { get; } = new();

        public Dictionary<string, StoredBatch> ById { get; } = new(StringComparer.Ordinal);

        public int Created { get; set; }
    }
}

/// <summary>Settings a new batch captures from the emulator at creation.</summary>
internal readonly record struct BatchDefaults(TimeSpan StepDuration, string FailingPrefix);
