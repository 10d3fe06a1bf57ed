using System.Collections.Generic;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace DhubBatches.Engine.Prefect;

// What this module sends. Only members Prefect's request models declare, and nulls are never written: the server
// forbids unknown fields and null for non-nullable ones (docs/prefect.md, "Request bodies"); the tests check every body
// against the repository's copy of Prefect's OpenAPI schema.

/// <summary><c>DeploymentFlowRunCreate</c>: only the members this module sets.</summary>
internal sealed class CreateFlowRunRequest
{
    [JsonPropertyName("parameters")]
    public JsonObject? Parameters { get; set; }

    [JsonPropertyName("tags")]
    public List<string>? Tags { get; set; }

    [JsonPropertyName("idempotency_key")]
    public string? IdempotencyKey { get; set; }
}

internal sealed class AnyFilter
{
    public AnyFilter(params string[] values) => Any = new List<string>(values);

    public AnyFilter(List<string> values) => Any = values;

    private AnyFilter(bool isNull) => IsNull = isNull;

    [JsonPropertyName("any_")]
    public List<string>? Any { get; }

    /// <summary>Only on the id columns that declare it (a flow run's <c>deployment_id</c>).</summary>
    [JsonPropertyName("is_null_")]
    public bool? IsNull { get; }

    /// <summary><c>{"is_null_": false}</c>: any value but none.</summary>
    public static AnyFilter NotNull() => new AnyFilter(isNull: false);
}

/// <summary><c>before_</c>/<c>after_</c> on a time column (both inclusive); null ends are not sent.</summary>
internal sealed class TimeFilter
{
    [JsonPropertyName("before_")]
    public string? Before { get; set; }

    [JsonPropertyName("after_")]
    public string? After { get; set; }
}

internal sealed class StateTypeCriteria
{
    [JsonPropertyName("type")]
    public AnyFilter? Type { get; set; }
}

internal sealed class FlowRunCriteria
{
    [JsonPropertyName("id")]
    public AnyFilter? Id { get; set; }

    [JsonPropertyName("deployment_id")]
    public AnyFilter? DeploymentId { get; set; }

    [JsonPropertyName("state")]
    public StateTypeCriteria? State { get; set; }

    [JsonPropertyName("expected_start_time")]
    public TimeFilter? ExpectedStartTime { get; set; }
}

/// <summary>The paging members every Prefect <c>*/filter</c> body has; null ones are not sent.</summary>
internal abstract class PagedQuery
{
    [JsonPropertyName("sort")]
    public string? Sort { get; set; }

    [JsonPropertyName("limit")]
    public int? Limit { get; set; }

    [JsonPropertyName("offset")]
    public int? Offset { get; set; }
}

/// <summary>Body of <c>POST /flow_runs/filter</c> and (without sort/limit/offset) <c>/flow_runs/count</c>.</summary>
internal sealed class FlowRunQuery : PagedQuery
{
    /// <summary>Joins the runs to their flow: every pipeline's runs at once are those of the connection's flow.</summary>
    [JsonPropertyName("flows")]
    public NameCriteria? Flows { get; set; }

    [JsonPropertyName("flow_runs")]
    public FlowRunCriteria? FlowRuns { get; set; }
}

internal sealed class TaskRunCriteria
{
    [JsonPropertyName("flow_run_id")]
    public AnyFilter? FlowRunId { get; set; }
}

/// <summary>Body of <c>POST /task_runs/filter</c>.</summary>
internal sealed class TaskRunQuery : PagedQuery
{
    [JsonPropertyName("task_runs")]
    public TaskRunCriteria? TaskRuns { get; set; }

    /// <summary>Joins the task runs to the flow runs they belong to (a deployment's completed runs, for its expected steps).</summary>
    [JsonPropertyName("flow_runs")]
    public FlowRunCriteria? FlowRuns { get; set; }
}

internal sealed class KeyFilter
{
    [JsonPropertyName("like_")]
    public string? Like { get; set; }
}

internal sealed class ArtifactCriteria
{
    [JsonPropertyName("operator")]
    public string? Operator { get; set; }

    [JsonPropertyName("type")]
    public AnyFilter? Type { get; set; }

    [JsonPropertyName("key")]
    public KeyFilter? Key { get; set; }
}

/// <summary>Body of <c>POST /artifacts/filter</c>: the artifacts criteria, joined to a flow-run filter.</summary>
internal sealed class ArtifactQuery : PagedQuery
{
    [JsonPropertyName("artifacts")]
    public ArtifactCriteria? Artifacts { get; set; }

    [JsonPropertyName("flow_runs")]
    public FlowRunCriteria? FlowRuns { get; set; }
}

internal sealed class LevelFilter
{
    [JsonPropertyName("ge_")]
    public int? AtLeast { get; set; }
}

internal sealed class LogCriteria
{
    [JsonPropertyName("flow_run_id")]
    public AnyFilter? FlowRunId { get; set; }

    [JsonPropertyName("task_run_id")]
    public AnyFilter? TaskRunId { get; set; }

    [JsonPropertyName("level")]
    public LevelFilter? Level { get; set; }

    [JsonPropertyName("timestamp")]
    public TimeFilter? Timestamp { get; set; }
}

/// <summary>Body of <c>POST /logs/filter</c>.</summary>
internal sealed class LogQuery : PagedQuery
{
    [JsonPropertyName("logs")]
    public LogCriteria? Logs { get; set; }
}

internal sealed class NameCriteria
{
    [JsonPropertyName("name")]
    public AnyFilter? Name { get; set; }
}

internal sealed class DeploymentCriteria
{
    [JsonPropertyName("id")]
    public AnyFilter? Id { get; set; }

    [JsonPropertyName("name")]
    public AnyFilter? Name { get; set; }
}

/// <summary>Body of <c>POST /deployments/filter</c>.</summary>
internal sealed class DeploymentQuery : PagedQuery
{
    [JsonPropertyName("flows")]
    public NameCriteria? Flows { get; set; }

    [JsonPropertyName("deployments")]
    public DeploymentCriteria? Deployments { get; set; }
}

internal sealed class StateDetailsCreate
{
    [JsonPropertyName("transition_id")]
    public string? TransitionId { get; set; }
}

/// <summary><c>StateCreate</c>: type, name, message, state_details only — never data (it would create a result artifact).</summary>
internal sealed class StateCreate
{
    public StateCreate(string type, string name)
    {
        Type = type;
        Name = name;
    }

    [JsonPropertyName("type")]
    public string Type { get; }

    [JsonPropertyName("name")]
    public string Name { get; }

    [JsonPropertyName("message")]
    public string? Message { get; set; }

    [JsonPropertyName("state_details")]
    public StateDetailsCreate? StateDetails { get; set; }
}

internal sealed class SetStateRequest
{
    public SetStateRequest(StateCreate state, bool force)
    {
        State = state;
        Force = force;
    }

    [JsonPropertyName("state")]
    public StateCreate State { get; }

    [JsonPropertyName("force")]
    public bool Force { get; }
}
