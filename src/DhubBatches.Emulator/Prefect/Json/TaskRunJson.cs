using System;
using System.Text.Json;
using DhubBatches.Emulator.Prefect.Runs;
using static DhubBatches.Emulator.Prefect.Json.PrefectJsonWriter;

namespace DhubBatches.Emulator.Prefect.Json;

/// <summary><c>TaskRun</c> as each version writes it (Prefect 2 without <c>labels</c>, as in the recorded 2.16.8 answers).</summary>
internal static class TaskRunJson
{
    public static void Write(Utf8JsonWriter w, PrefectDialect dialect, Guid flowRunId, TaskRunView v, DateTimeOffset now)
    {
        var t = v.Track;
        w.WriteStartObject();
        w.WriteString("id", t.Id);
        Time(w, dialect, "created", t.Created);
        Time(w, dialect, "updated", v.State.At);
        w.WriteString("name", v.Name);
        w.WriteString("flow_run_id", flowRunId);
        w.WriteString("task_key", t.TaskKey);
        w.WriteString("dynamic_key", t.DynamicKey);
        w.WriteNull("cache_key");
        w.WriteNull("cache_expiration");
        w.WriteNull("task_version");
        w.WriteStartObject("empirical_policy");
        w.WriteNumber("max_retries", 0);
        Seconds(w, dialect, "retry_delay_seconds", 0);
        w.WriteNumber("retries", 0);
        w.WriteNumber("retry_delay", 0);
        w.WriteNull("retry_jitter_factor");
        w.WriteEndObject();
        w.WriteStartArray("tags");
        w.WriteEndArray();
        if (!dialect.IsV2)
        {
            w.WriteStartObject("labels");
            w.WriteEndObject();
        }

        w.WriteString("state_id", v.State.Id);
        TaskInputs(w, t);
        w.WriteString("state_type", v.State.Type);
        w.WriteString("state_name", v.State.Name);
        w.WriteNumber("run_count", v.RunCount);
        w.WriteNumber("flow_run_run_count", v.FlowRunRunCount);
        Time(w, dialect, "expected_start_time", t.Created);
        w.WriteNull("next_scheduled_start_time");
        Time(w, dialect, "start_time", v.StartTime);
        Time(w, dialect, "end_time", v.EndTime);
        Seconds(w, dialect, "total_run_time", v.TotalRunTime);
        Seconds(w, dialect, "estimated_run_time", v.EstimatedRunTime);
        var delta = v.StartTime is { } start ? start - t.Created : TimeSpan.Zero;
        Seconds(w, dialect, "estimated_start_time_delta", Math.Max(0, delta.TotalSeconds));
        w.WritePropertyName("state");
        State(w, dialect, v.State, flowRunId, t.Id);
        w.WriteEndObject();
    }

    /// <summary><c>task_inputs</c>: upstream task runs the call waited on, then the task's own (constant) parameters.</summary>
    private static void TaskInputs(Utf8JsonWriter w, TaskRunTrack t)
    {
        w.WriteStartObject("task_inputs");
        if (t.ChildFlowRunId is null)
        {
            if (t.Upstream.Count > 0)
            {
                w.WriteStartArray("upstream");
                foreach (var id in t.Upstream)
                {
                    w.WriteStartObject();
                    w.WriteString("input_type", "task_run");
                    w.WriteString("id", id);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
            }

            w.WriteStartArray(t.MapIndex is null ? "partitions" : "partition");
            w.WriteEndArray();
        }

        w.WriteEndObject();
    }
}
