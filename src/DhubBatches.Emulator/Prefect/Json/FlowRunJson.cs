using System;
using System.Text.Json;
using DhubBatches.Emulator.Prefect.Runs;
using DhubBatches.Emulator.Prefect.Store;
using static DhubBatches.Emulator.Prefect.Json.PrefectJsonWriter;

namespace DhubBatches.Emulator.Prefect.Json;

/// <summary>
/// <c>FlowRunResponse</c> as each version writes it: Prefect 3's field set (with <c>labels</c>, <c>retry_type</c>,
/// <c>deployment_version</c>), or the fields of the recorded 2.16.8 answers.
/// </summary>
internal static class FlowRunJson
{
    /// <summary>The work pool the simulated worker polls (Prefect 3); Prefect 2 serves deployments without one.</summary>
    public const string WorkPoolName = "emulator-pool";

    /// <summary>A fixed source hash: <c>flow_version</c> is set by the engine once the flow starts.</summary>
    public const string FlowVersion = "9c6f6105760929d6895affe2f25d7950";

    public static void Write(Utf8JsonWriter w, PrefectDialect dialect, StoredFlowRun r, FlowRunView v, Guid workPoolId, DateTimeOffset now)
    {
        var d = r.Deployment;
        var v2 = dialect.IsV2;
        w.WriteStartObject();
        w.WriteString("id", r.Id);
        Time(w, dialect, "created", r.Created);
        Time(w, dialect, "updated", v.State.At > r.Created ? v.State.At : r.Created);
        w.WriteString("name", r.Name);
        w.WriteString("flow_id", r.FlowId);
        w.WriteString("state_id", v.State.Id);
        Id(w, "deployment_id", d?.Id);
        if (!v2)
        {
            String(w, "deployment_version", d?.Version);
        }

        Id(w, "work_queue_id", v2 ? null : d?.WorkQueueId);
        String(w, "work_queue_name", v2 || d is null ? null : "default");
        if (!v2)
        {
            Id(w, "work_pool_id", d is null ? null : workPoolId);
            String(w, "work_pool_name", d is null ? null : WorkPoolName);
        }

        String(w, "flow_version", v.RunCount > 0 ? FlowVersion : null);
        w.WritePropertyName("parameters");
        w.WriteRawValue(r.ParametersJson, skipInputValidation: true);
        String(w, "idempotency_key", r.IdempotencyKey);
        w.WriteStartObject("context");
        w.WriteEndObject();
        EmpiricalPolicy(w, dialect, r, v);
        w.WriteStartArray("tags");
        foreach (var tag in r.Tags)
        {
            w.WriteStringValue(tag);
        }

        w.WriteEndArray();
        if (!v2)
        {
            w.WriteStartObject("labels");
            w.WriteString("prefect.flow.id", r.FlowId.ToString());
            if (d is not null)
            {
                w.WriteString("prefect.deployment.id", d.Id.ToString());
            }

            w.WriteEndObject();
        }

        Id(w, "parent_task_run_id", r.ParentTaskRunId);
        w.WriteString("state_type", v.State.Type);
        w.WriteString("state_name", v.State.Name);
        w.WriteNumber("run_count", v.RunCount);
        Time(w, dialect, "expected_start_time", r.ExpectedStart);
        Time(w, dialect, "next_scheduled_start_time", v.State.Type == StateTypes.Scheduled ? v.State.ScheduledTime : null);
        Time(w, dialect, "start_time", v.StartTime);
        Time(w, dialect, "end_time", v.EndTime);
        Seconds(w, dialect, "total_run_time", v.TotalRunTime);
        Seconds(w, dialect, "estimated_run_time", v.EstimatedRunTime);
        var delta = v.StartTime is { } st ? st - r.ExpectedStart : now > r.ExpectedStart ? now - r.ExpectedStart : TimeSpan.Zero;
        Seconds(w, dialect, "estimated_start_time_delta", Math.Max(0, delta.TotalSeconds));
        w.WriteBoolean("auto_scheduled", r.AutoScheduled);
        w.WriteNull("infrastructure_document_id");
        String(w, "infrastructure_pid", v.InfrastructurePid);
        w.WriteNull("created_by");
        if (v2)
        {
            w.WriteNull("work_pool_id");
            w.WriteNull("work_pool_name");
        }

        w.WritePropertyName("state");
        State(w, dialect, v.State, r.Id, r.ParentTaskRunId);
        w.WriteStartObject("job_variables");
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void EmpiricalPolicy(Utf8JsonWriter w, PrefectDialect dialect, StoredFlowRun r, FlowRunView v)
    {
        var retries = r.Definition.Retries;
        w.WriteStartObject("empirical_policy");
        w.WriteNumber("max_retries", 0);
        Seconds(w, dialect, "retry_delay_seconds", 0);
        // The engine copies @flow(retries=...) onto the run as it starts.
        if (v.RunCount > 0)
        {
            w.WriteNumber("retries", retries);
            w.WriteNumber("retry_delay", retries > 0 ? (int)Math.Max(0, r.Step.TotalSeconds) : 0);
        }
        else
        {
            w.WriteNull("retries");
            w.WriteNull("retry_delay");
        }

        w.WriteStartArray("pause_keys");
        foreach (var key in v.PauseKeys)
        {
            w.WriteStringValue(key);
        }

        w.WriteEndArray();
        w.WriteBoolean("resuming", false);
        if (!dialect.IsV2)
        {
            String(w, "retry_type", v.RetryType);
        }

        w.WriteEndObject();
    }
}
