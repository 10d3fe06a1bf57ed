using System;
using System.Collections.Generic;
using System.Text.Json;
using DhubBatches.Emulator.Prefect.Flows;

namespace DhubBatches.Emulator.Prefect.Runs;

/// <summary>How an artifact's <c>data</c> is written.</summary>
internal enum ArtifactDataKind
{
    /// <summary>A plain string (a link's URL).</summary>
    Text,

    /// <summary><c>create_markdown_artifact(markdown=json.dumps(offsets))</c>: the offsets as a JSON string.</summary>
    OffsetsMarkdown,

    /// <summary><c>create_table_artifact(table=[offsets])</c>: a JSON string of a list with one object.</summary>
    OffsetsTable,

    /// <summary>A raw <c>POST /artifacts/</c> with the offsets object itself in <c>data</c>.</summary>
    OffsetsObject,

    /// <summary>A task result's storage path, named after the artifact.</summary>
    ResultStorage,
}

/// <summary>
/// An artifact's data as facts rather than JSON: a script holds a dozen artifacts per task run and most are never
/// read, so their JSON (and the offsets' text) is only produced when one is written out.
/// </summary>
internal readonly record struct ArtifactData(ArtifactDataKind Kind, string? Text = null,
    IReadOnlyList<(string Partition, long Total)>? Partitions = null, int Quarter = 0, int? MapIndex = null)
{
    /// <summary>Where the result files of the simulated process live.</summary>
    public const string StorageRoot = "/home/prefect/.prefect/storage/";

    public static ArtifactData Offsets(OffsetsForm form, IReadOnlyList<(string Partition, long Total)> partitions, int quarter, int? mapIndex) =>
        new(form switch
        {
            OffsetsForm.Table => ArtifactDataKind.OffsetsTable,
            OffsetsForm.Object => ArtifactDataKind.OffsetsObject,
            _ => ArtifactDataKind.OffsetsMarkdown,
        }, Partitions: partitions, Quarter: quarter, MapIndex: mapIndex);

    /// <summary>
    /// The offsets reached after <see cref="Quarter"/> quarters of the task's step: every partition, or only its
    /// own for a mapped task run.
    /// </summary>
    public (string Partition, long Offset)[] OffsetValues()
    {
        var partitions = Partitions ?? Array.Empty<(string, long)>();
        var values = new (string, long)[MapIndex is null ? partitions.Count : 1];
        for (var i = 0; i < values.Length; i++)
        {
            var (partition, total) = partitions[MapIndex ?? i];
            values[i] = (partition, total * Quarter / 4);
        }

        return values;
    }

    public void Write(Utf8JsonWriter w, Guid artifactId)
    {
        switch (Kind)
        {
            case ArtifactDataKind.OffsetsObject:
                w.WriteStartObject("data");
                foreach (var (partition, offset) in OffsetValues())
                {
                    w.WriteNumber(partition, offset);
                }

                w.WriteEndObject();
                break;
            case ArtifactDataKind.OffsetsTable:
                w.WriteString("data", "[" + PythonText.JsonDumps(OffsetValues()) + "]");
                break;
            case ArtifactDataKind.OffsetsMarkdown:
                w.WriteString("data", PythonText.JsonDumps(OffsetValues()));
                break;
            case ArtifactDataKind.ResultStorage:
                w.WriteString("data", StorageRoot + artifactId.ToString("N"));
                break;
            default:
                w.WriteString("data", Text);
                break;
        }
    }
}
