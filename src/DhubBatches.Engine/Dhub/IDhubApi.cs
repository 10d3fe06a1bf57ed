using DhubBatches.Contract;
using System.Threading;
using System.Threading.Tasks;
using DhubBatches.Engine.Http;
using Refit;

namespace DhubBatches.Engine.Dhub;

/// <summary>The dhub Batches API (batches-api.seed.txt). Path values are escaped by Refit as one segment each.</summary>
internal interface IDhubApi
{
    /// <summary>Not idempotent: retried only when the request provably never reached the server.</summary>
    [Post("/api/v1/batches/{pipelineId}")]
    Task<IApiResponse<DhubCreated>> StartAsync(
        string pipelineId,
        [AliasAs("pipeline_version")] [Query] string? pipelineVersion,
        CancellationToken cancellationToken);

    [Get("/api/v1/batches/{pipelineId}")]
    Task<IApiResponse<DhubBatch>> GetLatestAsync(string pipelineId, CancellationToken cancellationToken);

    [Get("/api/v1/batches/{pipelineId}/{batchId}")]
    Task<IApiResponse<DhubBatch>> GetAsync(string pipelineId, string batchId, CancellationToken cancellationToken);

    /// <summary>The trailing slash is part of the documented route.</summary>
    [Get("/api/v1/batches/{pipelineId}/")]
    Task<IApiResponse<DhubBatchList>> ListAsync(
        string pipelineId,
        [Query] int limit,
        [Query] string? token,
        CancellationToken cancellationToken);

    [Put("/api/v1/batches/{pipelineId}/{batchId}/stop")]
    Task<IApiResponse<DhubMessage>> StopAsync(string pipelineId, string batchId, CancellationToken cancellationToken);

    [Delete("/api/v1/batches/{pipelineId}/{batchId}")]
    Task<IApiResponse<DhubMessage>> DeleteAsync(string pipelineId, string batchId, CancellationToken cancellationToken);
}
