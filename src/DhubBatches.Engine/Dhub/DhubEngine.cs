using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Net.Http;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using DhubBatches.Engine.Http;
using Refit;

namespace DhubBatches.Engine.Dhub;

/// <summary>The dhub Batches API backend.</summary>
internal sealed class DhubEngine : IBatchEngine
{
    /// <summary>A pipeline id no one names; asking for it proves URL and token without touching real data.</summary>
    private const string ProbePipeline = "dhubbatches-connection-check";

    private readonly HttpClient _http;
    private readonly IDhubApi _api;
    private readonly ConcurrentDictionary<string, byte> _seenPipelines = new ConcurrentDictionary<string, byte>(StringComparer.Ordinal);

    public DhubEngine(EngineSettings settings)
    {
        _http = ApiHttpClient.Create(settings);
        _api = RestService.ForGenerated<IDhubApi>(_http, DhubJsonContext.Default);
    }

    public BackendKind Backend => BackendKind.Dhub;

    public async Task VerifyAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var _ = await ApiCall.ResponseAsync(_api.GetLatestAsync(ProbePipeline, cancellationToken), NotFound.OfPipeline, cancellationToken).ConfigureAwait(false);
        }
        catch (DhubException ex) when ((ex.Kind == DhubErrorKind.DhubPipelineNotFound || ex.Kind == DhubErrorKind.DhubBatchNotFound) && ex.ServerMessage != null)
        {
            // A dhub-style 404 ({"message": ...}) for the probe: the API answered and accepted the token.
        }
        catch (DhubException ex) when (ex.Kind == DhubErrorKind.DhubPipelineNotFound || ex.Kind == DhubErrorKind.DhubBatchNotFound)
        {
            throw new DhubException(
                DhubErrorKind.DhubInvalidResponse,
                ex.Message + " The URL does not look like a dhub Batches API root (expected e.g. https://api.dhub.io).",
                ex);
        }
    }

    public async Task<Batch> StartAsync(StartRequest request, CancellationToken cancellationToken)
    {
        if (request.Parameters != null && request.Parameters.Count > 0)
        {
            throw new DhubException(DhubErrorKind.DhubBadRequest, "-Parameter is supported only on the Prefect backend; the dhub Batches API takes no run parameters.");
        }
        var created = await ApiCall.ContentAsync(
            _api.StartAsync(request.PipelineId, request.PipelineVersion, cancellationToken), NotFound.OfPipeline, cancellationToken).ConfigureAwait(false);
        if (string.IsNullOrEmpty(created.Item))
        {
            throw new DhubException(DhubErrorKind.DhubInvalidResponse, $"POST /api/v1/batches/{request.PipelineId} -> 200: the answer names no batch ('item' is missing).");
        }
        Seen(request.PipelineId);
        try
        {
            return await GetAsync(request.PipelineId, created.Item!, cancellationToken).ConfigureAwait(false);
        }
        catch (DhubException ex) when (ex.Kind != DhubErrorKind.DhubUnauthorized)
        {
            // The batch exists; reading it back failed. Report the id rather than lose it.
            EngineLog.Current?.Warning($"Batch '{created.Item}' was started, but reading it back failed: {ex.Message}");
            return new Batch(request.PipelineId, created.Item!, BackendKind.Dhub) { State = BatchState.Unknown };
        }
    }

    public async Task<Batch> GetLatestAsync(string pipelineId, CancellationToken cancellationToken)
    {
        var dto = await ApiCall.ContentAsync(_api.GetLatestAsync(pipelineId, cancellationToken), NotFound.OfLatest, cancellationToken).ConfigureAwait(false);
        Seen(pipelineId);
        return Map(() => DhubMapper.ToBatch(pipelineId, dto), $"GET /api/v1/batches/{pipelineId}");
    }

    public async Task<Batch> GetAsync(string pipelineId, string batchId, CancellationToken cancellationToken)
    {
        var dto = await ApiCall.ContentAsync(_api.GetAsync(pipelineId, batchId, cancellationToken), NotFound.OfBatch, cancellationToken).ConfigureAwait(false);
        Seen(pipelineId);
        return Map(() => DhubMapper.ToBatch(pipelineId, dto, batchId), $"GET /api/v1/batches/{pipelineId}/{batchId}");
    }

    public async Task<BatchPage> GetPageAsync(string pipelineId, BatchPageRequest request, CancellationToken cancellationToken)
    {
        var list = await ApiCall.ContentAsync(
            _api.ListAsync(pipelineId, request.Limit, request.Continuation, cancellationToken), NotFound.OfPipeline, cancellationToken).ConfigureAwait(false);
        Seen(pipelineId);
        var items = list.Items ?? throw new DhubException(
            DhubErrorKind.DhubInvalidResponse, $"GET /api/v1/batches/{pipelineId}/ -> 200: the answer is not the expected JSON ('items' is missing).");
        var batches = Map(
            () => items.Select(pair => DhubMapper.ItemToBatch(pipelineId, pair.Key, pair.Value)).ToList(),
            $"GET /api/v1/batches/{pipelineId}/");
        // A page that repeats its own token would loop for ever: treat it as the last page.
        var next = string.IsNullOrEmpty(list.Token) || list.Token == request.Continuation ? null : list.Token;
        return new BatchPage(batches, next, skipped: 0);
    }

    public Task<long?> CountAsync(string pipelineId, CancellationToken cancellationToken) => Task.FromResult<long?>(null);

    public async Task<StopOutcome> StopAsync(string pipelineId, string batchId, CancellationToken cancellationToken)
    {
        using var _ = await ApiCall.ResponseAsync(_api.StopAsync(pipelineId, batchId, cancellationToken), NotFound.OfBatch, cancellationToken).ConfigureAwait(false);
        return StopOutcome.Stopped;
    }

    public async Task RemoveAsync(string pipelineId, string batchId, TimeSpan stopTimeout, CancellationToken cancellationToken)
    {
        // The API stops a running batch itself before deleting it.
        using var _ = await ApiCall.ResponseAsync(_api.DeleteAsync(pipelineId, batchId, cancellationToken), NotFound.OfBatch, cancellationToken).ConfigureAwait(false);
    }

    public Task<IReadOnlyList<string>> GetPipelineNamesAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<string>>(_seenPipelines.Keys.OrderBy(k => k, StringComparer.OrdinalIgnoreCase).ToList());

    public void Dispose() => _http.Dispose();

    private void Seen(string pipelineId) => _seenPipelines.TryAdd(pipelineId, 0);

    private static T Map<T>(Func<T> map, string call)
    {
        try
        {
            return map();
        }
        catch (JsonException ex)
        {
            throw new DhubException(DhubErrorKind.DhubInvalidResponse, $"{call} -> 200: the answer is not the expected JSON ({ex.Message}).", ex);
        }
    }

    /// <summary>The API answers 404 for a missing pipeline and for a missing batch; its message tells which.</summary>
    private static class NotFound
    {
        public static DhubErrorKind OfPipeline(string? message) => DhubErrorKind.DhubPipelineNotFound;

        public static DhubErrorKind OfLatest(string? message) =>
            message != null && message.IndexOf("no batch", StringComparison.OrdinalIgnoreCase) >= 0
                ? DhubErrorKind.DhubBatchNotFound
                : DhubErrorKind.DhubPipelineNotFound;

        public static DhubErrorKind OfBatch(string? message) =>
            message != null && message.TrimStart().StartsWith("pipeline", StringComparison.OrdinalIgnoreCase)
                ? DhubErrorKind.DhubPipelineNotFound
                : DhubErrorKind.DhubBatchNotFound;
    }
}
