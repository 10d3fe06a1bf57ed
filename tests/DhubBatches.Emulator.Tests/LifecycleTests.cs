using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using DhubBatches.Emulator.Dhub;
using Xunit;

namespace DhubBatches.Emulator.Tests;

public class LifecycleTests
{
    private static readonly TimeSpan D = TimeSpan.FromSeconds(10);

    [Theory]
    [InlineData(0.5, "scheduled", "none", "none", "none")]
    [InlineData(1.5, "pending", "pending", "pending", "pending")]
    [InlineData(2.5, "running", "running", "pending", "pending")]
    [InlineData(3.25, "running", "success", "running", "pending")]
    [InlineData(4.9, "running", "success", "success", "running")]
    [InlineData(5.0, "stop", "success", "success", "success")]
    [InlineData(99, "stop", "success", "success", "success")]
    public void State_follows_elapsed_time(double steps, string state, string extract, string transform, string load)
    {
        var view = BatchLifecycle.Compute(D * steps, D, failsAtTransform: false, stopped: false);

        Assert.Equal(state, view.State);
        Assert.Equal(new[] { extract, transform, load }, view.Steps.Select(s => s.State));
    }

    [Fact]
    public void Offsets_grow_within_the_running_step_and_are_full_when_done()
    {
        var early = BatchLifecycle.Compute(D * 3.25, D, false, false);
        var late = BatchLifecycle.Compute(D * 3.75, D, false, false);

        Assert.Equal(new[] { 1000L, 500L }, early.Steps[0].Offsets().Select(o => o.Value));
        Assert.Equal(new[] { 250L, 125L }, early.Steps[1].Offsets().Select(o => o.Value));
        Assert.Equal(new[] { 750L, 375L }, late.Steps[1].Offsets().Select(o => o.Value));
        Assert.Empty(late.Steps[2].Offsets());
        Assert.Equal(new[] { "partition_0", "partition_1" }, late.Steps[1].Offsets().Select(o => o.Key));
    }

    [Fact]
    public void Failing_pipeline_fails_at_the_end_of_transform()
    {
        var during = BatchLifecycle.Compute(D * 3.5, D, failsAtTransform: true, stopped: false);
        var after = BatchLifecycle.Compute(D * 4.0, D, failsAtTransform: true, stopped: false);

        Assert.Equal("running", during.State);
        Assert.Equal("stop", after.State);
        Assert.Equal(new[] { "success", "failed", "none" }, after.Steps.Select(s => s.State));
    }

    [Fact]
    public void Stopped_batch_keeps_step_states_of_its_stop_time()
    {
        var view = BatchLifecycle.Compute(D * 3.5, D, failsAtTransform: false, stopped: true);

        Assert.Equal("stop", view.State);
        Assert.Equal(new[] { "success", "running", "pending" }, view.Steps.Select(s => s.State));
    }

}

/// <summary>Real-time tests run alone so a busy parallel test cannot stall a poll past a whole phase.</summary>
[CollectionDefinition(nameof(RealTimeCollection), DisableParallelization = true)]
public class RealTimeCollection
{
}

[Collection(nameof(RealTimeCollection))]
public class RealTimeLifecycleTests
{
    [Fact]
    public async Task Batch_progresses_over_http_through_every_state_with_growing_offsets()
    {
        await using var emu = await RunningEmulator.StartAsync(o => o.StepDuration = TimeSpan.FromMilliseconds(300));
        (await emu.Client.GetAsync("api/v1/batches/orders/")).Dispose(); // warm the connection before the clock matters
        var id = await emu.CreateAsync("orders");
        var states = new List<string>();
        var samples = new List<(string Step, long Partition0)>();
        var clock = Stopwatch.StartNew();

        while (clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            var batch = await emu.GetBatchAsync("orders", id);
            var state = batch.GetProperty("state").GetProperty("state").GetString()!;
            if (states.Count == 0 || states[^1] != state)
            {
                states.Add(state);
            }

            foreach (var step in batch.GetProperty("state").GetProperty("steps").EnumerateObject())
            {
                if (step.Value.GetProperty("state").GetString() == "running")
                {
                    samples.Add((step.Name, step.Value.GetProperty("offsets").GetProperty("partition_0").GetInt64()));
                }
            }

            if (state == "stop")
            {
                Assert.All(batch.GetProperty("state").GetProperty("steps").EnumerateObject(), s =>
                {
                    Assert.Equal("success", s.Value.GetProperty("state").GetString());
                    Assert.Equal(1000, s.Value.GetProperty("offsets").GetProperty("partition_0").GetInt64());
                    Assert.Equal(500, s.Value.GetProperty("offsets").GetProperty("partition_1").GetInt64());
                });
                break;
            }

            await Task.Delay(20);
        }

        Assert.Equal(new[] { "scheduled", "pending", "running", "stop" }, states);
        foreach (var group in samples.GroupBy(s => s.Step))
        {
            var offsets = group.Select(s => s.Partition0).ToList();
            Assert.Equal(offsets.OrderBy(o => o), offsets); // never goes backwards within a step
        }

        Assert.True(samples.GroupBy(s => s.Step).Any(g => g.Select(s => s.Partition0).Distinct().Count() > 1),
            "expected a running step whose offsets grew between polls");
    }

    [Fact]
    public async Task Failing_pipeline_over_http_ends_stopped_with_failed_transform()
    {
        await using var emu = await RunningEmulator.StartAsync(o => o.StepDuration = TimeSpan.FromMilliseconds(50));
        var id = await emu.CreateAsync("failing-pipeline");
        JsonElement batch;
        var clock = Stopwatch.StartNew();
        do
        {
            await Task.Delay(50);
            batch = await emu.GetBatchAsync("failing-pipeline", id);
        }
        while (batch.GetProperty("state").GetProperty("state").GetString() != "stop" && clock.Elapsed < TimeSpan.FromSeconds(10));

        var steps = batch.GetProperty("state").GetProperty("steps");
        Assert.Equal("stop", batch.GetProperty("state").GetProperty("state").GetString());
        Assert.Equal("success", steps.GetProperty("extract").GetProperty("state").GetString());
        Assert.Equal("failed", steps.GetProperty("transform").GetProperty("state").GetString());
        Assert.Equal("none", steps.GetProperty("load").GetProperty("state").GetString());
    }

    [Fact]
    public async Task Per_pipeline_step_duration_overrides_the_default()
    {
        await using var emu = await RunningEmulator.StartAsync(o => o.StepDuration = TimeSpan.FromHours(1));
        emu.State.AddPipeline("instant", TimeSpan.Zero);

        var slow = await emu.CreateAsync("orders");
        var fast = await emu.CreateAsync("instant");

        Assert.Equal("scheduled", (await emu.GetBatchAsync("orders", slow)).GetProperty("state").GetProperty("state").GetString());
        Assert.Equal("stop", (await emu.GetBatchAsync("instant", fast)).GetProperty("state").GetProperty("state").GetString());
    }
}
