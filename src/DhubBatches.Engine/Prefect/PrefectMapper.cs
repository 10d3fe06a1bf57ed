using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;

namespace DhubBatches.Engine.Prefect;

/// <summary>Prefect flow runs, task runs and artifacts → <see cref="Batch"/> (interface.md "Prefect mapping").</summary>
internal static class PrefectMapper
{
    public static Batch ToBatch(
        string pipelineId,
        string flowName,
        PrefectFlowRun run,
        IEnumerable<PrefectTaskRun> taskRuns,
        IEnumerable<PrefectArtifact> artifacts)
    {
        if (string.IsNullOrEmpty(run.Id))
        {
            throw new JsonException("a flow run has no 'id'");
        }
        var stateType = (run.StateType ?? run.State?.Type)?.ToUpperInvariant();
        var stateName = run.StateName ?? run.State?.Name;
        var steps = Steps(pipelineId, run, taskRuns, artifacts);
        var batch = new Batch(pipelineId, run.Id!, BackendKind.Prefect)
        {
            Name = pipelineId,
            Deployment = flowName + "/" + pipelineId,
            State = ToBatchState(stateType),
            EngineState = EngineState(stateType, stateName),
            StartTime = run.StartTime,
            EndTime = run.EndTime,
            Steps = new BatchStepList(steps),
        };
        batch.EngineOutcome = stateType switch
        {
            "COMPLETED" => steps.Any(s => s.State == StepState.Failed) ? BatchOutcome.Failed : BatchOutcome.Succeeded,
            "FAILED" or "CRASHED" => BatchOutcome.Failed,
            "CANCELLED" => BatchOutcome.Stopped,
            _ => BatchOutcome.InProgress,
        };
        // A flow run is complete when Prefect says it is terminal (§11), not when its listed tasks happen to be done.
        batch.EngineIsComplete = IsTerminal(stateType);
        return batch;
    }

    public static bool IsTerminal(string? stateType) =>
        stateType is "COMPLETED" or "FAILED" or "CRASHED" or "CANCELLED";

    public static BatchState ToBatchState(string? stateType) => stateType switch
    {
        "SCHEDULED" => BatchState.Scheduled,
        "PENDING" or "PAUSED" => BatchState.Pending,
        "RUNNING" or "CANCELLING" => BatchState.Running,
        "COMPLETED" or "FAILED" or "CRASHED" or "CANCELLED" => BatchState.Stop,
        _ => BatchState.Unknown,
    };

    public static StepState ToStepState(string? stateType) => stateType?.ToUpperInvariant() switch
    {
        "SCHEDULED" or "PENDING" or "PAUSED" => StepState.Pending,
        "RUNNING" or "CANCELLING" => StepState.Running,
        "COMPLETED" => StepState.Success,
        "FAILED" or "CRASHED" or "CANCELLED" => StepState.Failed,
        _ => StepState.Unknown,
    };

    /// <summary><c>SCHEDULED</c>, or <c>SCHEDULED/Late</c> when the name says more than the type.</summary>
    public static string? EngineState(string? stateType, string? stateName)
    {
        if (stateType == null)
        {
            return stateName;
        }
        return string.IsNullOrEmpty(stateName) || string.Equals(stateType, stateName, StringComparison.OrdinalIgnoreCase)
            ? stateType
            : stateType + "/" + stateName;
    }

    /// <summary>
    /// Task runs of the run's current attempt, ordered by expected start; named without their trailing
    /// <c>-&lt;dynamic_key&gt;</c>; task runs sharing a name form one step; offsets from the newest
    /// <c>offsets</c> artifact of each task run.
    /// </summary>
    private static List<BatchStep> Steps(string pipelineId, PrefectFlowRun run, IEnumerable<PrefectTaskRun> taskRuns, IEnumerable<PrefectArtifact> artifacts)
    {
        var newestOffsets = new Dictionary<string, PrefectArtifact>(StringComparer.Ordinal);
        foreach (var artifact in artifacts)
        {
            if (artifact.TaskRunId == null || !string.Equals(artifact.Type, "offsets", StringComparison.OrdinalIgnoreCase))
            {
                continue; // results and other artifact types are not offsets
            }
            if (!newestOffsets.TryGetValue(artifact.TaskRunId, out var known) || (artifact.Created ?? default) > (known.Created ?? default))
            {
                newestOffsets[artifact.TaskRunId] = artifact;
            }
        }

        var groups = new List<(string Name, List<PrefectTaskRun> Runs)>();
        var byName = new Dictionary<string, List<PrefectTaskRun>>(StringComparer.Ordinal);
        var current = taskRuns
            .Where(t => t.FlowRunRunCount == run.RunCount || run.RunCount == 0)
            .OrderBy(t => t.ExpectedStartTime ?? DateTimeOffset.MaxValue);
        foreach (var taskRun in current)
        {
            var name = StepName(taskRun);
            if (!byName.TryGetValue(name, out var list))
            {
                list = new List<PrefectTaskRun>();
                byName[name] = list;
                groups.Add((name, list));
            }
            list.Add(taskRun);
        }

        var steps = new List<BatchStep>(groups.Count);
        foreach (var (name, runs) in groups)
        {
            var offsets = new OffsetMap();
            foreach (var taskRun in runs)
            {
                if (taskRun.Id != null && newestOffsets.TryGetValue(taskRun.Id, out var artifact))
                {
                    ReadOffsets(artifact.Data, offsets);
                }
            }
            steps.Add(new BatchStep(pipelineId, run.Id!, name, GroupState(runs.Select(r => ToStepState(r.StateType)).ToList()), offsets));
        }
        return steps;
    }

    private static string StepName(PrefectTaskRun taskRun)
    {
        var name = taskRun.Name ?? string.Empty;
        var suffix = "-" + taskRun.DynamicKey;
        return taskRun.DynamicKey != null && name.Length > suffix.Length && name.EndsWith(suffix, StringComparison.Ordinal)
            ? name.Substring(0, name.Length - suffix.Length)
            : name;
    }

    /// <summary>Failed if any failed, else Running if any runs, else Pending if any is unfinished, else Success.</summary>
    private static StepState GroupState(IReadOnlyCollection<StepState> states)
    {
        if (states.Contains(StepState.Failed))
        {
            return StepState.Failed;
        }
        if (states.Contains(StepState.Running))
        {
            return StepState.Running;
        }
        if (states.Any(s => s == StepState.Pending || s == StepState.None))
        {
            return StepState.Pending;
        }
        return states.All(s => s == StepState.Success) ? StepState.Success : StepState.Unknown;
    }

    /// <summary><c>data</c> is an object of partition → integer, or a JSON string holding one (§8.2).</summary>
    internal static void ReadOffsets(JsonElement data, OffsetMap into)
    {
        if (data.ValueKind == JsonValueKind.String)
        {
            try
            {
                using var inner = JsonDocument.Parse(data.GetString()!);
                ReadOffsets(inner.RootElement, into);
            }
            catch (JsonException)
            {
                // a string artifact that is not JSON (markdown, a link): no offsets in it
            }
            return;
        }
        if (data.ValueKind != JsonValueKind.Object)
        {
            return;
        }
        foreach (var property in data.EnumerateObject())
        {
            if (property.Value.ValueKind != JsonValueKind.Number)
            {
                continue;
            }
            into[property.Name] = property.Value.TryGetInt64(out var whole) ? whole : (long)property.Value.GetDouble();
        }
    }
}
