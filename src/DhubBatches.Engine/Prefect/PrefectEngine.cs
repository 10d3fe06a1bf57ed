using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using DhubBatches.Contract;
using DhubBatches.Engine.Http;
using Refit;

namespace DhubBatches.Engine.Prefect;

/// <summary>
/// The Prefect backend: a pipeline is the deployment <c>&lt;flow&gt;/&lt;pipeline&gt;</c>, a batch one of its flow runs, a step
/// the task runs of one task, offsets the offsets artifacts of those task runs (docs/prefect.md).
/// </summary>
internal sealed class PrefectEngine : IBatchEngine
{
    private static readonly Regex s_version = new Regex(@"^\d+\.\d+", RegexOptions.CultureInvariant);

    private readonly EngineSettings _settings;
    private readonly HttpClient _http;
    private readonly bool _isCloud;

    public PrefectEngine(EngineSettings settings)
    {
        _settings = settings;
        var root = settings.Uri.AbsoluteUri.EndsWith("/", StringComparison.Ordinal) ? settings.Uri : new Uri(settings.Uri.AbsoluteUri + "/");
        // Cloud URLs start with api.prefect.cloud; Cloud has no CSRF and no /admin/version (docs/prefect.md, "Connecting").
        _isCloud = root.Host.EndsWith("prefect.cloud", StringComparison.OrdinalIgnoreCase);
        _http = ApiHttpClient.Create(settings, out var clock, root, inner => new CsrfHandler(root, enabled: !_isCloud, inner));
        Clock = clock;
        _http.DefaultRequestHeaders.TryAddWithoutValidation("X-PREFECT-API-VERSION", "0.8.4");
        Api = RestService.ForGenerated<IPrefectApi>(_http, PrefectJsonContext.Default);
        Text = new RecordText(settings.Secret);
        Deployments = new DeploymentResolver(ResolveDeploymentAsync);
        Details = new RunDetailsReader(Api, Limit, FlowName, Text, () => Clock.Now);
        States = new FlowRunStates(Api);
        Names = new DeploymentNames(Api, Limit, FlowName);
        Lists = new PrefectRunLists(this);
        Lookup = new PrefectRunLookup(this);
        Pipelines = new PipelineCatalog(this);
    }

    public BackendKind Backend => BackendKind.Prefect;

    internal IPrefectApi Api { get; }

    internal ServerLimit Limit { get; } = new ServerLimit();

    internal DeploymentResolver Deployments { get; }

    internal RunDetailsReader Details { get; }

    internal RecordText Text { get; }

    internal ServerClock Clock { get; }

    /// <summary>Deployment id → pipeline id, for runs read without naming their pipeline.</summary>
    internal DeploymentNames Names { get; }

    private FlowRunStates States { get; }

    private PrefectRunLists Lists { get; }

    private PrefectRunLookup Lookup { get; }

    private PipelineCatalog Pipelines { get; }

    internal string FlowName => _settings.PrefectFlowName;

    public bool Supports(EngineFeature feature) => true;

    public async Task VerifyAsync(CancellationToken cancellationToken)
    {
        if (_isCloud)
        {
            try
            {
                using var _ = await ApiCall.ResponseAsync(Api.CountFlowRunsAsync(new FlowRunQuery(), cancellationToken), PrefectCalls.ApiNotFound, cancellationToken).ConfigureAwait(false);
            }
            catch (DhubException ex) when (ex.StatusCode == 404)
            {
                throw NotPrefect(ex.Message, ex);
            }
            return;
        }
        IApiResponse<string> response;
        try
        {
            response = await ApiCall.ResponseAsync(Api.AdminVersionAsync(cancellationToken), PrefectCalls.ApiNotFound, cancellationToken, keepUnreadableBody: true).ConfigureAwait(false);
        }
        catch (DhubException ex) when (ex.StatusCode == 404)
        {
            throw NotPrefect(ex.Message, ex);
        }
        using (response)
        {
            var text = ((response.Error as ApiException)?.Content ?? response.Content ?? string.Empty).Trim();
            if (text.StartsWith("<", StringComparison.Ordinal))
            {
                // The UI answers every path outside the API with its page (HTTP 200): the URL lacks /api.
                throw new DhubException(
                    DhubErrorKind.DhubInvalidResponse,
                    "GET /admin/version -> 200: the server answered with an HTML page, not Prefect's API. This looks like the Prefect UI: "
                    + "use the API URL, which ends in /api" + Suggestion() + ".");
            }
            var version = text.Trim('"');
            if (!s_version.IsMatch(version))
            {
                throw NotPrefect($"GET /admin/version -> 200: '{Text.Of(text)}' is not a Prefect version.", null);
            }
            EngineLog.Current?.Verbose($"Prefect server version {version}.");
        }
    }

    public async Task<BatchSnapshot> StartAsync(StartRequest request, CancellationToken cancellationToken)
    {
        var names = (request.Parameters?.Keys ?? Enumerable.Empty<string>()).ToList();
        var parameters = request.Parameters == null ? null : ParameterJson.Object(request.Parameters);
        List<string>? tags = null;
        if (request.PipelineVersion != null)
        {
            // A declared flow parameter for the flow, and a tag so history can be filtered by version.
            parameters ??= new System.Text.Json.Nodes.JsonObject();
            parameters[ParameterCheck.VersionParameter] = request.PipelineVersion;
            names.Add(ParameterCheck.VersionParameter);
            tags = new List<string> { "pv:" + request.PipelineVersion };
        }
        var body = new CreateFlowRunRequest
        {
            Parameters = parameters,
            Tags = tags,
            // Keys are scoped to the flow, which all pipelines share, so the key names the pipeline. It is in the body, so
            // every retry of this one call sends the same key and gets the same run back.
            IdempotencyKey = request.PipelineId + ":" + Guid.NewGuid().ToString(),
        };
        var deploymentName = FlowName + "/" + request.PipelineId;
        PrefectDeployment? used = null;
        using var response = await Deployments.UseAsync(
            request.PipelineId,
            deployment =>
            {
                ParameterCheck.Ensure(deployment, deploymentName, names);
                used = deployment;
                return ApiCall.ResponseAsync(Api.CreateFlowRunAsync(deployment.Id!, body, cancellationToken), PrefectCalls.DeploymentNotFound, cancellationToken);
            },
            (_, _) => false,
            cancellationToken).ConfigureAwait(false);
        var run = response.Content ?? throw ApiCall.Invalid(response.RequestMessage, (int)(response.StatusCode ?? 0), "the answer had no flow run");
        if (string.IsNullOrEmpty(run.Id))
        {
            throw ApiCall.Invalid(response.RequestMessage, (int)(response.StatusCode ?? 0), "the flow run has no 'id'");
        }
        if (response.StatusCode == HttpStatusCode.OK)
        {
            EngineLog.Current?.Verbose($"Prefect returned the run already created with idempotency key {body.IdempotencyKey} (a retried request).");
        }
        if (!string.Equals(run.DeploymentId, used?.Id, StringComparison.OrdinalIgnoreCase))
        {
            EngineLog.Current?.Warning($"Prefect returned flow run {run.Id} of another deployment ({run.DeploymentId}) for {deploymentName}.");
        }
        return await Details.MapNewAsync(request.PipelineId, run, cancellationToken).ConfigureAwait(false);
    }

    public Task<BatchSnapshot> GetLatestAsync(string pipelineId, CancellationToken cancellationToken) => Lists.GetLatestAsync(pipelineId, cancellationToken);

    public async Task<BatchSnapshot> GetAsync(string pipelineId, string batchId, CancellationToken cancellationToken)
    {
        var run = await RunOfPipelineAsync(pipelineId, batchId, cancellationToken).ConfigureAwait(false);
        return (await Details.MapAsync(new[] { (pipelineId, run) }, cancellationToken).ConfigureAwait(false))[0];
    }

    public Task<BatchPage> GetPageAsync(string pipelineId, BatchQuery query, PageRequest page, CancellationToken cancellationToken) =>
        Lists.GetPageAsync(pipelineId, query, page, cancellationToken);

    public Task<long?> CountAsync(string pipelineId, BatchQuery query, CancellationToken cancellationToken) => Lists.CountAsync(pipelineId, query, cancellationToken);

    public Task<IReadOnlyList<PipelineSnapshot>> GetPipelinesAsync(IReadOnlyCollection<string>? names, CancellationToken cancellationToken) =>
        Pipelines.ListAsync(names, cancellationToken);

    public Task<BatchPage> GetFleetPageAsync(BatchQuery query, PageRequest page, CancellationToken cancellationToken) => Lists.GetFleetPageAsync(query, page, cancellationToken);

    public Task<long?> CountFleetAsync(BatchQuery query, CancellationToken cancellationToken) => Lists.CountFleetAsync(query, cancellationToken);

    public Task<BatchSnapshot> GetByIdAsync(string batchId, CancellationToken cancellationToken) => Lookup.GetByIdAsync(batchId, cancellationToken);

    public IBatchRefresher CreateRefresher() => new PrefectRefresher(this);

    public async Task<StopOutcome> StopAsync(string pipelineId, string batchId, StopOptions options, CancellationToken cancellationToken)
    {
        var run = await RunOfPipelineAsync(pipelineId, batchId, cancellationToken).ConfigureAwait(false);
        if (run.Type == "CANCELLING")
        {
            if (!options.Force)
            {
                return StopOutcome.AlreadyStopping;
            }
            await States.MarkCancelledAsync(batchId, cancellationToken).ConfigureAwait(false);
            return StopOutcome.Stopped;
        }
        return await States.CancelAsync(batchId, cancellationToken).ConfigureAwait(false);
    }

    public async Task RemoveAsync(string pipelineId, string batchId, RemoveOptions options, CancellationToken cancellationToken)
    {
        var run = await RunOfPipelineAsync(pipelineId, batchId, cancellationToken).ConfigureAwait(false);
        if (!PrefectMapper.IsTerminal(run.Type))
        {
            // DELETE does not stop a running process: cancel first and wait for a terminal state.
            if (run.Type != "CANCELLING")
            {
                await States.CancelAsync(batchId, cancellationToken).ConfigureAwait(false);
            }
            var wait = options.Force && RemoveOptions.ForceGrace < options.StopTimeout ? RemoveOptions.ForceGrace : options.StopTimeout;
            var deadline = DateTimeOffset.UtcNow + wait;
            while (true)
            {
                run = await ApiCall.ContentAsync(Api.ReadFlowRunAsync(batchId, cancellationToken), PrefectCalls.FlowRunNotFound, cancellationToken).ConfigureAwait(false);
                if (PrefectMapper.IsTerminal(run.Type))
                {
                    break;
                }
                if (DateTimeOffset.UtcNow >= deadline)
                {
                    var state = PrefectMapper.EngineState(run.Type, run.TypeName);
                    if (options.Force)
                    {
                        await States.MarkCancelledAsync(batchId, cancellationToken).ConfigureAwait(false);
                        EngineLog.Current?.Warning(string.Format(
                            CultureInfo.InvariantCulture,
                            "Batch {0}/{1} had not stopped after {2:0.#} s (state {3}): it was marked Cancelled (-Force) and deleted. Infrastructure that may still run was not stopped.",
                            pipelineId, batchId, wait.TotalSeconds, state));
                        break;
                    }
                    var stuck = run.Type == "CANCELLING"
                        ? " If nothing acts on its cancellation (its worker or runner is gone), Remove-DhubBatch -Force marks it Cancelled and deletes it."
                        : string.Empty;
                    throw new DhubException(
                        DhubErrorKind.DhubConflict,
                        $"Flow run {batchId} did not stop within {options.StopTimeout.TotalSeconds:0} s (state {state}); it was not deleted.{stuck}");
                }
                var left = deadline - DateTimeOffset.UtcNow;
                await Task.Delay(left < TimeSpan.FromSeconds(1) ? (left > TimeSpan.Zero ? left : TimeSpan.Zero) : TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
            }
        }
        using var _ = await ApiCall.ResponseAsync(Api.DeleteFlowRunAsync(batchId, cancellationToken), PrefectCalls.FlowRunNotFound, cancellationToken).ConfigureAwait(false);
    }

    public async Task<BatchSnapshot> RestartAsync(string pipelineId, string batchId, CancellationToken cancellationToken)
    {
        var run = await RunOfPipelineAsync(pipelineId, batchId, cancellationToken).ConfigureAwait(false);
        if (!PrefectMapper.IsTerminal(run.Type))
        {
            throw new DhubException(
                DhubErrorKind.DhubBatchActive,
                $"Batch {pipelineId}/{batchId} is not finished (state {PrefectMapper.EngineState(run.Type, run.TypeName)}): only a finished batch can be restarted. Wait for it, or stop it first.");
        }
        await States.RestartAsync(batchId, cancellationToken).ConfigureAwait(false);
        return await GetAsync(pipelineId, batchId, cancellationToken).ConfigureAwait(false);
    }

    public IBatchLogReader CreateLogReader(LogRequest request) => new PrefectLogReader(this, request);

    public Task<IReadOnlyList<string>> GetPipelineNamesAsync(CancellationToken cancellationToken) => Pipelines.NamesAsync(cancellationToken);

    public void Dispose() => _http.Dispose();

    /// <summary>A flow run that belongs to the pipeline's deployment, or DhubBatchNotFound.</summary>
    internal Task<PrefectFlowRun> RunOfPipelineAsync(string pipelineId, string batchId, CancellationToken cancellationToken) =>
        Lookup.RunOfPipelineAsync(pipelineId, batchId, cancellationToken);

    private async Task<PrefectDeployment> ResolveDeploymentAsync(string pipelineId, CancellationToken cancellationToken)
    {
        var deployment = await ApiCall.ContentAsync(
            Api.ReadDeploymentByNameAsync(FlowName, pipelineId, cancellationToken), PrefectCalls.DeploymentNotFound, cancellationToken).ConfigureAwait(false);
        if (string.IsNullOrEmpty(deployment.Id))
        {
            throw new DhubException(DhubErrorKind.DhubInvalidResponse, $"GET /deployments/name/{FlowName}/{pipelineId} -> 200: the deployment has no 'id'.");
        }
        Names.Remember(deployment);
        return deployment;
    }

    private DhubException NotPrefect(string message, Exception? inner) => new DhubException(
        DhubErrorKind.DhubInvalidResponse,
        message + " The URL does not look like a Prefect API URL (self-hosted: http://host:4200/api; Cloud: https://api.prefect.cloud/api/accounts/<id>/workspaces/<id>).",
        inner);

    private string Suggestion()
    {
        var uri = _settings.Uri.AbsoluteUri.TrimEnd('/');
        return uri.EndsWith("/api", StringComparison.OrdinalIgnoreCase) ? string.Empty : " (for example " + uri + "/api)";
    }
}
