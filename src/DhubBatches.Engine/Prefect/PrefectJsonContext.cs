using System.Collections.Generic;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace DhubBatches.Engine.Prefect;

/// <summary>Source-generated JSON for every Prefect shape (no reflection; nulls never written).</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(PrefectDeployment))]
[JsonSerializable(typeof(List<PrefectDeployment>))]
[JsonSerializable(typeof(PrefectFlow))]
[JsonSerializable(typeof(PrefectFlowRun))]
[JsonSerializable(typeof(List<PrefectFlowRun>))]
[JsonSerializable(typeof(PrefectTaskRun))]
[JsonSerializable(typeof(List<PrefectTaskRun>))]
[JsonSerializable(typeof(PrefectArtifact))]
[JsonSerializable(typeof(List<PrefectArtifact>))]
[JsonSerializable(typeof(PrefectLog))]
[JsonSerializable(typeof(List<PrefectLog>))]
[JsonSerializable(typeof(PrefectOrchestrationResult))]
[JsonSerializable(typeof(PrefectCsrfToken))]
[JsonSerializable(typeof(CreateFlowRunRequest))]
[JsonSerializable(typeof(FlowRunQuery))]
[JsonSerializable(typeof(TaskRunQuery))]
[JsonSerializable(typeof(ArtifactQuery))]
[JsonSerializable(typeof(LogQuery))]
[JsonSerializable(typeof(DeploymentQuery))]
[JsonSerializable(typeof(SetStateRequest))]
[JsonSerializable(typeof(JsonObject))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(long))]
internal sealed partial class PrefectJsonContext : JsonSerializerContext
{
}
