using System;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using Xunit;

namespace DhubBatches.Emulator.Tests;

/// <summary>Offsets artifacts in the forms Prefect's helpers write them, the artifacts a reader must ignore, and the artifact filter.</summary>
public class PrefectArtifactTests
{
    [Theory]
    [InlineData("orders", "offsets", "markdown", JsonValueKind.String)]
    [InlineData("table-pipeline", "offsets", "table", JsonValueKind.String)]
    [InlineData("object-data-pipeline", "offsets", "offsets", JsonValueKind.Object)]
    [InlineData("keyed-pipeline", "keyed-pipeline-offsets", "markdown", JsonValueKind.String)]
    public async Task Offsets_grow_every_quarter_step_and_the_newest_artifact_per_task_run_is_current(string pipeline, string key, string type, JsonValueKind data)
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var id = await emu.CreateRunIdAsync(pipeline);
        emu.Step(2.6);
        var extract = Assert.Single(await emu.TaskRunsAsync(id));
        var offsets = (await emu.ArtifactsAsync(id)).Where(a => a.Str("key") == key).ToArray();
        Assert.True(offsets.Length >= 2, "several offsets artifacts per task run as offsets grow");
        Assert.All(offsets, a =>
        {
            Assert.Equal(type, a.Str("type"));
            Assert.Matches("^[a-z0-9-]*$", a.Str("key"));
            Assert.Equal(id, a.Str("flow_run_id"));
            Assert.Equal(extract.Str("id"), a.Str("task_run_id"));
            Assert.Equal(data, a.GetProperty("data").ValueKind);
            Assert.True(a.IsNull("metadata_"));
        });
        if (type == "table")
        {
            Assert.StartsWith("[{", offsets[0].Str("data"));
        }

        var newest = offsets.OrderByDescending(a => a.Time("created")).First();
        Assert.Equal(500, newest.Offsets()["partition_0"]);

        emu.Step(10);
        var all = await emu.ArtifactsAsync(id);
        var finals = all.Where(a => a.Str("key") == key).GroupBy(a => a.Str("task_run_id"))
            .Select(g => g.OrderByDescending(a => a.Time("created")).First().Offsets())
            .ToArray();
        Assert.Equal(3, finals.Length);
        Assert.All(finals, f => Assert.Equal((1000L, 500L), (f["partition_0"], f["partition_1"])));
        var results = all.Where(a => a.Str("type") == "result").ToArray();
        Assert.Equal(3, results.Length);
        Assert.All(results, r => Assert.True(r.IsNull("key")));
    }

    [Fact]
    public async Task The_default_flow_writes_markdown_offsets_like_the_recording_and_one_report_link_per_run()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var id = await emu.CreateRunIdAsync("sales-pipeline");
        emu.Step(10);
        var all = await emu.ArtifactsAsync(id);
        var link = Assert.Single(all, a => a.Str("type") == "link");
        Assert.Equal("report", link.Str("key"));
        Assert.True(link.IsNull("task_run_id"));
        Assert.StartsWith("https://", link.Str("data"));
        var last = all.Where(a => a.Str("key") == "offsets").OrderByDescending(a => a.Time("created")).First();
        Assert.Equal("{\"partition_0\": 1000, \"partition_1\": 500}", last.Str("data"));
        Assert.Equal("offsets", last.Str("description"));
    }

    [Fact]
    public async Task The_artifact_filter_takes_the_query_the_module_sends()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var markdown = await emu.CreateRunIdAsync("orders");
        var raw = await emu.CreateRunIdAsync("object-data-pipeline");
        var keyed = await emu.CreateRunIdAsync("keyed-pipeline");
        var other = await emu.CreateRunIdAsync("inventory");
        emu.Step(10);
        var (_, found) = await emu.PostAsync("artifacts/filter",
            $"{{\"flow_runs\":{{\"id\":{{\"any_\":[\"{markdown}\",\"{raw}\",\"{keyed}\"]}}}},"
            + "\"artifacts\":{\"operator\":\"or_\",\"type\":{\"any_\":[\"offsets\"]},\"key\":{\"like_\":\"offsets\"}},\"sort\":\"CREATED_DESC\",\"limit\":200,\"offset\":0}");
        var list = found.EnumerateArray().ToArray();
        Assert.Equal(3 * 3 * 4, list.Length);
        Assert.DoesNotContain(list, a => a.Str("flow_run_id") == other);
        Assert.All(list, a => Assert.True(a.Str("type") == "offsets" || a.Str("key").Contains("offsets", StringComparison.Ordinal)));
        Assert.Equal(list.OrderByDescending(a => a.Time("created")).Select(a => a.Str("id")), list.Select(a => a.Str("id")));

        var (_, keyless) = await emu.PostAsync("artifacts/filter", $"{{\"artifacts\":{{\"flow_run_id\":{{\"any_\":[\"{markdown}\"]}},\"key\":{{\"exists_\":false}}}}}}");
        Assert.All(keyless.EnumerateArray(), a => Assert.Equal("result", a.Str("type")));
        var (_, notMarkdown) = await emu.PostAsync("artifacts/filter", $"{{\"artifacts\":{{\"flow_run_id\":{{\"any_\":[\"{markdown}\"]}},\"type\":{{\"not_any_\":[\"markdown\",\"result\"]}}}}}}");
        Assert.Equal("link", Assert.Single(notMarkdown.EnumerateArray()).Str("type"));
        var task = (await emu.TaskRunsAsync(markdown))[0].Str("id");
        var (_, byTask) = await emu.PostAsync("artifacts/filter", $"{{\"artifacts\":{{\"task_run_id\":{{\"any_\":[\"{task}\"]}}}}}}");
        Assert.Equal(5, byTask.GetArrayLength());
        var one = byTask[0].Str("id");
        Assert.Equal(one, (await emu.GetAsync("artifacts/" + one)).Json.Str("id"));
        var (_, count) = await emu.PostAsync("artifacts/count", $"{{\"artifacts\":{{\"task_run_id\":{{\"any_\":[\"{task}\"]}}}}}}");
        Assert.Equal(5, count.GetInt32());
    }

    [Fact]
    public async Task Artifacts_outlive_their_deleted_run()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var id = await emu.CreateRunIdAsync("orders");
        emu.Step(3.5);
        var before = await emu.ArtifactsAsync(id);
        await emu.SendAsync(System.Net.Http.HttpMethod.Delete, "flow_runs/" + id, template: "/flow_runs/{id}");
        emu.Step(10);
        Assert.Equal(before.Select(a => a.Str("id")).OrderBy(x => x), (await emu.ArtifactsAsync(id)).Select(a => a.Str("id")).OrderBy(x => x));
        Assert.Empty(await emu.LogsAsync(id));
    }
}
