using System.Text.Json;
using DhubBatches.Emulator.Prefect.Store;
using static DhubBatches.Emulator.Prefect.Json.PrefectJsonWriter;

namespace DhubBatches.Emulator.Prefect.Json;

/// <summary>
/// A <c>Flow</c> (<c>src/prefect/server/schemas/core.py</c>): id, created, updated, name and tags (none here), plus
/// Prefect 3's <c>labels</c> (an empty object, the model's default).
/// </summary>
internal static class FlowJson
{
    public static void Write(Utf8JsonWriter w, PrefectDialect dialect, PrefectFlow flow)
    {
        w.WriteStartObject();
        w.WriteString("id", flow.Id);
        Time(w, dialect, "created", flow.Created);
        Time(w, dialect, "updated", flow.Created);
        w.WriteString("name", flow.Name);
        w.WriteStartArray("tags");
        w.WriteEndArray();
        if (!dialect.IsV2)
        {
            w.WriteStartObject("labels");
            w.WriteEndObject();
        }

        w.WriteEndObject();
    }
}
