using System.Buffers;
using System.Text;
using System.Text.Json;

namespace DhubBatches.Emulator.Dhub;

/// <summary>The batch document exactly as the seed shows it: id, name, deployment, state{state, steps}.</summary>
internal static class BatchJson
{
    public static void Write(Utf8JsonWriter writer, StoredBatch batch, BatchView view)
    {
        writer.WriteStartObject();
        writer.WriteString("id", batch.Id);
        writer.WriteString("name", batch.PipelineId);
        writer.WriteString("deployment", "run-pipeline/" + batch.PipelineId);
        writer.WriteStartObject("state");
        writer.WriteString("state", view.State);
        writer.WriteStartObject("steps");
        foreach (var step in view.Steps)
        {
            writer.WriteStartObject(step.Name);
            writer.WriteString("state", step.State);
            writer.WriteStartObject("offsets");
            foreach (var (partition, offset) in step.Offsets())
            {
                writer.WriteNumber(partition, offset);
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    /// <summary>The batch serialized to a string, for the list endpoint's items-as-strings quirk.</summary>
    public static string ToJsonString(StoredBatch batch, BatchView view)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(buffer, Hosting.JsonResponse.WriterOptions))
        {
            Write(writer, batch, view);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
