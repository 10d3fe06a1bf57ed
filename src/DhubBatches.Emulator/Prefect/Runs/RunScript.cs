using System;
using System.Collections.Generic;
using System.Linq;

namespace DhubBatches.Emulator.Prefect.Runs;

/// <summary>
/// Everything one flow run does, on a timeline: its states, task runs, artifacts, logs and subflow runs. The
/// script is a pure function of what was stored about the run; a request reads it as of "now" by taking what
/// happened up to then, so a run costs nothing until somebody looks at it.
/// </summary>
internal sealed class RunScript
{
    public List<FlowEvent> States { get; } = new();
    public List<TaskRunTrack> Tasks { get; } = new();
    public List<ArtifactRecord> Artifacts { get; } = new();
    public List<LogRecord> Logs { get; } = new();
    public List<ChildSpawn> Children { get; } = new();

    /// <summary>The simulated worker's process id, once a worker claimed the run.</summary>
    public required string InfrastructurePid { get; init; }

    /// <summary>When the last scripted thing happens; null while something is still to come with no end (a hung worker, a run nobody picks up).</summary>
    public DateTimeOffset? SettledAt { get; set; }

    /// <summary>The flow run as of <paramref name="now"/>: the latest state and the fields Prefect's global rules derive.</summary>
    public FlowRunView FlowAt(DateTimeOffset now)
    {
        FlowEvent? current = null;
        DateTimeOffset? start = null, end = null;
        var runCount = 0;
        var claimed = false;
        string? retryType = null;
        List<string>? pauseKeys = null;
        var runTime = TimeSpan.Zero;
        RunState? previous = null;
        foreach (var e in States)
        {
            if (e.State.At > now)
            {
                break;
            }

            var s = e.State;
            // IncrementRunTime: time spent in RUNNING counts once the run leaves RUNNING.
            if (previous is { Type: StateTypes.Running })
            {
                runTime += s.At - previous.At;
            }

            if (s.Type == StateTypes.Running)
            {
                start ??= s.At;
                if (e.CountsAttempt)
                {
                    runCount++;
                }
            }

            // SetEndTime: entering a final state sets end_time once (only for a run that started); leaving clears it.
            if (StateTypes.IsTerminal(s.Type))
            {
                if (start is not null && end is null)
                {
                    end = s.At;
                }
            }
            else
            {
                end = null;
            }

            claimed |= e.Claims;
            retryType = e.ClearsRetryType ? null : e.RetryType ?? retryType;
            if (e.RetryType == "reschedule")
            {
                pauseKeys?.Clear();
            }

            if (s.PauseKey is { } key && s.Type == StateTypes.Paused && pauseKeys?.Contains(key) != true)
            {
                // Most runs never pause: the list is made only for those that do (settled views are kept per run).
                (pauseKeys ??= new List<string>()).Add(key);
            }

            current = e;
            previous = s;
        }

        var state = (current ?? States[0]).State;
        var estimated = runTime + (state.Type == StateTypes.Running && state.At <= now ? now - state.At : TimeSpan.Zero);
        return new FlowRunView(state, start, end, runCount, claimed ? InfrastructurePid : null, runTime.TotalSeconds,
            estimated.TotalSeconds, retryType, (IReadOnlyList<string>?)pauseKeys ?? Array.Empty<string>());
    }

    /// <summary>Task runs that exist at <paramref name="now"/>, each as of then.</summary>
    public IEnumerable<TaskRunView> TasksAt(DateTimeOffset now)
    {
        foreach (var track in Tasks)
        {
            if (track.Created <= now && TaskAt(track, now) is { } view)
            {
                yield return view;
            }
        }
    }

    public static TaskRunView? TaskAt(TaskRunTrack track, DateTimeOffset now)
    {
        TaskEvent? current = null;
        DateTimeOffset? start = null, end = null;
        var runTime = TimeSpan.Zero;
        RunState? previous = null;
        foreach (var e in track.Events)
        {
            if (e.State.At > now)
            {
                break;
            }

            if (previous is { Type: StateTypes.Running })
            {
                runTime += e.State.At - previous.At;
            }

            if (e.State.Type == StateTypes.Running)
            {
                start ??= e.State.At;
            }

            if (StateTypes.IsTerminal(e.State.Type))
            {
                if (start is not null && end is null)
                {
                    end = e.State.At;
                }
            }
            else
            {
                end = null;
            }

            current = e;
            previous = e.State;
        }

        if (current is null)
        {
            return null;
        }

        var estimated = runTime + (current.State.Type == StateTypes.Running ? now - current.State.At : TimeSpan.Zero);
        return new TaskRunView(track, current.State, current.RunCount, current.FlowRunRunCount, start, end, runTime.TotalSeconds,
            Math.Max(0, estimated.TotalSeconds), track.NameAt(now));
    }

    public IEnumerable<ArtifactRecord> ArtifactsAt(DateTimeOffset now) => Artifacts.Where(a => a.At <= now);

    public IEnumerable<LogRecord> LogsAt(DateTimeOffset now) => Logs.Where(l => l.At <= now);

    public IEnumerable<ChildSpawn> ChildrenAt(DateTimeOffset now) => Children.Where(c => c.At <= now);
}

/// <summary>A flow run's changing fields at one instant.</summary>
internal sealed record FlowRunView(
    RunState State,
    DateTimeOffset? StartTime,
    DateTimeOffset? EndTime,
    int RunCount,
    string? InfrastructurePid,
    double TotalRunTime,
    double EstimatedRunTime,
    string? RetryType,
    IReadOnlyList<string> PauseKeys);

/// <summary>A task run's changing fields at one instant.</summary>
internal sealed record TaskRunView(
    TaskRunTrack Track,
    RunState State,
    int RunCount,
    int FlowRunRunCount,
    DateTimeOffset? StartTime,
    DateTimeOffset? EndTime,
    double TotalRunTime,
    double EstimatedRunTime,
    string Name);
