using System;
using System.Globalization;
using System.Linq;
using System.Text.Json;

namespace DhubBatches.Emulator.Prefect;

/// <summary>Writes Prefect's response models (§4 DeploymentResponse, §6.3 FlowRunResponse, §8.1 TaskRun, §8.2 Artifact, §9 State).</summary>
internal static class PrefectJson
{
    /// <summary>§1.4: ISO-8601 UTC with <c>Z</c>, microseconds, fraction left out when zero (pydantic v2).</summary>
    public static string Time(DateTimeOffset t)
    {
        var utc = t.ToUniversalTime();
        var micros = utc.Ticks % TimeSpan.TicksPerSecond / 10;
        var whole = utc.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);
        return micros == 0 ? whole + "Z" : whole + "." + micros.ToString("D6", CultureInfo.InvariantCulture) + "Z";
    }

    public static void WriteTime(Utf8JsonWriter w, string name, DateTimeOffset? t)
    {
        if (t is { } value)
        {
            w.WriteString(name, Time(value));
        }
        else
        {
            w.WriteNull(name);
        }
    }

    public static void WriteDeployment(Utf8JsonWriter w, PrefectDeployment d, Guid flowId, string workPoolName, DateTimeOffset now)
    {
        w.WriteStartObject();
        w.WriteString("id", d.Id);
        WriteTime(w, "created", d.Created);
        WriteTime(w, "updated", d.Created);
        w.WriteString("name", d.Name);
        w.WriteString("version", d.Version);
        w.WriteString("description", $"Runs pipeline {d.Name}.");
        w.WriteString("flow_id", flowId);
        w.WriteBoolean("paused", false);
        w.WriteStartArray("schedules");
        w.WriteEndArray();
        w.WriteNull("concurrency_limit");
        w.WriteNull("global_concurrency_limit");
        w.WriteNull("concurrency_options");
        w.WriteStartObject("job_variables");
        w.WriteEndObject();
        w.WriteStartObject("parameters");
        w.WriteEndObject();
        w.WriteStartArray("tags");
        w.WriteStringValue("pipeline");
        w.WriteEndArray();
        w.WriteStartObject("labels");
        w.WriteString("prefect.flow.id", flowId.ToString());
        w.WriteEndObject();
        w.WriteString("work_queue_name", "default");
        w.WriteString("work_queue_id", d.WorkQueueId);
        WriteTime(w, "last_polled", now);
        // §4/§5: the flow declares pipeline_version; extra keys are allowed by the schema.
        w.WriteStartObject("parameter_openapi_schema");
        w.WriteString("title", "Parameters");
        w.WriteString("type", "object");
        w.WriteStartObject("properties");
        w.WriteStartObject("pipeline_version");
        w.WriteString("title", "pipeline_version");
        w.WriteNumber("position", 0);
        w.WriteString("type", "string");
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteBoolean("additionalProperties", true);
        w.WriteEndObject();
        w.WriteNull("path");
        w.WriteNull("pull_steps");
        w.WriteString("entrypoint", "flows.py:run_pipeline");
        w.WriteNull("storage_document_id");
        w.WriteNull("infrastructure_document_id");
        w.WriteNull("created_by");
        w.WriteNull("updated_by");
        w.WriteString("work_pool_name", workPoolName);
        w.WriteString("status", "READY");
        w.WriteBoolean("enforce_parameter_schema", true);
        w.WriteEndObject();
    }

    public static void WriteState(Utf8JsonWriter w, StateView s, Guid flowRunId, Guid? taskRunId, DateTimeOffset? scheduledTime)
    {
        w.WriteStartObject();
        w.WriteString("id", s.Id);
        w.WriteString("type", s.Type);
        w.WriteString("name", s.Name);
        WriteTime(w, "timestamp", s.Timestamp);
        if (s.Message is null)
        {
            w.WriteNull("message");
        }
        else
        {
            w.WriteString("message", s.Message);
        }

        w.WriteNull("data");
        w.WriteStartObject("state_details");
        w.WriteString("flow_run_id", flowRunId);
        if (taskRunId is { } t)
        {
            w.WriteString("task_run_id", t);
        }
        else
        {
            w.WriteNull("task_run_id");
        }

        w.WriteNull("child_flow_run_id");
        WriteTime(w, "scheduled_time", s.Type == StateTypes.Scheduled ? scheduledTime : null);
        w.WriteNull("cache_key");
        w.WriteNull("cache_expiration");
        w.WriteBoolean("deferred", false);
        w.WriteBoolean("untrackable_result", false);
        w.WriteNull("pause_timeout");
        w.WriteBoolean("pause_reschedule", false);
        w.WriteNull("pause_key");
        w.WriteNull("run_input_keyset");
        w.WriteNull("refresh_cache");
        w.WriteNull("retriable");
        if (s.TransitionId is null)
        {
            w.WriteNull("transition_id");
        }
        else
        {
            w.WriteString("transition_id", s.TransitionId);
        }

        w.WriteNull("task_parameters_id");
        w.WriteNull("traceparent");
        w.WriteNull("deployment_concurrency_lease_id");
        w.WriteEndObject();
        w.WriteEndObject();
    }

    public static void WriteFlowRun(Utf8JsonWriter w, StoredFlowRun r, FlowRunView v, Guid flowId, Guid workPoolId, string workPoolName, DateTimeOffset now)
    {
        var d = r.Deployment;
        w.WriteStartObject();
        w.WriteString("id", r.Id);
        WriteTime(w, "created", r.Created);
        WriteTime(w, "updated", v.State.Timestamp > r.Created ? v.State.Timestamp : r.Created);
        w.WriteString("name", r.Name);
        w.WriteString("flow_id", flowId);
        w.WriteString("state_id", v.State.Id);
        w.WriteString("deployment_id", d.Id);
        w.WriteString("deployment_version", d.Version);
        w.WriteString("work_queue_id", d.WorkQueueId);
        w.WriteString("work_queue_name", "default");
        w.WriteString("work_pool_id", workPoolId);
        w.WriteString("work_pool_name", workPoolName);
        if (v.RunCount > 0)
        {
            w.WriteString("flow_version", "1f0e2c3d4b5a69788796a5b4c3d2e1f0");
        }
        else
        {
            w.WriteNull("flow_version");
        }

        w.WritePropertyName("parameters");
        w.WriteRawValue(r.ParametersJson, skipInputValidation: true);
        if (r.IdempotencyKey is null)
        {
            w.WriteNull("idempotency_key");
        }
        else
        {
            w.WriteString("idempotency_key", r.IdempotencyKey);
        }

        w.WriteStartObject("context");
        w.WriteEndObject();
        w.WriteStartObject("empirical_policy");
        w.WriteNumber("max_retries", 0);
        w.WriteNumber("retry_delay_seconds", 0.0);
        w.WriteNull("retries");
        w.WriteNull("retry_delay");
        w.WriteStartArray("pause_keys");
        w.WriteEndArray();
        w.WriteBoolean("resuming", false);
        w.WriteNull("retry_type");
        w.WriteEndObject();
        w.WriteStartArray("tags");
        foreach (var tag in r.Tags)
        {
            w.WriteStringValue(tag);
        }

        w.WriteEndArray();
        w.WriteStartObject("labels");
        w.WriteString("prefect.flow.id", flowId.ToString());
        w.WriteString("prefect.deployment.id", d.Id.ToString());
        w.WriteEndObject();
        w.WriteNull("parent_task_run_id");
        w.WriteString("state_type", v.State.Type);
        w.WriteString("state_name", v.State.Name);
        w.WriteNumber("run_count", v.RunCount);
        WriteTime(w, "expected_start_time", r.Created);
        WriteTime(w, "next_scheduled_start_time", v.State.Type == StateTypes.Scheduled ? r.Created : null);
        WriteTime(w, "start_time", v.StartTime);
        WriteTime(w, "end_time", v.EndTime);
        var runTime = v.StartTime is { } s ? ((v.EndTime ?? now) - s).TotalSeconds : 0.0;
        w.WriteNumber("total_run_time", v.EndTime is not null ? Math.Max(0, runTime) : 0.0);
        w.WriteNumber("estimated_run_time", Math.Max(0, runTime));
        var delta = v.StartTime is { } st ? (st - r.Created).TotalSeconds : Math.Max(0, (now - r.Created).TotalSeconds);
        w.WriteNumber("estimated_start_time_delta", Math.Max(0, delta));
        w.WriteBoolean("auto_scheduled", false);
        w.WriteNull("infrastructure_document_id");
        if (v.InfrastructurePid is null)
        {
            w.WriteNull("infrastructure_pid");
        }
        else
        {
            w.WriteString("infrastructure_pid", v.InfrastructurePid);
        }

        w.WriteNull("created_by");
        w.WritePropertyName("state");
        WriteState(w, v.State, r.Id, null, r.Created);
        w.WriteStartObject("job_variables");
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>task_key = <c>&lt;task&gt;-&lt;code hash prefix&gt;</c>, the same for every call of one task (§8.1).</summary>
    public static string TaskKey(string task) =>
        task + "-" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes("flows.py:" + task)))[..8];

    public static void WriteTaskRun(Utf8JsonWriter w, StoredFlowRun r, FlowRunView flow, TaskRunView t, DateTimeOffset now)
    {
        w.WriteStartObject();
        w.WriteString("id", t.Id);
        WriteTime(w, "created", t.Start);
        WriteTime(w, "updated", t.State.Timestamp);
        w.WriteString("name", t.Task + "-0");
        w.WriteString("flow_run_id", r.Id);
        w.WriteString("task_key", TaskKey(t.Task));
        w.WriteString("dynamic_key", "0");
        w.WriteNull("cache_key");
        w.WriteNull("cache_expiration");
        w.WriteNull("task_version");
        w.WriteStartObject("empirical_policy");
        w.WriteNumber("max_retries", 0);
        w.WriteNumber("retry_delay_seconds", 0.0);
        w.WriteNumber("retries", 0);
        w.WriteNumber("retry_delay", 0);
        w.WriteNull("retry_jitter_factor");
        w.WriteEndObject();
        w.WriteStartArray("tags");
        w.WriteEndArray();
        w.WriteStartObject("labels");
        w.WriteEndObject();
        w.WriteString("state_id", t.State.Id);
        w.WriteStartObject("task_inputs");
        w.WriteStartArray("pipeline");
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteString("state_type", t.State.Type);
        w.WriteString("state_name", t.State.Name);
        w.WriteNumber("run_count", 1);
        w.WriteNumber("flow_run_run_count", flow.RunCount);
        WriteTime(w, "expected_start_time", t.Start);
        w.WriteNull("next_scheduled_start_time");
        WriteTime(w, "start_time", t.Start);
        WriteTime(w, "end_time", t.End);
        var runTime = Math.Max(0, ((t.End ?? now) - t.Start).TotalSeconds);
        w.WriteNumber("total_run_time", t.End is null ? 0.0 : runTime);
        w.WriteNumber("estimated_run_time", runTime);
        w.WriteNumber("estimated_start_time_delta", 0.0);
        w.WritePropertyName("state");
        WriteState(w, t.State, r.Id, t.Id, null);
        w.WriteEndObject();
    }

    /// <summary>§8.2: keys must match <c>^[a-z0-9-]*$</c>.</summary>
    public static string ArtifactKey(string pipeline)
    {
        var chars = (pipeline + "-offsets").ToLowerInvariant().Select(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' ? c : '-').ToArray();
        return new string(chars);
    }
}
