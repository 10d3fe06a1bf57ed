using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using DhubBatches.Contract;

namespace DhubBatches.Engine.Prefect;

/// <summary>
/// Pipeline → its deployment <c>&lt;flow&gt;/&lt;pipeline&gt;</c>, resolved once per engine and then used by id. A cached id can go
/// stale (the deployment deleted and created again under the same name): <see cref="UseAsync{T}"/> is the one place
/// that notices, resolves again and repeats the call.
/// </summary>
internal sealed class DeploymentResolver
{
    private readonly Func<string, CancellationToken, Task<PrefectDeployment>> _resolve;
    private readonly ConcurrentDictionary<string, Lazy<Task<PrefectDeployment>>> _cache =
        new ConcurrentDictionary<string, Lazy<Task<PrefectDeployment>>>(StringComparer.Ordinal);

    public DeploymentResolver(Func<string, CancellationToken, Task<PrefectDeployment>> resolve)
    {
        _resolve = resolve;
    }

    /// <summary>
    /// The pipeline's deployment. The lookup is shared by every caller that asks meanwhile, so it runs with no caller's
    /// token (its own request timeout and retries bound it): one caller's Ctrl+C stops only that caller's wait.
    /// </summary>
    public async Task<PrefectDeployment> GetAsync(string pipelineId, CancellationToken cancellationToken)
    {
        if (DeletedDeployment.TryParse(pipelineId, out var deletedId))
        {
            // A run of a deleted deployment, piped on: its deployment has no name to look up, only the id its runs keep.
            return new PrefectDeployment { Id = deletedId, Name = pipelineId };
        }
        var lazy = _cache.GetOrAdd(pipelineId, id => new Lazy<Task<PrefectDeployment>>(() => _resolve(id, CancellationToken.None)));
        try
        {
            return await lazy.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw; // this caller gave up; the shared lookup goes on for the others
        }
        catch
        {
            _cache.TryRemove(new KeyValuePair<string, Lazy<Task<PrefectDeployment>>>(pipelineId, lazy));
            throw;
        }
    }

    /// <summary>A deployment read another way (listing the pipelines): later calls by its name need no lookup.</summary>
    public void Remember(PrefectDeployment deployment)
    {
        if (!string.IsNullOrEmpty(deployment.Id) && !string.IsNullOrEmpty(deployment.Name))
        {
            _cache.TryAdd(deployment.Name!, new Lazy<Task<PrefectDeployment>>(() => Task.FromResult(deployment)));
        }
    }

    /// <summary>
    /// Calls with the pipeline's deployment. When the call says the deployment is gone (DhubPipelineNotFound), or its
    /// result looks like a stale id's (<paramref name="mayBeStale"/>), resolves the name again and, if the id changed,
    /// calls once more with the new deployment.
    /// </summary>
    public async Task<T> UseAsync<T>(string pipelineId, Func<PrefectDeployment, Task<T>> call, Func<T, PrefectDeployment, bool> mayBeStale, CancellationToken cancellationToken)
    {
        var deployment = await GetAsync(pipelineId, cancellationToken).ConfigureAwait(false);
        T result;
        try
        {
            result = await call(deployment).ConfigureAwait(false);
        }
        catch (DhubException ex) when (ex.Kind == DhubErrorKind.DhubPipelineNotFound)
        {
            var fresh = await ChangedAsync(pipelineId, deployment, cancellationToken).ConfigureAwait(false);
            if (fresh == null)
            {
                throw;
            }
            return await call(fresh).ConfigureAwait(false);
        }
        if (mayBeStale(result, deployment) && await ChangedAsync(pipelineId, deployment, cancellationToken).ConfigureAwait(false) is { } renewed)
        {
            return await call(renewed).ConfigureAwait(false);
        }
        return result;
    }

    /// <summary>Drops the cached deployment and resolves the name again: the new deployment when its id differs, else null.</summary>
    private async Task<PrefectDeployment?> ChangedAsync(string pipelineId, PrefectDeployment cached, CancellationToken cancellationToken)
    {
        if (_cache.TryGetValue(pipelineId, out var lazy) && lazy.IsValueCreated && lazy.Value.Status == TaskStatus.RanToCompletion
            && ReferenceEquals(lazy.Value.Result, cached))
        {
            _cache.TryRemove(new KeyValuePair<string, Lazy<Task<PrefectDeployment>>>(pipelineId, lazy));
        }
        var fresh = await GetAsync(pipelineId, cancellationToken).ConfigureAwait(false);
        return string.Equals(fresh.Id, cached.Id, StringComparison.OrdinalIgnoreCase) ? null : fresh;
    }
}
