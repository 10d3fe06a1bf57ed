using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using DhubBatches.Contract;
using DhubBatches.Engine.Http;

namespace DhubBatches.Engine.Prefect;

/// <summary>
/// Finding one flow run: as a batch of a named pipeline (it must be a run of that deployment), or by its id alone (a
/// flow run id is unique on the server; it must be a run of the connection's flow, and its pipeline is read from its
/// deployment).
/// </summary>
internal sealed class PrefectRunLookup
{
    private readonly PrefectEngine _engine;
    private Lazy<Task<string?>>? _flowId;

    public PrefectRunLookup(PrefectEngine engine)
    {
        _engine = engine;
    }

    /// <summary>A flow run that belongs to the pipeline's deployment, or DhubBatchNotFound.</summary>
    public async Task<PrefectFlowRun> RunOfPipelineAsync(string pipelineId, string batchId, CancellationToken cancellationToken)
    {
        EnsureRunId(batchId);
        // Read the run while the deployment is resolved; a missing pipeline is still the error reported first.
        var runTask = ReadRunAsync(batchId, cancellationToken);
        var (run, deployment) = await _engine.Deployments.UseAsync(
            pipelineId,
            async d => (await runTask.ConfigureAwait(false), d),
            (found, d) => !BelongsTo(found.Item1, d),
            cancellationToken).ConfigureAwait(false);
        if (!BelongsTo(run, deployment))
        {
            throw new DhubException(DhubErrorKind.DhubBatchNotFound, $"Flow run {batchId} is not a run of deployment '{_engine.FlowName}/{pipelineId}'.");
        }
        return run;
    }

    /// <summary>The batch with this id, whichever pipeline it belongs to; DhubBatchNotFound for a run of another flow, or of none.</summary>
    public async Task<BatchSnapshot> GetByIdAsync(string batchId, CancellationToken cancellationToken)
    {
        EnsureRunId(batchId);
        var runTask = ReadRunAsync(batchId, cancellationToken);
        var flowId = await FlowIdAsync(cancellationToken).ConfigureAwait(false);
        var run = await runTask.ConfigureAwait(false);
        if (flowId == null || (run.FlowId != null && !string.Equals(run.FlowId, flowId, StringComparison.OrdinalIgnoreCase)))
        {
            throw new DhubException(DhubErrorKind.DhubBatchNotFound, $"Flow run {batchId} is not a run of flow '{_engine.FlowName}', so it is no batch of its pipelines.");
        }
        if (string.IsNullOrEmpty(run.DeploymentId))
        {
            throw new DhubException(DhubErrorKind.DhubBatchNotFound, $"Flow run {batchId} of flow '{_engine.FlowName}' has no deployment, so it is no pipeline's batch.");
        }
        var damaged = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var names = await _engine.Names.ResolveAsync(new[] { run.DeploymentId! }, damaged, cancellationToken).ConfigureAwait(false);
        if (!names.TryGetValue(run.DeploymentId!, out var pipelineId))
        {
            throw new DhubException(DhubErrorKind.DhubInvalidResponse, $"Batch {batchId} could not be named: {damaged[run.DeploymentId!]}.");
        }
        return (await _engine.Details.MapAsync(new[] { (pipelineId, run) }, cancellationToken).ConfigureAwait(false))[0];
    }

    private static void EnsureRunId(string batchId)
    {
        if (!Guid.TryParse(batchId, out _))
        {
            // A malformed id is 404 or 422 depending on the server version: say what is wrong instead.
            throw new DhubException(DhubErrorKind.DhubBatchNotFound, $"'{batchId}' is not a Prefect flow run id (a UUID).");
        }
    }

    private Task<PrefectFlowRun> ReadRunAsync(string batchId, CancellationToken cancellationToken)
    {
        var runTask = ApiCall.ContentAsync(_engine.Api.ReadFlowRunAsync(batchId, cancellationToken), PrefectCalls.FlowRunNotFound, cancellationToken);
        // Observed here, so a failure no one awaits (an earlier error won) is not an unobserved exception.
        _ = runTask.ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        return runTask;
    }

    /// <summary>The connection's flow id, read once (null when the server has no such flow); a failed read is tried again next time.</summary>
    private async Task<string?> FlowIdAsync(CancellationToken cancellationToken)
    {
        var lazy = _flowId;
        if (lazy == null)
        {
            var fresh = new Lazy<Task<string?>>(() => ReadFlowIdAsync());
            lazy = Interlocked.CompareExchange(ref _flowId, fresh, null) ?? fresh;
        }
        try
        {
            var id = await lazy.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (id == null)
            {
                Interlocked.CompareExchange(ref _flowId, null, lazy); // the flow may be made later: ask again next time
            }
            return id;
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            Interlocked.CompareExchange(ref _flowId, null, lazy);
            throw;
        }
    }

    // Shared by every caller, so it runs with no caller's token (its own timeout and retries bound it).
    private async Task<string?> ReadFlowIdAsync()
    {
        try
        {
            var flow = await ApiCall.ContentAsync(_engine.Api.ReadFlowByNameAsync(_engine.FlowName, CancellationToken.None), PrefectCalls.FlowRunNotFound, CancellationToken.None).ConfigureAwait(false);
            return string.IsNullOrEmpty(flow.Id)
                ? throw new DhubException(DhubErrorKind.DhubInvalidResponse, $"GET /flows/name/{_engine.FlowName} -> 200: the flow has no 'id'.")
                : flow.Id;
        }
        catch (DhubException ex) when (ex.Kind == DhubErrorKind.DhubBatchNotFound)
        {
            return null; // no such flow: no run is one of its batches
        }
    }

    private static bool BelongsTo(PrefectFlowRun run, PrefectDeployment deployment) =>
        string.Equals(run.DeploymentId, deployment.Id, StringComparison.OrdinalIgnoreCase);
}
