using System;
using System.Collections.Generic;
using System.Linq;
using System.Net.Http;
using System.Text.Json.Serialization.Metadata;
using System.Threading;
using System.Threading.Tasks;
using DhubBatches.Contract;
using DhubBatches.Engine.Http;
using Refit;

namespace DhubBatches.Engine.Prefect;

/// <summary>
/// Reads the task runs and offsets artifacts of many flow runs in bulk (every page: nothing is dropped) and maps each
/// run to a <see cref="BatchSnapshot"/>. A task run or artifact that cannot be read costs only its step or its
/// offsets, with one warning on its batch.
/// </summary>
internal sealed class RunDetailsReader
{
    private readonly IPrefectApi _api;
    private readonly ServerLimit _limit;
    private readonly string _flowName;
    private readonly RecordText _text;
    private volatile bool _plainArtifactReads;

    public RunDetailsReader(IPrefectApi api, ServerLimit limit, string flowName, RecordText text, Func<DateTimeOffset> serverNow)
    {
        _api = api;
        _limit = limit;
        _flowName = flowName;
        _text = text;
        Expected = new ExpectedSteps(api, limit, TaskRunsAsync, serverNow);
    }

    /// <summary>The steps each deployment's runs are expected to have, cached for the connection.</summary>
    public ExpectedSteps Expected { get; }

    /// <summary>A run just read on its own (created, or restarted): no task runs to read yet, only the expected steps.</summary>
    public async Task<BatchSnapshot> MapNewAsync(string pipelineId, PrefectFlowRun run, CancellationToken cancellationToken)
    {
        var templates = await TemplatesAsync(new[] { (pipelineId, run) }, null, read: true, cancellationToken).ConfigureAwait(false);
        return PrefectMapper.ToSnapshot(pipelineId, _flowName, run, Array.Empty<PrefectTaskRun>(), Array.Empty<PrefectArtifact>(), template: TemplateFor(run, templates));
    }

    /// <summary>
    /// Snapshots of the runs, in their order, with their steps and offsets read in as few requests as the server allows.
    /// <paramref name="rows"/>, when given, receives how many task runs and offsets artifacts each run had (what reading
    /// it again will cost). A polling round passes <paramref name="polling"/>: it uses the expected steps already known
    /// and never reads them, so a round sends only its own requests.
    /// </summary>
    public async Task<List<BatchSnapshot>> MapAsync(
        IReadOnlyList<(string PipelineId, PrefectFlowRun Run)> runs,
        CancellationToken cancellationToken,
        IDictionary<string, (int TaskRuns, int Artifacts)>? rows = null,
        bool polling = false)
    {
        var ids = runs.Select(r => r.Run.Id!).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        var taskRuns = new List<PrefectTaskRun>();
        var artifacts = new List<PrefectArtifact>();
        var unreadable = new List<(string What, UnreadableEntry Entry)>();
        // Chunks of the server's limit keep each request's id list the size of one page of runs.
        for (var start = 0; start < ids.Count; start += _limit.Value)
        {
            var chunk = ids.GetRange(start, Math.Min(_limit.Value, ids.Count - start));
            var taskRunsTask = AllPagesAsync(
                (limit, offset) => _api.FilterTaskRunsAsync(
                    new TaskRunQuery { TaskRuns = new TaskRunCriteria { FlowRunId = new AnyFilter(chunk) }, Sort = "EXPECTED_START_TIME_ASC", Limit = limit, Offset = offset },
                    cancellationToken),
                PrefectJsonContext.Default.PrefectTaskRun,
                t => t.Id,
                cancellationToken);
            var artifactsTask = OffsetArtifactsAsync(chunk, cancellationToken);
            await PrefectCalls.WhenAllPreferring(taskRunsTask, artifactsTask).ConfigureAwait(false);
            taskRuns.AddRange(taskRunsTask.Result.Items);
            artifacts.AddRange(artifactsTask.Result.Items);
            unreadable.AddRange(taskRunsTask.Result.Unreadable.Select(u => ("a step (task run)", u)));
            unreadable.AddRange(artifactsTask.Result.Unreadable.Select(u => ("an offsets record (artifact)", u)));
        }

        var tasksByRun = taskRuns.Where(t => t.FlowRunId != null).ToLookup(t => t.FlowRunId!, StringComparer.OrdinalIgnoreCase);
        var artifactsByRun = artifacts.Where(a => a.FlowRunId != null).ToLookup(a => a.FlowRunId!, StringComparer.OrdinalIgnoreCase);
        var warningsByRun = unreadable.Where(u => u.Entry.FlowRunId != null).ToLookup(u => u.Entry.FlowRunId!, StringComparer.OrdinalIgnoreCase);
        foreach (var (what, entry) in unreadable.Where(u => u.Entry.FlowRunId == null))
        {
            EngineLog.Current?.Warning($"Prefect sent {what} that could not be read and names no flow run ({entry.Reason}); it was left out. Record: {_text.Of(entry.RawText)}");
        }
        foreach (var (what, entry) in unreadable.Where(u => u.Entry.FlowRunId != null))
        {
            EngineLog.Current?.Verbose($"Flow run {entry.FlowRunId}: {what} {entry.Id} as Prefect sent it: {_text.Of(entry.RawText)}");
        }
        if (rows != null)
        {
            foreach (var id in ids)
            {
                rows[id] = (tasksByRun[id].Count(), artifactsByRun[id].Count());
            }
        }
        var templates = await TemplatesAsync(runs, tasksByRun, !polling, cancellationToken).ConfigureAwait(false);
        return runs.Select(r =>
        {
            var id = r.Run.Id!;
            var warnings = warningsByRun[id]
                .Select(u => $"Batch {r.PipelineId}/{id}: {u.What} {u.Entry.Id} could not be read ({u.Entry.Reason}); it was left out.")
                .ToList();
            return PrefectMapper.ToSnapshot(r.PipelineId, _flowName, r.Run, tasksByRun[id].ToList(), artifactsByRun[id].ToList(), warnings, TemplateFor(r.Run, templates));
        }).ToList();
    }

    /// <summary>
    /// The templates of the runs' deployments: read (once per connection) for runs that may lack steps, that is every run
    /// but a COMPLETED one, whose flow has returned and shows what it ran; read again when a run has a step the template
    /// does not know. Without <paramref name="read"/> (a polling round), only what is known already, or taught by a
    /// completed run of this answer.
    /// </summary>
    private async Task<Dictionary<string, StepTemplate>> TemplatesAsync(
        IReadOnlyList<(string PipelineId, PrefectFlowRun Run)> runs,
        ILookup<string, PrefectTaskRun>? tasksByRun,
        bool read,
        CancellationToken cancellationToken)
    {
        if (tasksByRun != null)
        {
            // A completed run shows every step its flow called: the newest one read teaches the template, free.
            foreach (var newest in runs
                .Where(r => r.Run.Type == "COMPLETED" && !string.IsNullOrEmpty(r.Run.DeploymentId) && tasksByRun[r.Run.Id!].Any())
                .GroupBy(r => r.Run.DeploymentId!, StringComparer.OrdinalIgnoreCase)
                .Select(g => g.OrderByDescending(r => r.Run.ExpectedStartTime ?? DateTimeOffset.MinValue).First()))
            {
                var cached = Expected.Cached(newest.Run.DeploymentId!);
                var taskRuns = tasksByRun[newest.Run.Id!].ToList();
                if (cached == null || cached.Steps.Count == 0 || taskRuns.Any(t => !cached.Knows(t)))
                {
                    Expected.Adopt(newest.Run.DeploymentId!, StepTemplate.From(newest.Run.Id!, newest.Run.ExpectedStartTime, taskRuns, cached?.Tried));
                }
            }
        }
        var templates = new Dictionary<string, StepTemplate>(StringComparer.OrdinalIgnoreCase);
        var needed = runs.Where(r => !string.IsNullOrEmpty(r.Run.DeploymentId) && r.Run.Type != "COMPLETED")
            .Select(r => r.Run.DeploymentId!)
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .ToList();
        if (needed.Count == 0)
        {
            return templates;
        }
        if (!read)
        {
            foreach (var deployment in needed)
            {
                if (Expected.Cached(deployment) is { } cached)
                {
                    templates[deployment] = cached;
                }
            }
            return templates;
        }
        var reads = needed.Select(d => Expected.GetAsync(d, cancellationToken)).ToList();
        await Task.WhenAll(reads).ConfigureAwait(false);
        for (var i = 0; i < needed.Count; i++)
        {
            var template = reads[i].Result;
            if (tasksByRun != null)
            {
                // A step the template does not know (the flow changed since): read again, once per new name.
                var unknown = runs
                    .Where(r => string.Equals(r.Run.DeploymentId, needed[i], StringComparison.OrdinalIgnoreCase) && r.Run.Type != "COMPLETED")
                    .SelectMany(r => tasksByRun[r.Run.Id!])
                    .Where(taskRun => !template.Knows(taskRun))
                    .Select(StepAssembler.StepName)
                    .Distinct(StringComparer.Ordinal)
                    .ToList();
                if (unknown.Count > 0)
                {
                    template = await Expected.RefreshAsync(needed[i], template, unknown, cancellationToken).ConfigureAwait(false);
                }
            }
            templates[needed[i]] = template;
        }
        return templates;
    }

    private static StepTemplate? TemplateFor(PrefectFlowRun run, Dictionary<string, StepTemplate> templates) =>
        run.Type != "COMPLETED" && run.DeploymentId != null && templates.TryGetValue(run.DeploymentId, out var template) ? template : null;

    /// <summary>
    /// The artifacts of the runs that may hold offsets: by type or by key, chosen on the server (the flow-run join ANDed
    /// with type OR key), so results, links and reports stay there. A server that refuses the <c>operator</c> member
    /// gets plain per-run reads from then on, and the choice is made here (OffsetReader applies the exact rule anyway).
    /// </summary>
    private async Task<ListAnswer<PrefectArtifact>> OffsetArtifactsAsync(List<string> runIds, CancellationToken cancellationToken)
    {
        if (!_plainArtifactReads)
        {
            try
            {
                return await AllPagesAsync(
                    (limit, offset) => _api.FilterArtifactsAsync(OffsetArtifactQuery(runIds, chosenOnServer: true, limit, offset), cancellationToken),
                    PrefectJsonContext.Default.PrefectArtifact,
                    a => a.Id,
                    cancellationToken).ConfigureAwait(false);
            }
            catch (DhubException ex) when (ex.Kind == DhubErrorKind.DhubBadRequest && ex.Message.IndexOf("operator", StringComparison.OrdinalIgnoreCase) >= 0)
            {
                EngineLog.Current?.Verbose("This Prefect server does not combine artifact filters with 'or_'; offsets are chosen from each run's artifacts here.");
                _plainArtifactReads = true;
            }
        }
        return await AllPagesAsync(
            (limit, offset) => _api.FilterArtifactsAsync(OffsetArtifactQuery(runIds, chosenOnServer: false, limit, offset), cancellationToken),
            PrefectJsonContext.Default.PrefectArtifact,
            a => a.Id,
            cancellationToken).ConfigureAwait(false);
    }

    private static ArtifactQuery OffsetArtifactQuery(List<string> runIds, bool chosenOnServer, int limit, int offset) => new ArtifactQuery
    {
        FlowRuns = new FlowRunCriteria { Id = new AnyFilter(runIds) },
        Artifacts = chosenOnServer
            ? new ArtifactCriteria { Operator = "or_", Type = new AnyFilter("offsets"), Key = new KeyFilter { Like = "offsets" } }
            : null,
        Sort = "CREATED_DESC",
        Limit = limit,
        Offset = offset,
    };

    /// <summary>Every task run of one flow run, all attempts (for naming log lines by step).</summary>
    public async Task<List<PrefectTaskRun>> TaskRunsAsync(string flowRunId, CancellationToken cancellationToken)
    {
        var answer = await AllPagesAsync(
            (limit, offset) => _api.FilterTaskRunsAsync(
                new TaskRunQuery { TaskRuns = new TaskRunCriteria { FlowRunId = new AnyFilter(flowRunId) }, Sort = "EXPECTED_START_TIME_ASC", Limit = limit, Offset = offset },
                cancellationToken),
            PrefectJsonContext.Default.PrefectTaskRun,
            t => t.Id,
            cancellationToken).ConfigureAwait(false);
        return answer.Items;
    }

    private Task<ListAnswer<T>> AllPagesAsync<T>(
        Func<int, int, Task<IApiResponse<HttpContent>>> page,
        JsonTypeInfo<T> itemType,
        Func<T, string?> idOf,
        CancellationToken cancellationToken)
        where T : class =>
        PagedReader.AllAsync(_limit, page, itemType, idOf, cancellationToken);
}
