using System;
using System.Linq;
using System.Net;
using System.Threading.Tasks;
using Xunit;

namespace DhubBatches.Emulator.Tests;

/// <summary>
/// Flow retries (<c>@flow(retries=1)</c>) and restarts (<c>prefect flow-run retry</c>: SCHEDULED with force):
/// Prefect 3 makes new task runs every attempt, Prefect 2 reuses them (upsert on task key and dynamic key).
/// </summary>
public class PrefectRetryRestartTests
{
    [Fact]
    public async Task A_flow_retry_waits_one_step_AwaitingRetry_then_runs_again_with_new_task_runs_in_prefect_3()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var id = await emu.CreateRunIdAsync("retry-pipeline");
        emu.Step(4.5); // transform failed at 4 steps
        Assert.Equal("SCHEDULED/AwaitingRetry", await emu.StateOfAsync(id));
        var awaiting = await emu.ReadRunAsync(id);
        Assert.Equal(1, awaiting.Int("run_count"));
        Assert.Equal("in_process", awaiting.GetProperty("empirical_policy").Str("retry_type"));
        var first = await emu.TaskRunsAsync(id);
        Assert.Equal(new[] { "COMPLETED", "FAILED", "PENDING" }, first.Select(t => t.Str("state_type")));

        emu.Step(1);
        // The flow engine proposes Running(); RenameReruns renames task runs only (CoreTaskPolicy).
        Assert.Equal("RUNNING/Running", await emu.StateOfAsync(id));
        Assert.Equal(2, (await emu.ReadRunAsync(id)).Int("run_count"));

        emu.Step(5);
        var done = await emu.ReadRunAsync(id);
        Assert.Equal("COMPLETED", done.Str("state_type"));
        Assert.Equal(2, done.Int("run_count"));
        var all = await emu.TaskRunsAsync(id);
        Assert.Equal(6, all.Length);
        var attempt1 = all.Where(t => first.Any(f => f.Str("id") == t.Str("id"))).ToArray();
        Assert.Equal(first.Select(t => t.Str("state_type")), attempt1.Select(t => t.Str("state_type")));
        Assert.Equal(new[] { 1, 1, 0 }, attempt1.Select(t => t.Int("flow_run_run_count")));
        var attempt2 = all.Except(attempt1).ToArray();
        Assert.All(attempt2, t => Assert.Equal(2, t.Int("flow_run_run_count")));
        Assert.All(attempt2, t => Assert.Equal("COMPLETED", t.Str("state_type")));
        Assert.Empty(attempt2.Select(t => t.Str("dynamic_key")).Intersect(attempt1.Select(t => t.Str("dynamic_key"))));
    }

    [Fact]
    public async Task A_flow_retry_reuses_the_task_runs_in_prefect_2()
    {
        await using var emu = await PrefectEmulator.StartAsync(version: 2);
        var id = await emu.CreateRunIdAsync("retry-pipeline");
        emu.Step(4.5);
        var first = await emu.TaskRunsAsync(id);
        emu.Step(6);
        Assert.Equal("COMPLETED", (await emu.ReadRunAsync(id)).Str("state_type"));
        var after = await emu.TaskRunsAsync(id);
        Assert.Equal(first.Select(t => t.Str("id")), after.Select(t => t.Str("id")));
        Assert.Equal(new[] { "extract-0", "transform-0", "load-0" }, after.Select(t => t.Str("name")));
        Assert.All(after, t => Assert.Equal("COMPLETED", t.Str("state_type")));
        Assert.All(after, t => Assert.Equal(2, t.Int("flow_run_run_count")));
        // Leaving a terminal state resets the count (HandleTaskTerminalStateTransitions), so reruns read 1 again.
        Assert.All(after, t => Assert.Equal(1, t.Int("run_count")));
        Assert.Equal(first[0].Str("start_time"), after[0].Str("start_time"));
        Assert.True(after[0].Time("end_time") > first[0].Time("end_time"));
    }

    [Theory]
    [InlineData(3)]
    [InlineData(2)]
    public async Task A_restart_is_accepted_and_runs_the_same_flow_run_again_as_a_new_attempt(int version)
    {
        await using var emu = await PrefectEmulator.StartAsync(version: version);
        var id = await emu.CreateRunIdAsync("orders");
        emu.Step(6);
        var before = await emu.TaskRunsAsync(id);
        var (status, result) = await emu.SetStateAsync(id, "SCHEDULED", Guid.NewGuid().ToString(), force: true, message: "Retried via CLI");
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal("ACCEPT", result.Str("status"));
        Assert.Equal("SCHEDULED", result.GetProperty("state").Str("type"));
        Assert.Equal("Retried via CLI", result.GetProperty("state").Str("message"));
        Assert.Equal(result.GetProperty("state").Str("timestamp"), result.GetProperty("state").GetProperty("state_details").Str("scheduled_time"));
        var scheduled = await emu.ReadRunAsync(id);
        Assert.True(scheduled.IsNull("end_time"));
        Assert.Equal(1, scheduled.Int("run_count"));

        emu.Step(1.5);
        Assert.Equal("PENDING/Pending", await emu.StateOfAsync(id));
        emu.Step(1);
        Assert.Equal("RUNNING/Running", await emu.StateOfAsync(id));
        Assert.Equal(2, (await emu.ReadRunAsync(id)).Int("run_count"));
        emu.Step(4);
        var done = await emu.ReadRunAsync(id);
        Assert.Equal("COMPLETED", done.Str("state_type"));
        Assert.False(done.IsNull("end_time"));
        var after = await emu.TaskRunsAsync(id);
        if (version == 3)
        {
            Assert.Equal(6, after.Length);
            Assert.Equal(3, after.Count(t => t.Int("flow_run_run_count") == 2));
        }
        else
        {
            // Matches the recorded task_runs_after_restart.json: same ids, flow_run_run_count 2, run_count 1.
            Assert.Equal(before.Select(t => t.Str("id")), after.Select(t => t.Str("id")));
            Assert.All(after, t => Assert.Equal((2, 1), (t.Int("flow_run_run_count"), t.Int("run_count"))));
        }
    }

    [Fact]
    public async Task A_restarted_failing_run_fails_again_and_its_logs_keep_the_first_attempt()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var id = await emu.CreateRunIdAsync("failing-pipeline");
        emu.Step(6);
        var firstLogs = await emu.LogsAsync(id);
        await emu.SetStateAsync(id, "SCHEDULED", Guid.NewGuid().ToString(), force: true);
        emu.Step(6);
        var run = await emu.ReadRunAsync(id);
        Assert.Equal("FAILED", run.Str("state_type"));
        Assert.Equal(2, run.Int("run_count"));
        var logs = await emu.LogsAsync(id);
        Assert.Equal(firstLogs.Select(l => l.Str("id")), logs.Take(firstLogs.Length).Select(l => l.Str("id")));
        Assert.Equal(2, logs.Count(l => l.Str("message").StartsWith("Finished in state Failed", StringComparison.Ordinal) && l.IsNull("task_run_id")));
    }

    [Fact]
    public async Task Scheduled_without_force_is_accepted_as_prefects_rules_allow_but_not_for_persisted_results_or_subflow_runs()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var id = await emu.CreateRunIdAsync("orders");
        emu.Step(6);
        // HandleFlowTerminalStateTransitions lets a deployment's finished run (unpersisted result) go back to SCHEDULED.
        var (_, plain) = await emu.SetStateAsync(id, "SCHEDULED", Guid.NewGuid().ToString());
        Assert.Equal("ACCEPT", plain.Str("status"));

        using (var control = new System.Net.Http.HttpClient { BaseAddress = emu.Server.BaseUri })
        {
            using var put = await control.PutAsync("_emulator/prefect/pipelines/persisted",
                new System.Net.Http.StringContent("{\"tasks\":[{\"name\":\"extract\"}],\"persistsResults\":true}"));
            put.EnsureSuccessStatusCode();
        }

        var persisted = await emu.CreateRunIdAsync("persisted");
        emu.Step(4);
        var (rejectStatus, reject) = await emu.SetStateAsync(persisted, "SCHEDULED", Guid.NewGuid().ToString());
        Assert.Equal(HttpStatusCode.OK, rejectStatus);
        Assert.Equal("REJECT", reject.Str("status"));
        Assert.Equal("Run is already COMPLETED.", reject.GetProperty("details").Str("reason"));
        Assert.Equal("COMPLETED", reject.GetProperty("state").Str("type"));
        var (_, forced) = await emu.SetStateAsync(persisted, "SCHEDULED", Guid.NewGuid().ToString(), force: true);
        Assert.Equal("ACCEPT", forced.Str("status"));

        var parent = await emu.CreateRunIdAsync("subflow-pipeline");
        emu.Step(6);
        var (_, children) = await emu.PostAsync("flow_runs/filter", $"{{\"flow_runs\":{{\"parent_flow_run_id\":{{\"any_\":[\"{parent}\"]}}}}}}");
        var child = Assert.Single(children.EnumerateArray()).Str("id");
        var (_, abort) = await emu.SetStateAsync(child, "SCHEDULED", Guid.NewGuid().ToString());
        Assert.Equal("ABORT", abort.Str("status"));
        Assert.Equal("Cannot reschedule a run without an associated deployment.", abort.GetProperty("details").Str("reason"));
    }

    [Fact]
    public async Task The_abort_knob_makes_the_next_set_state_calls_ABORT_with_the_given_reason()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var id = await emu.CreateRunIdAsync("orders");
        emu.Step(6);
        using var control = new System.Net.Http.HttpClient { BaseAddress = emu.Server.BaseUri };
        using var knob = await control.PostAsync("_emulator/prefect/set-state-abort",
            new System.Net.Http.StringContent("{\"count\":2,\"reason\":\"Restarts are disabled on this server.\"}"));
        knob.EnsureSuccessStatusCode();
        for (var i = 0; i < 2; i++)
        {
            var (status, result) = await emu.SetStateAsync(id, "SCHEDULED", Guid.NewGuid().ToString(), force: true);
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal("ABORT", result.Str("status"));
            Assert.Equal("abort_details", result.GetProperty("details").Str("type"));
            Assert.Equal("Restarts are disabled on this server.", result.GetProperty("details").Str("reason"));
            Assert.Equal("COMPLETED", result.GetProperty("state").Str("type"));
        }

        var (_, accepted) = await emu.SetStateAsync(id, "SCHEDULED", Guid.NewGuid().ToString(), force: true);
        Assert.Equal("ACCEPT", accepted.Str("status"));
        Assert.Equal(new[] { "ABORT", "ABORT", "ACCEPT" }, emu.State.Prefect.SetStateCalls.Select(c => c.Status));
    }
}
