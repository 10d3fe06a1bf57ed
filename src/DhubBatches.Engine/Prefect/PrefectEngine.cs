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
    /// <summary>Never the default ID_DESC: run ids are random, so that order is not chronological.</summary>
    private const string NewestFirst = "EXPECTED_START_TIME_DESC";

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
    }

    public BackendKind Backend => BackendKind.Prefect;

    internal IPrefectApi Api { get; }

    internal ServerLimit Limit { get; } = new ServerLimit();

    internal DeploymentResolver Deployments { get; }

    internal RunDetailsReader Details { get; }

    internal RecordText Text { get; }

    internal ServerClock Clock { get; }

    private FlowRunStates States { get; }

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

    public async Task<BatchSnapshot> GetLatestAsync(string pipelineId, CancellationToken cancellationToken)
    {
        var answer = await Deployments.UseAsync(
            pipelineId,
            deployment => ListAnswer.ReadAsync(
                Api.FilterFlowRunsAsync(RunsQuery(deployment, BatchQuery.Default, null, limit: 1, offset: 0, Clock.Now), cancellationToken),
                PrefectJsonContext.Default.PrefectFlowRun,
                PrefectCalls.ApiNotFound,
                cancellationToken),
            (found, _) => found.Items.Count == 0 && found.Unreadable.Count == 0,
            cancellationToken).ConfigureAwait(false);
        var (batches, problems) = await MapPageAsync(pipelineId, answer, cancellationToken).ConfigureAwait(false);
        if (problems.Count > 0)
        {
            throw new DhubException(DhubErrorKind.DhubInvalidResponse, problems[0].Message);
        }
        if (batches.Count == 0)
        {
            throw new DhubException(DhubErrorKind.DhubBatchNotFound, $"No run of deployment '{FlowName}/{pipelineId}' has started or is due yet.");
        }
        return batches[0];
    }

    public async Task<BatchSnapshot> GetAsync(string pipelineId, string batchId, CancellationToken cancellationToken)
    {
        var run = await RunOfPipelineAsync(pipelineId, batchId, cancellationToken).ConfigureAwait(false);
        return (await Details.MapAsync(new[] { (pipelineId, run) }, cancellationToken).ConfigureAwait(false))[0];
    }

    public async Task<BatchPage> GetPageAsync(string pipelineId, BatchQuery query, PageRequest page, CancellationToken cancellationToken)
    {
        var (serverStates, clientStates) = SplitStates(query);
        long offset;
        long skipped = 0;
        if (page.Continuation == null)
        {
            // Offset paging skips on the server, unless states are chosen here: then the cmdlet skips what matches.
            offset = clientStates == null ? Math.Max(0, page.Skip) : 0;
            skipped = offset;
        }
        else if (!long.TryParse(page.Continuation, NumberStyles.None, CultureInfo.InvariantCulture, out offset))
        {
            throw new DhubException(DhubErrorKind.DhubBadRequest, $"'{page.Continuation}' is not a Prefect page offset.");
        }
        if (offset > int.MaxValue)
        {
            throw new DhubException(DhubErrorKind.DhubBadRequest, $"Prefect cannot page past offset {int.MaxValue}; -Skip {offset} is too large.");
        }
        var used = 0;
        var answer = await Deployments.UseAsync(
            pipelineId,
            deployment => Limit.UseAsync(
                limit =>
                {
                    used = limit;
                    return ListAnswer.ReadAsync(
                        Api.FilterFlowRunsAsync(RunsQuery(deployment, query, serverStates, limit, (int)offset, Clock.Now), cancellationToken),
                        PrefectJsonContext.Default.PrefectFlowRun,
                        PrefectCalls.ApiNotFound,
                        cancellationToken);
                },
                // States chosen here: a full page, since how many runs it takes to find the wanted ones is unknown.
                want: clientStates == null ? Math.Max(1, Math.Min(page.Want, page.PageSize)) : page.PageSize),
            (found, _) => page.Continuation == null && found.Items.Count == 0 && found.Unreadable.Count == 0,
            cancellationToken).ConfigureAwait(false);
        var (batches, problems) = await MapPageAsync(pipelineId, answer, cancellationToken).ConfigureAwait(false);
        if (clientStates != null)
        {
            batches = batches.Where(b => clientStates.Contains(b.State)).ToList();
        }
        // Offset paging: a run inserted meanwhile shifts later pages by one; the cmdlet tolerates that.
        var count = answer.Items.Count + answer.Unreadable.Count;
        var next = count == used ? (offset + count).ToString(CultureInfo.InvariantCulture) : null;
        return new BatchPage(batches, next, skipped, problems);
    }

    public async Task<long?> CountAsync(string pipelineId, BatchQuery query, CancellationToken cancellationToken)
    {
        var (serverStates, clientStates) = SplitStates(query);
        if (clientStates != null)
        {
            return null; // "Unknown" is a state Prefect cannot filter on
        }
        return await Deployments.UseAsync(
            pipelineId,
            async deployment =>
            {
                var body = new FlowRunQuery { FlowRuns = Criteria(deployment, query, serverStates, Clock.Now) };
                using var response = await ApiCall.ResponseAsync(Api.CountFlowRunsAsync(body, cancellationToken), PrefectCalls.ApiNotFound, cancellationToken).ConfigureAwait(false);
                return (long?)response.Content;
            },
            (count, _) => count == 0,
            cancellationToken).ConfigureAwait(false);
    }

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

    public async Task<IReadOnlyList<string>> GetPipelineNamesAsync(CancellationToken cancellationToken)
    {
        var deployments = await Limit.UseAsync(limit => ApiCall.ContentAsync(
            Api.FilterDeploymentsAsync(
                new DeploymentQuery { Flows = new NameCriteria { Name = new AnyFilter(FlowName) }, Sort = "NAME_ASC", Limit = limit, Offset = 0 },
                cancellationToken),
            PrefectCalls.ApiNotFound,
            cancellationToken)).ConfigureAwait(false);
        return deployments.Where(d => d != null && !string.IsNullOrEmpty(d.Name)).Select(d => d.Name!).ToList();
    }

    public void Dispose() => _http.Dispose();

    /// <summary>A flow run that belongs to the pipeline's deployment, or DhubBatchNotFound.</summary>
    internal async Task<PrefectFlowRun> RunOfPipelineAsync(string pipelineId, string batchId, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(batchId, out _))
        {
            // A malformed id is 404 or 422 depending on the server version: say what is wrong instead.
            throw new DhubException(DhubErrorKind.DhubBatchNotFound, $"'{batchId}' is not a Prefect flow run id (a UUID).");
        }
        // Read the run while the deployment is resolved; a missing pipeline is still the error reported first.
        var runTask = ApiCall.ContentAsync(Api.ReadFlowRunAsync(batchId, cancellationToken), PrefectCalls.FlowRunNotFound, cancellationToken);
        _ = runTask.ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        var (run, deployment) = await Deployments.UseAsync(
            pipelineId,
            async d => (await runTask.ConfigureAwait(false), d),
            (found, d) => !BelongsTo(found.Item1, d),
            cancellationToken).ConfigureAwait(false);
        if (!BelongsTo(run, deployment))
        {
            throw new DhubException(DhubErrorKind.DhubBatchNotFound, $"Flow run {batchId} is not a run of deployment '{FlowName}/{pipelineId}'.");
        }
        return run;
    }

    /// <summary>Readable runs of a page → snapshots; unreadable ones → one problem each, naming the run where it can.</summary>
    internal async Task<(List<BatchSnapshot> Batches, List<RecordProblem> Problems)> MapPageAsync(string pipelineId, ListAnswer<PrefectFlowRun> answer, CancellationToken cancellationToken)
    {
        var problems = answer.Unreadable
            .Select(u => new RecordProblem(
                pipelineId,
                u.Id,
                $"Batch {u.Id ?? "(entry " + (u.Index + 1).ToString(CultureInfo.InvariantCulture) + " of the page)"} of pipeline '{pipelineId}' could not be read ({u.Reason}); it was skipped.",
                Text.Of(u.RawText)))
            .ToList();
        var readable = new List<(string, PrefectFlowRun)>();
        foreach (var run in answer.Items)
        {
            if (string.IsNullOrEmpty(run.Id))
            {
                // It parsed, so its raw text was not kept: the fields as read stand in for it.
                var asRead = System.Text.Json.JsonSerializer.Serialize(run, PrefectJsonContext.Default.PrefectFlowRun);
                problems.Add(new RecordProblem(pipelineId, null, $"A run of pipeline '{pipelineId}' in the answer has no id; it was skipped.", Text.Of(asRead)));
                continue;
            }
            readable.Add((pipelineId, run));
        }
        var batches = readable.Count == 0 ? new List<BatchSnapshot>() : await Details.MapAsync(readable, cancellationToken).ConfigureAwait(false);
        return (batches, problems);
    }

    private static bool BelongsTo(PrefectFlowRun run, PrefectDeployment deployment) =>
        string.Equals(run.DeploymentId, deployment.Id, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The runs of a pipeline due by now, newest first: a schedule keeps future runs, which are not "latest" yet
    /// (docs/prefect.md, "Latest run and lists") — unless the query asks for the upcoming ones too.
    /// </summary>
    private static FlowRunQuery RunsQuery(PrefectDeployment deployment, BatchQuery query, List<string>? states, int limit, int offset, DateTimeOffset now) => new FlowRunQuery
    {
        FlowRuns = Criteria(deployment, query, states, now),
        Sort = NewestFirst,
        Limit = limit,
        Offset = offset,
    };

    private static FlowRunCriteria Criteria(PrefectDeployment deployment, BatchQuery query, List<string>? states, DateTimeOffset now)
    {
        DateTimeOffset? before = query.IncludeUpcoming ? query.Until : (query.Until.HasValue && query.Until.Value < now ? query.Until.Value : now);
        return new FlowRunCriteria
        {
            DeploymentId = new AnyFilter(deployment.Id!),
            ExpectedStartTime = before == null && query.Since == null
                ? null
                : new TimeFilter
                {
                    Before = before.HasValue ? PrefectCalls.Time(before.Value) : null,
                    After = query.Since.HasValue ? PrefectCalls.Time(query.Since.Value) : null,
                },
            State = states == null ? null : new StateTypeCriteria { Type = new AnyFilter(states) },
        };
    }

    /// <summary>States the server filters on, or (when Unknown is asked for, which it cannot name) states kept by the client.</summary>
    private static (List<string>? Server, HashSet<BatchState>? Client) SplitStates(BatchQuery query)
    {
        if (query.States == null || query.States.Count == 0)
        {
            return (null, null);
        }
        if (query.States.Contains(BatchState.Unknown))
        {
            return (null, new HashSet<BatchState>(query.States));
        }
        return (query.States.SelectMany(PrefectMapper.StateTypesOf).Distinct().ToList(), null);
    }

    private async Task<PrefectDeployment> ResolveDeploymentAsync(string pipelineId, CancellationToken cancellationToken)
    {
        var deployment = await ApiCall.ContentAsync(
            Api.ReadDeploymentByNameAsync(FlowName, pipelineId, cancellationToken), PrefectCalls.DeploymentNotFound, cancellationToken).ConfigureAwait(false);
        if (string.IsNullOrEmpty(deployment.Id))
        {
            throw new DhubException(DhubErrorKind.DhubInvalidResponse, $"GET /deployments/name/{FlowName}/{pipelineId} -> 200: the deployment has no 'id'.");
        }
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
