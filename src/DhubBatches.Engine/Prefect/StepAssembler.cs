using System;
using System.Collections.Generic;
using System.Linq;
using DhubBatches.Contract;

namespace DhubBatches.Engine.Prefect;

/// <summary>
/// The steps of a flow run from its task runs (docs/prefect.md, "Steps"): named by task, one step however many times
/// a task ran (mapped, called twice, retried), showing the run's current attempt, in the order the flow reached them.
/// </summary>
internal static class StepAssembler
{
    public static List<StepSnapshot> Steps(PrefectFlowRun run, IReadOnlyCollection<PrefectTaskRun> taskRuns, IReadOnlyDictionary<string, PrefectArtifact> offsets, List<string> skipped) =>
        Assemble(run, taskRuns, offsets, skipped).Select(s => s.Step).ToList();

    /// <summary>The steps with the task keys of their task runs, which say which task a step is whatever its run was named.</summary>
    public static List<AssembledStep> Assemble(PrefectFlowRun run, IReadOnlyCollection<PrefectTaskRun> taskRuns, IReadOnlyDictionary<string, PrefectArtifact> offsets, List<string> skipped)
    {
        if (taskRuns.Count == 0)
        {
            return new List<AssembledStep>();
        }
        // A task run belongs to the attempt it ran in; one that never started has 0. The current attempt began when its
        // first task run was created: a not-yet-started one created since then belongs to it too.
        var current = run.RunCount > 0 ? taskRuns.Where(t => t.FlowRunRunCount == run.RunCount).ToList() : new List<PrefectTaskRun>();
        var attemptStart = current.Count > 0 ? current.Min(CreatedAt) : (DateTimeOffset?)null;

        var steps = new List<(string Name, DateTimeOffset First, AssembledStep Step)>();
        foreach (var group in taskRuns.GroupBy(StepName, StringComparer.Ordinal))
        {
            var all = group.ToList();
            var chosen = all.Where(t => t.FlowRunRunCount == run.RunCount && run.RunCount > 0
                    || (t.FlowRunRunCount == 0 && attemptStart.HasValue && CreatedAt(t) >= attemptStart.Value))
                .ToList();
            if (!chosen.Any(t => t.FlowRunRunCount == run.RunCount && run.RunCount > 0))
            {
                // None ran in this attempt: its newest task run (a task that never started, or one reused from before).
                chosen = new List<PrefectTaskRun> { all.OrderBy(CreatedAt).Last() };
            }
            var state = GroupState(chosen.Select(t => PrefectMapper.ToStepState(t.Type)));
            var keys = new HashSet<string>(all.Where(t => !string.IsNullOrEmpty(t.TaskKey)).Select(t => t.TaskKey!), StringComparer.Ordinal);
            var step = new StepSnapshot(group.Key, state, Offsets(group.Key, chosen, offsets, skipped))
            {
                // A mapped step runs from its first task run's start to its last one's end, once every one has ended.
                StartTime = chosen.Where(t => t.StartTime.HasValue).Select(t => t.StartTime).Min(),
                EndTime = chosen.All(t => t.EndTime.HasValue) ? chosen.Max(t => t.EndTime) : null,
                Attempt = chosen.Max(t => t.RunCount),
            };
            steps.Add((group.Key, all.Min(t => t.ExpectedStartTime ?? CreatedAt(t)), new AssembledStep(step, keys)));
        }
        return steps.OrderBy(s => s.First).Select(s => s.Step).ToList();
    }

    /// <summary>
    /// The task's name: the task run name without the suffix Prefect adds — <c>-&lt;dynamic_key&gt;</c> (Prefect 2: 0, 1,
    /// …) or <c>-&lt;first 3 characters of it&gt;</c> (Prefect 3: a uuid). A name without either was set by the flow
    /// (<c>task_run_name=</c>) and is kept whole.
    /// </summary>
    public static string StepName(PrefectTaskRun taskRun)
    {
        var name = taskRun.Name ?? string.Empty;
        var key = taskRun.DynamicKey;
        if (!string.IsNullOrEmpty(key))
        {
            if (name.Length > key!.Length + 1 && name.EndsWith("-" + key, StringComparison.Ordinal))
            {
                return name.Substring(0, name.Length - key.Length - 1);
            }
            if (key.Length > 3 && name.Length > 4 && name.EndsWith("-" + key.Substring(0, 3), StringComparison.Ordinal))
            {
                return name.Substring(0, name.Length - 4);
            }
        }
        // Prefect 2 gives the task run that tracks a subflow no name of the subflow's (a random word pair, read from its
        // engine): its task key, "<function>-<hash>", still says which subflow it is.
        if (taskRun.State?.StateDetails?.ChildFlowRunId != null && TaskKeyName(taskRun.TaskKey) is { } fromKey)
        {
            return fromKey;
        }
        return name;
    }

    private static string? TaskKeyName(string? taskKey)
    {
        var dash = taskKey?.LastIndexOf('-') ?? -1;
        if (dash <= 0 || taskKey!.Length - dash - 1 < 8)
        {
            return null;
        }
        for (var i = dash + 1; i < taskKey.Length; i++)
        {
            if (!Uri.IsHexDigit(taskKey[i]))
            {
                return null;
            }
        }
        return taskKey.Substring(0, dash);
    }

    /// <summary>Failed if any failed, else Running if any runs, else Pending if any is unfinished, else Success.</summary>
    private static StepState GroupState(IEnumerable<StepState> states)
    {
        var all = states.ToList();
        if (all.Contains(StepState.Failed))
        {
            return StepState.Failed;
        }
        if (all.Contains(StepState.Running))
        {
            return StepState.Running;
        }
        if (all.Any(s => s == StepState.Pending || s == StepState.None))
        {
            return StepState.Pending;
        }
        return all.Count > 0 && all.All(s => s == StepState.Success) ? StepState.Success : StepState.Unknown;
    }

    /// <summary>The step's offsets: each chosen task run's newest offsets artifact, merged by partition in the order written.</summary>
    private static List<KeyValuePair<string, long>> Offsets(string step, List<PrefectTaskRun> chosen, IReadOnlyDictionary<string, PrefectArtifact> offsets, List<string> skipped)
    {
        var values = new Dictionary<string, long>(StringComparer.Ordinal);
        var order = new List<string>();
        var bad = new List<string>();
        foreach (var artifact in chosen
            .Select(t => t.Id != null && offsets.TryGetValue(t.Id, out var a) ? a : null)
            .Where(a => a != null)
            .OrderBy(a => a!.Created ?? default))
        {
            OffsetReader.Read(artifact!.Data, values, order, bad);
        }
        skipped.AddRange(bad.Select(partition => step + "." + partition));
        return order.Select(p => new KeyValuePair<string, long>(p, values[p])).ToList();
    }

    private static DateTimeOffset CreatedAt(PrefectTaskRun taskRun) => taskRun.Created ?? taskRun.ExpectedStartTime ?? DateTimeOffset.MinValue;
}

/// <summary>A step and the <c>task_key</c>s of its task runs (stable per task function, whatever the run's name).</summary>
internal sealed record AssembledStep(StepSnapshot Step, IReadOnlyCollection<string> TaskKeys);
