using System;
using System.Collections.Generic;
using System.Linq;
using DhubBatches.Contract;

namespace DhubBatches.Engine.Prefect;

/// <summary>A Prefect flow run with its task runs and artifacts → <see cref="BatchSnapshot"/> (docs/prefect.md, "Mapping a flow run to a Batch").</summary>
internal static class PrefectMapper
{
    public static BatchSnapshot ToSnapshot(
        string pipelineId,
        string flowName,
        PrefectFlowRun run,
        IReadOnlyCollection<PrefectTaskRun> taskRuns,
        IReadOnlyCollection<PrefectArtifact> artifacts,
        IReadOnlyList<string>? readWarnings = null,
        StepTemplate? template = null)
    {
        RequireId(run);
        var skipped = new List<string>();
        var assembled = StepAssembler.Assemble(run, taskRuns, OffsetReader.NewestByTaskRun(artifacts), skipped);
        // Steps the flow has not called yet (or never will, after a failure) come from the deployment's expected steps.
        var steps = template == null ? assembled.Select(s => s.Step).ToList() : template.Merge(assembled);
        var warnings = new List<string>();
        if (readWarnings != null)
        {
            warnings.AddRange(readWarnings);
        }
        if (skipped.Count > 0)
        {
            warnings.Add(OffsetValues.Warning(pipelineId, run.Id!, skipped));
        }
        var snapshot = Run(pipelineId, flowName, run, steps.Any(s => s.State == StepState.Failed));
        snapshot.Steps = steps;
        snapshot.Warnings = warnings;
        return snapshot;
    }

    /// <summary>
    /// A run read without its task runs (-NoSteps): no steps, and the outcome from the state type alone (a COMPLETED run
    /// succeeded, as far as the run itself can tell).
    /// </summary>
    public static BatchSnapshot WithoutSteps(string pipelineId, string flowName, PrefectFlowRun run)
    {
        RequireId(run);
        var snapshot = Run(pipelineId, flowName, run, aStepFailed: false);
        snapshot.StepsRead = false;
        return snapshot;
    }

    private static void RequireId(PrefectFlowRun run)
    {
        if (string.IsNullOrEmpty(run.Id))
        {
            throw new System.Text.Json.JsonException("a flow run has no 'id'");
        }
    }

    /// <summary>What the flow run itself tells, steps aside; a listing of 100,000 runs makes one of these per run.</summary>
    private static BatchSnapshot Run(string pipelineId, string flowName, PrefectFlowRun run, bool aStepFailed)
    {
        var type = run.Type;
        // A deleted deployment's name went with it: its runs have none.
        var deleted = DeletedDeployment.TryParse(pipelineId, out _);
        return new BatchSnapshot(pipelineId, run.Id!)
        {
            Name = deleted ? null : pipelineId,
            Deployment = deleted ? null : flowName + "/" + pipelineId,
            State = ToBatchState(type),
            EngineState = EngineState(type, run.TypeName),
            StartTime = run.StartTime,
            EndTime = run.EndTime,
            Attempt = run.RunCount,
            Outcome = type switch
            {
                "COMPLETED" => aStepFailed ? BatchOutcome.Failed : BatchOutcome.Succeeded,
                "FAILED" or "CRASHED" => BatchOutcome.Failed,
                "CANCELLED" => BatchOutcome.Stopped,
                _ => BatchOutcome.InProgress,
            },
            // Complete when Prefect says the run is terminal, not when its listed tasks happen to be done.
            IsComplete = IsTerminal(type),
            ChangeToken = ChangeToken(run),
        };
    }

    /// <summary>What changes whenever the run does: its state, attempt and update time.</summary>
    public static string ChangeToken(PrefectFlowRun run) =>
        $"{run.StateId}|{run.Type}|{run.TypeName}|{run.RunCount}|{run.Updated?.UtcTicks}";

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

    /// <summary>The Prefect state types a BatchState stands for (Unknown stands for none the server can name).</summary>
    public static IEnumerable<string> StateTypesOf(BatchState state) => state switch
    {
        BatchState.Scheduled => new[] { "SCHEDULED" },
        BatchState.Pending => new[] { "PENDING", "PAUSED" },
        BatchState.Running => new[] { "RUNNING", "CANCELLING" },
        BatchState.Stop => new[] { "COMPLETED", "FAILED", "CRASHED", "CANCELLED" },
        _ => Array.Empty<string>(),
    };

    public static StepState ToStepState(string? stateType) => stateType switch
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
}
