using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using DhubBatches.Contract;

namespace DhubBatches.Engine.Prefect;

/// <summary>
/// Checks run parameters against the deployment's <c>parameter_openapi_schema</c> before any run is created: Prefect
/// accepts a run with a parameter its flow does not declare, and the run then fails as it starts with a
/// SignatureMismatchError (docs/prefect.md, "Parameter check").
/// </summary>
internal static class ParameterCheck
{
    public const string VersionParameter = "pipeline_version";

    public static void Ensure(PrefectDeployment deployment, string deploymentName, IEnumerable<string> names)
    {
        var schema = deployment.ParameterOpenApiSchema;
        if (schema.ValueKind != JsonValueKind.Object || !schema.TryGetProperty("properties", out var properties) || properties.ValueKind != JsonValueKind.Object)
        {
            EngineLog.Current?.Verbose($"Deployment '{deploymentName}' publishes no parameter schema; the parameters are not checked.");
            return;
        }
        if (schema.TryGetProperty("additionalProperties", out var extra) && (extra.ValueKind == JsonValueKind.True || extra.ValueKind == JsonValueKind.Object))
        {
            return; // a schema that allows other keys lets them through
        }
        var declared = properties.EnumerateObject().Select(p => p.Name).ToList();
        var undeclared = names.Where(n => !declared.Contains(n)).Distinct().ToList();
        if (undeclared.Count == 0)
        {
            return;
        }
        var message = $"Deployment '{deploymentName}' does not declare the parameter{(undeclared.Count == 1 ? string.Empty : "s")} "
            + string.Join(", ", undeclared.Select(n => "'" + n + "'"))
            + ": Prefect would create the run and the run would fail as it starts. Its flow declares "
            + (declared.Count == 0 ? "no parameters" : string.Join(", ", declared.Select(n => "'" + n + "'"))) + ".";
        if (undeclared.Contains(VersionParameter))
        {
            message += $" -PipelineVersion is passed as the flow parameter '{VersionParameter}': declare it in the flow, or leave -PipelineVersion out.";
        }
        if (declared.Contains("kwargs"))
        {
            message += " The flow takes **kwargs: pass other values inside it, -Parameter @{ kwargs = @{ name = value } }.";
        }
        throw new DhubException(DhubErrorKind.DhubBadRequest, message);
    }
}
