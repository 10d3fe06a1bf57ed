using System;
using System.Linq;
using System.Threading.Tasks;
using Xunit;

namespace DhubBatches.Emulator.Tests;

/// <summary>
/// Flows written the usual way and served by a real runner, as recorded on Prefect 2.16.8: tasks called one after another
/// (a task run only once its call starts, none after a failure) and a runner that leaves a cancelled run CANCELLING.
/// </summary>
public class PrefectRealRunnerTests
{
    [Theory]
    [InlineData(3)]
    [InlineData(2)]
    public async Task Tasks_called_in_order_have_no_task_run_before_their_call_and_none_after_a_failure(int version)
    {
        await using var emu = await PrefectEmulator.StartAsync(version: version);
        var failing = await emu.CreateRunIdAsync("sequential-pipeline", "{\"parameters\":{\"fail\":true}}");
        var fine = await emu.CreateRunIdAsync("sequential-pipeline");
        emu.Step(2.5);
        Assert.Equal(new[] { "RUNNING" }, (await emu.TaskRunsAsync(fine)).Select(t => t.Str("state_type")));

        emu.Step(10);
        Assert.Equal("FAILED", emu.State.Prefect.RunStateType(failing));
        var tasks = await emu.TaskRunsAsync(failing);
        Assert.Equal(new[] { "extract:COMPLETED", "transform:FAILED" }, tasks.Select(t => t.Str("task_key").Split('-')[0] + ":" + t.Str("state_type")));
        Assert.DoesNotContain(tasks, t => t.Str("state_name") == "NotReady");
        Assert.Equal("COMPLETED", emu.State.Prefect.RunStateType(fine));
        Assert.Equal(3, (await emu.TaskRunsAsync(fine)).Length);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(2)]
    public async Task A_served_flow_cancelled_mid_task_finishes_that_task_aborts_the_next_and_stays_CANCELLING(int version)
    {
        await using var emu = await PrefectEmulator.StartAsync(version: version);
        var id = await emu.CreateRunIdAsync("served-pipeline");
        emu.Step(2.5);
        Assert.Equal("RUNNING", (await emu.TaskRunsAsync(id)).Single().Str("state_type"));
        var (_, accepted) = await emu.SetStateAsync(id, "CANCELLING", Guid.NewGuid().ToString());
        Assert.Equal("ACCEPT", accepted.Str("status"));

        emu.Step(30);
        Assert.Equal("CANCELLING/Cancelling", await emu.StateOfAsync(id));
        var tasks = await emu.TaskRunsAsync(id);
        Assert.Equal(new[] { "COMPLETED", "PENDING" }, tasks.Select(t => t.Str("state_type")));
        Assert.Equal((0, 0), (tasks[1].Int("run_count"), tasks[1].Int("flow_run_run_count")));
        Assert.StartsWith("transform-", tasks[1].Str("name"));
        var messages = (await emu.LogsAsync(id)).Select(l => l.Str("message")).ToList();
        Assert.Contains(messages, m => m.Contains("received abort during orchestration", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.EndsWith("exited cleanly.", StringComparison.Ordinal));

        var (_, cancelled) = await emu.SetStateAsync(id, "CANCELLED", Guid.NewGuid().ToString());
        Assert.Equal("ACCEPT", cancelled.Str("status"));
        Assert.Equal("CANCELLED", emu.State.Prefect.RunStateType(id));
    }

    [Fact]
    public async Task A_served_flow_cancelled_in_its_last_task_creates_no_further_task_run()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var id = await emu.CreateRunIdAsync("served-pipeline");
        emu.Step(4.5);
        await emu.SetStateAsync(id, "CANCELLING", Guid.NewGuid().ToString());
        emu.Step(10);
        Assert.Equal("CANCELLING/Cancelling", await emu.StateOfAsync(id));
        Assert.Equal(new[] { "COMPLETED", "COMPLETED", "COMPLETED" }, (await emu.TaskRunsAsync(id)).Select(t => t.Str("state_type")));
    }
}
