using System;
using System.Collections.Generic;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using DhubBatches.Emulator.Prefect.Store;

namespace DhubBatches.Emulator.Prefect.Runs;

/// <summary>
/// Writes one run's <see cref="RunScript"/>: the players append states, task runs, artifacts and logs with their
/// times, and an intervention first <see cref="Cut"/>s away everything scripted after it happened.
/// </summary>
internal sealed class ScriptWriter
{
    /// <summary>The smallest step the timeline uses, so a zero step duration still orders events.</summary>
    public static readonly TimeSpan MinimumStep = TimeSpan.FromTicks(40);

    /// <summary>One tick of the timeline (100 ns): orders things that happen "at the same time".</summary>
    public static readonly TimeSpan Tick = TimeSpan.FromTicks(1);

    private int _logCounter;
    private bool _openEnded;

    public ScriptWriter(StoredFlowRun run, PrefectDialect dialect, Func<string, Guid> flowIdFor, bool logging)
    {
        Run = run;
        Logging = logging;
        Dialect = dialect;
        FlowIdFor = flowIdFor;
        D = run.Step < MinimumStep ? MinimumStep : run.Step;
        Script = new RunScript { InfrastructurePid = run.InfrastructurePid };
    }

    public StoredFlowRun Run { get; }

    public PrefectDialect Dialect { get; }

    public Func<string, Guid> FlowIdFor { get; }

    /// <summary>
    /// Whether log lines are written. Only a logs query needs them and they are most of a script's weight, so the
    /// cached scripts that lists and polls read leave them out.
    /// </summary>
    public bool Logging { get; }

    /// <summary>The step duration: every phase and task takes one.</summary>
    public TimeSpan D { get; }

    public RunScript Script { get; }

    /// <summary>When a hanging task left the run without a worker (nobody acts on a cancel from then on).</summary>
    public DateTimeOffset? WorkerGoneAt { get; set; }

    public Guid Id(string key) => DerivedIds.For(Run.Id, Run.Seq, key);

    /// <summary>The id for the joined parts, without joining them.</summary>
    public Guid Id(string kind, string key, string? separator = null, string? sub = null) => DerivedIds.For(Run.Id, Run.Seq, kind, key, separator, sub);

    /// <summary>Appends a flow run state; <paramref name="key"/> makes its id stable across rebuilds.</summary>
    public RunState State(string key, DateTimeOffset at, string type, string? name = null, string? message = null, string? transitionId = null,
        DateTimeOffset? scheduledTime = null, bool countsAttempt = false, bool claims = false, string? retryType = null,
        Func<RunState, RunState>? details = null, bool clearsRetryType = false, bool serverMade = false)
    {
        var state = new RunState
        {
            Id = Id("state/", key),
            Type = type,
            Name = name ?? StateTypes.DefaultName(type),
            At = at,
            Message = message,
            // States the engine or worker proposes carry the transition id it sent; states the server makes itself
            // (the first one, Late, AwaitingRetry, a REJECT's substitute) or a client sent without one carry none.
            TransitionId = transitionId ?? (serverMade ? null : Id("transition/", key).ToString()),
            ScheduledTime = scheduledTime,
            Retriable = type == StateTypes.Failed ? false : null,
            Result = type == StateTypes.Completed ? CompletedResult : ResultKind.None,
        };
        state = details?.Invoke(state) ?? state;
        Script.States.Add(new FlowEvent(state) { CountsAttempt = countsAttempt, Claims = claims, RetryType = retryType, ClearsRetryType = clearsRetryType });
        return state;
    }

    /// <summary>What a completed state's data says: Prefect 2 reports unpersisted results; persisted ones block a restart.</summary>
    public ResultKind CompletedResult =>
        Run.Definition.PersistsResults ? ResultKind.Persisted : Dialect.IsV2 ? ResultKind.Unpersisted : ResultKind.None;

    /// <summary>The flow run's state (and run count) at <paramref name="at"/> in what is scripted so far.</summary>
    public FlowRunView FlowAt(DateTimeOffset at) => Script.FlowAt(at);

    public TaskRunTrack NewTask(string key, string name, string taskName, string taskKey, string dynamicKey, DateTimeOffset created,
        IReadOnlyList<Guid> upstream, int? mapIndex = null, Guid? childFlowRunId = null, Guid? id = null)
    {
        var track = new TaskRunTrack
        {
            Id = id ?? Id("task/", key),
            Key = key,
            Name = name,
            TaskName = taskName,
            TaskKey = taskKey,
            DynamicKey = dynamicKey,
            Created = created,
            Upstream = upstream,
            MapIndex = mapIndex,
            ChildFlowRunId = childFlowRunId,
        };
        Script.Tasks.Add(track);
        return track;
    }

    /// <summary>Appends a task run state; the counters default to the task run's previous ones.</summary>
    public RunState TaskState(TaskRunTrack track, string key, DateTimeOffset at, string type, string? name = null, string? message = null,
        int? runCount = null, int? flowRunRunCount = null, Guid? childFlowRunId = null)
    {
        var last = track.Events.Count > 0 ? track.Events[^1] : null;
        var state = new RunState
        {
            Id = Id("taskstate/", track.Key, "/", key),
            Type = type,
            Name = name ?? StateTypes.DefaultName(type),
            At = at,
            Message = message,
            Retriable = type == StateTypes.Failed ? false : null,
            Result = type == StateTypes.Completed ? CompletedResult : ResultKind.None,
            ChildFlowRunId = childFlowRunId,
        };
        track.Events.Add(new TaskEvent(state, runCount ?? last?.RunCount ?? 0, flowRunRunCount ?? last?.FlowRunRunCount ?? 0));
        return state;
    }

    /// <summary>Appends an artifact; its id comes from <paramref name="key"/> and <paramref name="subKey"/> joined.</summary>
    public void Artifact(string key, string? subKey, DateTimeOffset at, string? artifactKey, string type, string? description, ArtifactData data,
        Guid? taskRunId) =>
        Script.Artifacts.Add(new ArtifactRecord(Id("artifact/", key, subKey), at, artifactKey, type, description, data, Run.Id, taskRunId));

    public void Log(DateTimeOffset at, string name, int level, string message, Guid? taskRunId = null)
    {
        if (Logging)
        {
            Script.Logs.Add(new LogRecord(Id("log/" + (++_logCounter)), at, name, level, message, Run.Id, taskRunId));
        }
    }

    /// <summary>Nothing more will happen by itself (a run nobody picks up, a hung worker).</summary>
    public void OpenEnded() => _openEnded = true;

    /// <summary>Drops everything scripted after <paramref name="at"/>: an intervention changed what happens next.</summary>
    public void Cut(DateTimeOffset at)
    {
        Script.States.RemoveAll(e => e.State.At > at);
        Script.Tasks.RemoveAll(t => t.Created > at);
        foreach (var track in Script.Tasks)
        {
            track.Events.RemoveAll(e => e.State.At > at);
        }

        Script.Artifacts.RemoveAll(a => a.At > at);
        Script.Logs.RemoveAll(l => l.At > at);
        Script.Children.RemoveAll(c => c.At > at);
        _openEnded = false;
        if (WorkerGoneAt > at)
        {
            WorkerGoneAt = null;
        }
    }

    /// <summary>Orders the logs and makes their timestamps strictly increase, then works out when the run settles.</summary>
    public RunScript Finish()
    {
        // Timestamps are written with microseconds, so "strictly increasing" is judged (and kept) at that resolution.
        var micro = TimeSpan.FromTicks(10);
        var logs = Script.Logs.Count == 0 ? Script.Logs : Script.Logs.OrderBy(l => l.At).ToList();
        Script.Logs.Clear();
        DateTimeOffset? last = null;
        foreach (var log in logs)
        {
            var at = new DateTimeOffset(log.At.Ticks - (log.At.Ticks % 10), log.At.Offset);
            at = last is { } l && at <= l ? l + micro : at;
            Script.Logs.Add(log with { At = at });
            last = at;
        }

        if (!_openEnded)
        {
            var settled = Run.Created;
            foreach (var e in Script.States)
            {
                settled = e.State.At > settled ? e.State.At : settled;
            }

            foreach (var t in Script.Tasks)
            {
                settled = t.Events.Count > 0 && t.Events[^1].State.At > settled ? t.Events[^1].State.At : settled;
            }

            foreach (var a in Script.Artifacts)
            {
                settled = a.At > settled ? a.At : settled;
            }

            foreach (var c in Script.Children)
            {
                settled = c.At > settled ? c.At : settled;
            }

            Script.SettledAt = Script.Logs.Count > 0 && Script.Logs[^1].At > settled ? Script.Logs[^1].At : settled;
        }

        return Script;
    }

    /// <summary><c>task_key</c>: <c>&lt;task&gt;-&lt;hash of where the function is defined&gt;</c>, the same for every call of one task.</summary>
    public static string TaskKey(string task) =>
        TaskKeys.GetOrAdd(task, t => t + "-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("flows.pipeline." + t)))[..32]);

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> TaskKeys = new(StringComparer.Ordinal);

    /// <summary>Prefect's random two-word run name, derived from an id so it reads back the same.</summary>
    public static string Slug(Guid id)
    {
        var bytes = id.ToByteArray();
        return Adjectives[bytes[3] % Adjectives.Length] + "-" + Animals[bytes[5] % Animals.Length];
    }

    private static readonly string[] Adjectives = { "amber", "brisk", "calm", "daring", "eager", "fuzzy", "gentle", "hidden", "icy", "jolly", "keen", "lucky", "mellow", "noble", "odd", "proud", "quiet", "rapid", "silver", "tidy" };
    private static readonly string[] Animals = { "otter", "falcon", "badger", "lynx", "heron", "marmot", "gecko", "ibis", "jackal", "koala", "lemur", "moose", "newt", "okapi", "panda", "quail", "raven", "stoat", "tapir", "walrus" };
}
