using System.Collections.Generic;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using DhubBatches.Engine.Http;
using Refit;

namespace DhubBatches.Engine.Prefect;

/// <summary>
/// The Prefect REST endpoints this module uses (docs/prefect.md, "Endpoints"), relative to the API URL (<c>…/api</c>
/// or a Cloud workspace URL). [IdempotentPost] marks the POSTs that are safe to send again after a lost answer. Lists
/// come back as their body, which <see cref="ListAnswer"/> reads itself (entry by entry when one is damaged).
/// </summary>
internal interface IPrefectApi
{
    /// <summary>Needs auth on a self-hosted server, so it proves the credentials; the UI answers HTML here.</summary>
    [Get("/admin/version")]
    Task<IApiResponse<string>> AdminVersionAsync(CancellationToken cancellationToken);

    [Get("/deployments/name/{flowName}/{deploymentName}")]
    Task<IApiResponse<PrefectDeployment>> ReadDeploymentByNameAsync(string flowName, string deploymentName, CancellationToken cancellationToken);

    [Get("/flows/name/{flowName}")]
    Task<IApiResponse<PrefectFlow>> ReadFlowByNameAsync(string flowName, CancellationToken cancellationToken);

    [Post("/deployments/filter")]
    [IdempotentPost]
    Task<IApiResponse<HttpContent>> FilterDeploymentsAsync([Body] DeploymentQuery query, CancellationToken cancellationToken);

    /// <summary>201 for a new run, 200 when the idempotency key matched an existing one — so a retry never makes two.</summary>
    [Post("/deployments/{deploymentId}/create_flow_run")]
    [IdempotentPost]
    Task<IApiResponse<PrefectFlowRun>> CreateFlowRunAsync(string deploymentId, [Body] CreateFlowRunRequest request, CancellationToken cancellationToken);

    [Post("/flow_runs/filter")]
    [IdempotentPost]
    Task<IApiResponse<HttpContent>> FilterFlowRunsAsync([Body] FlowRunQuery query, CancellationToken cancellationToken);

    /// <summary>A bare integer.</summary>
    [Post("/flow_runs/count")]
    [IdempotentPost]
    Task<IApiResponse<long>> CountFlowRunsAsync([Body] FlowRunQuery query, CancellationToken cancellationToken);

    [Get("/flow_runs/{id}")]
    Task<IApiResponse<PrefectFlowRun>> ReadFlowRunAsync(string id, CancellationToken cancellationToken);

    [Post("/task_runs/filter")]
    [IdempotentPost]
    Task<IApiResponse<HttpContent>> FilterTaskRunsAsync([Body] TaskRunQuery query, CancellationToken cancellationToken);

    [Post("/artifacts/filter")]
    [IdempotentPost]
    Task<IApiResponse<HttpContent>> FilterArtifactsAsync([Body] ArtifactQuery query, CancellationToken cancellationToken);

    [Post("/logs/filter")]
    [IdempotentPost]
    Task<IApiResponse<HttpContent>> FilterLogsAsync([Body] LogQuery query, CancellationToken cancellationToken);

    /// <summary>
    /// A proposal under the orchestration rules (force false): its fresh transition id makes Prefect reject a repeat,
    /// so a retried POST cannot apply twice.
    /// </summary>
    [Post("/flow_runs/{id}/set_state")]
    [IdempotentPost]
    Task<IApiResponse<PrefectOrchestrationResult>> ProposeFlowRunStateAsync(string id, [Body] SetStateRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// A forced state (a restart): force skips the duplicate-transition rule, so a repeat after a lost answer could
    /// pull a run that already started back to SCHEDULED. Never retried once it may have reached the server.
    /// </summary>
    [Post("/flow_runs/{id}/set_state")]
    Task<IApiResponse<PrefectOrchestrationResult>> ForceFlowRunStateAsync(string id, [Body] SetStateRequest request, CancellationToken cancellationToken);

    /// <summary>204 No Content.</summary>
    [Delete("/flow_runs/{id}")]
    Task<IApiResponse> DeleteFlowRunAsync(string id, CancellationToken cancellationToken);
}
