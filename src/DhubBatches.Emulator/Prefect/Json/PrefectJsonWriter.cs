using System;
using System.Text.Json;
using DhubBatches.Emulator.Prefect.Runs;

namespace DhubBatches.Emulator.Prefect.Json;

/// <summary>Small writing helpers shared by the Prefect response writers: nulls, times and numbers as each version spells them.</summary>
internal static class PrefectJsonWriter
{
    public static void String(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }

    public static void Id(Utf8JsonWriter w, string name, Guid? value)
    {
        if (value is { } id)
        {
            w.WriteString(name, id);
        }
        else
        {
            w.WriteNull(name);
        }
    }

    public static void Time(Utf8JsonWriter w, PrefectDialect dialect, string name, DateTimeOffset? value)
    {
        if (value is { } t)
        {
            Span<char> chars = stackalloc char[PrefectDialect.MaxTimeLength];
            w.WriteString(name, chars[..dialect.FormatTime(t, chars)]);
        }
        else
        {
            w.WriteNull(name);
        }
    }

    /// <summary>Seconds as float (Prefect 3 serialises timedeltas as floats); Prefect 2's samples show whole numbers without a fraction.</summary>
    public static void Seconds(Utf8JsonWriter w, PrefectDialect dialect, string name, double seconds)
    {
        var rounded = Math.Round(seconds, 6);
        if (dialect.IsV2 && rounded == Math.Floor(rounded))
        {
            w.WriteNumber(name, (long)rounded);
        }
        else
        {
            w.WriteNumber(name, rounded);
        }
    }

    /// <summary>A state object with <c>state_details</c> (Prefect 2 lacks <c>deferred</c>, <c>traceparent</c> and the lease id).</summary>
    public static void State(Utf8JsonWriter w, PrefectDialect dialect, RunState s, Guid flowRunId, Guid? taskRunId)
    {
        w.WriteStartObject();
        w.WriteString("id", s.Id);
        w.WriteString("type", s.Type);
        w.WriteString("name", s.Name);
        Time(w, dialect, "timestamp", s.At);
        String(w, "message", s.Message);
        StateData(w, dialect, s);
        w.WriteStartObject("state_details");
        w.WriteString("flow_run_id", flowRunId);
        Id(w, "task_run_id", taskRunId);
        Id(w, "child_flow_run_id", s.ChildFlowRunId);
        Time(w, dialect, "scheduled_time", s.ScheduledTime);
        w.WriteNull("cache_key");
        w.WriteNull("cache_expiration");
        if (!dialect.IsV2)
        {
            w.WriteBoolean("deferred", false);
        }

        w.WriteBoolean("untrackable_result", false);
        Time(w, dialect, "pause_timeout", s.PauseTimeout);
        w.WriteBoolean("pause_reschedule", s.PauseReschedule);
        String(w, "pause_key", s.PauseKey);
        w.WriteNull("run_input_keyset");
        w.WriteNull("refresh_cache");
        if (s.Retriable is { } retriable)
        {
            w.WriteBoolean("retriable", retriable);
        }
        else
        {
            w.WriteNull("retriable");
        }

        String(w, "transition_id", s.TransitionId);
        w.WriteNull("task_parameters_id");
        if (!dialect.IsV2)
        {
            w.WriteNull("traceparent");
            w.WriteNull("deployment_concurrency_lease_id");
        }

        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary><c>state.data</c>: Prefect 2 marks unpersisted results; a persisted result is a reference to storage.</summary>
    private static void StateData(Utf8JsonWriter w, PrefectDialect dialect, RunState s)
    {
        switch (s.Result)
        {
            case ResultKind.Unpersisted:
                w.WriteStartObject("data");
                w.WriteString("type", "unpersisted");
                w.WriteEndObject();
                break;
            case ResultKind.Persisted when dialect.IsV2:
                w.WriteStartObject("data");
                w.WriteString("type", "reference");
                w.WriteString("serializer_type", "pickle");
                w.WriteString("storage_key", s.Id.ToString("N"));
                w.WriteNull("storage_block_id");
                w.WriteEndObject();
                break;
            case ResultKind.Persisted:
                w.WriteStartObject("data");
                w.WriteString("storage_key", "/home/prefect/.prefect/storage/" + s.Id.ToString("N"));
                w.WriteNull("expiration");
                w.WriteStartObject("serializer");
                w.WriteString("type", "pickle");
                w.WriteEndObject();
                w.WriteString("prefect_version", dialect.ServerVersion);
                w.WriteNull("storage_block_id");
                w.WriteEndObject();
                break;
            default:
                w.WriteNull("data");
                break;
        }
    }
}
