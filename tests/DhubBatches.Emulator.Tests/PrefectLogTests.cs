using System;
using System.Linq;
using System.Net;
using System.Threading.Tasks;
using Xunit;
using DhubBatches.TestSupport;

namespace DhubBatches.Emulator.Tests;

/// <summary><c>POST /logs/filter</c>: lines written as a run progresses, in Prefect's wording, filtered, sorted and paged.</summary>
public class PrefectLogTests
{
    [Fact]
    public async Task A_completed_run_logs_what_the_recorded_prefect_2_run_logged()
    {
        await using var emu = await PrefectEmulator.StartAsync(version: 2);
        var id = await emu.CreateRunIdAsync("orders");
        emu.Step(10);
        var logs = await emu.LogsAsync(id);
        var recorded = RecordedAnswers.Read("logs_filter.json").EnumerateArray().ToArray();
        Assert.Equal(RecordedAnswers.Members(recorded[0]), RecordedAnswers.Members(logs[0]));
        var flowLines = logs.Where(l => l.IsNull("task_run_id")).Select(l => l.Str("message")).ToArray();
        Assert.Equal($"Runner 'runner-", flowLines[0][..15]);
        Assert.EndsWith($"submitting flow run '{id}'", flowLines[0]);
        Assert.Equal(new[] { "Opening process...", $"Completed submission of flow run '{id}'", "Downloading flow code from storage at '.'",
            "Created task run 'extract-0' for task 'extract'", "Executing 'extract-0' immediately..." }, flowLines.Skip(1).Take(5));
        Assert.Equal("Finished in state Completed()", flowLines[^2]);
        Assert.StartsWith("Process for flow run '", flowLines[^1]);
        Assert.All(logs.Where(l => l.IsNull("task_run_id")).Take(3), l => Assert.Equal("prefect.flow_runs.runner", l.Str("name")));

        var extract = (await emu.TaskRunsAsync(id))[0].Str("id");
        var taskLines = logs.Where(l => !l.IsNull("task_run_id") && l.Str("task_run_id") == extract).Select(l => l.Str("message")).ToArray();
        Assert.Equal("offsets {'partition_0': 1000, 'partition_1': 500}", taskLines[^2]);
        Assert.Equal("Finished in state Completed()", taskLines[^1]);
        Assert.All(logs.Where(l => !l.IsNull("task_run_id")), l => Assert.Equal("prefect.task_runs", l.Str("name")));
        var times = logs.Select(l => l.Time("timestamp")).ToArray();
        Assert.True(times.Zip(times.Skip(1)).All(p => p.First < p.Second), "timestamps strictly increase within a run");
    }

    [Fact]
    public async Task A_failed_task_logs_the_traceback_and_its_failure_at_error_level()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var id = await emu.CreateRunIdAsync("failing-pipeline");
        emu.Step(10);
        var errors = await emu.LogsAsync(id, ",\"level\":{\"ge_\":40}");
        Assert.All(errors, l => Assert.Equal(40, l.Int("level")));
        var messages = errors.Select(l => l.Str("message")).ToArray();
        Assert.StartsWith("Encountered exception during execution:\nTraceback (most recent call last):", messages[0]);
        Assert.EndsWith("RuntimeError: transform failed", messages[0]);
        Assert.Equal("Finished in state Failed('Task run encountered an exception RuntimeError: transform failed')", messages[1]);
        Assert.Contains("Finished in state Failed('Flow run encountered an exception: RuntimeError: transform failed')", messages);
        Assert.Equal(2, errors.Count(l => !l.IsNull("task_run_id")));
    }

    [Fact]
    public async Task Lines_appear_as_the_run_progresses_and_filter_by_task_run_time_sort_and_limit()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var id = await emu.CreateRunIdAsync("orders");
        emu.Step(1.5);
        Assert.Equal(3, (await emu.LogsAsync(id)).Length);
        emu.Step(1.1);
        var partial = await emu.LogsAsync(id);
        Assert.Contains(partial, l => l.Str("message") == "offsets {'partition_0': 250, 'partition_1': 125}");
        Assert.DoesNotContain(partial, l => l.Str("message") == "offsets {'partition_0': 1000, 'partition_1': 500}");

        emu.Step(10);
        var all = await emu.LogsAsync(id);
        var transform = (await emu.TaskRunsAsync(id))[1].Str("id");
        var taskOnly = await emu.LogsAsync(id, $",\"task_run_id\":{{\"any_\":[\"{transform}\"]}}");
        Assert.Equal(5, taskOnly.Length);
        Assert.All(taskOnly, l => Assert.Equal(transform, l.Str("task_run_id")));
        var flowOnly = await emu.LogsAsync(id, ",\"task_run_id\":{\"is_null_\":true}");
        Assert.All(flowOnly, l => Assert.True(l.IsNull("task_run_id")));
        Assert.Equal(all.Length, flowOnly.Length + 15);

        var (_, tail) = await emu.PostAsync("logs/filter", $"{{\"logs\":{{\"flow_run_id\":{{\"any_\":[\"{id}\"]}}}},\"sort\":\"TIMESTAMP_DESC\",\"limit\":3}}");
        Assert.Equal(all.Reverse().Take(3).Select(l => l.Str("id")), tail.EnumerateArray().Select(l => l.Str("id")));
        var after = all[10].Str("timestamp");
        var since = await emu.LogsAsync(id, $",\"timestamp\":{{\"after_\":\"{after}\"}}");
        Assert.Equal(all.Skip(10).Select(l => l.Str("id")), since.Select(l => l.Str("id")));
        var (_, paged) = await emu.PostAsync("logs/filter", $"{{\"logs\":{{\"flow_run_id\":{{\"any_\":[\"{id}\"]}}}},\"limit\":5,\"offset\":5}}");
        Assert.Equal(all.Skip(5).Take(5).Select(l => l.Str("id")), paged.EnumerateArray().Select(l => l.Str("id")));
    }

    [Fact]
    public async Task Cancels_crashes_and_retries_log_what_prefect_logs()
    {
        await using var emu = await PrefectEmulator.StartAsync(version: 2);
        var cancelled = await emu.CreateRunIdAsync("orders");
        var crashed = await emu.CreateRunIdAsync("crash-pipeline");
        var retried = await emu.CreateRunIdAsync("retry-pipeline");
        emu.Step(2.5);
        await emu.SetStateAsync(cancelled, "CANCELLING", Guid.NewGuid().ToString());
        emu.Step(10);

        var cancelLines = (await emu.LogsAsync(cancelled)).Select(l => (l.Int("level"), l.Str("message"))).ToArray();
        Assert.Contains((40, "Crash detected! Execution was cancelled by the runtime environment."), cancelLines);
        Assert.Equal(20, cancelLines[^1].Item1);
        Assert.StartsWith("Cancelled flow run '", cancelLines[^1].Item2);

        var crashLines = (await emu.LogsAsync(crashed, ",\"level\":{\"ge_\":40}")).Select(l => l.Str("message")).ToArray();
        Assert.Contains("Finished in state Crashed('Execution was cancelled by the runtime environment.')", crashLines);

        var retryLines = (await emu.LogsAsync(retried)).Select(l => l.Str("message")).ToArray();
        Assert.Contains("Received non-final state 'AwaitingRetry' when proposing final state 'Failed' and will attempt to run again...", retryLines);
        Assert.Equal(2, retryLines.Count(m => m == "Created task run 'transform-0' for task 'transform'"));
    }

    [Fact]
    public async Task The_logs_filter_validates_its_body_and_honours_the_limit()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var (bad, body) = await emu.PostAsync("logs/filter", "{\"logs\":{\"level\":{\"gt_\":10}}}");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, bad);
        Assert.Equal("extra_forbidden", body.GetProperty("exception_detail")[0].Str("type"));
        var (tooMany, detail) = await emu.PostAsync("logs/filter", "{\"limit\":201}");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, tooMany);
        Assert.Equal("Invalid limit: must be less than or equal to 200.", detail.Str("detail"));
    }
}
