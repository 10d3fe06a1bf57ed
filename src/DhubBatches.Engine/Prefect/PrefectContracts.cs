using System;
using System.Collections.Generic;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace DhubBatches.Engine.Prefect;

// Prefect wire shapes (prefect-rest.md). Responses: every member optional, unknown members ignored (§1.3).
// Requests: only members Prefect's models declare, and nulls are never written — the server forbids unknown
// fields and null for non-nullable ones (§1.3), and prefect-openapi.json is the reference the tests check.

internal sealed class PrefectDeployment
{
    [JsonPropertyName("id")]
    public string? Id { get; set; }

    [JsonPropertyName("name")]
    public string? Name { get; set; }

    [JsonPropertyName("version")]
    public string? Version { get; set; }

    [JsonPropertyName("flow_id")]
    public string? FlowId { get; set; }
}

internal sealed class PrefectState
{
    [JsonPropertyName("type")]
    public string? Type { get; set; }

    [JsonPropertyName("name")]
    public string? Name { get; set; }

    [JsonPropertyName("message")]
    public string? Message { get; set; }
}

internal sealed class PrefectFlowRun
{
    [JsonPropertyName("id")]
    public string? Id { get; set; }

    [JsonPropertyName("name")]
    public string? Name { get; set; }

    [JsonPropertyName("deployment_id")]
    public string? DeploymentId { get; set; }

    [JsonPropertyName("state_type")]
    public string? StateType { get; set; }

    [JsonPropertyName("state_name")]
    public string? StateName { get; set; }

    [JsonPropertyName("state")]
    public PrefectState? State { get; set; }

    [JsonPropertyName("run_count")]
    public int RunCount { get; set; }

    [JsonPropertyName("expected_start_time")]
    public DateTimeOffset? ExpectedStartTime { get; set; }

    [JsonPropertyName("start_time")]
    public DateTimeOffset? StartTime { get; set; }

    [JsonPropertyName("end_time")]
    public DateTimeOffset? EndTime { get; set; }
}

internal sealed class PrefectTaskRun
{
    [JsonPropertyName("id")]
    public string? Id { get; set; }

    [JsonPropertyName("name")]
    public string? Name { get; set; }

    [JsonPropertyName("flow_run_id")]
    public string? FlowRunId { get; set; }

    [JsonPropertyName("dynamic_key")]
    public string? DynamicKey { get; set; }

    [JsonPropertyName("state_type")]
    public string? StateType { get; set; }

    [JsonPropertyName("flow_run_run_count")]
    public int FlowRunRunCount { get; set; }

    [JsonPropertyName("expected_start_time")]
    public DateTimeOffset? ExpectedStartTime { get; set; }
}

internal sealed class PrefectArtifact
{
    [JsonPropertyName("id")]
    public string? Id { get; set; }

    [JsonPropertyName("created")]
    public DateTimeOffset? Created { get; set; }

    [JsonPropertyName("type")]
    public string? Type { get; set; }

    [JsonPropertyName("task_run_id")]
    public string? TaskRunId { get; set; }

    [JsonPropertyName("flow_run_id")]
    public string? FlowRunId { get; set; }

    /// <summary>An object of partition → offset, or (as Prefect's SDK stores it) a JSON string holding one (§8.2).</summary>
    [JsonPropertyName("data")]
    public JsonElement Data { get; set; }
}

internal sealed class PrefectOrchestrationResult
{
    [JsonPropertyName("status")]
    public string? Status { get; set; }

    [JsonPropertyName("state")]
    public PrefectState? State { get; set; }

    [JsonPropertyName("details")]
    public PrefectOrchestrationDetails? Details { get; set; }
}

internal sealed class PrefectOrchestrationDetails
{
    [JsonPropertyName("type")]
    public string? Type { get; set; }

    [JsonPropertyName("reason")]
    public string? Reason { get; set; }

    [JsonPropertyName("delay_seconds")]
    public double? DelaySeconds { get; set; }
}

internal sealed class PrefectCsrfToken
{
    [JsonPropertyName("token")]
    public string? Token { get; set; }

    [JsonPropertyName("expiration")]
    public DateTimeOffset? Expiration { get; set; }
}

// ---- requests ----

/// <summary><c>DeploymentFlowRunCreate</c> (§5): only the members this module sets.</summary>
internal sealed class CreateFlowRunRequest
{
    [JsonPropertyName("parameters")]
    public Dictionary<string, object?>? Parameters { get; set; }

    [JsonPropertyName("tags")]
    public List<string>? Tags { get; set; }

    [JsonPropertyName("idempotency_key")]
    public string? IdempotencyKey { get; set; }
}

internal sealed class AnyFilter
{
    public AnyFilter(params string[] values) => Any = new List<string>(values);

    public AnyFilter(List<string> values) => Any = values;

    [JsonPropertyName("any_")]
    public List<string> Any { get; }
}

internal sealed class FlowRunCriteria
{
    [JsonPropertyName("id")]
    public AnyFilter? Id { get; set; }

    [JsonPropertyName("deployment_id")]
    public AnyFilter? DeploymentId { get; set; }
}

/// <summary>The paging members every Prefect <c>*/filter</c> body has (§6.1); null ones are not sent.</summary>
internal abstract class PagedQuery
{
    [JsonPropertyName("sort")]
    public string? Sort { get; set; }

    [JsonPropertyName("limit")]
    public int? Limit { get; set; }

    [JsonPropertyName("offset")]
    public int? Offset { get; set; }
}

/// <summary>Body of <c>POST /flow_runs/filter</c> and (without sort/limit/offset) <c>/flow_runs/count</c> (§6).</summary>
internal sealed class FlowRunQuery : PagedQuery
{
    [JsonPropertyName("flow_runs")]
    public FlowRunCriteria? FlowRuns { get; set; }

}

internal sealed class TaskRunCriteria
{
    [JsonPropertyName("flow_run_id")]
    public AnyFilter? FlowRunId { get; set; }
}

/// <summary>Body of <c>POST /task_runs/filter</c> (§8.1).</summary>
internal sealed class TaskRunQuery : PagedQuery
{
    [JsonPropertyName("task_runs")]
    public TaskRunCriteria? TaskRuns { get; set; }

}

internal sealed class ArtifactCriteria
{
    [JsonPropertyName("flow_run_id")]
    public AnyFilter? FlowRunId { get; set; }

    [JsonPropertyName("type")]
    public AnyFilter? Type { get; set; }
}

/// <summary>Body of <c>POST /artifacts/filter</c> (§8.2).</summary>
internal sealed class ArtifactQuery : PagedQuery
{
    [JsonPropertyName("artifacts")]
    public ArtifactCriteria? Artifacts { get; set; }

}

internal sealed class NameCriteria
{
    [JsonPropertyName("name")]
    public AnyFilter? Name { get; set; }
}

/// <summary>Body of <c>POST /deployments/filter</c> (§4).</summary>
internal sealed class DeploymentQuery : PagedQuery
{
    [JsonPropertyName("flows")]
    public NameCriteria? Flows { get; set; }

}

internal sealed class StateDetailsCreate
{
    [JsonPropertyName("transition_id")]
    public string? TransitionId { get; set; }
}

/// <summary><c>StateCreate</c>: type, name, message, state_details only — never data (§9).</summary>
internal sealed class StateCreate
{
    [JsonPropertyName("type")]
    public string Type { get; set; } = "CANCELLING";

    [JsonPropertyName("name")]
    public string? Name { get; set; }

    [JsonPropertyName("message")]
    public string? Message { get; set; }

    [JsonPropertyName("state_details")]
    public StateDetailsCreate? StateDetails { get; set; }
}

internal sealed class SetStateRequest
{
    [JsonPropertyName("state")]
    public StateCreate State { get; set; } = new StateCreate();

    [JsonPropertyName("force")]
    public bool Force { get; set; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(PrefectDeployment))]
[JsonSerializable(typeof(List<PrefectDeployment>))]
[JsonSerializable(typeof(PrefectFlowRun))]
[JsonSerializable(typeof(List<PrefectFlowRun>))]
[JsonSerializable(typeof(List<PrefectTaskRun>))]
[JsonSerializable(typeof(List<PrefectArtifact>))]
[JsonSerializable(typeof(PrefectOrchestrationResult))]
[JsonSerializable(typeof(PrefectCsrfToken))]
[JsonSerializable(typeof(CreateFlowRunRequest))]
[JsonSerializable(typeof(FlowRunQuery))]
[JsonSerializable(typeof(TaskRunQuery))]
[JsonSerializable(typeof(ArtifactQuery))]
[JsonSerializable(typeof(DeploymentQuery))]
[JsonSerializable(typeof(SetStateRequest))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(long))]
[JsonSerializable(typeof(int))]
[JsonSerializable(typeof(double))]
[JsonSerializable(typeof(decimal))]
[JsonSerializable(typeof(bool))]
[JsonSerializable(typeof(DateTime))]
[JsonSerializable(typeof(DateTimeOffset))]
[JsonSerializable(typeof(Guid))]
[JsonSerializable(typeof(Dictionary<string, object?>))]
[JsonSerializable(typeof(List<object?>))]
internal sealed partial class PrefectJsonContext : JsonSerializerContext
{
}
