using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using DhubBatches.Engine.Http;
using Refit;

namespace DhubBatches.Engine.Prefect;

/// <summary>
/// The Prefect REST endpoints this module uses (prefect-rest.md), relative to the API URL
/// (<c>…/api</c> or a Cloud workspace URL). POSTs marked idempotent are safe to retry: filters and counts read,
/// create_flow_run carries an idempotency key (§5.2), set_state a transition id (§9).
/// </summary>
internal interface IPrefectApi
{
    /// <summary>§3: needs auth on a self-hosted server; proves the credentials.</summary>
    [Get("/admin/version")]
    Task<IApiResponse<string>> AdminVersionAsync(CancellationToken cancellationToken);

    /// <summary>§4.</summary>
    [Get("/deployments/name/{flowName}/{deploymentName}")]
    Task<IApiResponse<PrefectDeployment>> ReadDeploymentByNameAsync(string flowName, string deploymentName, CancellationToken cancellationToken);

    [Post("/deployments/filter")]
    Task<IApiResponse<List<PrefectDeployment>>> FilterDeploymentsAsync(
        [Body] DeploymentQuery query, [Property(RequestOptions.IdempotentPost)] bool idempotent, CancellationToken cancellationToken);

    /// <summary>§5; 201 for a new run, 200 when the idempotency key matched an existing one.</summary>
    [Post("/deployments/{deploymentId}/create_flow_run")]
    Task<IApiResponse<PrefectFlowRun>> CreateFlowRunAsync(
        string deploymentId, [Body] CreateFlowRunRequest request, [Property(RequestOptions.IdempotentPost)] bool idempotent, CancellationToken cancellationToken);

    /// <summary>§6.1.</summary>
    [Post("/flow_runs/filter")]
    Task<IApiResponse<List<PrefectFlowRun>>> FilterFlowRunsAsync(
        [Body] FlowRunQuery query, [Property(RequestOptions.IdempotentPost)] bool idempotent, CancellationToken cancellationToken);

    /// <summary>§6.2: a bare integer.</summary>
    [Post("/flow_runs/count")]
    Task<IApiResponse<long>> CountFlowRunsAsync(
        [Body] FlowRunQuery query, [Property(RequestOptions.IdempotentPost)] bool idempotent, CancellationToken cancellationToken);

    /// <summary>§7.</summary>
    [Get("/flow_runs/{id}")]
    Task<IApiResponse<PrefectFlowRun>> ReadFlowRunAsync(string id, CancellationToken cancellationToken);

    /// <summary>§8.1.</summary>
    [Post("/task_runs/filter")]
    Task<IApiResponse<List<PrefectTaskRun>>> FilterTaskRunsAsync(
        [Body] TaskRunQuery query, [Property(RequestOptions.IdempotentPost)] bool idempotent, CancellationToken cancellationToken);

    /// <summary>§8.2.</summary>
    [Post("/artifacts/filter")]
    Task<IApiResponse<List<PrefectArtifact>>> FilterArtifactsAsync(
        [Body] ArtifactQuery query, [Property(RequestOptions.IdempotentPost)] bool idempotent, CancellationToken cancellationToken);

    /// <summary>§9.</summary>
    [Post("/flow_runs/{id}/set_state")]
    Task<IApiResponse<PrefectOrchestrationResult>> SetFlowRunStateAsync(
        string id, [Body] SetStateRequest request, [Property(RequestOptions.IdempotentPost)] bool idempotent, CancellationToken cancellationToken);

    /// <summary>§10: 204 No Content.</summary>
    [Delete("/flow_runs/{id}")]
    Task<IApiResponse> DeleteFlowRunAsync(string id, CancellationToken cancellationToken);
}

