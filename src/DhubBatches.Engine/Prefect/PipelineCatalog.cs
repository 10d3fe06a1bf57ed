using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using DhubBatches.Contract;
using DhubBatches.Engine.Http;

namespace DhubBatches.Engine.Prefect;

/// <summary>
/// The pipelines: the deployments of the connection's flow, read with <c>deployments/filter</c> by flow name (a
/// deployment of another flow is never a pipeline, whatever its name), every page at the server's limit. The last full
/// list is kept for the connection, so tab completion of -PipelineId asks the server at most every half minute and
/// reuses what Get-DhubPipeline just read.
/// </summary>
internal sealed class PipelineCatalog
{
    private static readonly TimeSpan s_fresh = TimeSpan.FromSeconds(30);

    private readonly PrefectEngine _engine;
    private volatile Tuple<DateTime, IReadOnlyList<PipelineSnapshot>>? _all; // a reference, so a reader never sees half a write

    public PipelineCatalog(PrefectEngine engine)
    {
        _engine = engine;
    }

    /// <summary>Sorted by id; only <paramref name="names"/> (those the server has) when given, asked for by name on the server.</summary>
    public async Task<IReadOnlyList<PipelineSnapshot>> ListAsync(IReadOnlyCollection<string>? names, CancellationToken cancellationToken)
    {
        var deployments = names == null ? null : new DeploymentCriteria { Name = new AnyFilter(names.Distinct(StringComparer.Ordinal).ToList()) };
        var answer = await PagedReader.AllAsync(
            _engine.Limit,
            (limit, offset) => _engine.Api.FilterDeploymentsAsync(
                new DeploymentQuery { Flows = new NameCriteria { Name = new AnyFilter(_engine.FlowName) }, Deployments = deployments, Sort = "NAME_ASC", Limit = limit, Offset = offset },
                cancellationToken),
            PrefectJsonContext.Default.PrefectDeployment,
            d => d.Id,
            cancellationToken).ConfigureAwait(false);
        foreach (var bad in answer.Unreadable)
        {
            EngineLog.Current?.Warning($"A deployment of flow '{_engine.FlowName}'{(bad.Id == null ? string.Empty : " (" + bad.Id + ")")} could not be read ({bad.Reason}); it was left out.");
            EngineLog.Current?.Verbose("Unreadable record: " + _engine.Text.Of(bad.RawText));
        }
        var pipelines = new List<PipelineSnapshot>();
        foreach (var deployment in answer.Items)
        {
            if (string.IsNullOrEmpty(deployment.Id) || string.IsNullOrEmpty(deployment.Name))
            {
                EngineLog.Current?.Warning($"A deployment of flow '{_engine.FlowName}' has no {(string.IsNullOrEmpty(deployment.Id) ? "id" : "name")}; it was left out.");
                continue;
            }
            _engine.Names.Remember(deployment);
            _engine.Deployments.Remember(deployment);
            pipelines.Add(PipelineReader.From(deployment, _engine.FlowName));
        }
        // The server sorts by name too, but in its collation: this order is the same on every server.
        var sorted = pipelines.OrderBy(p => p.PipelineId, StringComparer.OrdinalIgnoreCase).ThenBy(p => p.PipelineId, StringComparer.Ordinal).ToList();
        if (names == null)
        {
            _all = Tuple.Create(DateTime.UtcNow, (IReadOnlyList<PipelineSnapshot>)sorted);
        }
        return sorted;
    }

    /// <summary>Pipeline ids for tab completion: the list read in the last half minute, else a fresh one.</summary>
    public async Task<IReadOnlyList<string>> NamesAsync(CancellationToken cancellationToken)
    {
        var all = _all is { } cached && DateTime.UtcNow - cached.Item1 < s_fresh
            ? cached.Item2
            : await ListAsync(null, cancellationToken).ConfigureAwait(false);
        return all.Select(p => p.PipelineId).ToList();
    }
}
