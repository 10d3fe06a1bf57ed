using System;
using System.Linq;
using System.Net;
using System.Threading.Tasks;
using Xunit;

namespace DhubBatches.Emulator.Tests;

/// <summary>The built-in flows picked by pipeline name: subflows, schedules, late runs, pauses, concurrency limits, crashes, stuck cancels.</summary>
public class PrefectFlowBehaviourTests
{
    [Theory]
    [InlineData(3)]
    [InlineData(2)]
    public async Task A_subflow_is_a_child_run_without_deployment_tracked_by_a_task_run_that_mirrors_it(int version)
    {
        await using var emu = await PrefectEmulator.StartAsync(version: version);
        var parent = await emu.CreateRunIdAsync("subflow-pipeline");
        emu.Step(3.5);
        var tracking = (await emu.TaskRunsAsync(parent))[1];
        var (_, children) = await emu.PostAsync("flow_runs/filter", $"{{\"flow_runs\":{{\"parent_task_run_id\":{{\"any_\":[\"{tracking.Str("id")}\"]}}}}}}");
        var child = Assert.Single(children.EnumerateArray());
        Assert.True(child.IsNull("deployment_id"));
        Assert.NotEqual((await emu.ReadRunAsync(parent)).Str("flow_id"), child.Str("flow_id"));
        Assert.Equal("RUNNING", child.Str("state_type"));
        Assert.Equal(tracking.Str("id"), child.GetProperty("state").GetProperty("state_details").Str("task_run_id"));
        Assert.Equal("RUNNING", tracking.Str("state_type"));
        Assert.Equal(child.Str("id"), tracking.GetProperty("state").GetProperty("state_details").Str("child_flow_run_id"));
        Assert.Equal((1, 0), (tracking.Int("run_count"), tracking.Int("flow_run_run_count")));
        if (version == 3)
        {
            Assert.Equal("publish-" + tracking.Str("dynamic_key")[..3], tracking.Str("name"));
        }
        else
        {
            // Prefect 2 gives the tracking task run no name, so the server picks a slug.
            Assert.Equal("0", tracking.Str("dynamic_key"));
            Assert.DoesNotContain("publish", tracking.Str("name"));
        }

        var dep = emu.State.Prefect.DeploymentId("subflow-pipeline");
        var (_, listed) = await emu.PostAsync("flow_runs/filter", $"{{\"flow_runs\":{{\"deployment_id\":{{\"any_\":[\"{dep}\"]}}}}}}");
        Assert.Equal(new[] { parent }, listed.EnumerateArray().Select(r => r.Str("id")));

        emu.Step(1);
        Assert.Equal("COMPLETED", (await emu.ReadRunAsync(child.Str("id"))).Str("state_type"));
        Assert.Equal("COMPLETED", (await emu.ReadRunAsync(parent)).Str("state_type"));
        var done = (await emu.TaskRunsAsync(parent))[1];
        Assert.Equal(("COMPLETED", 0), (done.Str("state_type"), done.Int("flow_run_run_count")));
        Assert.Equal("upload", (await emu.TaskRunsAsync(child.Str("id"))).Single().Str("task_key").Split('-')[0]);
        Assert.Contains(await emu.LogsAsync(parent), l => l.Str("message") == $"Created subflow run '{child.Str("name")}' for flow 'publish'");
    }

    [Fact]
    public async Task A_scheduled_deployment_keeps_three_future_runs_that_sort_first()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var start = emu.State.UtcNow;
        var (_, d) = await emu.GetAsync("deployments/name/run-pipeline/scheduled-pipeline", "/deployments/name/{flow_name}/{deployment_name}");
        var schedule = Assert.Single(d.GetProperty("schedules").EnumerateArray());
        Assert.Equal(3600, schedule.GetProperty("schedule").GetProperty("interval").GetDouble());
        var filter = $"\"flow_runs\":{{\"deployment_id\":{{\"any_\":[\"{d.Str("id")}\"]}}}}";
        var (_, runs) = await emu.PostAsync("flow_runs/filter", $"{{{filter},\"sort\":\"EXPECTED_START_TIME_DESC\"}}");
        var list = runs.EnumerateArray().ToArray();
        Assert.Equal(6, list.Length);
        Assert.Equal(new[] { 3, 2, 1 }.Select(h => start.AddHours(h)), list.Take(3).Select(r => r.Time("expected_start_time")));
        Assert.All(list.Take(3), r =>
        {
            Assert.Equal("SCHEDULED/Scheduled", r.Str("state_type") + "/" + r.Str("state_name"));
            Assert.True(r.GetProperty("auto_scheduled").GetBoolean());
            Assert.Equal("auto-scheduled", r.GetProperty("tags")[0].GetString());
            Assert.Equal($"scheduled {d.Str("id")} {schedule.Str("id")} {r.Time("expected_start_time").UtcDateTime:yyyy-MM-dd HH:mm:ss}+00:00", r.Str("idempotency_key"));
        });
        Assert.All(list.Skip(3), r => Assert.Equal("COMPLETED", r.Str("state_type")));

        var (_, due) = await emu.PostAsync("flow_runs/filter",
            $"{{\"flow_runs\":{{\"deployment_id\":{{\"any_\":[\"{d.Str("id")}\"]}},\"expected_start_time\":{{\"before_\":\"{emu.State.UtcNow:O}\"}}}},\"sort\":\"EXPECTED_START_TIME_DESC\"}}");
        Assert.Equal(3, due.GetArrayLength());

        emu.Clock.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(25));
        var (_, later) = await emu.PostAsync("flow_runs/filter", $"{{{filter},\"sort\":\"EXPECTED_START_TIME_DESC\"}}");
        var now = later.EnumerateArray().ToArray();
        Assert.Equal(7, now.Length);
        Assert.Equal(3, now.Count(r => r.Time("expected_start_time") > emu.State.UtcNow));
        Assert.Equal("RUNNING", now[3].Str("state_type"));
    }

    [Fact]
    public async Task A_run_nobody_picks_up_becomes_Late_and_a_cancel_cancels_it_at_once()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var id = await emu.CreateRunIdAsync("late-pipeline");
        emu.Step(0.5);
        Assert.Equal("SCHEDULED/Scheduled", await emu.StateOfAsync(id));
        emu.Step(1);
        var late = await emu.ReadRunAsync(id);
        Assert.Equal("SCHEDULED/Late", late.Str("state_type") + "/" + late.Str("state_name"));
        Assert.True(late.IsNull("infrastructure_pid"));
        emu.Step(20);
        Assert.Equal("SCHEDULED/Late", await emu.StateOfAsync(id));
        Assert.Empty(await emu.TaskRunsAsync(id));

        var (status, result) = await emu.SetStateAsync(id, "CANCELLING", Guid.NewGuid().ToString());
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal("REJECT", result.Str("status"));
        Assert.Equal("CANCELLED", result.GetProperty("state").Str("type"));
        Assert.Equal("Scheduled flow run has no infrastructure to terminate.", result.GetProperty("details").Str("reason"));
        var cancelled = await emu.ReadRunAsync(id);
        Assert.Equal("CANCELLED", cancelled.Str("state_type"));
        Assert.True(cancelled.IsNull("start_time") && cancelled.IsNull("end_time"));
        var (_, d) = await emu.GetAsync("deployments/name/run-pipeline/late-pipeline", "/deployments/name/{flow_name}/{deployment_name}");
        Assert.Equal("NOT_READY", d.Str("status"));
    }

    [Fact]
    public async Task A_paused_run_is_PAUSED_for_two_steps_then_runs_on_without_counting_an_attempt()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var id = await emu.CreateRunIdAsync("paused-pipeline");
        emu.Step(3.5);
        var paused = await emu.ReadRunAsync(id);
        Assert.Equal("PAUSED/Paused", paused.Str("state_type") + "/" + paused.Str("state_name"));
        Assert.False(paused.GetProperty("state").GetProperty("state_details").GetProperty("pause_reschedule").GetBoolean());
        Assert.False(paused.GetProperty("state").GetProperty("state_details").IsNull("pause_timeout"));
        Assert.Equal("1", paused.GetProperty("empirical_policy").GetProperty("pause_keys")[0].GetString());
        emu.Step(1);
        Assert.Equal("PAUSED/Paused", await emu.StateOfAsync(id));
        emu.Step(1);
        Assert.Equal("RUNNING/Running", await emu.StateOfAsync(id));
        emu.Step(2);
        var done = await emu.ReadRunAsync(id);
        Assert.Equal(("COMPLETED", 1), (done.Str("state_type"), done.Int("run_count")));
    }

    [Fact]
    public async Task A_suspended_run_resumes_through_Resuming_and_a_cancel_while_suspended_cancels_it_at_once()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var kept = await emu.CreateRunIdAsync("suspend-pipeline");
        var cancelled = await emu.CreateRunIdAsync("suspend-pipeline");
        emu.Step(3.5);
        var suspended = await emu.ReadRunAsync(cancelled);
        Assert.Equal("PAUSED/Suspended", suspended.Str("state_type") + "/" + suspended.Str("state_name"));
        Assert.True(suspended.GetProperty("state").GetProperty("state_details").GetProperty("pause_reschedule").GetBoolean());
        var (_, result) = await emu.SetStateAsync(cancelled, "CANCELLING", Guid.NewGuid().ToString());
        Assert.Equal("REJECT", result.Str("status"));
        Assert.Equal("CANCELLED", result.GetProperty("state").Str("type"));
        Assert.Equal("Suspended flow run has no infrastructure to terminate.", result.GetProperty("details").Str("reason"));

        emu.Step(2);
        Assert.Equal("SCHEDULED/Resuming", await emu.StateOfAsync(kept));
        emu.Step(1);
        Assert.Equal("PENDING/Pending", await emu.StateOfAsync(kept));
        emu.Step(1);
        Assert.Equal("RUNNING/Running", await emu.StateOfAsync(kept));
        emu.Step(2);
        var done = await emu.ReadRunAsync(kept);
        Assert.Equal(("COMPLETED", 1), (done.Str("state_type"), done.Int("run_count")));
    }

    [Theory]
    [InlineData(3, "AwaitingConcurrencySlot")]
    [InlineData(2, "Late")]
    public async Task A_run_over_the_concurrency_limit_waits_until_the_other_is_done(int version, string waitingName)
    {
        await using var emu = await PrefectEmulator.StartAsync(version: version);
        var first = await emu.CreateRunIdAsync("limited-pipeline");
        var second = await emu.CreateRunIdAsync("limited-pipeline");
        emu.Step(1.5);
        Assert.Equal("PENDING/Pending", await emu.StateOfAsync(first));
        var waiting = await emu.ReadRunAsync(second);
        Assert.Equal("SCHEDULED/" + waitingName, waiting.Str("state_type") + "/" + waiting.Str("state_name"));
        Assert.True(waiting.IsNull("infrastructure_pid"));
        emu.Step(3);
        Assert.Equal("SCHEDULED/" + waitingName, await emu.StateOfAsync(second));
        emu.Step(1);
        Assert.Equal("COMPLETED", emu.State.Prefect.RunStateType(first));
        Assert.Equal("SCHEDULED/" + waitingName, await emu.StateOfAsync(second));
        emu.Step(1); // the worker's next poll after the first run finished takes the free slot
        Assert.Equal("PENDING/Pending", await emu.StateOfAsync(second));
        emu.Step(4);
        Assert.Equal("COMPLETED", emu.State.Prefect.RunStateType(second));
        if (version == 3)
        {
            var (_, d) = await emu.GetAsync("deployments/name/run-pipeline/limited-pipeline", "/deployments/name/{flow_name}/{deployment_name}");
            Assert.Equal(1, d.Int("concurrency_limit"));
        }
    }

    [Fact]
    public async Task A_crash_ends_the_run_and_its_running_task_run_CRASHED()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var id = await emu.CreateRunIdAsync("crash-pipeline");
        emu.Step(5);
        var run = await emu.ReadRunAsync(id);
        Assert.Equal("CRASHED", run.Str("state_type"));
        Assert.Equal("Execution was cancelled by the runtime environment.", run.GetProperty("state").Str("message"));
        Assert.False(run.IsNull("end_time"));
        var tasks = await emu.TaskRunsAsync(id);
        Assert.Equal(new[] { "COMPLETED", "CRASHED" }, tasks.Select(t => t.Str("state_type")));
        Assert.Equal("Execution was cancelled by the runtime environment.", tasks[1].GetProperty("state").Str("message"));
        var (_, abort) = await emu.SetStateAsync(id, "CANCELLING", Guid.NewGuid().ToString());
        Assert.Equal("Run is already in terminal state CRASHED.", abort.GetProperty("details").Str("reason"));
    }

    [Fact]
    public async Task A_run_whose_worker_went_away_stays_CANCELLING_until_a_client_proposes_CANCELLED()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var id = await emu.CreateRunIdAsync("stuck-pipeline");
        emu.Step(20);
        Assert.Equal("RUNNING/Running", await emu.StateOfAsync(id));
        Assert.Equal("RUNNING", (await emu.TaskRunsAsync(id))[1].Str("state_type"));
        var (_, accepted) = await emu.SetStateAsync(id, "CANCELLING", Guid.NewGuid().ToString());
        Assert.Equal("ACCEPT", accepted.Str("status"));
        emu.Step(50);
        Assert.Equal("CANCELLING/Cancelling", await emu.StateOfAsync(id));
        var (_, rejected) = await emu.SetStateAsync(id, "COMPLETED", Guid.NewGuid().ToString());
        Assert.Equal("REJECT", rejected.Str("status"));
        var (status, cancelled) = await emu.SetStateAsync(id, "CANCELLED", Guid.NewGuid().ToString());
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal("ACCEPT", cancelled.Str("status"));
        Assert.Equal("CANCELLED", await emu.StateOfAsync(id) is var s ? s.Split('/')[0] : null);
        Assert.Equal("RUNNING", (await emu.TaskRunsAsync(id))[1].Str("state_type"));
    }
}
