using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Net.Http;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using DhubBatches.Contract;
using DhubBatches.Engine.Http;
using Refit;

namespace DhubBatches.Engine.Dhub;

/// <summary>The dhub Batches API backend (the seed document: start, get, list, stop, delete; no logs, restarts or times).</summary>
internal sealed class DhubEngine : IBatchEngine
{
    /// <summary>A pipeline id no one names; asking for it proves URL and token without touching real data.</summary>
    private const string ProbePipeline = "dhubbatches-connection-check";

    private readonly HttpClient _http;
    private readonly ConcurrentDictionary<string, byte> _seenPipelines = new ConcurrentDictionary<string, byte>(StringComparer.Ordinal);

    public DhubEngine(EngineSettings settings)
    {
        _http = ApiHttpClient.Create(settings);
        Api = RestService.ForGenerated<IDhubApi>(_http, DhubJsonContext.Default);
        Text = new RecordText(settings.Secret);
    }

    public BackendKind Backend => BackendKind.Dhub;

    internal IDhubApi Api { get; }

    internal RecordText Text { get; }

    public bool Supports(EngineFeature feature) => false;

    /// <summary>
    /// Asks for a pipeline no one has: a dhub API answers 404 with its own <c>{"message": …}</c>. A FastAPI app (Prefect
    /// among them) answers <c>{"detail": "Not Found"}</c> and a web page answers HTML: neither is a dhub API.
    /// </summary>
    public async Task VerifyAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var _ = await ApiCall.ResponseAsync(Api.GetLatestAsync(ProbePipeline, cancellationToken), NotFound.OfPipeline, cancellationToken).ConfigureAwait(false);
        }
        catch (DhubException ex) when (ex.Kind == DhubErrorKind.DhubPipelineNotFound || ex.Kind == DhubErrorKind.DhubBatchNotFound)
        {
            var body = (ex.InnerException as ApiException)?.Content;
            if (IsDhubMessage(body))
            {
                return; // the API answered in its own words and accepted the token
            }
            var fastApi = body != null && body.Contains("\"detail\"");
            throw new DhubException(
                DhubErrorKind.DhubInvalidResponse,
                ex.Message + (fastApi
                    ? " The server answers like a FastAPI application (a Prefect server among them), not a dhub Batches API. For Prefect, connect with -Backend Prefect and the URL ending in /api."
                    : " The URL does not look like a dhub Batches API root (expected e.g. https://api.dhub.io)."),
                ex);
        }
    }

    public async Task<BatchSnapshot> StartAsync(StartRequest request, CancellationToken cancellationToken)
    {
        if (request.Parameters != null && request.Parameters.Count > 0)
        {
            throw new DhubException(DhubErrorKind.DhubBadRequest, "-Parameter is supported only on the Prefect backend; the dhub Batches API takes no run parameters.");
        }
        var created = await ApiCall.ContentAsync(
            Api.StartAsync(request.PipelineId, request.PipelineVersion, cancellationToken), NotFound.OfPipeline, cancellationToken).ConfigureAwait(false);
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
            return new BatchSnapshot(request.PipelineId, created.Item!) { State = BatchState.Unknown };
        }
    }

    public async Task<BatchSnapshot> GetLatestAsync(string pipelineId, CancellationToken cancellationToken)
    {
        var dto = await ApiCall.ContentAsync(Api.GetLatestAsync(pipelineId, cancellationToken), NotFound.OfLatest, cancellationToken).ConfigureAwait(false);
        Seen(pipelineId);
        return Map(() => DhubMapper.ToSnapshot(pipelineId, dto), $"GET /api/v1/batches/{pipelineId}");
    }

    public async Task<BatchSnapshot> GetAsync(string pipelineId, string batchId, CancellationToken cancellationToken)
    {
        var dto = await ApiCall.ContentAsync(Api.GetAsync(pipelineId, batchId, cancellationToken), NotFound.OfBatch, cancellationToken).ConfigureAwait(false);
        Seen(pipelineId);
        return Map(() => DhubMapper.ToSnapshot(pipelineId, dto, batchId), $"GET /api/v1/batches/{pipelineId}/{batchId}");
    }

    /// <summary>
    /// The API cannot skip or filter: this page asks for what is to be skipped plus what is wanted, and filters states
    /// itself. With a state filter a full page is asked for, since how many batches it takes to find the wanted ones
    /// is not known.
    /// </summary>
    public async Task<BatchPage> GetPageAsync(string pipelineId, BatchQuery query, PageRequest page, CancellationToken cancellationToken)
    {
        var wanted = query.States == null ? Math.Min((long)page.PageSize, Math.Max(1, page.Skip + page.Want)) : page.PageSize;
        var list = await ReadListAsync(pipelineId, (int)wanted, page.Continuation, cancellationToken).ConfigureAwait(false);
        var items = query.States == null ? list.Items : list.Items.Where(b => query.States.Contains(b.State)).ToList();
        return new BatchPage(items, list.Continuation, skipped: 0, list.Problems);
    }

    public Task<long?> CountAsync(string pipelineId, BatchQuery query, CancellationToken cancellationToken) => Task.FromResult<long?>(null);

    public IBatchRefresher CreateRefresher() => new DhubRefresher(this);

    public async Task<StopOutcome> StopAsync(string pipelineId, string batchId, StopOptions options, CancellationToken cancellationToken)
    {
        using var _ = await ApiCall.ResponseAsync(Api.StopAsync(pipelineId, batchId, cancellationToken), NotFound.OfBatch, cancellationToken).ConfigureAwait(false);
        return StopOutcome.Stopped;
    }

    public async Task RemoveAsync(string pipelineId, string batchId, RemoveOptions options, CancellationToken cancellationToken)
    {
        // The API stops a running batch itself before deleting it.
        using var _ = await ApiCall.ResponseAsync(Api.DeleteAsync(pipelineId, batchId, cancellationToken), NotFound.OfBatch, cancellationToken).ConfigureAwait(false);
    }

    public Task<BatchSnapshot> RestartAsync(string pipelineId, string batchId, CancellationToken cancellationToken) =>
        throw new DhubException(DhubErrorKind.DhubNotSupported, "The dhub Batches API cannot run a batch again; start a new one with Start-DhubBatch.");

    public IBatchLogReader CreateLogReader(LogRequest request) =>
        throw new DhubException(DhubErrorKind.DhubNotSupported, "The dhub Batches API keeps no logs.");

    public Task<IReadOnlyList<string>> GetPipelineNamesAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<string>>(_seenPipelines.Keys.OrderBy(k => k, StringComparer.OrdinalIgnoreCase).ToList());

    // The seed API addresses every batch under its pipeline and cannot list pipelines (EngineFeature.Fleet is false, so
    // the cmdlets say so before asking; these are the engine's own guard).
    public Task<IReadOnlyList<PipelineSnapshot>> GetPipelinesAsync(IReadOnlyCollection<string>? names, CancellationToken cancellationToken) =>
        throw FleetNotSupported();

    public Task<BatchPage> GetFleetPageAsync(BatchQuery query, PageRequest page, CancellationToken cancellationToken) => throw FleetNotSupported();

    public Task<long?> CountFleetAsync(BatchQuery query, CancellationToken cancellationToken) => throw FleetNotSupported();

    public Task<BatchSnapshot> GetByIdAsync(string batchId, CancellationToken cancellationToken) => throw FleetNotSupported();

    private static DhubException FleetNotSupported() =>
        new DhubException(DhubErrorKind.DhubNotSupported, "The dhub Batches API cannot list pipelines or find a batch without its pipeline: give -PipelineId.");

    public void Dispose() => _http.Dispose();

    /// <summary>One list page, item by item: an unreadable item costs only itself and is reported with its id.</summary>
    internal async Task<BatchPage> ReadListAsync(string pipelineId, int limit, string? continuation, CancellationToken cancellationToken)
    {
        var list = await ApiCall.ContentAsync(
            Api.ListAsync(pipelineId, limit, continuation, cancellationToken), NotFound.OfPipeline, cancellationToken).ConfigureAwait(false);
        Seen(pipelineId);
        var items = list.Items ?? throw new DhubException(
            DhubErrorKind.DhubInvalidResponse, $"GET /api/v1/batches/{pipelineId}/ -> 200: the answer is not the expected JSON ('items' is missing).");
        var batches = new List<BatchSnapshot>(items.Count);
        var problems = new List<RecordProblem>();
        foreach (var pair in items)
        {
            try
            {
                batches.Add(DhubMapper.ItemToSnapshot(pipelineId, pair.Key, pair.Value));
            }
            catch (JsonException ex)
            {
                problems.Add(new RecordProblem(
                    pipelineId,
                    pair.Key,
                    $"Batch {pair.Key} of pipeline '{pipelineId}' could not be read ({ex.Message}); it was skipped.",
                    Text.Of(pair.Value.ValueKind == JsonValueKind.String ? pair.Value.GetString()! : pair.Value.GetRawText())));
            }
        }
        // A page that repeats its own token would loop for ever: treat it as the last page.
        var next = items.Count == 0 || string.IsNullOrEmpty(list.Token) || list.Token == continuation ? null : list.Token;
        return new BatchPage(batches, next, skipped: 0, problems);
    }

    private void Seen(string pipelineId) => _seenPipelines.TryAdd(pipelineId, 0);

    private static bool IsDhubMessage(string? body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return false;
        }
        try
        {
            using var document = JsonDocument.Parse(body!);
            var root = document.RootElement;
            return root.ValueKind == JsonValueKind.Object && root.TryGetProperty("message", out var message)
                && message.ValueKind == JsonValueKind.String && !root.TryGetProperty("detail", out _);
        }
        catch (JsonException)
        {
            return false;
        }
    }

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
    internal static class NotFound
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
