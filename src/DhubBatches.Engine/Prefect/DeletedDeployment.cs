using System;

namespace DhubBatches.Engine.Prefect;

/// <summary>
/// The pipeline id of a run whose deployment is gone. Prefect keeps such runs (a flow run's <c>deployment_id</c> has no
/// foreign key, docs/prefect.md "Deployments, flows and schedules"), and their name went with the deployment, so the id
/// says so and carries the old deployment id: piped on, it still finds, stops, deletes or reads the run.
/// </summary>
internal static class DeletedDeployment
{
    private const string Prefix = "(deleted) ";

    public static string PipelineId(string deploymentId) => Prefix + deploymentId;

    public static bool TryParse(string pipelineId, out string deploymentId)
    {
        deploymentId = string.Empty;
        if (!pipelineId.StartsWith(Prefix, StringComparison.Ordinal) || !Guid.TryParse(pipelineId.Substring(Prefix.Length), out _))
        {
            return false;
        }
        deploymentId = pipelineId.Substring(Prefix.Length);
        return true;
    }
}
