using System;
using System.Text.Json;
using DhubBatches.Emulator.Prefect.Flows;
using DhubBatches.Emulator.Prefect.Store;
using static DhubBatches.Emulator.Prefect.Json.PrefectJsonWriter;

namespace DhubBatches.Emulator.Prefect.Json;

/// <summary>
/// <c>DeploymentResponse</c> (<c>src/prefect/server/schemas/responses.py</c>): Prefect 3's field set (work pool,
/// labels, concurrency limit), or the 2.16.8 one (<c>schedule</c>, <c>is_schedule_active</c>, <c>infra_overrides</c>,
/// <c>manifest_path</c>) as recorded. 2.16.8 fills <c>schedule</c> with the first of <c>schedules</c> and
/// <c>is_schedule_active</c> with <c>not paused</c> for clients that predate multiple schedules.
/// </summary>
internal static class DeploymentJson
{
    public static void Write(Utf8JsonWriter w, PrefectDialect dialect, PrefectDeployment d, int activeSlots, DateTimeOffset now)
    {
        var v2 = dialect.IsV2;
        var definition = d.Definition;
        var flowId = d.FlowId;
        w.WriteStartObject();
        w.WriteString("id", d.Id);
        Time(w, dialect, "created", d.Created);
        Time(w, dialect, "updated", d.Updated);
        w.WriteString("name", d.Name);
        w.WriteString("version", d.Version);
        String(w, "description", definition.Description);
        w.WriteString("flow_id", flowId);
        if (v2)
        {
            w.WritePropertyName("schedule");
            if (definition.Schedule is { } legacy)
            {
                Schedule(w, dialect, d, legacy);
            }
            else
            {
                w.WriteNullValue();
            }

            w.WriteBoolean("is_schedule_active", !definition.Paused);
        }

        w.WriteBoolean("paused", definition.Paused);
        w.WriteStartArray("schedules");
        if (definition.Schedule is { } schedule)
        {
            DeploymentSchedule(w, dialect, d, schedule);
        }

        w.WriteEndArray();
        if (v2)
        {
            w.WriteStartObject("infra_overrides");
            w.WriteEndObject();
        }
        else
        {
            Concurrency(w, dialect, d, activeSlots);
            w.WriteStartObject("job_variables");
            w.WriteEndObject();
        }

        w.WritePropertyName("parameters");
        RunFactory.DeploymentParameters(d).WriteTo(w);
        w.WriteStartArray("tags");
        foreach (var tag in RunFactory.DeploymentTags(d))
        {
            w.WriteStringValue(tag);
        }

        w.WriteEndArray();
        if (!v2)
        {
            w.WriteStartObject("labels");
            w.WriteString("prefect.flow.id", flowId.ToString());
            w.WriteEndObject();
        }

        String(w, "work_queue_name", v2 ? null : "default");
        if (!v2)
        {
            w.WriteString("work_queue_id", d.WorkQueueId);
        }

        Time(w, dialect, "last_polled", definition.Worker == WorkerBehaviour.Absent ? d.Created : now);
        w.WritePropertyName("parameter_openapi_schema");
        FlowParameters.Schema(definition, !v2).WriteTo(w);
        w.WriteString("path", ".");
        w.WriteNull("pull_steps");
        w.WriteString("entrypoint", d.IsPipeline ? "flows/pipeline.py:run_pipeline" : $"flows/{d.FlowName}.py:{d.FlowName.Replace('-', '_')}");
        if (v2)
        {
            w.WriteNull("manifest_path");
        }

        w.WriteNull("storage_document_id");
        w.WriteNull("infrastructure_document_id");
        w.WriteNull("created_by");
        w.WriteNull("updated_by");
        String(w, "work_pool_name", v2 ? null : FlowRunJson.WorkPoolName);
        // NOT_READY: no worker or runner has polled recently; runs can still be created.
        w.WriteString("status", definition.Worker == WorkerBehaviour.Absent ? "NOT_READY" : "READY");
        w.WriteBoolean("enforce_parameter_schema", Enforces(dialect, d));
        w.WriteEndObject();
    }

    public static bool Enforces(PrefectDialect dialect, PrefectDeployment d) =>
        d.Definition.EnforceParameterSchema ?? dialect.EnforcesParameterSchemaByDefault;

    private static void Concurrency(Utf8JsonWriter w, PrefectDialect dialect, PrefectDeployment d, int activeSlots)
    {
        if (d.Definition.ConcurrencyLimit is not { } limit)
        {
            w.WriteNull("concurrency_limit");
            w.WriteNull("global_concurrency_limit");
            w.WriteNull("concurrency_options");
            return;
        }

        w.WriteNumber("concurrency_limit", limit);
        w.WriteStartObject("global_concurrency_limit");
        w.WriteString("id", d.ConcurrencyLimitId);
        Time(w, dialect, "created", d.Created);
        Time(w, dialect, "updated", d.Created);
        w.WriteBoolean("active", true);
        w.WriteString("name", $"deployment:{d.Id}");
        w.WriteNumber("limit", limit);
        w.WriteNumber("active_slots", activeSlots);
        w.WriteNumber("slot_decay_per_second", 0.0);
        w.WriteEndObject();
        w.WriteStartObject("concurrency_options");
        w.WriteString("collision_strategy", "ENQUEUE");
        w.WriteEndObject();
    }

    private static void DeploymentSchedule(Utf8JsonWriter w, PrefectDialect dialect, PrefectDeployment d, ScheduleDefinition schedule)
    {
        w.WriteStartObject();
        w.WriteString("id", d.ScheduleId);
        Time(w, dialect, "created", d.Created);
        Time(w, dialect, "updated", d.Created);
        w.WriteString("deployment_id", d.Id);
        w.WritePropertyName("schedule");
        Schedule(w, dialect, d, schedule);
        w.WriteBoolean("active", schedule.Active);
        // 2.16.8's DeploymentSchedule ends at active (core.py); 3 adds these.
        if (!dialect.IsV2)
        {
            w.WriteNull("max_scheduled_runs");
            w.WriteStartObject("parameters");
            w.WriteEndObject();
            w.WriteNull("slug");
        }

        w.WriteEndObject();
    }

    /// <summary>
    /// The schedule as its model serialises (<c>schedules.py</c>): an interval's timezone is inferred from the
    /// anchor date, an rrule's defaults to "UTC", a cron's stays null unless given.
    /// </summary>
    private static void Schedule(Utf8JsonWriter w, PrefectDialect dialect, PrefectDeployment d, ScheduleDefinition schedule)
    {
        w.WriteStartObject();
        switch (schedule.Kind)
        {
            case ScheduleKind.Cron:
                w.WriteString("cron", schedule.Cron);
                String(w, "timezone", schedule.Timezone);
                w.WriteBoolean("day_or", schedule.DayOr);
                break;
            case ScheduleKind.RRule:
                w.WriteString("rrule", schedule.RRule);
                w.WriteString("timezone", schedule.Timezone ?? "UTC");
                break;
            default:
                w.WriteNumber("interval", schedule.Interval.TotalSeconds);
                Time(w, dialect, "anchor_date", d.Created);
                w.WriteString("timezone", schedule.Timezone ?? "UTC");
                break;
        }

        w.WriteEndObject();
    }
}
