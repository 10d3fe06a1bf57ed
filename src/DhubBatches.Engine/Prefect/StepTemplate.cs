using System;
using System.Collections.Generic;
using System.Linq;
using DhubBatches.Contract;

namespace DhubBatches.Engine.Prefect;

/// <summary>
/// The steps a deployment's runs are expected to have, in order: those of its latest run that completed. Prefect makes a
/// task run only when the flow calls the task, so a running batch has none yet for its later steps, and a flow that
/// stopped at a failure has none for the steps after it (docs/prefect.md, "Steps that have no task run yet").
/// </summary>
internal sealed class StepTemplate
{
    private static readonly IReadOnlyCollection<string> s_noNames = Array.Empty<string>();

    private static readonly IReadOnlyDictionary<string, PrefectArtifact> s_noOffsets = new Dictionary<string, PrefectArtifact>();

    public StepTemplate(IReadOnlyList<(string Name, IReadOnlyCollection<string> TaskKeys)> steps, DateTimeOffset? sourceStart,
        IReadOnlyCollection<string>? tried = null, DateTimeOffset? retryAfter = null)
    {
        Steps = steps;
        SourceStart = sourceStart;
        Tried = tried ?? s_noNames;
        RetryAfter = retryAfter;
    }

    /// <summary>No completed run to learn from (or the read failed): batches show the steps they have.</summary>
    public static StepTemplate Empty(IReadOnlyCollection<string>? tried, DateTimeOffset? retryAfter = null) =>
        new StepTemplate(Array.Empty<(string, IReadOnlyCollection<string>)>(), null, tried, retryAfter);

    /// <summary>The steps of a completed run, assembled by the same rules as any batch's (its own attempt, grouping, order).</summary>
    public static StepTemplate From(string runId, DateTimeOffset? runStart, IReadOnlyCollection<PrefectTaskRun> taskRuns, IReadOnlyCollection<string>? tried)
    {
        var run = new PrefectFlowRun { Id = runId, RunCount = taskRuns.Count == 0 ? 0 : taskRuns.Max(t => t.FlowRunRunCount) };
        var steps = StepAssembler.Assemble(run, taskRuns, s_noOffsets, new List<string>()).Select(s => (s.Step.Name, s.TaskKeys)).ToList();
        return new StepTemplate(steps, runStart, tried);
    }

    /// <summary>Name and task keys of each expected step, in the completed run's order; empty when no run has completed.</summary>
    public IReadOnlyList<(string Name, IReadOnlyCollection<string> TaskKeys)> Steps { get; }

    /// <summary>When the source run was expected to start (or, read from the server, its newest task run): a newer completed run may replace it.</summary>
    public DateTimeOffset? SourceStart { get; }

    /// <summary>Step names this template was already re-read for: a name that is still unknown afterwards does not cost another read.</summary>
    public IReadOnlyCollection<string> Tried { get; }

    /// <summary>Set when there were no steps to learn (no completed run, or the read failed): read again after this time.</summary>
    public DateTimeOffset? RetryAfter { get; }

    /// <summary>Whether the task run is one of an expected step, by its step name or its task key.</summary>
    public bool Knows(PrefectTaskRun taskRun)
    {
        var name = StepAssembler.StepName(taskRun);
        return Steps.Any(s => string.Equals(s.Name, name, StringComparison.Ordinal) || (taskRun.TaskKey != null && s.TaskKeys.Contains(taskRun.TaskKey)));
    }

    /// <summary>
    /// The run's steps with every expected step it has no task run for added as Pending, placed after the expected step
    /// before it (or before the one after it): the run's order for what it has, the template's for the rest.
    /// </summary>
    public List<StepSnapshot> Merge(IReadOnlyList<AssembledStep> actual)
    {
        var result = actual.Select(a => a.Step).ToList();
        if (Steps.Count == 0)
        {
            return result;
        }
        // What stands for each expected step in the result: the run's own step, or the Pending one added for it.
        var placed = new StepSnapshot?[Steps.Count];
        for (var i = 0; i < Steps.Count; i++)
        {
            placed[i] = actual.FirstOrDefault(a => Matches(Steps[i], a))?.Step;
        }
        if (placed.All(p => p != null))
        {
            return result;
        }
        for (var i = 0; i < Steps.Count; i++)
        {
            if (placed[i] != null || result.Any(s => string.Equals(s.Name, Steps[i].Name, StringComparison.Ordinal)))
            {
                continue;
            }
            var pending = new StepSnapshot(Steps[i].Name, StepState.Pending);
            var before = Enumerable.Range(0, i).Reverse().Select(j => placed[j]).FirstOrDefault(p => p != null);
            var after = Enumerable.Range(i + 1, Steps.Count - i - 1).Select(j => placed[j]).FirstOrDefault(p => p != null);
            var at = before != null ? result.IndexOf(before) + 1 : after != null ? result.IndexOf(after) : result.Count;
            result.Insert(at, pending);
            placed[i] = pending;
        }
        return result;
    }

    private static bool Matches((string Name, IReadOnlyCollection<string> TaskKeys) expected, AssembledStep actual) =>
        string.Equals(expected.Name, actual.Step.Name, StringComparison.Ordinal)
        // A custom task_run_name may differ from run to run ("load-eu", "load-us"): the task key still says it is the same task.
        || (actual.TaskKeys.Count > 0 && expected.TaskKeys.Any(k => actual.TaskKeys.Contains(k)));
}
