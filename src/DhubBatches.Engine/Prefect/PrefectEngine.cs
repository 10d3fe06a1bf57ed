using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using DhubBatches.Engine.Http;
using Refit;

namespace DhubBatches.Engine.Prefect;

/// <summary>
/// The Prefect backend: a pipeline is the deployment <c>&lt;flow&gt;/&lt;pipeline&gt;</c>, a batch one of its
/// flow runs, a step the task runs of the run, offsets the runs' <c>offsets</c> artifacts (prefect-rest.md).
/// </summary>
internal sealed class PrefectEngine : IBatchEngine
{
    /// <summary>Server-side maximum of every filter's limit (§6.1).</summary>
    internal const int MaxLimit = 200;

    /// <summary>Never the default ID_DESC: run ids are random, so that order is not chronological (§6.1).</summary>
    private const string NewestFirst = "EXPECTED_START_TIME_DESC";

    /// <summary>Bounds the task-run and artifact pages read for one page of runs (each page ≤ 200 items).</summary>
    private const int MaxDetailPages = 50;

    /// <summary>How often a WAIT answer to a cancellation is honoured before giving up (§9).</summary>
    private const int MaxWaitAnswers = 10;

    private readonly EngineSettings _settings;
    private readonly HttpClient _http;
    private readonly IPrefectApi _api;
    private readonly bool _isCloud;
    private readonly ConcurrentDictionary<string, Lazy<Task<PrefectDeployment>>> _deployments =
        new ConcurrentDictionary<string, Lazy<Task<PrefectDeployment>>>(StringComparer.Ordinal);

    public PrefectEngine(EngineSettings settings)
    {
        _settings = settings;
        var root = settings.Uri.AbsoluteUri.EndsWith("/", StringComparison.Ordinal) ? settings.Uri : new Uri(settings.Uri.AbsoluteUri + "/");
        // Cloud URLs start with api.prefect.cloud (§1.1); Cloud has no CSRF and no /admin/version (§2.1, §3).
        _isCloud = root.Host.EndsWith("prefect.cloud", StringComparison.OrdinalIgnoreCase);
        _http = ApiHttpClient.Create(settings, root, inner => new CsrfHandler(root, enabled: !_isCloud, inner));
        _http.DefaultRequestHeaders.TryAddWithoutValidation("X-PREFECT-API-VERSION", "0.8.4"); // §1.2
        _api = RestService.ForGenerated<IPrefectApi>(_http, PrefectJsonContext.Default);
    }

    public BackendKind Backend => BackendKind.Prefect;

    private string FlowName => _settings.PrefectFlowName;

    public async Task VerifyAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (_isCloud)
            {
                using var _ = await ApiCall.ResponseAsync(_api.CountFlowRunsAsync(new FlowRunQuery(), true, cancellationToken), NotFound.Api, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                var version = await ApiCall.ContentAsync(_api.AdminVersionAsync(cancellationToken), NotFound.Api, cancellationToken).ConfigureAwait(false);
                EngineLog.Current?.Verbose($"Prefect server version {version}.");
            }
        }
        catch (DhubException ex) when (ex.StatusCode == 404)
        {
            throw new DhubException(
                DhubErrorKind.DhubInvalidResponse,
                ex.Message + " The URL does not look like a Prefect API URL (self-hosted: http://host:4200/api; Cloud: https://api.prefect.cloud/api/accounts/<id>/workspaces/<id>).",
                ex);
        }
    }

    public async Task<Batch> StartAsync(StartRequest request, CancellationToken cancellationToken)
    {
        var deployment = await DeploymentAsync(request.PipelineId, cancellationToken).ConfigureAwait(false);
        Dictionary<string, object?>? parameters = request.Parameters == null ? null : new Dictionary<string, object?>(request.Parameters);
        List<string>? tags = null;
        if (request.PipelineVersion != null)
        {
            // §5.3: a declared flow parameter for the flow, and a tag so history can be filtered by version.
            parameters ??= new Dictionary<string, object?>();
            parameters["pipeline_version"] = request.PipelineVersion;
            tags = new List<string> { "pv:" + request.PipelineVersion };
        }
        var body = new CreateFlowRunRequest
        {
            Parameters = parameters,
            Tags = tags,
            // §5.2: the key is scoped to the flow, which all pipelines share, so it names the pipeline. It is in the
            // body, so every retry of this one call sends the same key and gets the same run back.
            IdempotencyKey = request.PipelineId + ":" + Guid.NewGuid().ToString(),
        };
        IApiResponse<PrefectFlowRun> response;
        try
        {
            response = await ApiCall.ResponseAsync(
                _api.CreateFlowRunAsync(deployment.Id!, body, true, cancellationToken), NotFound.Deployment, cancellationToken).ConfigureAwait(false);
        }
        catch (DhubException ex) when (ex.Kind == DhubErrorKind.DhubPipelineNotFound)
        {
            // The cached id may belong to a deployment that was deleted and created again (§4): resolve it once more.
            var fresh = await ReResolveAsync(request.PipelineId, deployment, cancellationToken).ConfigureAwait(false);
            if (fresh == null)
            {
                throw;
            }
            deployment = fresh;
            response = await ApiCall.ResponseAsync(
                _api.CreateFlowRunAsync(deployment.Id!, body, true, cancellationToken), NotFound.Deployment, cancellationToken).ConfigureAwait(false);
        }
        using var _ = response;
        var run = response.Content ?? throw ApiCall.Invalid(response.RequestMessage, (int)(response.StatusCode ?? 0), "the answer had no flow run");
        if (response.StatusCode == HttpStatusCode.OK)
        {
            EngineLog.Current?.Verbose($"Prefect returned the run already created with idempotency key {body.IdempotencyKey} (a retried request).");
        }
        if (!string.Equals(run.DeploymentId, deployment.Id, StringComparison.OrdinalIgnoreCase))
        {
            EngineLog.Current?.Warning($"Prefect returned flow run {run.Id} of another deployment ({run.DeploymentId}) for {FlowName}/{request.PipelineId}.");
        }
        return Map(request.PipelineId, run, Array.Empty<PrefectTaskRun>(), Array.Empty<PrefectArtifact>(), "POST create_flow_run");
    }

    public async Task<Batch> GetLatestAsync(string pipelineId, CancellationToken cancellationToken)
    {
        var deployment = await DeploymentAsync(pipelineId, cancellationToken).ConfigureAwait(false);
        var runs = await ApiCall.ContentAsync(
            _api.FilterFlowRunsAsync(RunsOf(deployment, limit: 1, offset: 0), true, cancellationToken), NotFound.Api, cancellationToken).ConfigureAwait(false);
        if (runs.Count == 0 && await ReResolveAsync(pipelineId, deployment, cancellationToken).ConfigureAwait(false) is { } fresh)
        {
            runs = await ApiCall.ContentAsync(
                _api.FilterFlowRunsAsync(RunsOf(fresh, limit: 1, offset: 0), true, cancellationToken), NotFound.Api, cancellationToken).ConfigureAwait(false);
        }
        if (runs.Count == 0)
        {
            throw new DhubException(DhubErrorKind.DhubBatchNotFound, $"No flow runs found for deployment '{FlowName}/{pipelineId}'.");
        }
        return (await WithStepsAsync(pipelineId, runs, cancellationToken).ConfigureAwait(false))[0];
    }

    public async Task<Batch> GetAsync(string pipelineId, string batchId, CancellationToken cancellationToken)
    {
        var run = await RunOfPipelineAsync(pipelineId, batchId, cancellationToken).ConfigureAwait(false);
        return (await WithStepsAsync(pipelineId, new List<PrefectFlowRun> { run }, cancellationToken).ConfigureAwait(false))[0];
    }

    public async Task<BatchPage> GetPageAsync(string pipelineId, BatchPageRequest request, CancellationToken cancellationToken)
    {
        var deployment = await DeploymentAsync(pipelineId, cancellationToken).ConfigureAwait(false);
        var limit = Math.Max(1, Math.Min(request.Limit, MaxLimit));
        long offset;
        long skipped = 0;
        if (request.Continuation == null)
        {
            offset = Math.Max(0, request.Skip);
            skipped = offset; // offset paging skips on the server
        }
        else if (!long.TryParse(request.Continuation, NumberStyles.None, CultureInfo.InvariantCulture, out offset))
        {
            throw new DhubException(DhubErrorKind.DhubBadRequest, $"'{request.Continuation}' is not a Prefect page offset.");
        }
        var runs = await ApiCall.ContentAsync(
            _api.FilterFlowRunsAsync(RunsOf(deployment, limit, checked((int)offset)), true, cancellationToken), NotFound.Api, cancellationToken).ConfigureAwait(false);
        if (runs.Count == 0 && request.Continuation == null && await ReResolveAsync(pipelineId, deployment, cancellationToken).ConfigureAwait(false) is { } fresh)
        {
            runs = await ApiCall.ContentAsync(
                _api.FilterFlowRunsAsync(RunsOf(fresh, limit, checked((int)offset)), true, cancellationToken), NotFound.Api, cancellationToken).ConfigureAwait(false);
        }
        var batches = await WithStepsAsync(pipelineId, runs, cancellationToken).ConfigureAwait(false);
        // Offset paging: a run inserted meanwhile shifts later pages by one (§6.1); the cmdlet tolerates that.
        var next = runs.Count == limit ? (offset + runs.Count).ToString(CultureInfo.InvariantCulture) : null;
        return new BatchPage(batches, next, skipped);
    }

    public async Task<long?> CountAsync(string pipelineId, CancellationToken cancellationToken)
    {
        var deployment = await DeploymentAsync(pipelineId, cancellationToken).ConfigureAwait(false);
        var count = await CountOfAsync(deployment, cancellationToken).ConfigureAwait(false);
        if (count == 0 && await ReResolveAsync(pipelineId, deployment, cancellationToken).ConfigureAwait(false) is { } fresh)
        {
            count = await CountOfAsync(fresh, cancellationToken).ConfigureAwait(false);
        }
        return count;
    }

    private async Task<long?> CountOfAsync(PrefectDeployment deployment, CancellationToken cancellationToken)
    {
        var query = new FlowRunQuery { FlowRuns = new FlowRunCriteria { DeploymentId = new AnyFilter(deployment.Id!) } };
        using var response = await ApiCall.ResponseAsync(_api.CountFlowRunsAsync(query, true, cancellationToken), NotFound.Api, cancellationToken).ConfigureAwait(false);
        return response.Content;
    }

    public async Task<StopOutcome> StopAsync(string pipelineId, string batchId, CancellationToken cancellationToken)
    {
        await RunOfPipelineAsync(pipelineId, batchId, cancellationToken).ConfigureAwait(false);
        return await CancelAsync(batchId, cancellationToken).ConfigureAwait(false);
    }

    public async Task RemoveAsync(string pipelineId, string batchId, TimeSpan stopTimeout, CancellationToken cancellationToken)
    {
        var run = await RunOfPipelineAsync(pipelineId, batchId, cancellationToken).ConfigureAwait(false);
        if (!PrefectMapper.IsTerminal(StateType(run)))
        {
            // §10: DELETE does not stop a running process; cancel first and wait for a terminal state.
            await CancelAsync(batchId, cancellationToken).ConfigureAwait(false);
            var deadline = DateTimeOffset.UtcNow + stopTimeout;
            while (!PrefectMapper.IsTerminal(StateType(run)))
            {
                if (DateTimeOffset.UtcNow >= deadline)
                {
                    throw new DhubException(
                        DhubErrorKind.DhubConflict,
                        $"Flow run {batchId} did not stop within {stopTimeout.TotalSeconds:0} s (state {PrefectMapper.EngineState(StateType(run), run.StateName)}); it was not deleted.");
                }
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
                run = await ApiCall.ContentAsync(_api.ReadFlowRunAsync(batchId, cancellationToken), NotFound.FlowRun, cancellationToken).ConfigureAwait(false);
            }
        }
        using var _ = await ApiCall.ResponseAsync(_api.DeleteFlowRunAsync(batchId, cancellationToken), NotFound.FlowRun, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<string>> GetPipelineNamesAsync(CancellationToken cancellationToken)
    {
        var query = new DeploymentQuery
        {
            Flows = new NameCriteria { Name = new AnyFilter(FlowName) },
            Sort = "NAME_ASC",
            Limit = MaxLimit,
            Offset = 0,
        };
        var deployments = await ApiCall.ContentAsync(_api.FilterDeploymentsAsync(query, true, cancellationToken), NotFound.Api, cancellationToken).ConfigureAwait(false);
        return deployments.Where(d => !string.IsNullOrEmpty(d.Name)).Select(d => d.Name!).ToList();
    }

    public void Dispose() => _http.Dispose();

    /// <summary>
    /// §9: propose CANCELLING with a fresh transition id (a retried POST cannot apply twice). REJECT with a
    /// CANCELLED state is success (a scheduled run with no infrastructure); ABORT means it had already finished;
    /// WAIT is proposed again after the delay Prefect asks for.
    /// </summary>
    private async Task<StopOutcome> CancelAsync(string flowRunId, CancellationToken cancellationToken)
    {
        for (var answer = 0; answer < MaxWaitAnswers; answer++)
        {
            var body = new SetStateRequest
            {
                State = new StateCreate
                {
                    Type = "CANCELLING",
                    Name = "Cancelling",
                    Message = "Cancelled with Stop-DhubBatch (DhubBatches PowerShell module)",
                    StateDetails = new StateDetailsCreate { TransitionId = Guid.NewGuid().ToString() },
                },
                Force = false,
            };
            var result = await ApiCall.ContentAsync(
                _api.SetFlowRunStateAsync(flowRunId, body, true, cancellationToken), NotFound.FlowRun, cancellationToken).ConfigureAwait(false);
            var now = result.State?.Type?.ToUpperInvariant();
            switch (result.Status?.ToUpperInvariant())
            {
                case "ACCEPT":
                    return StopOutcome.Requested;
                case "REJECT" when now == "CANCELLED":
                    return StopOutcome.Stopped;
                case "REJECT" when now == "CANCELLING":
                    return StopOutcome.Requested; // a cancellation is already under way
                case "REJECT":
                    throw new DhubException(
                        DhubErrorKind.DhubConflict,
                        $"POST /flow_runs/{flowRunId}/set_state: Prefect rejected the cancellation ({result.Details?.Reason}); the run is {now}.")
                    {
                        ServerMessage = result.Details?.Reason,
                    };
                case "ABORT":
                    EngineLog.Current?.Verbose($"Prefect: {result.Details?.Reason}");
                    return StopOutcome.AlreadyFinished;
                case "WAIT":
                    var delay = TimeSpan.FromSeconds(Math.Min(60, Math.Max(0.1, result.Details?.DelaySeconds ?? 1)));
                    EngineLog.Current?.Verbose($"Prefect asked to wait {delay.TotalSeconds:0.#} s before cancelling ({result.Details?.Reason}).");
                    await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                    continue;
                default:
                    throw new DhubException(
                        DhubErrorKind.DhubInvalidResponse,
                        $"POST /flow_runs/{flowRunId}/set_state -> orchestration status '{result.Status}' is not one this version knows.");
            }
        }
        throw new DhubException(
            DhubErrorKind.DhubServiceUnavailable,
            $"POST /flow_runs/{flowRunId}/set_state: Prefect answered WAIT {MaxWaitAnswers} times; the run was not cancelled.");
    }

    /// <summary>The deployment of a pipeline, resolved once per engine and then reused by id (§4).</summary>
    private async Task<PrefectDeployment> DeploymentAsync(string pipelineId, CancellationToken cancellationToken)
    {
        var lazy = _deployments.GetOrAdd(pipelineId, id => new Lazy<Task<PrefectDeployment>>(() => ResolveDeploymentAsync(id, cancellationToken)));
        try
        {
            return await lazy.Value.ConfigureAwait(false);
        }
        catch
        {
            _deployments.TryRemove(new KeyValuePair<string, Lazy<Task<PrefectDeployment>>>(pipelineId, lazy));
            throw;
        }
    }

    /// <summary>
    /// Drops a cached deployment that a request suggests is stale (deleted and created again under the same name)
    /// and resolves it again; the new deployment when its id differs, else null. DhubPipelineNotFound when it is gone.
    /// </summary>
    private async Task<PrefectDeployment?> ReResolveAsync(string pipelineId, PrefectDeployment cached, CancellationToken cancellationToken)
    {
        if (_deployments.TryGetValue(pipelineId, out var lazy) && lazy.IsValueCreated && lazy.Value.Status == TaskStatus.RanToCompletion
            && ReferenceEquals(lazy.Value.Result, cached))
        {
            _deployments.TryRemove(new KeyValuePair<string, Lazy<Task<PrefectDeployment>>>(pipelineId, lazy));
        }
        var fresh = await DeploymentAsync(pipelineId, cancellationToken).ConfigureAwait(false);
        return string.Equals(fresh.Id, cached.Id, StringComparison.OrdinalIgnoreCase) ? null : fresh;
    }

    private async Task<PrefectDeployment> ResolveDeploymentAsync(string pipelineId, CancellationToken cancellationToken)
    {
        var deployment = await ApiCall.ContentAsync(
            _api.ReadDeploymentByNameAsync(FlowName, pipelineId, cancellationToken), NotFound.Deployment, cancellationToken).ConfigureAwait(false);
        if (string.IsNullOrEmpty(deployment.Id))
        {
            throw new DhubException(DhubErrorKind.DhubInvalidResponse, $"GET /deployments/name/{FlowName}/{pipelineId} -> 200: the deployment has no 'id'.");
        }
        return deployment;
    }

    /// <summary>A flow run that belongs to the pipeline's deployment, or DhubBatchNotFound.</summary>
    private async Task<PrefectFlowRun> RunOfPipelineAsync(string pipelineId, string batchId, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(batchId, out _))
        {
            // §7: a malformed id would be a 404 or 422 depending on the server version; say what is wrong instead.
            throw new DhubException(DhubErrorKind.DhubBatchNotFound, $"'{batchId}' is not a Prefect flow run id (a UUID).");
        }
        var deploymentTask = DeploymentAsync(pipelineId, cancellationToken);
        var runTask = ApiCall.ContentAsync(_api.ReadFlowRunAsync(batchId, cancellationToken), NotFound.FlowRun, cancellationToken);
        await WhenAllPreferring(deploymentTask, runTask).ConfigureAwait(false);
        var deployment = deploymentTask.Result;
        var run = runTask.Result;
        if (!string.Equals(run.DeploymentId, deployment.Id, StringComparison.OrdinalIgnoreCase)
            && await ReResolveAsync(pipelineId, deployment, cancellationToken).ConfigureAwait(false) is { } fresh)
        {
            deployment = fresh;
        }
        if (!string.Equals(run.DeploymentId, deployment.Id, StringComparison.OrdinalIgnoreCase))
        {
            throw new DhubException(DhubErrorKind.DhubBatchNotFound, $"Flow run {batchId} is not a run of deployment '{FlowName}/{pipelineId}'.");
        }
        return run;
    }

    /// <summary>Maps runs with their steps: task runs and offsets artifacts of all runs in two bulk reads (§8).</summary>
    private async Task<List<Batch>> WithStepsAsync(string pipelineId, List<PrefectFlowRun> runs, CancellationToken cancellationToken)
    {
        if (runs.Any(r => r == null))
        {
            // A JSON null in the list ("[null]"): not a flow run.
            throw new DhubException(DhubErrorKind.DhubInvalidResponse, "POST /flow_runs/filter -> 200: the answer is not the expected JSON (a flow run in the list is null).");
        }
        var ids = runs.Where(r => r.Id != null).Select(r => r.Id!).ToList();
        if (ids.Count == 0)
        {
            return runs.Select(r => Map(pipelineId, r, Array.Empty<PrefectTaskRun>(), Array.Empty<PrefectArtifact>(), "POST /flow_runs/filter")).ToList();
        }
        var taskRunsTask = ReadAllAsync(offset => _api.FilterTaskRunsAsync(
            new TaskRunQuery
            {
                TaskRuns = new TaskRunCriteria { FlowRunId = new AnyFilter(ids) },
                Sort = "EXPECTED_START_TIME_ASC",
                Limit = MaxLimit,
                Offset = offset,
            },
            true,
            cancellationToken), cancellationToken);
        var artifactsTask = ReadAllAsync(offset => _api.FilterArtifactsAsync(
            new ArtifactQuery
            {
                Artifacts = new ArtifactCriteria { FlowRunId = new AnyFilter(ids), Type = new AnyFilter("offsets") },
                Sort = "CREATED_DESC",
                Limit = MaxLimit,
                Offset = offset,
            },
            true,
            cancellationToken), cancellationToken);
        await WhenAllPreferring(taskRunsTask, artifactsTask).ConfigureAwait(false);

        var tasksByRun = taskRunsTask.Result.Where(t => t?.FlowRunId != null).ToLookup(t => t.FlowRunId!, StringComparer.OrdinalIgnoreCase);
        var artifactsByRun = artifactsTask.Result.Where(a => a?.FlowRunId != null).ToLookup(a => a.FlowRunId!, StringComparer.OrdinalIgnoreCase);
        return runs.Select(run => Map(pipelineId, run, tasksByRun[run.Id ?? string.Empty], artifactsByRun[run.Id ?? string.Empty], "POST /flow_runs/filter")).ToList();
    }

    /// <summary>Every page of a filter (limit 200 each), bounded so a misbehaving server cannot loop us.</summary>
    private static async Task<List<T>> ReadAllAsync<T>(Func<int, Task<IApiResponse<List<T>>>> page, CancellationToken cancellationToken)
    {
        var all = new List<T>();
        for (var index = 0; index < MaxDetailPages; index++)
        {
            var items = await ApiCall.ContentAsync(page(all.Count), NotFound.Api, cancellationToken).ConfigureAwait(false);
            all.AddRange(items);
            if (items.Count < MaxLimit)
            {
                break;
            }
        }
        return all;
    }

    private FlowRunQuery RunsOf(PrefectDeployment deployment, int limit, int offset) => new FlowRunQuery
    {
        FlowRuns = new FlowRunCriteria { DeploymentId = new AnyFilter(deployment.Id!) },
        Sort = NewestFirst,
        Limit = limit,
        Offset = offset,
    };

    private Batch Map(string pipelineId, PrefectFlowRun run, IEnumerable<PrefectTaskRun> taskRuns, IEnumerable<PrefectArtifact> artifacts, string call)
    {
        try
        {
            return PrefectMapper.ToBatch(pipelineId, FlowName, run, taskRuns, artifacts);
        }
        catch (JsonException ex)
        {
            throw new DhubException(DhubErrorKind.DhubInvalidResponse, $"{call}: the answer is not the expected JSON ({ex.Message}).", ex);
        }
    }

    private static string? StateType(PrefectFlowRun run) => (run.StateType ?? run.State?.Type)?.ToUpperInvariant();

    /// <summary>Awaits both; when both fail, the first one's error is the one reported (e.g. pipeline before batch).</summary>
    private static async Task WhenAllPreferring(Task first, Task second)
    {
        try
        {
            await Task.WhenAll(first, second).ConfigureAwait(false);
        }
        catch
        {
            if (first.IsFaulted || first.IsCanceled)
            {
                await first.ConfigureAwait(false);
            }
            await second.ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>What a 404 means on each Prefect endpoint.</summary>
    private static class NotFound
    {
        public static DhubErrorKind Deployment(string? message) => DhubErrorKind.DhubPipelineNotFound;

        public static DhubErrorKind FlowRun(string? message) => DhubErrorKind.DhubBatchNotFound;

        /// <summary>A 404 on a collection endpoint: the URL is not a Prefect API.</summary>
        public static DhubErrorKind Api(string? message) => DhubErrorKind.DhubInvalidResponse;
    }
}
