using System;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text.Json;
using System.Threading.Tasks;
using Xunit;
using DhubBatches.TestSupport;

namespace DhubBatches.Emulator.Tests;

public class DhubEndpointTests
{
    [Fact]
    public async Task Create_returns_item_id_and_stores_version()
    {
        await using var emu = await RunningEmulator.StartAsync();

        using var response = await emu.Client.PostAsync("api/v1/batches/orders?pipeline_version=v2.1", null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = await RunningEmulator.ReadJsonAsync(response);
        var id = json.GetProperty("item").GetString();
        Assert.StartsWith("batch-", id);
        Assert.Equal(1, emu.State.Dhub.CreatedCount("orders"));
        Assert.Equal("v2.1", emu.State.Dhub.GetBatch("orders", id!)!.PipelineVersion);
    }

    [Fact]
    public async Task Latest_and_by_id_have_the_seed_shape()
    {
        await using var emu = await RunningEmulator.StartAsync();
        await emu.CreateAsync("sales-pipeline");
        var newest = await emu.CreateAsync("sales-pipeline");

        using var latestResponse = await emu.Client.GetAsync("api/v1/batches/sales-pipeline");
        var latest = await RunningEmulator.ReadJsonAsync(latestResponse);
        var byId = await emu.GetBatchAsync("sales-pipeline", newest);

        foreach (var batch in new[] { latest, byId })
        {
            Assert.Equal(new[] { "id", "name", "deployment", "state" }, batch.EnumerateObject().Select(p => p.Name));
            Assert.Equal(newest, batch.GetProperty("id").GetString());
            Assert.Equal("sales-pipeline", batch.GetProperty("name").GetString());
            Assert.Equal("run-pipeline/sales-pipeline", batch.GetProperty("deployment").GetString());
            var state = batch.GetProperty("state");
            Assert.Equal("scheduled", state.GetProperty("state").GetString());
            Assert.Equal(new[] { "extract", "transform", "load" }, state.GetProperty("steps").EnumerateObject().Select(p => p.Name));
            foreach (var step in state.GetProperty("steps").EnumerateObject())
            {
                Assert.Equal("none", step.Value.GetProperty("state").GetString());
                Assert.Equal(JsonValueKind.Object, step.Value.GetProperty("offsets").ValueKind);
            }
        }

        Assert.Equal("application/json; charset=utf-8", latestResponse.Content.Headers.ContentType!.ToString());
    }

    [Fact]
    public async Task List_items_are_json_strings_holding_batches_newest_first()
    {
        await using var emu = await RunningEmulator.StartAsync();
        var first = await emu.CreateAsync("orders");
        var second = await emu.CreateAsync("orders");

        using var response = await emu.Client.GetAsync("api/v1/batches/orders/");
        var json = await RunningEmulator.ReadJsonAsync(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var items = json.GetProperty("items").EnumerateObject().ToList();
        Assert.Equal(new[] { second, first }, items.Select(i => i.Name));
        foreach (var item in items)
        {
            Assert.Equal(JsonValueKind.String, item.Value.ValueKind);
            using var inner = JsonDocument.Parse(item.Value.GetString()!);
            Assert.Equal(item.Name, inner.RootElement.GetProperty("id").GetString());
            Assert.Equal("orders", inner.RootElement.GetProperty("name").GetString());
            Assert.True(inner.RootElement.GetProperty("state").TryGetProperty("steps", out _));
        }

        Assert.Equal(JsonValueKind.Null, json.GetProperty("token").ValueKind);
    }

    [Fact]
    public async Task Stop_freezes_a_batch_and_is_idempotent()
    {
        var clock = new ManualClock();
        var d = TimeSpan.FromSeconds(10);
        await using var emu = await RunningEmulator.StartAsync(o => { o.StepDuration = d; o.TimeProvider = clock; });
        var id = await emu.CreateAsync("orders");
        clock.Advance(d * 3.5); // half way through transform

        using var stop = await emu.Client.PutAsync(RunningEmulator.BatchPath("orders", id) + "/stop", null);
        var stopJson = await RunningEmulator.ReadJsonAsync(stop);
        var atStop = await emu.GetBatchAsync("orders", id);
        clock.Advance(d * 10); // long enough to have finished had it not stopped
        var later = await emu.GetBatchAsync("orders", id);
        using var again = await emu.Client.PutAsync(RunningEmulator.BatchPath("orders", id) + "/stop", null);

        Assert.Equal(HttpStatusCode.OK, stop.StatusCode);
        Assert.Equal("Batch stopped successfully", stopJson.GetProperty("message").GetString());
        Assert.Equal("stop", atStop.GetProperty("state").GetProperty("state").GetString());
        Assert.Equal(atStop.ToString(), later.ToString());
        var steps = later.GetProperty("state").GetProperty("steps");
        Assert.Equal("success", steps.GetProperty("extract").GetProperty("state").GetString());
        Assert.Equal("running", steps.GetProperty("transform").GetProperty("state").GetString());
        Assert.Equal(500, steps.GetProperty("transform").GetProperty("offsets").GetProperty("partition_0").GetInt64());
        Assert.Equal("pending", steps.GetProperty("load").GetProperty("state").GetString());
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal("Batch stopped successfully", (await RunningEmulator.ReadJsonAsync(again)).GetProperty("message").GetString());
    }

    [Fact]
    public async Task Stopping_a_finished_batch_is_200_and_changes_nothing()
    {
        await using var emu = await RunningEmulator.StartAsync(o => o.StepDuration = TimeSpan.Zero);
        var id = await emu.CreateAsync("orders");

        using var stop = await emu.Client.PutAsync(RunningEmulator.BatchPath("orders", id) + "/stop", null);

        Assert.Equal(HttpStatusCode.OK, stop.StatusCode);
        Assert.Null(emu.State.Dhub.GetBatch("orders", id)!.StoppedAt);
        Assert.All(emu.State.Dhub.GetBatch("orders", id)!.View.Steps, s => Assert.Equal("success", s.State));
    }

    [Fact]
    public async Task Delete_removes_batch_and_stops_running_ones_first()
    {
        await using var emu = await RunningEmulator.StartAsync(o => o.StepDuration = TimeSpan.FromSeconds(30));
        var running = await emu.CreateAsync("orders");
        emu.State.Dhub.Seed("orders", 1, finished: true);
        var finished = await FirstFinishedIdAsync(emu);

        using var deleteRunning = await emu.Client.DeleteAsync(RunningEmulator.BatchPath("orders", running));
        using var deleteFinished = await emu.Client.DeleteAsync(RunningEmulator.BatchPath("orders", finished));
        using var getDeleted = await emu.Client.GetAsync(RunningEmulator.BatchPath("orders", running));

        Assert.Equal(HttpStatusCode.OK, deleteRunning.StatusCode);
        Assert.Equal("Batch deleted successfully", (await RunningEmulator.ReadJsonAsync(deleteRunning)).GetProperty("message").GetString());
        Assert.Equal(HttpStatusCode.NotFound, getDeleted.StatusCode);
        Assert.Equal(0, emu.State.Dhub.BatchCount("orders"));
        var deleted = emu.State.Dhub.DeletedBatches;
        Assert.True(deleted.Single(d => d.BatchId == running).StoppedFirst);
        Assert.False(deleted.Single(d => d.BatchId == finished).StoppedFirst);
    }

    [Fact]
    public async Task Wrong_method_is_405_and_unknown_paths_are_404_json()
    {
        await using var emu = await RunningEmulator.StartAsync();

        using var put = await emu.Client.PutAsync("api/v1/batches/orders", null);
        using var deep = await emu.Client.GetAsync("api/v1/batches/orders/b/c/d");
        using var other = await emu.Client.GetAsync("nothing/here");

        Assert.Equal(HttpStatusCode.MethodNotAllowed, put.StatusCode);
        Assert.Contains("POST", put.Content.Headers.Allow);
        Assert.Equal(HttpStatusCode.NotFound, deep.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
        Assert.False(string.IsNullOrEmpty((await RunningEmulator.ReadJsonAsync(other)).GetProperty("message").GetString()));
    }

    private static async Task<string> FirstFinishedIdAsync(RunningEmulator emu)
    {
        using var response = await emu.Client.GetAsync("api/v1/batches/orders/");
        var items = (await RunningEmulator.ReadJsonAsync(response)).GetProperty("items");
        return items.EnumerateObject().First(i => i.Value.GetString()!.Contains("\"state\":\"stop\"", StringComparison.Ordinal)).Name;
    }
}
