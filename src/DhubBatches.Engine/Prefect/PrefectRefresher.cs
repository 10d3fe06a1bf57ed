using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using DhubBatches.Contract;
using DhubBatches.Engine.Http;

namespace DhubBatches.Engine.Prefect;

/// <summary>
/// One polling round of a wait on Prefect (docs/prefect.md, "Polling many batches"): all the runs in one
/// <c>flow_runs/filter</c> by id per chunk of the server's limit, then task runs and offsets in bulk for the runs whose
/// state, attempt or update time changed since the last round. Prefect does not touch a flow run when its task runs
/// move, so the round's spare capacity also re-reads running runs that did not change, longest unread first: one group
/// per runs chunk the changed runs leave free, each group small enough (by what its runs had last time) for its task
/// runs and artifacts to fit one page. A wait on a few batches so shows its steps moving, and a round stays within
/// 3 × ⌈N / limit⌉ requests when the changed runs' details fit a page per chunk.
/// </summary>
internal sealed class PrefectRefresher : IBatchRefresher
{
    private readonly PrefectEngine _engine;
    private readonly Dictionary<string, BatchSnapshot> _lastRead = new Dictionary<string, BatchSnapshot>(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, long> _detailsRound = new Dictionary<string, long>(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, (int TaskRuns, int Artifacts)> _rows = new Dictionary<string, (int TaskRuns, int Artifacts)>(StringComparer.OrdinalIgnoreCase);
    private long _round;

    public PrefectRefresher(PrefectEngine engine)
    {
        _engine = engine;
    }

    public async Task<IReadOnlyList<RefreshResult>> RefreshAsync(IReadOnlyList<BatchKey> batches, CancellationToken cancellationToken)
    {
        var results = new List<RefreshResult>(batches.Count);
        var deployments = new Dictionary<string, PrefectDeployment>(StringComparer.Ordinal);
        var wanted = new List<BatchKey>();
        foreach (var pipeline in batches.GroupBy(b => b.PipelineId, StringComparer.Ordinal))
        {
            try
            {
                deployments[pipeline.Key] = await _engine.Deployments.GetAsync(pipeline.Key, cancellationToken).ConfigureAwait(false);
            }
            catch (DhubException ex)
            {
                results.AddRange(pipeline.Select(key => new RefreshResult(key, null, ex)));
                continue;
            }
            foreach (var key in pipeline)
            {
                if (Guid.TryParse(key.BatchId, out _))
                {
                    wanted.Add(key);
                }
                else
                {
                    results.Add(new RefreshResult(key, null, new DhubException(DhubErrorKind.DhubBatchNotFound, $"'{key.BatchId}' is not a Prefect flow run id (a UUID).")));
                }
            }
        }

        _round++;
        var ids = wanted.Select(k => k.BatchId).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        var (runs, unreadable, unreadableChunks) = await ReadRunsAsync(ids, cancellationToken).ConfigureAwait(false);
        var changed = new List<(BatchKey Key, PrefectFlowRun Run)>();
        var unchangedRunning = new List<(BatchKey Key, PrefectFlowRun Run)>();
        foreach (var key in wanted)
        {
            if (unreadable.TryGetValue(key.BatchId, out var bad))
            {
                results.Add(new RefreshResult(key, null, new DhubException(
                    DhubErrorKind.DhubInvalidResponse,
                    $"Batch {key.PipelineId}/{key.BatchId} could not be read ({bad.Reason}).")));
                continue;
            }
            if (!runs.TryGetValue(key.BatchId, out var run))
            {
                if (unreadableChunks.Contains(key.BatchId))
                {
                    // Its chunk held an entry too damaged to name its run: this may be it, so it is not called deleted.
                    results.Add(new RefreshResult(key, null, new DhubException(
                        DhubErrorKind.DhubInvalidResponse,
                        $"Batch {key.PipelineId}/{key.BatchId} was not in Prefect's answer, which held a flow run that could not be read.")));
                    continue;
                }
                results.Add(new RefreshResult(key, null, new DhubException(DhubErrorKind.DhubBatchNotFound, $"Flow run {key.BatchId} was not found (it may have been deleted).")));
                continue;
            }
            if (!string.Equals(run.DeploymentId, deployments[key.PipelineId].Id, StringComparison.OrdinalIgnoreCase))
            {
                results.Add(new RefreshResult(key, null, new DhubException(
                    DhubErrorKind.DhubBatchNotFound, $"Flow run {key.BatchId} is not a run of deployment '{_engine.FlowName}/{key.PipelineId}'.")));
                continue;
            }
            var known = _lastRead.TryGetValue(key.BatchId, out var last) ? last : key.Known;
            if (known != null && known.ChangeToken != null && known.ChangeToken == PrefectMapper.ChangeToken(run))
            {
                if (IsRunning(run))
                {
                    unchangedRunning.Add((key, run));
                }
                else
                {
                    results.Add(new RefreshResult(key, known, null)); // nothing changed: its steps need no new read
                }
            }
            else
            {
                changed.Add((key, run));
            }
        }

        // Spare capacity: the details chunks the changed runs leave free, for running runs read longest ago.
        var limit = Math.Max(1, _engine.Limit.Value);
        var groups = Revisits(unchangedRunning, Chunks(ids.Count, limit) - Chunks(changed.Count, limit), limit);
        var revisited = new HashSet<BatchKey>(groups.SelectMany(g => g).Select(r => r.Key));
        foreach (var skipped in unchangedRunning.Where(r => !revisited.Contains(r.Key)))
        {
            results.Add(new RefreshResult(skipped.Key, _lastRead.TryGetValue(skipped.Key.BatchId, out var last) ? last : skipped.Key.Known, null));
        }

        foreach (var group in new[] { changed }.Concat(groups).Where(g => g.Count > 0))
        {
            var snapshots = await _engine.Details.MapAsync(group.Select(c => (c.Key.PipelineId, c.Run)).ToList(), cancellationToken, _rows, polling: true).ConfigureAwait(false);
            for (var i = 0; i < group.Count; i++)
            {
                _lastRead[group[i].Key.BatchId] = snapshots[i];
                _detailsRound[group[i].Key.BatchId] = _round;
                results.Add(new RefreshResult(group[i].Key, snapshots[i], null));
            }
        }
        return results;
    }

    /// <summary>
    /// Up to <paramref name="count"/> groups of unchanged running runs, longest unread first, each holding runs whose
    /// task runs and artifacts last time came to at most three quarters of a page (room for the ones written since).
    /// </summary>
    private List<List<(BatchKey Key, PrefectFlowRun Run)>> Revisits(List<(BatchKey Key, PrefectFlowRun Run)> candidates, int count, int limit)
    {
        var groups = new List<List<(BatchKey Key, PrefectFlowRun Run)>>();
        var room = limit * 3 / 4;
        var group = new List<(BatchKey Key, PrefectFlowRun Run)>();
        int taskRuns = 0, artifacts = 0;
        foreach (var candidate in candidates.OrderBy(r => _detailsRound.TryGetValue(r.Key.BatchId, out var round) ? round : 0))
        {
            if (groups.Count >= count)
            {
                break;
            }
            var rows = _rows.TryGetValue(candidate.Key.BatchId, out var known) ? known : (TaskRuns: room, Artifacts: room);
            if (rows.TaskRuns > room || rows.Artifacts > room)
            {
                continue; // more than a page by itself: it waits for its state to change
            }
            if (group.Count > 0 && (taskRuns + rows.TaskRuns > room || artifacts + rows.Artifacts > room))
            {
                groups.Add(group);
                group = new List<(BatchKey Key, PrefectFlowRun Run)>();
                taskRuns = artifacts = 0;
                if (groups.Count >= count)
                {
                    break;
                }
            }
            group.Add(candidate);
            taskRuns += rows.TaskRuns;
            artifacts += rows.Artifacts;
        }
        if (group.Count > 0 && groups.Count < count)
        {
            groups.Add(group);
        }
        return groups;
    }

    private static int Chunks(int count, int limit) => (count + limit - 1) / limit;

    /// <summary>States in which task runs move while the flow run itself stays as it is.</summary>
    private static bool IsRunning(PrefectFlowRun run) => run.Type is "RUNNING" or "CANCELLING";

    /// <summary>
    /// The runs by id, in chunks of the server's limit (one request each); the entries that could not be read, by id;
    /// and the ids asked for in a chunk whose answer held an entry without a readable id.
    /// </summary>
    private async Task<(Dictionary<string, PrefectFlowRun> Runs, Dictionary<string, UnreadableEntry> Unreadable, HashSet<string> UnreadableChunks)> ReadRunsAsync(
        List<string> ids, CancellationToken cancellationToken)
    {
        var runs = new Dictionary<string, PrefectFlowRun>(StringComparer.OrdinalIgnoreCase);
        var unreadable = new Dictionary<string, UnreadableEntry>(StringComparer.OrdinalIgnoreCase);
        var unreadableChunks = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var index = 0;
        while (index < ids.Count)
        {
            var taken = 0;
            var answer = await _engine.Limit.UseAsync(limit =>
            {
                taken = Math.Min(limit, ids.Count - index);
                var chunk = ids.GetRange(index, taken);
                return ListAnswer.ReadAsync(
                    _engine.Api.FilterFlowRunsAsync(new FlowRunQuery { FlowRuns = new FlowRunCriteria { Id = new AnyFilter(chunk) }, Limit = taken }, cancellationToken),
                    PrefectJsonContext.Default.PrefectFlowRun,
                    PrefectCalls.ApiNotFound,
                    cancellationToken);
            }).ConfigureAwait(false);
            foreach (var run in answer.Items.Where(r => r.Id != null))
            {
                runs[run.Id!] = run;
            }
            foreach (var entry in answer.Unreadable.Where(u => u.Id != null))
            {
                unreadable[entry.Id!] = entry;
            }
            if (answer.Unreadable.Any(u => u.Id == null))
            {
                unreadableChunks.UnionWith(ids.GetRange(index, taken));
            }
            index += taken;
        }
        return (runs, unreadable, unreadableChunks);
    }
}
