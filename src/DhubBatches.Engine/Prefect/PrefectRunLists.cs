using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using DhubBatches.Contract;
using DhubBatches.Engine.Http;

namespace DhubBatches.Engine.Prefect;

/// <summary>
/// Listing flow runs: a pipeline's latest run, its runs page by page, or (the fleet view) the runs of every deployment
/// of the flow in one stream, each named after its deployment. Filters and paging are done by the server.
/// </summary>
internal sealed class PrefectRunLists
{
    /// <summary>Never the default ID_DESC: run ids are random, so that order is not chronological.</summary>
    private const string NewestFirst = "EXPECTED_START_TIME_DESC";

    private readonly PrefectEngine _engine;

    public PrefectRunLists(PrefectEngine engine)
    {
        _engine = engine;
    }

    public async Task<BatchSnapshot> GetLatestAsync(string pipelineId, CancellationToken cancellationToken)
    {
        var answer = await _engine.Deployments.UseAsync(
            pipelineId,
            deployment => ListAnswer.ReadAsync(
                _engine.Api.FilterFlowRunsAsync(RunsQuery(deployment, BatchQuery.Default, null, limit: 1, offset: 0), cancellationToken),
                PrefectJsonContext.Default.PrefectFlowRun,
                PrefectCalls.ApiNotFound,
                cancellationToken),
            (found, _) => found.Items.Count == 0 && found.Unreadable.Count == 0,
            cancellationToken).ConfigureAwait(false);
        var (batches, problems) = await MapPageAsync(pipelineId, answer, BatchQuery.Default, cancellationToken).ConfigureAwait(false);
        if (problems.Count > 0)
        {
            throw new DhubException(DhubErrorKind.DhubInvalidResponse, problems[0].Message);
        }
        if (batches.Count == 0)
        {
            throw new DhubException(DhubErrorKind.DhubBatchNotFound, $"No run of deployment '{_engine.FlowName}/{pipelineId}' has started or is due yet.");
        }
        return batches[0];
    }

    public async Task<BatchPage> GetPageAsync(string pipelineId, BatchQuery query, PageRequest page, CancellationToken cancellationToken)
    {
        var plan = new PagePlan(query, page);
        var answer = await _engine.Deployments.UseAsync(
            pipelineId,
            deployment => ReadAsync(deployment, query, plan, cancellationToken),
            (found, _) => page.Continuation == null && found.Items.Count == 0 && found.Unreadable.Count == 0,
            cancellationToken).ConfigureAwait(false);
        var (batches, problems) = await MapPageAsync(pipelineId, answer, query, cancellationToken).ConfigureAwait(false);
        return plan.Page(batches, answer, problems);
    }

    /// <summary>
    /// A page of every pipeline's runs: the flow's runs that have a deployment (a run without one, such as a subflow's or
    /// one called as a plain function, belongs to no pipeline), named in bulk from the cached deployment names.
    /// </summary>
    public async Task<BatchPage> GetFleetPageAsync(BatchQuery query, PageRequest page, CancellationToken cancellationToken)
    {
        var plan = new PagePlan(query, page);
        var answer = await ReadAsync(null, query, plan, cancellationToken).ConfigureAwait(false);
        // A fleet problem names no pipeline (empty): the run's deployment is what could not be told, or read.
        var problems = Unreadable(answer, string.Empty, FleetName);
        var damaged = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var deploymentIds = answer.Items.Where(r => !string.IsNullOrEmpty(r.Id) && !string.IsNullOrEmpty(r.DeploymentId)).Select(r => r.DeploymentId!);
        var names = await _engine.Names.ResolveAsync(deploymentIds, damaged, cancellationToken).ConfigureAwait(false);
        var readable = new List<(string PipelineId, PrefectFlowRun Run)>();
        foreach (var run in answer.Items)
        {
            if (string.IsNullOrEmpty(run.Id))
            {
                problems.Add(Nameless(string.Empty, run, FleetName));
            }
            else if (string.IsNullOrEmpty(run.DeploymentId))
            {
                // The filter asked for runs with a deployment: a server that ignored it sent one that is no batch.
                EngineLog.Current?.Verbose($"Flow run {run.Id} has no deployment, so it is no pipeline's batch; it was left out.");
            }
            else if (names.TryGetValue(run.DeploymentId!, out var pipelineId))
            {
                readable.Add((pipelineId, run));
            }
            else
            {
                var reason = damaged.TryGetValue(run.DeploymentId!, out var why) ? why : "its deployment could not be read";
                problems.Add(new RecordProblem(string.Empty, run.Id, $"Batch {run.Id} of flow '{_engine.FlowName}' could not be named ({reason}); it was skipped.", null));
            }
        }
        var batches = await MapAsync(readable, query, cancellationToken).ConfigureAwait(false);
        return plan.Page(batches, answer, problems);
    }

    public Task<long?> CountAsync(string pipelineId, BatchQuery query, CancellationToken cancellationToken)
    {
        var (serverStates, clientStates) = SplitStates(query);
        if (clientStates != null)
        {
            return Task.FromResult<long?>(null); // "Unknown" is a state Prefect cannot filter on
        }
        return _engine.Deployments.UseAsync(
            pipelineId,
            deployment => CountAsync(Scope(deployment, query, serverStates), cancellationToken),
            (count, _) => count == 0,
            cancellationToken);
    }

    public Task<long?> CountFleetAsync(BatchQuery query, CancellationToken cancellationToken)
    {
        var (serverStates, clientStates) = SplitStates(query);
        return clientStates != null ? Task.FromResult<long?>(null) : CountAsync(Scope(null, query, serverStates), cancellationToken);
    }

    /// <summary>Readable runs of a pipeline's page → snapshots; unreadable ones → one problem each, naming the run where it can.</summary>
    public async Task<(List<BatchSnapshot> Batches, List<RecordProblem> Problems)> MapPageAsync(
        string pipelineId, ListAnswer<PrefectFlowRun> answer, BatchQuery query, CancellationToken cancellationToken)
    {
        var name = $"pipeline '{pipelineId}'";
        var problems = Unreadable(answer, pipelineId, name);
        var readable = new List<(string, PrefectFlowRun)>();
        foreach (var run in answer.Items)
        {
            if (string.IsNullOrEmpty(run.Id))
            {
                problems.Add(Nameless(pipelineId, run, name));
                continue;
            }
            readable.Add((pipelineId, run));
        }
        return (await MapAsync(readable, query, cancellationToken).ConfigureAwait(false), problems);
    }

    private string FleetName => $"flow '{_engine.FlowName}'";

    private async Task<List<BatchSnapshot>> MapAsync(List<(string PipelineId, PrefectFlowRun Run)> runs, BatchQuery query, CancellationToken cancellationToken)
    {
        if (runs.Count == 0)
        {
            return new List<BatchSnapshot>();
        }
        if (query.NoSteps)
        {
            return runs.Select(r => PrefectMapper.WithoutSteps(r.PipelineId, _engine.FlowName, r.Run)).ToList();
        }
        return await _engine.Details.MapAsync(runs, cancellationToken).ConfigureAwait(false);
    }

    private List<RecordProblem> Unreadable(ListAnswer<PrefectFlowRun> answer, string pipelineId, string? of = null) => answer.Unreadable
        .Select(u => new RecordProblem(
            pipelineId,
            u.Id,
            $"Batch {u.Id ?? "(entry " + (u.Index + 1).ToString(CultureInfo.InvariantCulture) + " of the page)"} of {of ?? pipelineId} could not be read ({u.Reason}); it was skipped.",
            _engine.Text.Of(u.RawText)))
        .ToList();

    private RecordProblem Nameless(string pipelineId, PrefectFlowRun run, string? of = null)
    {
        // It parsed, so its raw text was not kept: the fields as read stand in for it.
        var asRead = System.Text.Json.JsonSerializer.Serialize(run, PrefectJsonContext.Default.PrefectFlowRun);
        return new RecordProblem(pipelineId, null, $"A run of {of ?? pipelineId} in the answer has no id; it was skipped.", _engine.Text.Of(asRead));
    }

    private Task<ListAnswer<PrefectFlowRun>> ReadAsync(PrefectDeployment? deployment, BatchQuery query, PagePlan plan, CancellationToken cancellationToken) =>
        _engine.Limit.UseAsync(
            limit =>
            {
                plan.Used = limit;
                return ListAnswer.ReadAsync(
                    _engine.Api.FilterFlowRunsAsync(RunsQuery(deployment, query, plan.ServerStates, limit, plan.Offset), cancellationToken),
                    PrefectJsonContext.Default.PrefectFlowRun,
                    PrefectCalls.ApiNotFound,
                    cancellationToken);
            },
            want: plan.Want);

    private async Task<long?> CountAsync(FlowRunQuery body, CancellationToken cancellationToken)
    {
        using var response = await ApiCall.ResponseAsync(_engine.Api.CountFlowRunsAsync(body, cancellationToken), PrefectCalls.ApiNotFound, cancellationToken).ConfigureAwait(false);
        return response.Content;
    }

    /// <summary>
    /// Runs due by now, newest first: a schedule keeps future runs, which are not "latest" yet (docs/prefect.md, "Latest
    /// run and lists") — unless the query asks for the upcoming ones too. No deployment: every pipeline's.
    /// </summary>
    private FlowRunQuery RunsQuery(PrefectDeployment? deployment, BatchQuery query, List<string>? states, int limit, int offset)
    {
        var body = Scope(deployment, query, states);
        body.Sort = NewestFirst;
        body.Limit = limit;
        body.Offset = offset;
        return body;
    }

    private FlowRunQuery Scope(PrefectDeployment? deployment, BatchQuery query, List<string>? states)
    {
        var now = _engine.Clock.Now;
        DateTimeOffset? before = query.IncludeUpcoming ? query.Until : (query.Until.HasValue && query.Until.Value < now ? query.Until.Value : now);
        return new FlowRunQuery
        {
            Flows = deployment == null ? new NameCriteria { Name = new AnyFilter(_engine.FlowName) } : null,
            FlowRuns = new FlowRunCriteria
            {
                DeploymentId = deployment == null ? AnyFilter.NotNull() : new AnyFilter(deployment.Id!),
                ExpectedStartTime = before == null && query.Since == null
                    ? null
                    : new TimeFilter
                    {
                        Before = before.HasValue ? PrefectCalls.Time(before.Value) : null,
                        After = query.Since.HasValue ? PrefectCalls.Time(query.Since.Value) : null,
                    },
                State = states == null ? null : new StateTypeCriteria { Type = new AnyFilter(states) },
            },
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

    /// <summary>One page's offset, skip and size, and how its answer becomes a <see cref="BatchPage"/>.</summary>
    private sealed class PagePlan
    {
        private readonly HashSet<BatchState>? _clientStates;
        private readonly long _skipped;

        public PagePlan(BatchQuery query, PageRequest page)
        {
            (ServerStates, _clientStates) = SplitStates(query);
            long offset;
            if (page.Continuation == null)
            {
                // Offset paging skips on the server, unless states are chosen here: then the cmdlet skips what matches.
                offset = _clientStates == null ? Math.Max(0, page.Skip) : 0;
                _skipped = offset;
            }
            else if (!long.TryParse(page.Continuation, NumberStyles.None, CultureInfo.InvariantCulture, out offset))
            {
                throw new DhubException(DhubErrorKind.DhubBadRequest, $"'{page.Continuation}' is not a Prefect page offset.");
            }
            if (offset > int.MaxValue)
            {
                throw new DhubException(DhubErrorKind.DhubBadRequest, $"Prefect cannot page past offset {int.MaxValue}; -Skip {offset} is too large.");
            }
            Offset = (int)offset;
            // States chosen here: a full page, since how many runs it takes to find the wanted ones is unknown.
            Want = _clientStates == null ? Math.Max(1, Math.Min(page.Want, page.PageSize)) : page.PageSize;
        }

        public List<string>? ServerStates { get; }

        public int Offset { get; }

        public int Want { get; }

        /// <summary>The limit the request was sent with (the server's may be lower than asked).</summary>
        public int Used { get; set; }

        public BatchPage Page(List<BatchSnapshot> batches, ListAnswer<PrefectFlowRun> answer, List<RecordProblem> problems)
        {
            if (_clientStates != null)
            {
                batches = batches.Where(b => _clientStates.Contains(b.State)).ToList();
            }
            // Offset paging: a run inserted meanwhile shifts later pages by one; the cmdlet tolerates that.
            var count = answer.Items.Count + answer.Unreadable.Count;
            var full = count == Used;
            var next = full ? (Offset + (long)count).ToString(CultureInfo.InvariantCulture) : null;
            return new BatchPage(batches, next, _skipped, problems)
            {
                Following = full ? (Offset + (long)count + Used).ToString(CultureInfo.InvariantCulture) : null,
            };
        }
    }
}
