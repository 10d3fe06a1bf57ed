using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using DhubBatches.Contract;
using DhubBatches.Engine.Http;

namespace DhubBatches.Engine.Prefect;

/// <summary>
/// One polling round of a wait on Prefect (docs/prefect.md, "Waiting"): all the runs in one <c>flow_runs/filter</c> by
/// id per chunk of the server's limit, then task runs and offsets in bulk only for the runs whose state, attempt or
/// update time changed since the last round. A round therefore costs about one request per chunk while nothing
/// happens, instead of three per batch.
/// </summary>
internal sealed class PrefectRefresher : IBatchRefresher
{
    private readonly PrefectEngine _engine;
    private readonly Dictionary<string, BatchSnapshot> _lastRead = new Dictionary<string, BatchSnapshot>(StringComparer.OrdinalIgnoreCase);

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

        var (runs, unreadable) = await ReadRunsAsync(wanted.Select(k => k.BatchId).Distinct(StringComparer.OrdinalIgnoreCase).ToList(), cancellationToken).ConfigureAwait(false);
        var changed = new List<(BatchKey Key, PrefectFlowRun Run)>();
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
                results.Add(new RefreshResult(key, known, null)); // nothing changed: its steps need no new read
            }
            else
            {
                changed.Add((key, run));
            }
        }

        if (changed.Count > 0)
        {
            var snapshots = await _engine.Details.MapAsync(changed.Select(c => (c.Key.PipelineId, c.Run)).ToList(), cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < changed.Count; i++)
            {
                _lastRead[changed[i].Key.BatchId] = snapshots[i];
                results.Add(new RefreshResult(changed[i].Key, snapshots[i], null));
            }
        }
        return results;
    }

    /// <summary>The runs by id, in chunks of the server's limit (one request each).</summary>
    private async Task<(Dictionary<string, PrefectFlowRun> Runs, Dictionary<string, UnreadableEntry> Unreadable)> ReadRunsAsync(List<string> ids, CancellationToken cancellationToken)
    {
        var runs = new Dictionary<string, PrefectFlowRun>(StringComparer.OrdinalIgnoreCase);
        var unreadable = new Dictionary<string, UnreadableEntry>(StringComparer.OrdinalIgnoreCase);
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
            index += taken;
        }
        return (runs, unreadable);
    }
}
