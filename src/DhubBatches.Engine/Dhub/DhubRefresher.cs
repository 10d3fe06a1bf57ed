using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using DhubBatches.Contract;

namespace DhubBatches.Engine.Dhub;

/// <summary>
/// One polling round on the dhub API, which offers a GET per batch and a list per pipeline, newest first. When two or
/// more batches of a pipeline are waited on, the newest list page is read first, and another page only while the last
/// one answered at least two of the batches still waited on (each page must save a request); the rest are read one by
/// one. So a round never costs more than reading every batch by itself plus one page per pipeline.
/// </summary>
internal sealed class DhubRefresher : IBatchRefresher
{
    /// <summary>Reads in flight at once: enough for 1,000 batches on a 5 s interval, few enough for any server.</summary>
    private const int MaxConcurrentReads = 16;

    /// <summary>The list's default page size in the API document.</summary>
    private const int ListPageSize = 100;

    private readonly DhubEngine _engine;

    public DhubRefresher(DhubEngine engine)
    {
        _engine = engine;
    }

    public async Task<IReadOnlyList<RefreshResult>> RefreshAsync(IReadOnlyList<BatchKey> batches, CancellationToken cancellationToken)
    {
        var results = new List<RefreshResult>(batches.Count);
        var oneByOne = new List<BatchKey>();
        foreach (var pipeline in batches.GroupBy(b => b.PipelineId, StringComparer.Ordinal))
        {
            var waiting = pipeline.ToList();
            if (waiting.Count >= 2)
            {
                await ReadFromListAsync(pipeline.Key, waiting, results, cancellationToken).ConfigureAwait(false);
            }
            oneByOne.AddRange(waiting);
        }
        results.AddRange(await ReadEachAsync(oneByOne, cancellationToken).ConfigureAwait(false));
        return results;
    }

    /// <summary>Answers what it can from list pages; removes those batches from <paramref name="waiting"/>.</summary>
    private async Task ReadFromListAsync(string pipelineId, List<BatchKey> waiting, List<RefreshResult> results, CancellationToken cancellationToken)
    {
        string? continuation = null;
        do
        {
            BatchPage page;
            try
            {
                page = await _engine.ReadListAsync(pipelineId, ListPageSize, continuation, cancellationToken).ConfigureAwait(false);
            }
            catch (DhubException)
            {
                return; // the batches are read one by one instead, each with its own error if any
            }
            var byId = page.Items.ToDictionary(b => b.Id, StringComparer.Ordinal);
            var unreadable = page.Problems.Where(p => p.BatchId != null).ToDictionary(p => p.BatchId!, StringComparer.Ordinal);
            var answered = 0;
            foreach (var key in waiting.ToList())
            {
                if (byId.TryGetValue(key.BatchId, out var snapshot))
                {
                    results.Add(new RefreshResult(key, snapshot, null));
                }
                else if (unreadable.TryGetValue(key.BatchId, out var problem))
                {
                    results.Add(new RefreshResult(key, null, new DhubException(DhubErrorKind.DhubInvalidResponse, problem.Message)));
                }
                else
                {
                    continue;
                }
                waiting.Remove(key);
                answered++;
            }
            if (answered < 2)
            {
                return; // this page did not pay for itself: the next one is unlikely to
            }
            continuation = page.Continuation;
        }
        while (continuation != null && waiting.Count >= 2);
    }

    private async Task<List<RefreshResult>> ReadEachAsync(List<BatchKey> keys, CancellationToken cancellationToken)
    {
        var results = new RefreshResult[keys.Count];
        using var slots = new SemaphoreSlim(MaxConcurrentReads);
        var reads = keys.Select(async (key, index) =>
        {
            await slots.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                results[index] = new RefreshResult(key, await _engine.GetAsync(key.PipelineId, key.BatchId, cancellationToken).ConfigureAwait(false), null);
            }
            catch (DhubException ex)
            {
                results[index] = new RefreshResult(key, null, ex);
            }
            finally
            {
                slots.Release();
            }
        }).ToList();
        await Task.WhenAll(reads).ConfigureAwait(false);
        return results.ToList();
    }
}
