using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;

namespace DhubBatches.Emulator.Prefect.Flows;

/// <summary>
/// The flow definitions a pipeline gets from its name alone, so tests and the demo only have to name a pipeline
/// (<c>retry-orders</c> retries, <c>mapped-x</c> maps, ...). Any other name runs the default extract → transform → load.
/// </summary>
public static class BuiltInFlows
{
    /// <summary>One pipeline per built-in behaviour, registered at start-up next to the classic four.</summary>
    public static readonly IReadOnlyList<string> SamplePipelines = new[]
    {
        "retry-pipeline", "mapped-pipeline", "subflow-pipeline", "scheduled-pipeline", "late-pipeline", "paused-pipeline",
        "suspend-pipeline", "limited-pipeline", "crash-pipeline", "stuck-pipeline", "strict-pipeline", "open-pipeline", "kwargs-pipeline",
        "table-pipeline", "keyed-pipeline", "object-data-pipeline", "sequential-pipeline", "served-pipeline",
    };

    /// <summary>What the flows declare, in signature order, exactly as the recorded <c>deployment.json</c> shows them.</summary>
    public static IReadOnlyList<ParameterDefinition> StrictParameters(string pipeline) => new[]
    {
        new ParameterDefinition("pipeline_id", "string", JsonValue.Create(pipeline)),
        new ParameterDefinition("partitions", "integer", JsonValue.Create(2)),
        new ParameterDefinition("sleep_seconds", "number", JsonValue.Create(1)),
    };

    /// <summary>The strict parameters plus <c>pipeline_version</c>, which every other built-in declares.</summary>
    public static IReadOnlyList<ParameterDefinition> StandardParameters(string pipeline) =>
        StrictParameters(pipeline).Append(new ParameterDefinition("pipeline_version", "string", JsonValue.Create(string.Empty))).ToArray();

    /// <summary>The definition a pipeline runs when none was registered for it.</summary>
    /// <param name="pipeline">Pipeline (deployment) name.</param>
    /// <param name="failingPrefix">The emulator's failing-pipeline prefix (shared with the dhub side).</param>
    public static FlowDefinition For(string pipeline, string failingPrefix = "failing")
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        var standard = new FlowDefinition
        {
            Tasks = Tasks("extract", "transform", "load"),
            Parameters = StandardParameters(pipeline),
            ReportLink = true,
        };

        bool Is(string prefix) => pipeline.StartsWith(prefix, StringComparison.Ordinal);

        if (Is("object-data"))
        {
            return standard with { ReportLink = false, Offsets = new OffsetsArtifact { Form = OffsetsForm.Object } };
        }

        if (failingPrefix.Length > 0 && Is(failingPrefix))
        {
            return standard with { ReportLink = false, Tasks = WithTransform(t => t with { FailsAlways = true }) };
        }

        if (Is("retry"))
        {
            return standard with { ReportLink = false, Retries = 1, Tasks = WithTransform(t => t with { FailsOnAttempts = new[] { 1 } }) };
        }

        if (Is("mapped"))
        {
            return standard with { ReportLink = false, Tasks = WithTransform(t => t with { Map = 3 }) };
        }

        if (Is("subflow"))
        {
            return standard with
            {
                ReportLink = false,
                Tasks = new[] { new TaskDefinition { Name = "extract" }, new TaskDefinition { Name = "publish", Subflow = new[] { "upload" } } },
            };
        }

        if (Is("scheduled"))
        {
            return standard with { ReportLink = false, Schedule = new ScheduleDefinition(TimeSpan.FromHours(1)) };
        }

        if (Is("late"))
        {
            return standard with { ReportLink = false, Worker = WorkerBehaviour.Absent };
        }

        if (Is("paused"))
        {
            return standard with { ReportLink = false, Pause = new PauseDefinition("extract") };
        }

        if (Is("suspend"))
        {
            return standard with { ReportLink = false, Pause = new PauseDefinition("extract", Suspend: true) };
        }

        if (Is("limited"))
        {
            return standard with { ReportLink = false, ConcurrencyLimit = 1 };
        }

        if (Is("crash"))
        {
            return standard with { ReportLink = false, Tasks = WithTransform(t => t with { Crashes = true }) };
        }

        if (Is("stuck"))
        {
            return standard with { ReportLink = false, Tasks = WithTransform(t => t with { Hangs = true }) };
        }

        if (Is("sequential") || Is("served"))
        {
            // The recorded real flow: extract(), transform(), load() called in order, transform raising when fail=True;
            // "served" is that flow under flow.serve(), whose runner leaves a cancelled run CANCELLING.
            return standard with
            {
                ReportLink = false,
                CallsInOrder = true,
                CancelStaysCancelling = Is("served"),
                Parameters = StandardParameters(pipeline).Append(new ParameterDefinition("fail", "boolean", JsonValue.Create(false))).ToArray(),
                Tasks = WithTransform(t => t with { FailsWhen = "fail" }),
            };
        }

        if (Is("strict"))
        {
            return standard with { ReportLink = false, Parameters = StrictParameters(pipeline) };
        }

        if (Is("open"))
        {
            // A schema that allows other keys (written by hand: Prefect's generator never does), on a flow that takes them.
            return standard with { ReportLink = false, OpenSchema = true };
        }

        if (Is("kwargs"))
        {
            // Prefect lists **kwargs as a required, untyped "kwargs" property; schema enforcement would then demand a
            // "kwargs" parameter, so a deployment of such a flow only works with enforcement off (see docs/emulator.md).
            return standard with { ReportLink = false, AcceptsKwargs = true, EnforceParameterSchema = false };
        }

        if (Is("table"))
        {
            return standard with { ReportLink = false, Offsets = new OffsetsArtifact { Form = OffsetsForm.Table } };
        }

        if (Is("keyed"))
        {
            return standard with { ReportLink = false, Offsets = new OffsetsArtifact { Key = "{pipeline}-offsets" } };
        }

        return standard;
    }

    private static TaskDefinition[] Tasks(params string[] names) => names.Select(n => new TaskDefinition { Name = n }).ToArray();

    private static TaskDefinition[] WithTransform(Func<TaskDefinition, TaskDefinition> change) =>
        Tasks("extract", "transform", "load").Select(t => t.Name == "transform" ? change(t) : t).ToArray();
}
