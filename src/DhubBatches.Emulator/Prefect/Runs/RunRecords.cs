using System;
using System.Collections.Generic;

namespace DhubBatches.Emulator.Prefect.Runs;

/// <summary>Prefect state types and the few facts about them orchestration needs.</summary>
internal static class StateTypes
{
    public const string Scheduled = "SCHEDULED";
    public const string Pending = "PENDING";
    public const string Running = "RUNNING";
    public const string Completed = "COMPLETED";
    public const string Failed = "FAILED";
    public const string Cancelled = "CANCELLED";
    public const string Crashed = "CRASHED";
    public const string Paused = "PAUSED";
    public const string Cancelling = "CANCELLING";

    /// <summary><c>TERMINAL_STATES</c>.</summary>
    public static bool IsTerminal(string type) => type is Completed or Failed or Cancelled or Crashed;

    /// <summary>The name Prefect gives a state created without one (<c>StateCreate</c> capitalises the type).</summary>
    public static string DefaultName(string type) => type.Length == 0 ? type : type[..1] + type[1..].ToLowerInvariant();
}

/// <summary>One state of a flow run or task run, with the <c>state_details</c> the emulator fills.</summary>
internal sealed record RunState
{
    public required Guid Id { get; init; }
    public required string Type { get; init; }
    public required string Name { get; init; }
    public required DateTimeOffset At { get; init; }
    public string? Message { get; init; }
    public string? TransitionId { get; init; }
    public DateTimeOffset? ScheduledTime { get; init; }
    public DateTimeOffset? PauseTimeout { get; init; }
    public bool PauseReschedule { get; init; }
    public string? PauseKey { get; init; }
    public Guid? ChildFlowRunId { get; init; }

    /// <summary><c>state_details.retriable</c>: Prefect sets false on a failed state built from an exception.</summary>
    public bool? Retriable { get; init; }

    /// <summary>A completed state whose result Prefect 2 reports as <c>{"type":"unpersisted"}</c>, or persisted when the flow persists results.</summary>
    public ResultKind Result { get; init; }
}

/// <summary>What a completed state's <c>data</c> says about its result.</summary>
internal enum ResultKind
{
    None,
    Unpersisted,
    Persisted,
}

/// <summary>A flow run state in its script, with the bookkeeping Prefect's global rules do on entering it.</summary>
internal sealed record FlowEvent(RunState State)
{
    /// <summary><c>IncrementFlowRunCount</c>: entering RUNNING counts an attempt, except when resuming from a pause.</summary>
    public bool CountsAttempt { get; init; }

    /// <summary>A worker claimed the run (sets <c>infrastructure_pid</c>).</summary>
    public bool Claims { get; init; }

    /// <summary>New <c>empirical_policy.retry_type</c> from this state on ("in_process", "reschedule"), when it changes.</summary>
    public string? RetryType { get; init; }

    /// <summary>RetryFailedFlows clears <c>retry_type</c> when a run fails for good.</summary>
    public bool ClearsRetryType { get; init; }
}

/// <summary>A task run state, with the task run's counters right after it.</summary>
internal sealed record TaskEvent(RunState State, int RunCount, int FlowRunRunCount);

/// <summary>One task run over its whole life: every state it went through, possibly across attempts (Prefect 2 reuse).</summary>
internal sealed class TaskRunTrack
{
    public required Guid Id { get; init; }

    /// <summary>Where the task run comes from in the script (attempt, call, map index): keys its derived ids.</summary>
    public required string Key { get; init; }

    /// <summary>The generated name (<c>&lt;task&gt;-&lt;dynamic key&gt;</c>, or a subflow's); see <see cref="NameAt"/>.</summary>
    public required string Name { get; init; }

    /// <summary>A custom <c>task_run_name</c>, which replaces <see cref="Name"/> from <see cref="RenamedAt"/> on (the task starting).</summary>
    public string? CustomName { get; set; }

    public DateTimeOffset RenamedAt { get; set; }

    /// <summary>The name the server shows at <paramref name="now"/>.</summary>
    public string NameAt(DateTimeOffset now) => CustomName is not null && now >= RenamedAt ? CustomName : Name;

    public required string TaskName { get; init; }
    public required string TaskKey { get; init; }
    public required string DynamicKey { get; init; }
    public required DateTimeOffset Created { get; init; }

    /// <summary>Upstream task run ids (<c>task_inputs</c>), empty for the first task.</summary>
    public IReadOnlyList<Guid> Upstream { get; init; } = Array.Empty<Guid>();

    /// <summary>The child flow run a subflow tracking task run follows.</summary>
    public Guid? ChildFlowRunId { get; init; }

    /// <summary>Partition a mapped task run handles; null for an unmapped one.</summary>
    public int? MapIndex { get; init; }

    public List<TaskEvent> Events { get; } = new();
}

/// <summary>An artifact; <see cref="Data"/> says what its <c>data</c> is (an object, or a JSON string).</summary>
internal sealed record ArtifactRecord(
    Guid Id,
    DateTimeOffset At,
    string? Key,
    string Type,
    string? Description,
    ArtifactData Data,
    Guid FlowRunId,
    Guid? TaskRunId);

/// <summary>A log line: <c>level</c> is Python's logging level (20 info, 40 error).</summary>
internal sealed record LogRecord(Guid Id, DateTimeOffset At, string Name, int Level, string Message, Guid FlowRunId, Guid? TaskRunId);

/// <summary>A subflow run started by a tracking task run of this run.</summary>
internal sealed record ChildSpawn(Guid ChildId, DateTimeOffset At, string FlowName, IReadOnlyList<string> Tasks, Guid TrackingTaskRunId, string Key);
