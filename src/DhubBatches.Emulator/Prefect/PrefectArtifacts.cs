using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text.Json;

namespace DhubBatches.Emulator.Prefect;

/// <summary>An artifact linked to a flow run and task run (§8.2).</summary>
internal sealed record ArtifactView(Guid Id, DateTimeOffset Created, string? Key, string Type, string? Description, Action<Utf8JsonWriter> WriteData, Guid FlowRunId, Guid TaskRunId);

/// <summary>
/// The artifacts a flow run has produced by now (§8.2): per task run an <c>offsets</c> artifact every quarter
/// step as its offsets grow (several per task run; the newest by <c>created</c> holds the current offsets), and
/// a keyless <c>result</c> artifact per completed task. <c>data</c> is a JSON string as Prefect's SDK helpers
/// store it, or a JSON object for pipelines whose id starts with <c>object-data</c> (a raw <c>ArtifactCreate</c>).
/// </summary>
internal static class PrefectArtifacts
{
    public const string ObjectDataPrefix = "object-data";

    public static IEnumerable<ArtifactView> For(StoredFlowRun run, FlowRunView view)
    {
        var d = run.StepDuration;
        var key = PrefectJson.ArtifactKey(run.Pipeline);
        foreach (var task in view.Tasks)
        {
            for (var q = 1; q <= task.Quarters; q++)
            {
                var fraction = q / 4.0;
                // A microsecond per quarter keeps "newest by created" well defined even with a zero step duration.
                var created = task.Start + TimeSpan.FromTicks(Math.Max(d.Ticks * q / 4, q * 10L));
                var values = new List<(string, long)>();
                foreach (var (partition, total) in FlowRunLifecycle.Partitions)
                {
                    values.Add((partition, (long)Math.Floor(total * fraction)));
                }

                var objectData = run.ObjectData;
                yield return new ArtifactView(
                    FlowRunLifecycle.Derive(task.Id, 2000 + q),
                    created,
                    key,
                    "offsets",
                    $"Offsets of {task.Task} in {run.Pipeline}",
                    w =>
                    {
                        if (objectData)
                        {
                            w.WriteStartObject("data");
                            foreach (var (p, v) in values)
                            {
                                w.WriteNumber(p, v);
                            }

                            w.WriteEndObject();
                        }
                        else
                        {
                            // Python's json.dumps spelling: {"partition_0": 250, "partition_1": 125}
                            var parts = new List<string>();
                            foreach (var (p, v) in values)
                            {
                                parts.Add($"\"{p}\": {v.ToString(CultureInfo.InvariantCulture)}");
                            }

                            w.WriteString("data", "{" + string.Join(", ", parts) + "}");
                        }
                    },
                    run.Id,
                    task.Id);
            }

            if (task.ResultArtifact && task.End is { } end)
            {
                var storageKey = "/home/prefect/.prefect/storage/" + FlowRunLifecycle.Derive(task.Id, 3001).ToString("N");
                yield return new ArtifactView(
                    FlowRunLifecycle.Derive(task.Id, 3000),
                    end + TimeSpan.FromTicks(50),
                    null,
                    "result",
                    "Result of task run " + task.Task + "-0",
                    w => w.WriteString("data", storageKey),
                    run.Id,
                    task.Id);
            }
        }
    }

    public static void Write(Utf8JsonWriter w, ArtifactView a)
    {
        w.WriteStartObject();
        w.WriteString("id", a.Id);
        PrefectJson.WriteTime(w, "created", a.Created);
        PrefectJson.WriteTime(w, "updated", a.Created);
        if (a.Key is null)
        {
            w.WriteNull("key");
        }
        else
        {
            w.WriteString("key", a.Key);
        }

        w.WriteString("type", a.Type);
        if (a.Description is null)
        {
            w.WriteNull("description");
        }
        else
        {
            w.WriteString("description", a.Description);
        }

        a.WriteData(w);
        w.WriteStartObject("metadata_");
        w.WriteEndObject();
        w.WriteString("flow_run_id", a.FlowRunId);
        w.WriteString("task_run_id", a.TaskRunId);
        w.WriteEndObject();
    }
}
