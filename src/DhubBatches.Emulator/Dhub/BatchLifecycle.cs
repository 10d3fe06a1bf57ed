using System;
using System.Collections.Generic;

namespace DhubBatches.Emulator.Dhub;

/// <summary>A step as the API shows it; <see cref="Progress"/> null means "no offsets yet" (<c>{}</c>).</summary>
public sealed record StepView(string Name, string State, double? Progress)
{
    /// <summary>Partitions every step reports, with the offset each reaches when the step is done.</summary>
    public static readonly IReadOnlyList<KeyValuePair<string, long>> Partitions = new[]
    {
        new KeyValuePair<string, long>("partition_0", 1000),
        new KeyValuePair<string, long>("partition_1", 500),
    };

    public IEnumerable<KeyValuePair<string, long>> Offsets()
    {
        if (Progress is not { } progress)
        {
            yield break;
        }

        foreach (var (partition, total) in Partitions)
        {
            yield return new KeyValuePair<string, long>(partition, (long)Math.Floor(total * progress));
        }
    }
}

/// <summary>A batch's state and steps at one instant.</summary>
public sealed record BatchView(string State, IReadOnlyList<StepView> Steps);

/// <summary>
/// Computes a batch's state from elapsed time alone, so there are no timers and 100,000 stored
/// batches cost nothing until they are read. With step duration d and elapsed t:
/// scheduled (t &lt; d), pending (t &lt; 2d), running extract/transform/load (one d each), then stop.
/// </summary>
public static class BatchLifecycle
{
    public const string Scheduled = "scheduled";
    public const string Pending = "pending";
    public const string Running = "running";
    public const string Stop = "stop";

    public const string StepNone = "none";
    public const string StepPending = "pending";
    public const string StepRunning = "running";
    public const string StepSuccess = "success";
    public const string StepFailed = "failed";

    public static readonly IReadOnlyList<string> StepNames = new[] { "extract", "transform", "load" };

    private const int TransformIndex = 1;

    /// <summary>
    /// State at <paramref name="elapsed"/> after creation. A stopped batch is evaluated at its stop time
    /// and then reported as <c>stop</c>: finished steps keep <c>success</c>, the step that was running and
    /// the later ones keep the state they had at that moment (clients derive "stopped" from that).
    /// </summary>
    public static BatchView Compute(TimeSpan elapsed, TimeSpan stepDuration, bool failsAtTransform, bool stopped)
    {
        var view = Progress(elapsed, stepDuration, failsAtTransform);
        return stopped && view.State != Stop ? view with { State = Stop } : view;
    }

    internal static BatchView Compute(StoredBatch batch, DateTimeOffset now) =>
        Compute((batch.StoppedAt ?? now) - batch.CreatedAt, batch.StepDuration, batch.FailsAtTransform, batch.StoppedAt is not null);

    /// <summary>True once the batch would report <c>stop</c> on its own (finished or failed).</summary>
    internal static bool IsFinished(StoredBatch batch, DateTimeOffset now) =>
        batch.StoppedAt is not null || Compute(batch, now).State == Stop;

    private static BatchView Progress(TimeSpan elapsed, TimeSpan stepDuration, bool failsAtTransform)
    {
        // Elapsed time in units of one step; a zero duration means "finished immediately".
        var units = stepDuration <= TimeSpan.Zero
            ? double.PositiveInfinity
            : Math.Max(elapsed.Ticks, 0) / (double)stepDuration.Ticks;

        if (units < 1)
        {
            return Uniform(Scheduled, StepNone);
        }

        if (units < 2)
        {
            return Uniform(Pending, StepPending);
        }

        var active = units - 2;
        if (failsAtTransform && active >= TransformIndex + 1)
        {
            return new BatchView(Stop, new[]
            {
                new StepView(StepNames[0], StepSuccess, 1),
                new StepView(StepNames[1], StepFailed, 1),
                new StepView(StepNames[2], StepNone, null),
            });
        }

        if (active >= StepNames.Count)
        {
            return Uniform(Stop, StepSuccess, 1);
        }

        var index = (int)Math.Floor(active);
        var steps = new StepView[StepNames.Count];
        for (var i = 0; i < steps.Length; i++)
        {
            steps[i] = i < index ? new StepView(StepNames[i], StepSuccess, 1)
                : i == index ? new StepView(StepNames[i], StepRunning, active - index)
                : new StepView(StepNames[i], StepPending, null);
        }

        return new BatchView(Running, steps);
    }

    private static BatchView Uniform(string state, string stepState, double? progress = null)
    {
        var steps = new StepView[StepNames.Count];
        for (var i = 0; i < steps.Length; i++)
        {
            steps[i] = new StepView(StepNames[i], stepState, progress);
        }

        return new BatchView(state, steps);
    }
}
