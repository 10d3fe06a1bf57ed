using System;
using System.Linq;
using System.Net;
using System.Threading.Tasks;
using Xunit;

namespace DhubBatches.Emulator.Tests;

/// <summary>Task runs: names and dynamic keys per Prefect version, failures and NotReady downstream, mapping, and the task run filter.</summary>
public class PrefectTaskRunTests
{
    [Theory]
    [InlineData(3)]
    [InlineData(2)]
    public async Task Task_run_names_and_dynamic_keys_follow_the_prefect_version(int version)
    {
        await using var emu = await PrefectEmulator.StartAsync(version: version);
        var first = await emu.CreateRunIdAsync("orders");
        var second = await emu.CreateRunIdAsync("orders");
        emu.Step(6);
        var a = await emu.TaskRunsAsync(first);
        var b = await emu.TaskRunsAsync(second);
        Assert.Equal(3, a.Length);
        foreach (var (task, expected) in a.Zip(new[] { "extract", "transform", "load" }))
        {
            var name = task.Str("name");
            var key = task.Str("dynamic_key");
            if (version == 2)
            {
                // A per-flow-run counter: the first call of each task is "0".
                Assert.Equal("0", key);
                Assert.Equal(expected + "-0", name);
            }
            else
            {
                // A uuid4, and the name carries its first three characters.
                Assert.True(Guid.TryParse(key, out _) && key[14] == '4', key);
                Assert.Equal($"{expected}-{key[..3]}", name);
            }

            Assert.StartsWith(expected + "-", task.Str("task_key"));
            Assert.Equal("COMPLETED", task.Str("state_type"));
            Assert.Equal(1, task.Int("run_count"));
            Assert.Equal(1, task.Int("flow_run_run_count"));
        }

        Assert.Equal(a.Select(t => t.Str("task_key")), b.Select(t => t.Str("task_key")));
        if (version == 3)
        {
            Assert.Empty(a.Select(t => t.Str("dynamic_key")).Intersect(b.Select(t => t.Str("dynamic_key"))));
        }
        else
        {
            Assert.Equal(a.Select(t => t.Str("name")), b.Select(t => t.Str("name")));
        }
    }

    [Theory]
    [InlineData(3, "Flow run encountered an exception: RuntimeError: transform failed")]
    [InlineData(2, "Flow run encountered an exception. RuntimeError: transform failed")]
    public async Task A_failing_task_fails_the_run_and_leaves_the_downstream_task_NotReady_with_count_0(int version, string flowMessage)
    {
        await using var emu = await PrefectEmulator.StartAsync(version: version);
        var id = await emu.CreateRunIdAsync("failing-pipeline");
        emu.Step(10);
        var run = await emu.ReadRunAsync(id);
        Assert.Equal("FAILED", run.Str("state_type"));
        Assert.Equal(flowMessage, run.GetProperty("state").Str("message"));
        Assert.Equal(1, run.Int("run_count"));
        Assert.False(run.IsNull("end_time"));

        var tasks = await emu.TaskRunsAsync(id);
        Assert.Equal(new[] { "COMPLETED", "FAILED", "PENDING" }, tasks.Select(t => t.Str("state_type")));
        Assert.Equal("Task run encountered an exception RuntimeError: transform failed", tasks[1].GetProperty("state").Str("message"));
        var load = tasks[2];
        Assert.Equal("NotReady", load.Str("state_name"));
        Assert.Equal(0, load.Int("run_count"));
        Assert.Equal(0, load.Int("flow_run_run_count"));
        Assert.Equal($"Upstream task run '{tasks[1].Str("id")}' did not reach a 'COMPLETED' state.", load.GetProperty("state").Str("message"));
        Assert.True(load.IsNull("start_time"));
        Assert.Equal(tasks[1].Str("id"), load.GetProperty("task_inputs").GetProperty("upstream")[0].Str("id"));
    }

    [Theory]
    [InlineData(3)]
    [InlineData(2)]
    public async Task A_mapped_task_makes_one_task_run_per_partition_each_writing_its_own_offsets(int version)
    {
        await using var emu = await PrefectEmulator.StartAsync(version: version);
        var id = await emu.CreateRunIdAsync("mapped-pipeline");
        emu.Step(6);
        Assert.Equal("COMPLETED", (await emu.ReadRunAsync(id)).Str("state_type"));
        var tasks = await emu.TaskRunsAsync(id);
        var mapped = tasks.Where(t => t.Str("task_key").StartsWith("transform-", StringComparison.Ordinal)).ToArray();
        Assert.Equal(3, mapped.Length);
        Assert.Equal(5, tasks.Length);
        if (version == 2)
        {
            Assert.Equal(new[] { "transform-0", "transform-1", "transform-2" }, mapped.Select(t => t.Str("name")).OrderBy(n => n));
        }
        else
        {
            Assert.All(mapped, t => Assert.Equal("transform-" + t.Str("dynamic_key")[..3], t.Str("name")));
            Assert.Equal(3, mapped.Select(t => t.Str("dynamic_key")).Distinct().Count());
        }

        var artifacts = await emu.ArtifactsAsync(id);
        var partitions = mapped.Select(t => artifacts.Where(a => a.Str("task_run_id") == t.Str("id") && a.Str("key") == "offsets")
                .OrderByDescending(a => a.Time("created")).First().Offsets())
            .Select(o => Assert.Single(o)).OrderBy(p => p.Key).ToArray();
        Assert.Equal(new[] { "partition_0", "partition_1", "partition_2" }, partitions.Select(p => p.Key));
        Assert.Equal(new long[] { 1000, 500, 250 }, partitions.Select(p => p.Value));
        var extract = artifacts.Where(a => a.Str("task_run_id") == tasks[0].Str("id") && a.Str("key") == "offsets").OrderByDescending(a => a.Time("created")).First();
        Assert.Equal(3, extract.Offsets().Count);
    }

    [Fact]
    public async Task The_task_run_filter_takes_many_flow_runs_task_ids_and_states_and_pages()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var a = await emu.CreateRunIdAsync("orders");
        var b = await emu.CreateRunIdAsync("failing-pipeline");
        emu.Step(10);
        var runs = $"\"flow_run_id\":{{\"any_\":[\"{a}\",\"{b}\"]}}";
        var (_, all) = await emu.PostAsync("task_runs/filter", "{\"task_runs\":{" + runs + "},\"sort\":\"EXPECTED_START_TIME_ASC\"}");
        Assert.Equal(6, all.GetArrayLength());
        var (_, completed) = await emu.PostAsync("task_runs/filter", "{\"task_runs\":{" + runs + ",\"state\":{\"type\":{\"any_\":[\"COMPLETED\"]}}}}");
        Assert.Equal(4, completed.GetArrayLength());
        var (_, page) = await emu.PostAsync("task_runs/filter", "{\"task_runs\":{" + runs + "},\"sort\":\"EXPECTED_START_TIME_ASC\",\"limit\":2,\"offset\":4}");
        Assert.Equal(all.EnumerateArray().Skip(4).Select(t => t.Str("id")), page.EnumerateArray().Select(t => t.Str("id")));
        var one = all[1].Str("id");
        var (_, byId) = await emu.PostAsync("task_runs/filter", $"{{\"task_runs\":{{\"id\":{{\"any_\":[\"{one}\"]}}}}}}");
        Assert.Equal(one, Assert.Single(byId.EnumerateArray()).Str("id"));
        var (status, count) = await emu.PostAsync("task_runs/count", "{\"task_runs\":{" + runs + "}}");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(6, count.GetInt32());
    }
}
