using System;
using System.Collections.Generic;
using System.Security.Cryptography;

namespace DhubBatches.Emulator.Prefect;

/// <summary>Prefect state types (§11).</summary>
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

    public static readonly string[] All = { Scheduled, Pending, Running, Completed, Failed, Cancelled, Crashed, Paused, Cancelling };

    /// <summary>TERMINAL_STATES (§11).</summary>
    public static bool IsTerminal(string type) => type is Completed or Failed or Cancelled or Crashed;

    public static string DefaultName(string type) => type switch
    {
        Scheduled => "Scheduled",
        Pending => "Pending",
        Running => "Running",
        Completed => "Completed",
        Failed => "Failed",
        Cancelled => "Cancelled",
        Crashed => "Crashed",
        Paused => "Paused",
        Cancelling => "Cancelling",
        _ => type,
    };
}

/// <summary>One state as Prefect shows it (§6.3 <c>state</c>).</summary>
internal sealed record StateView(Guid Id, string Type, string Name, DateTimeOffset Timestamp, string? Message, string? TransitionId);

/// <summary>A task run (one pipeline step) at one instant (§8.1).</summary>
internal sealed record TaskRunView(
    Guid Id,
    int Index,
    string Task,
    DateTimeOffset Start,
    DateTimeOffset? End,
    StateView State,
    int Quarters,
    bool ResultArtifact);

/// <summary>A flow run at one instant (§6.3 fields that change over time).</summary>
internal sealed record FlowRunView(
    StateView State,
    DateTimeOffset? StartTime,
    DateTimeOffset? EndTime,
    int RunCount,
    string? InfrastructurePid,
    IReadOnlyList<TaskRunView> Tasks,
    DateTimeOffset ArtifactCutoff);

/// <summary>
/// Computes a flow run from elapsed time only (no timers, so 100,000 stored runs cost nothing until read).
/// With step duration d after creation: SCHEDULED for d (§5 "what happens next"), PENDING for d (a simulated
/// worker claimed it: <c>infrastructure_pid</c> set), RUNNING with the task runs extract/transform/load each
/// appearing as its step starts (§8.1), then COMPLETED; a failing pipeline fails at transform. Cancellation
/// (§9) freezes progress at the request and the simulated worker finishes it one step later.
/// </summary>
internal static class FlowRunLifecycle
{
    public static readonly string[] Tasks = { "extract", "transform", "load" };

    /// <summary>Offsets each step reaches when done (same partitions as the dhub side).</summary>
    public static readonly (string Partition, long Total)[] Partitions = { ("partition_0", 1000), ("partition_1", 500) };

    // State slots used to derive stable ids: the same state reads back with the same id every time.
    private const int SlotScheduled = 0, SlotPending = 1, SlotRunning = 2, SlotCompleted = 3, SlotFailed = 4, SlotCancelling = 5, SlotCancelled = 6;

    public static FlowRunView Compute(StoredFlowRun run, DateTimeOffset now)
    {
        var d = run.StepDuration;
        var final = run.FinalCancelAt;
        if (final is { } f && f <= now)
        {
            // §9: CANCELLED; progress frozen at the cancel request (or at the direct cancel).
            var freeze = run.CancelRequestedAt ?? f;
            var natural = Natural(run, freeze, d);
            var tasks = new List<TaskRunView>();
            foreach (var t in natural.Tasks)
            {
                tasks.Add(t.State.Type == StateTypes.Running
                    ? t with { End = f, State = new StateView(Derive(t.Id, SlotCancelled), StateTypes.Cancelled, "Cancelled", f, "Task run was cancelled.", Derive(t.Id, 100 + SlotCancelled).ToString()) }
                    : t);
            }

            var message = run.CancelledAt is null ? "Flow run was cancelled by the worker." : run.CancelledMessage;
            var state = new StateView(Derive(run.Id, SlotCancelled), StateTypes.Cancelled, "Cancelled", f, message,
                run.CancelledTransitionId ?? Derive(run.Id, 100 + SlotCancelled).ToString());
            return new FlowRunView(state, natural.StartTime ?? f, f, natural.RunCount, natural.InfrastructurePid, tasks, freeze);
        }

        if (run.CancelRequestedAt is { } requested)
        {
            var natural = Natural(run, requested, d);
            var state = new StateView(Derive(run.Id, SlotCancelling), StateTypes.Cancelling, "Cancelling", requested, run.CancellingMessage, run.CancellingTransitionId);
            return natural with { State = state };
        }

        return Natural(run, now, d);
    }

    private static FlowRunView Natural(StoredFlowRun run, DateTimeOffset at, TimeSpan d)
    {
        var created = run.Created;
        var units = d <= TimeSpan.Zero ? double.PositiveInfinity : Math.Max((at - created).Ticks, 0) / (double)d.Ticks;
        var pid = units >= 1 ? run.InfrastructurePid : null;
        if (units < 1)
        {
            return new FlowRunView(State(run, SlotScheduled, StateTypes.Scheduled, created), null, null, 0, null, Array.Empty<TaskRunView>(), at);
        }

        if (units < 2)
        {
            return new FlowRunView(State(run, SlotPending, StateTypes.Pending, created + d), null, null, 0, pid, Array.Empty<TaskRunView>(), at);
        }

        var start = created + (2 * d);
        var active = units - 2;
        var tasks = new List<TaskRunView>();
        for (var i = 0; i < Tasks.Length && active >= i; i++)
        {
            var taskStart = start + (i * d);
            var taskEnd = taskStart + d;
            var id = Derive(run.Id, 1000 + i);
            var quarters = d <= TimeSpan.Zero ? 4 : (int)Math.Min(4, Math.Floor((at - taskStart).Ticks / (d.Ticks / 4.0)));
            if (active >= i + 1)
            {
                var failed = run.FailsAtTransform && i == 1;
                var type = failed ? StateTypes.Failed : StateTypes.Completed;
                tasks.Add(new TaskRunView(id, i, Tasks[i], taskStart, taskEnd,
                    new StateView(Derive(id, failed ? SlotFailed : SlotCompleted), type, StateTypes.DefaultName(type), taskEnd,
                        failed ? "Task run encountered an exception: RuntimeError: transform failed" : null, Derive(id, 100 + SlotCompleted).ToString()),
                    failed ? 3 : 4, !failed));
                if (failed)
                {
                    var state = new StateView(Derive(run.Id, SlotFailed), StateTypes.Failed, "Failed", taskEnd,
                        "Flow run encountered an exception: RuntimeError: transform failed", Derive(run.Id, 100 + SlotFailed).ToString());
                    return new FlowRunView(state, start, taskEnd, 1, pid, tasks, at);
                }
            }
            else
            {
                tasks.Add(new TaskRunView(id, i, Tasks[i], taskStart, null,
                    new StateView(Derive(id, SlotRunning), StateTypes.Running, "Running", taskStart, null, Derive(id, 100 + SlotRunning).ToString()),
                    Math.Max(0, quarters), false));
            }
        }

        if (active >= Tasks.Length)
        {
            var end = start + (Tasks.Length * d);
            return new FlowRunView(State(run, SlotCompleted, StateTypes.Completed, end), start, end, 1, pid, tasks, at);
        }

        return new FlowRunView(State(run, SlotRunning, StateTypes.Running, start), start, null, 1, pid, tasks, at);
    }

    private static StateView State(StoredFlowRun run, int slot, string type, DateTimeOffset at) =>
        new(Derive(run.Id, slot), type, StateTypes.DefaultName(type), at, null, Derive(run.Id, 100 + slot).ToString());

    /// <summary>A stable random-looking UUID (version 4 bits) derived from another id and a slot number.</summary>
    public static Guid Derive(Guid id, int slot)
    {
        Span<byte> input = stackalloc byte[20];
        id.TryWriteBytes(input);
        BitConverter.TryWriteBytes(input[16..], slot);
        Span<byte> hash = stackalloc byte[16];
        MD5.HashData(input, hash);
        hash[7] = (byte)((hash[7] & 0x0F) | 0x40);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash);
    }
}
