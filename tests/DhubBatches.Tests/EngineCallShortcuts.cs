using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using DhubBatches.Contract;

namespace DhubBatches.Tests;

/// <summary>A page request the way these tests think of it: at most <see cref="Limit"/> batches, after a skip.</summary>
public sealed class BatchPageRequest
{
    public int Limit { get; set; } = 100;

    public string? Continuation { get; set; }

    public long Skip { get; set; }
}

/// <summary>The engine calls with their options left at the defaults the cmdlets use, and snapshots as the cmdlets show them.</summary>
public static class EngineCallShortcuts
{
    public static Task<BatchPage> GetPageAsync(this IBatchEngine engine, string pipelineId, BatchPageRequest request, CancellationToken cancellationToken) =>
        engine.GetPageAsync(
            pipelineId,
            BatchQuery.Default,
            new PageRequest { Want = request.Limit, PageSize = request.Limit, Continuation = request.Continuation, Skip = request.Skip },
            cancellationToken);

    public static Task<long?> CountAsync(this IBatchEngine engine, string pipelineId, CancellationToken cancellationToken) =>
        engine.CountAsync(pipelineId, BatchQuery.Default, cancellationToken);

    public static Task<StopOutcome> StopAsync(this IBatchEngine engine, string pipelineId, string batchId, CancellationToken cancellationToken) =>
        engine.StopAsync(pipelineId, batchId, new StopOptions(), cancellationToken);

    public static Task RemoveAsync(this IBatchEngine engine, string pipelineId, string batchId, TimeSpan stopTimeout, CancellationToken cancellationToken) =>
        engine.RemoveAsync(pipelineId, batchId, new RemoveOptions { StopTimeout = stopTimeout }, cancellationToken);

    /// <summary><c>extract=success; transform=running</c>, as Batch.StepSummary shows it.</summary>
    public static string StepSummary(this BatchSnapshot batch) =>
        string.Join("; ", batch.Steps.Select(s => s.Name + "=" + s.State.ToString().ToLowerInvariant()));

    /// <summary><c>partition_0=1000; partition_1=500</c>, as BatchStep.OffsetSummary shows it.</summary>
    public static string OffsetSummary(this StepSnapshot step) => string.Join("; ", step.Offsets.Select(o => o.Key + "=" + o.Value));

    public static IReadOnlyList<string> OffsetKeys(this StepSnapshot step) => step.Offsets.Select(o => o.Key).ToList();

    public static long Offset(this StepSnapshot step, string partition) => step.Offsets.Single(o => o.Key == partition).Value;
}

/// <summary>The Batch a user sees for a snapshot, as a command would make it (on a connection that is never used).</summary>
public static class Batches
{
    public static Batch Of(BatchSnapshot snapshot, BackendKind backend = BackendKind.Dhub) =>
        new DhubConnection(new EngineSettings(new Uri("http://127.0.0.1:9/"), backend), "test").ToBatch(snapshot);

    public static StepSnapshot Step(string name, StepState state, params (string Partition, long Offset)[] offsets) =>
        new StepSnapshot(name, state, offsets.Select(o => new KeyValuePair<string, long>(o.Partition, o.Offset)).ToList());
}
