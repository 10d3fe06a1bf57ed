using System;
using System.Collections.Generic;
using System.Text.Json;

namespace DhubBatches.Engine.Prefect;

/// <summary>
/// Offsets from the artifacts real flows write (docs/prefect.md, "Offsets"): type <c>offsets</c>, or key
/// <c>offsets</c> / <c>&lt;prefix&gt;-offsets</c> (Prefect's helpers can only write markdown and table artifacts, and keys
/// are global, so flows prefix them). The data may be an object of partition → integer, a JSON string holding one
/// (<c>create_markdown_artifact</c>), or a table — a list of such objects or of partition/offset rows
/// (<c>create_table_artifact</c>). Anything else (results, links, reports) is not offsets and is ignored.
/// </summary>
internal static class OffsetReader
{
    public static bool IsOffsets(PrefectArtifact artifact) =>
        string.Equals(artifact.Type, "offsets", StringComparison.OrdinalIgnoreCase)
        || (artifact.Key != null && (artifact.Key == "offsets" || artifact.Key.EndsWith("-offsets", StringComparison.Ordinal))
            && !IsOtherKind(artifact.Type));

    /// <summary>Kinds that never hold offsets, whatever their key: a task's result, a progress number, an image link.</summary>
    private static bool IsOtherKind(string? type) =>
        type != null && (type.Equals("result", StringComparison.OrdinalIgnoreCase) || type.Equals("progress", StringComparison.OrdinalIgnoreCase)
            || type.Equals("image", StringComparison.OrdinalIgnoreCase));

    /// <summary>The newest offsets artifact of each task run (by <c>created</c>): each write makes a new artifact.</summary>
    public static Dictionary<string, PrefectArtifact> NewestByTaskRun(IEnumerable<PrefectArtifact> artifacts)
    {
        var newest = new Dictionary<string, PrefectArtifact>(StringComparer.OrdinalIgnoreCase);
        foreach (var artifact in artifacts)
        {
            if (artifact.TaskRunId == null || !IsOffsets(artifact))
            {
                continue;
            }
            if (!newest.TryGetValue(artifact.TaskRunId, out var known) || (artifact.Created ?? default) > (known.Created ?? default))
            {
                newest[artifact.TaskRunId] = artifact;
            }
        }
        return newest;
    }

    /// <summary>
    /// Adds the partitions of <paramref name="data"/> to <paramref name="into"/> (a later one overwrites an earlier).
    /// A value that is not a whole number leaves only that partition out, named in <paramref name="skipped"/>.
    /// </summary>
    public static void Read(JsonElement data, Dictionary<string, long> into, List<string> order, List<string> skipped)
    {
        switch (data.ValueKind)
        {
            case JsonValueKind.Object:
                ReadObject(data, into, order, skipped);
                break;
            case JsonValueKind.Array:
                foreach (var row in data.EnumerateArray())
                {
                    if (row.ValueKind == JsonValueKind.Object)
                    {
                        ReadObject(row, into, order, skipped);
                    }
                }
                break;
            case JsonValueKind.String:
                if (Parse(data.GetString()!) is { } inner)
                {
                    using (inner)
                    {
                        if (inner.RootElement.ValueKind == JsonValueKind.Object || inner.RootElement.ValueKind == JsonValueKind.Array)
                        {
                            Read(inner.RootElement, into, order, skipped);
                        }
                    }
                }
                break;
        }
    }

    private static void ReadObject(JsonElement row, Dictionary<string, long> into, List<string> order, List<string> skipped)
    {
        // A table row of the form {"partition": "partition_0", "offset": 1000}.
        if (row.TryGetProperty("partition", out var partition) && partition.ValueKind == JsonValueKind.String
            && row.TryGetProperty("offset", out var offset))
        {
            Add(partition.GetString()!, offset, into, order, skipped);
            return;
        }
        foreach (var property in row.EnumerateObject())
        {
            Add(property.Name, property.Value, into, order, skipped);
        }
    }

    private static void Add(string partition, JsonElement value, Dictionary<string, long> into, List<string> order, List<string> skipped)
    {
        if (OffsetValues.WholeNumber(value) is { } number)
        {
            if (!into.ContainsKey(partition))
            {
                order.Add(partition);
            }
            into[partition] = number;
        }
        else
        {
            skipped.Add(partition + " (" + OffsetValues.WhyNot(value) + ")");
        }
    }

    /// <summary>JSON text, or markdown holding it in a fenced code block; null when there is none.</summary>
    private static JsonDocument? Parse(string text)
    {
        var trimmed = text.Trim();
        var fence = trimmed.IndexOf("```", StringComparison.Ordinal);
        if (fence >= 0)
        {
            var start = trimmed.IndexOf('\n', fence);
            var end = start < 0 ? -1 : trimmed.IndexOf("```", start, StringComparison.Ordinal);
            if (start >= 0 && end > start)
            {
                trimmed = trimmed.Substring(start + 1, end - start - 1).Trim();
            }
        }
        if (trimmed.Length == 0 || (trimmed[0] != '{' && trimmed[0] != '['))
        {
            return null;
        }
        try
        {
            return JsonDocument.Parse(trimmed);
        }
        catch (JsonException)
        {
            return null; // markdown that is not JSON: no offsets in it
        }
    }
}
