using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json;
using DhubBatches.Emulator.Prefect.Flows;
using static DhubBatches.Emulator.Prefect.Runs.RunLogText;

namespace DhubBatches.Emulator.Prefect.Runs;

/// <summary>How one task call ended, and when the next one may start.</summary>
internal sealed record TaskOutcome(DateTimeOffset Next, IReadOnlyList<Guid> TaskRunIds, Guid? FailedTaskRunId = null, string? FailedTask = null,
    bool Crashed = false, bool Hung = false);

/// <summary>
/// Plays the task calls of one flow run attempt, each in its one-step window: the task run appears, runs, writes
/// its offsets artifact every quarter step (a log line each time) and completes, fails, crashes or hangs.
/// Prefect 2 names task runs <c>&lt;task&gt;-&lt;n&gt;</c> and reuses them across attempts (upsert on task key and
/// dynamic key); Prefect 3 names them <c>&lt;task&gt;-&lt;first 3 of a uuid4&gt;</c> and creates new ones every attempt
/// (<c>src/prefect/tasks.py</c> <c>create_run</c>, <c>src/prefect/_internal/engine.py</c> <c>dynamic_key_for_task_run</c>).
/// </summary>
internal sealed class TaskPlayer
{
    private readonly ScriptWriter _w;
    private readonly int _attempt;
    private readonly Dictionary<string, int> _dynamicKeys = new(StringComparer.Ordinal);
    private readonly IReadOnlyList<(string Partition, long Total)> _partitions;
    private readonly string _artifactKey;

    public TaskPlayer(ScriptWriter writer, int attempt)
    {
        _w = writer;
        _attempt = attempt;
        _partitions = Partitions(writer.Run.Definition);
        _artifactKey = ArtifactKey(writer.Run.Definition.Offsets.Key, writer.Run.Pipeline);
    }

    private PrefectDialect Dialect => _w.Dialect;

    private TimeSpan D => _w.D;

    private static TimeSpan T(int ticks) => ScriptWriter.Tick * ticks;

    /// <summary>Partitions and the offset each reaches when its task is done; mapped flows have one per mapped run.</summary>
    public static IReadOnlyList<(string Partition, long Total)> Partitions(FlowDefinition definition) =>
        PartitionLists.GetValue(definition, d => Enumerable.Range(0, Math.Max(2, d.Tasks.Max(t => t.Map)))
            .Select(i => ("partition_" + i.ToString(CultureInfo.InvariantCulture), Math.Max(1L, 1000L >> i))).ToArray());

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<FlowDefinition, (string, long)[]> PartitionLists = new();

    public TaskOutcome Play(int index, TaskDefinition task, DateTimeOffset start, IReadOnlyList<Guid> upstream)
    {
        if (task.Subflow is not null)
        {
            return PlaySubflow(index, task, start, upstream);
        }

        if (task.Map > 0)
        {
            return PlayMapped(index, task, start, upstream);
        }

        var track = Track(index, task.Name, null, start, upstream, out var reused);
        LogCreated(track, start, submitted: false);
        var outcome = Run(track, task, start, reused, mapIndex: null);
        return outcome with { TaskRunIds = new[] { track.Id } };
    }

    /// <summary>A call whose upstream failed: created, set PENDING/NotReady, never run (count stays as it was).</summary>
    public IReadOnlyList<Guid> NotReady(int index, TaskDefinition task, DateTimeOffset at, Guid failedTaskRunId, IReadOnlyList<Guid> upstream)
    {
        var ids = new List<Guid>();
        var count = Math.Max(1, task.Map);
        for (var i = 0; i < count; i++)
        {
            var track = Track(index, task.Name, task.Map > 0 ? i : null, at + T(i), upstream, out _);
            LogCreated(track, at + T(i), submitted: true);
            _w.TaskState(track, ScriptKeys.Of("notready/a", _attempt), at + T(i + 1), StateTypes.Pending, "NotReady", Upstream(failedTaskRunId));
            ids.Add(track.Id);
        }

        return ids;
    }

    /// <summary>
    /// A call made while the flow run is CANCELLING: the task run is created and its RUNNING proposal ABORTed ("The
    /// enclosing flow must be running"), so it stays PENDING and never runs (recorded on a real 2.16.8 runner).
    /// </summary>
    public void Aborted(int index, TaskDefinition task, DateTimeOffset at)
    {
        var track = Track(index, task.Name, task.Map > 0 ? 0 : null, at, Array.Empty<Guid>(), out var reused);
        if (reused)
        {
            _w.TaskState(track, ScriptKeys.Of("aborted/a", _attempt), at, StateTypes.Pending);
        }

        LogCreated(track, at, submitted: task.Map > 0);
        _w.Log(at + T(2), TaskLogger, Warning, AbortedTaskRun(track.Id), track.Id);
    }

    private TaskOutcome PlayMapped(int index, TaskDefinition task, DateTimeOffset start, IReadOnlyList<Guid> upstream)
    {
        var ids = new List<Guid>();
        TaskOutcome? failure = null;
        for (var i = 0; i < task.Map; i++)
        {
            var track = Track(index, task.Name, i, start + T(i), upstream, out var reused);
            LogCreated(track, start + T(i), submitted: true);
            var outcome = Run(track, task, start + T(i), reused, i);
            failure ??= outcome.FailedTaskRunId is not null ? outcome : null;
            ids.Add(track.Id);
        }

        return (failure ?? new TaskOutcome(start + D, ids)) with { TaskRunIds = ids, Next = start + D };
    }

    /// <summary>
    /// A subflow: a task run named after the child flow tracks a child flow run (no deployment, <c>parent_task_run_id</c>
    /// set) and mirrors its states; nothing sets its <c>flow_run_run_count</c> (<c>UpdateSubflowParentTask</c>, forced).
    /// </summary>
    private TaskOutcome PlaySubflow(int index, TaskDefinition task, DateTimeOffset start, IReadOnlyList<Guid> upstream)
    {
        var key = $"{index}/{task.Name}";
        var existing = Dialect.IsV2 ? _w.Script.Tasks.FirstOrDefault(t => t.ChildFlowRunId is not null && t.TaskName == task.Name) : null;
        if (existing is not null && existing.Events[^1].State.Type == StateTypes.Completed)
        {
            // Prefect 2 loads a completed subflow's run instead of running it again (engine.py create_and_begin_subflow_run).
            return new TaskOutcome(start, new[] { existing.Id });
        }

        var childId = _w.Id($"child/a{_attempt}/{key}");
        var childTasks = task.Subflow!;
        var dynamicKey = Dialect.IsV2 ? NextDynamicKey(task.Name) : _w.Id($"dynamic/a{_attempt}/{key}").ToString();
        var trackId = _w.Id($"task/a{_attempt}/{key}");
        var name = Dialect.IsV2 ? ScriptWriter.Slug(trackId) : $"{task.Name}-{dynamicKey[..3]}";
        var track = _w.NewTask($"a{_attempt}/{key}", name, task.Name, ScriptWriter.TaskKey(task.Name), dynamicKey, start, upstream,
            childFlowRunId: childId, id: trackId);
        _w.TaskState(track, "pending", start, StateTypes.Pending);
        _w.Script.Children.Add(new ChildSpawn(childId, start, task.Name, childTasks, track.Id, $"a{_attempt}/{key}"));
        _w.Log(start + T(1), FlowLogger, Info, CreatedSubflowRun(ScriptWriter.Slug(childId), task.Name));

        // The child runs from start: PENDING, RUNNING a tick later, one step per task, COMPLETED at the last boundary.
        var end = start + (D * childTasks.Count);
        _w.TaskState(track, "running", start + T(2), StateTypes.Running, runCount: 1, flowRunRunCount: 0, childFlowRunId: childId);
        _w.TaskState(track, "completed", end + T(4), StateTypes.Completed, childFlowRunId: childId);
        return new TaskOutcome(end, new[] { track.Id });
    }

    private TaskRunTrack Track(int index, string task, int? mapIndex, DateTimeOffset created, IReadOnlyList<Guid> upstream, out bool reused)
    {
        var slot = ScriptKeys.Join(ScriptKeys.Of("", index), "/", task);
        slot = mapIndex is { } m ? ScriptKeys.Join(slot, ScriptKeys.Of("/", m)) : slot;
        if (Dialect.IsV2)
        {
            var dynamicKey = NextDynamicKey(task);
            var existing = _w.Script.Tasks.FirstOrDefault(t => t.TaskName == task && t.DynamicKey == dynamicKey && t.ChildFlowRunId is null);
            reused = existing is not null;
            if (existing is not null)
            {
                return existing;
            }

            var v2 = _w.NewTask(slot, ScriptKeys.Join(task, "-", dynamicKey), task, ScriptWriter.TaskKey(task), dynamicKey, created, upstream, mapIndex);
            _w.TaskState(v2, "pending", created, StateTypes.Pending);
            return v2;
        }

        reused = false;
        var uuid = _w.Id(ScriptKeys.Of("dynamic/a", _attempt), "/", slot).ToString();
        var v3 = _w.NewTask(ScriptKeys.Join(ScriptKeys.Of("a", _attempt), "/", slot), string.Concat(task, "-", uuid.AsSpan(0, 3)), task, ScriptWriter.TaskKey(task), uuid, created, upstream, mapIndex);
        _w.TaskState(v3, "pending", created, StateTypes.Pending);
        return v3;
    }

    private string NextDynamicKey(string task)
    {
        var n = _dynamicKeys.TryGetValue(task, out var last) ? last + 1 : 0;
        _dynamicKeys[task] = n;
        return ScriptKeys.Of(string.Empty, n);
    }

    private void LogCreated(TaskRunTrack track, DateTimeOffset at, bool submitted)
    {
        if (!_w.Logging)
        {
            return;
        }

        _w.Log(at, FlowLogger, Info, CreatedTaskRun(track.Name, track.TaskName));
        if (Dialect.IsV2)
        {
            // Prefect 2's sequential runner executes a direct call at once; submitted (mapped) calls go to the runner.
            _w.Log(at + T(1), FlowLogger, Info, submitted ? Submitted(track.Name) : ExecutingImmediately(track.Name));
        }
    }

    /// <summary>Runs one task run in the window starting at <paramref name="start"/>.</summary>
    private TaskOutcome Run(TaskRunTrack track, TaskDefinition task, DateTimeOffset start, bool reused, int? mapIndex)
    {
        var last = track.Events[^1];
        // HandleTaskTerminalStateTransitions: a task run leaving a terminal state for a flow retry restarts its count and is "Retrying".
        var fromTerminal = reused && StateTypes.IsTerminal(last.State.Type);
        var runCount = fromTerminal ? 1 : last.RunCount + 1;
        if (task.RunName is { } runName && track.CustomName is null)
        {
            // The engine renames the task run as it starts, before proposing RUNNING (the same name again on a Prefect 2 reuse).
            track.CustomName = runName;
            track.RenamedAt = start + T(2);
        }

        _w.TaskState(track, ScriptKeys.Of("running/a", _attempt), start + T(2), StateTypes.Running, fromTerminal ? "Retrying" : "Running", runCount: runCount,
            flowRunRunCount: _attempt);

        var fails = task.FailsOn(_attempt) || (task.FailsWhen is { } flag && _w.Run.ParameterIsTrue(flag));
        var quarters = task.Hangs ? 2 : task.Crashes ? 1 : fails ? 3 : 4;
        WriteOffsets(track, start, quarters, mapIndex);
        if (task.Hangs)
        {
            _w.WorkerGoneAt = start;
            _w.OpenEnded();
            return new TaskOutcome(start, Array.Empty<Guid>(), Hung: true);
        }

        if (task.Crashes)
        {
            var crashAt = start + (D / 2);
            var crashed = _w.TaskState(track, ScriptKeys.Of("crashed/a", _attempt), crashAt, StateTypes.Crashed, message: CancelledByRuntime);
            _w.Log(crashAt, TaskLogger, Error, CrashDetected(CancelledByRuntime), track.Id);
            _w.Log(crashAt + T(1), TaskLogger, Error, Finished(crashed), track.Id);
            return new TaskOutcome(crashAt, Array.Empty<Guid>(), Crashed: true);
        }

        var end = start + D - T(mapIndex is { } m ? 10 - m : 10);
        if (fails)
        {
            _w.Log(end - T(1), TaskLogger, Error, TaskTraceback(task.Name), track.Id);
            var failed = _w.TaskState(track, ScriptKeys.Of("failed/a", _attempt), end, StateTypes.Failed, message: TaskFailed(task.Name));
            _w.Log(end, TaskLogger, Error, Finished(failed), track.Id);
            return new TaskOutcome(start + D, Array.Empty<Guid>(), track.Id, task.Name);
        }

        var completed = _w.TaskState(track, ScriptKeys.Of("completed/a", _attempt), end, StateTypes.Completed);
        _w.Log(end, TaskLogger, Info, Finished(completed), track.Id);
        _w.Artifact(ScriptKeys.Join("result/", track.Key), ScriptKeys.Of("/a", _attempt), end + T(1), null, "result",
            "Result of task run " + track.Name, new ArtifactData(ArtifactDataKind.ResultStorage), track.Id);
        return new TaskOutcome(start + D, Array.Empty<Guid>());
    }

    /// <summary>One offsets artifact per quarter step (several per task run; the newest is current), each with its log line.</summary>
    private void WriteOffsets(TaskRunTrack track, DateTimeOffset start, int quarters, int? mapIndex)
    {
        var form = _w.Run.Definition.Offsets.Form;
        var offsetsKey = ScriptKeys.Join("offsets/", track.Key);
        for (var q = 1; q <= quarters; q++)
        {
            // Quarters of the window, kept clear of its ends so the order holds for a tiny step too.
            var at = start + T(3) + ((D - T(20)) * (q / 4.0));
            var data = ArtifactData.Offsets(form, _partitions, q, mapIndex);
            _w.Artifact(offsetsKey, ScriptKeys.Join(ScriptKeys.Of("/a", _attempt), ScriptKeys.Of("/", q)), at, _artifactKey, FormType(form),
                "offsets", data, track.Id);
            if (_w.Logging)
            {
                _w.Log(at + T(1), TaskLogger, Info, Offsets(data.OffsetValues()), track.Id);
            }
        }
    }

    private static string FormType(OffsetsForm form) => form switch
    {
        OffsetsForm.Table => "table",
        OffsetsForm.Object => "offsets",
        _ => "markdown",
    };

    /// <summary>Artifact keys must match <c>^[a-z0-9-]*$</c>, so real flows normalise the pipeline name they put in.</summary>
    public static string ArtifactKey(string template, string pipeline) =>
        ArtifactKeys.GetOrAdd((template, pipeline), k => NormalisedKey(k.Item1, k.Item2));

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(string, string), string> ArtifactKeys = new();

    private static string NormalisedKey(string template, string pipeline) =>
        new(template.Replace("{pipeline}", pipeline, StringComparison.Ordinal).ToLowerInvariant()
            .Select(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' ? c : '-').ToArray());
}
