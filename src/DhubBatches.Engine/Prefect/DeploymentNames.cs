using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using DhubBatches.Contract;
using DhubBatches.Engine.Http;

namespace DhubBatches.Engine.Prefect;

/// <summary>
/// Deployment id → pipeline id for the runs of a fleet listing, cached for the connection: the ids a page names that
/// are not known yet are read in one <c>deployments/filter</c> (by id, within the flow), never one GET per run. An id
/// the server no longer has is a deleted deployment (cached too); one whose record could not be read is not cached, so
/// only its runs are lost, and only this once.
/// </summary>
internal sealed class DeploymentNames
{
    private readonly IPrefectApi _api;
    private readonly ServerLimit _limit;
    private readonly string _flowName;
    private readonly ConcurrentDictionary<string, string> _names = new ConcurrentDictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    public DeploymentNames(IPrefectApi api, ServerLimit limit, string flowName)
    {
        _api = api;
        _limit = limit;
        _flowName = flowName;
    }

    /// <summary>Remembers a deployment read for another reason (resolving a pipeline, listing them), for free.</summary>
    public void Remember(PrefectDeployment deployment)
    {
        if (!string.IsNullOrEmpty(deployment.Id) && !string.IsNullOrEmpty(deployment.Name))
        {
            _names[deployment.Id!] = deployment.Name!;
        }
    }

    /// <summary>
    /// The pipeline id of each deployment id: its name, or <see cref="DeletedDeployment"/>'s id for one that is gone.
    /// An id missing from the answer is one whose deployment record could not be read (the reason is the value of
    /// <paramref name="damaged"/>).
    /// </summary>
    public async Task<IReadOnlyDictionary<string, string>> ResolveAsync(IEnumerable<string> deploymentIds, Dictionary<string, string> damaged, CancellationToken cancellationToken)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var unknown = new List<string>();
        foreach (var id in deploymentIds.Distinct(StringComparer.OrdinalIgnoreCase))
        {
            if (_names.TryGetValue(id, out var name))
            {
                result[id] = name;
            }
            else
            {
                unknown.Add(id);
            }
        }
        for (var start = 0; start < unknown.Count; start += _limit.Value)
        {
            var chunk = unknown.GetRange(start, Math.Min(_limit.Value, unknown.Count - start));
            var answer = await _limit.UseAsync(limit => ListAnswer.ReadAsync(
                _api.FilterDeploymentsAsync(
                    new DeploymentQuery
                    {
                        Flows = new NameCriteria { Name = new AnyFilter(_flowName) },
                        Deployments = new DeploymentCriteria { Id = new AnyFilter(chunk) },
                        Limit = limit,
                        Offset = 0,
                    },
                    cancellationToken),
                PrefectJsonContext.Default.PrefectDeployment,
                PrefectCalls.ApiNotFound,
                cancellationToken)).ConfigureAwait(false);
            foreach (var deployment in answer.Items)
            {
                Remember(deployment);
            }
            var nameless = answer.Items.Where(d => !string.IsNullOrEmpty(d.Id) && string.IsNullOrEmpty(d.Name)).Select(d => d.Id!);
            foreach (var id in answer.Unreadable.Where(u => u.Id != null).Select(u => u.Id!).Concat(nameless))
            {
                damaged[id] = $"its deployment {id} could not be read";
            }
            // An entry too damaged to name its id may be any of the missing ones: none of them is called deleted.
            var anonymous = answer.Unreadable.Any(u => u.Id == null);
            foreach (var id in chunk)
            {
                if (_names.TryGetValue(id, out var name))
                {
                    result[id] = name;
                }
                else if (anonymous && !damaged.ContainsKey(id))
                {
                    damaged[id] = "Prefect's answer about its deployment held a record that could not be read";
                }
                else if (!damaged.ContainsKey(id))
                {
                    result[id] = _names.GetOrAdd(id, DeletedDeployment.PipelineId);
                }
            }
        }
        return result;
    }
}
