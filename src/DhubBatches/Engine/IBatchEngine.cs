using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace DhubBatches.Engine;

/// <summary>
/// One backend's HTTP client. Implemented in DhubBatches.Engine (net8.0, its own load context); only types of
/// this assembly cross the boundary. Every call is cancellable, throws only <see cref="DhubException"/> or
/// <see cref="OperationCanceledException"/>, and logs through <see cref="EngineLog.Current"/>.
/// </summary>
public interface IBatchEngine : IDisposable
{
    BackendKind Backend { get; }

    /// <summary>One cheap authenticated call that proves the URL and credentials.</summary>
    Task VerifyAsync(CancellationToken cancellationToken);

    /// <summary>Starts a batch and returns it as the server reports it right after creation.</summary>
    Task<Batch> StartAsync(StartRequest request, CancellationToken cancellationToken);

    Task<Batch> GetLatestAsync(string pipelineId, CancellationToken cancellationToken);

    Task<Batch> GetAsync(string pipelineId, string batchId, CancellationToken cancellationToken);

    /// <summary>One page of a pipeline's batches, newest first.</summary>
    Task<BatchPage> GetPageAsync(string pipelineId, BatchPageRequest request, CancellationToken cancellationToken);

    /// <summary>Total number of batches of a pipeline, or null when the backend cannot count.</summary>
    Task<long?> CountAsync(string pipelineId, CancellationToken cancellationToken);

    Task<StopOutcome> StopAsync(string pipelineId, string batchId, CancellationToken cancellationToken);

    /// <summary>Deletes a batch, stopping it first when it is still running.</summary>
    Task RemoveAsync(string pipelineId, string batchId, TimeSpan stopTimeout, CancellationToken cancellationToken);

    /// <summary>Pipeline ids this engine can name cheaply (for tab completion); never throws for "unsupported".</summary>
    Task<IReadOnlyList<string>> GetPipelineNamesAsync(CancellationToken cancellationToken);
}

public sealed class StartRequest
{
    public StartRequest(string pipelineId)
    {
        PipelineId = pipelineId;
    }

    public string PipelineId { get; }

    public string? PipelineVersion { get; set; }

    /// <summary>Plain .NET values only (string, numbers, bool, null, IDictionary, IList): no PSObject.</summary>
    public IDictionary<string, object?>? Parameters { get; set; }
}

public sealed class BatchPageRequest
{
    /// <summary>Opaque continuation from the previous page; null for the first page.</summary>
    public string? Continuation { get; set; }

    /// <summary>Most items wanted in this page.</summary>
    public int Limit { get; set; } = 100;

    /// <summary>Items to skip before the first page, where the server can skip (Prefect offset).</summary>
    public long Skip { get; set; }
}

public sealed class BatchPage
{
    public BatchPage(IReadOnlyList<Batch> items, string? continuation, long skipped)
    {
        Items = items;
        Continuation = continuation;
        Skipped = skipped;
    }

    public IReadOnlyList<Batch> Items { get; }

    /// <summary>Null when this was the last page.</summary>
    public string? Continuation { get; }

    /// <summary>How much of the requested skip the server applied (the caller discards the rest itself).</summary>
    public long Skipped { get; }
}
