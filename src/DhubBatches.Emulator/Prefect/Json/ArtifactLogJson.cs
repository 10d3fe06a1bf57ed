using System.Text.Json;
using DhubBatches.Emulator.Prefect.Runs;
using static DhubBatches.Emulator.Prefect.Json.PrefectJsonWriter;

namespace DhubBatches.Emulator.Prefect.Json;

/// <summary><c>Artifact</c> and <c>Log</c> responses (the same shape in Prefect 2 and 3).</summary>
internal static class ArtifactLogJson
{
    public static void Artifact(Utf8JsonWriter w, PrefectDialect dialect, ArtifactRecord a)
    {
        w.WriteStartObject();
        w.WriteString("id", a.Id);
        Time(w, dialect, "created", a.At);
        Time(w, dialect, "updated", a.At);
        String(w, "key", a.Key);
        w.WriteString("type", a.Type);
        String(w, "description", a.Description);
        a.Data.Write(w, a.Id);
        w.WriteNull("metadata_");
        w.WriteString("flow_run_id", a.FlowRunId);
        Id(w, "task_run_id", a.TaskRunId);
        w.WriteEndObject();
    }

    public static void Log(Utf8JsonWriter w, PrefectDialect dialect, LogRecord l)
    {
        w.WriteStartObject();
        w.WriteString("id", l.Id);
        // Logs reach the server in batches a little after they are written.
        Time(w, dialect, "created", l.At + System.TimeSpan.FromMilliseconds(40));
        Time(w, dialect, "updated", l.At + System.TimeSpan.FromMilliseconds(40));
        w.WriteString("name", l.Name);
        w.WriteNumber("level", l.Level);
        w.WriteString("message", l.Message);
        Time(w, dialect, "timestamp", l.At);
        w.WriteString("flow_run_id", l.FlowRunId);
        Id(w, "task_run_id", l.TaskRunId);
        w.WriteEndObject();
    }
}
