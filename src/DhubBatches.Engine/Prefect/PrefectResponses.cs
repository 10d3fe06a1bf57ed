using System;
using System.Collections.Generic;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace DhubBatches.Engine.Prefect;

// What Prefect answers, as far as this module reads it. Every member is optional and unknown members are ignored:
// Prefect's response models may gain fields in any release (docs/prefect.md, "Reading answers").

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

    /// <summary>The flow's parameters as JSON schema: a run naming others fails as it starts (docs/prefect.md, "Parameter check").</summary>
    [JsonPropertyName("parameter_openapi_schema")]
    public JsonElement ParameterOpenApiSchema { get; set; }

    /// <summary>The deployment's own parameter values, laid over the schema's defaults for every run it creates.</summary>
    [JsonPropertyName("parameters")]
    public JsonElement Parameters { get; set; }

    [JsonPropertyName("description")]
    public string? Description { get; set; }

    [JsonPropertyName("paused")]
    public bool? Paused { get; set; }

    [JsonPropertyName("tags")]
    public List<string?>? Tags { get; set; }

    [JsonPropertyName("schedules")]
    public List<PrefectDeploymentSchedule?>? Schedules { get; set; }

    /// <summary>Prefect 2's single schedule, kept beside <see cref="Schedules"/> until 3.0 removed it.</summary>
    [JsonPropertyName("schedule")]
    public JsonElement Schedule { get; set; }

    [JsonPropertyName("is_schedule_active")]
    public bool? IsScheduleActive { get; set; }
}

internal sealed class PrefectDeploymentSchedule
{
    /// <summary>A cron, interval or rrule schedule; read by its members, since the three have no type tag.</summary>
    [JsonPropertyName("schedule")]
    public JsonElement Schedule { get; set; }

    [JsonPropertyName("active")]
    public bool? Active { get; set; }
}

internal sealed class PrefectFlow
{
    [JsonPropertyName("id")]
    public string? Id { get; set; }

    [JsonPropertyName("name")]
    public string? Name { get; set; }
}

internal sealed class PrefectStateDetails
{
    /// <summary>Set on the task run that tracks a subflow in its parent.</summary>
    [JsonPropertyName("child_flow_run_id")]
    public string? ChildFlowRunId { get; set; }
}

internal sealed class PrefectState
{
    /// <summary>State types are upper case on the wire; this is the one place that makes sure of it.</summary>
    public static string? Normalize(string? type) => type?.ToUpperInvariant();

    [JsonPropertyName("type")]
    public string? Type { get; set; }

    [JsonPropertyName("name")]
    public string? Name { get; set; }

    [JsonPropertyName("message")]
    public string? Message { get; set; }

    [JsonPropertyName("state_details")]
    public PrefectStateDetails? StateDetails { get; set; }

    [JsonIgnore]
    public string? NormalType => Normalize(Type);
}

internal sealed class PrefectFlowRun
{
    [JsonPropertyName("id")]
    public string? Id { get; set; }

    [JsonPropertyName("name")]
    public string? Name { get; set; }

    [JsonPropertyName("updated")]
    public DateTimeOffset? Updated { get; set; }

    [JsonPropertyName("deployment_id")]
    public string? DeploymentId { get; set; }

    [JsonPropertyName("flow_id")]
    public string? FlowId { get; set; }

    [JsonPropertyName("state_id")]
    public string? StateId { get; set; }

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

    /// <summary>Upper-case state type, from the denormalised column or the state itself.</summary>
    [JsonIgnore]
    public string? Type => PrefectState.Normalize(StateType ?? State?.Type);

    [JsonIgnore]
    public string? TypeName => StateName ?? State?.Name;
}

internal sealed class PrefectTaskRun
{
    [JsonPropertyName("id")]
    public string? Id { get; set; }

    [JsonPropertyName("created")]
    public DateTimeOffset? Created { get; set; }

    [JsonPropertyName("name")]
    public string? Name { get; set; }

    [JsonPropertyName("flow_run_id")]
    public string? FlowRunId { get; set; }

    [JsonPropertyName("task_key")]
    public string? TaskKey { get; set; }

    [JsonPropertyName("dynamic_key")]
    public string? DynamicKey { get; set; }

    [JsonPropertyName("state_type")]
    public string? StateType { get; set; }

    [JsonPropertyName("state_name")]
    public string? StateName { get; set; }

    [JsonPropertyName("state")]
    public PrefectState? State { get; set; }

    /// <summary>Which attempt of the flow run this task run ran in; 0 until it enters RUNNING (docs/prefect.md, "Current attempt").</summary>
    [JsonPropertyName("flow_run_run_count")]
    public int FlowRunRunCount { get; set; }

    [JsonPropertyName("expected_start_time")]
    public DateTimeOffset? ExpectedStartTime { get; set; }

    /// <summary>Set the first time the task run enters RUNNING (global_policy.py SetStartTime): retries keep it.</summary>
    [JsonPropertyName("start_time")]
    public DateTimeOffset? StartTime { get; set; }

    /// <summary>Set as it reaches a terminal state, cleared when it leaves one (SetEndTime).</summary>
    [JsonPropertyName("end_time")]
    public DateTimeOffset? EndTime { get; set; }

    /// <summary>How many times the task run has entered RUNNING: retries count up from 1.</summary>
    [JsonPropertyName("run_count")]
    public int RunCount { get; set; }

    [JsonIgnore]
    public string? Type => PrefectState.Normalize(StateType ?? State?.Type);
}

internal sealed class PrefectArtifact
{
    [JsonPropertyName("id")]
    public string? Id { get; set; }

    [JsonPropertyName("created")]
    public DateTimeOffset? Created { get; set; }

    [JsonPropertyName("key")]
    public string? Key { get; set; }

    [JsonPropertyName("type")]
    public string? Type { get; set; }

    [JsonPropertyName("task_run_id")]
    public string? TaskRunId { get; set; }

    [JsonPropertyName("flow_run_id")]
    public string? FlowRunId { get; set; }

    /// <summary>An object, a JSON string holding one or a list (Prefect's helpers), or anything else a flow wrote.</summary>
    [JsonPropertyName("data")]
    public JsonElement Data { get; set; }
}

internal sealed class PrefectLog
{
    [JsonPropertyName("id")]
    public string? Id { get; set; }

    [JsonPropertyName("level")]
    public int Level { get; set; }

    [JsonPropertyName("message")]
    public string? Message { get; set; }

    [JsonPropertyName("timestamp")]
    public DateTimeOffset? Timestamp { get; set; }

    [JsonPropertyName("task_run_id")]
    public string? TaskRunId { get; set; }
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
