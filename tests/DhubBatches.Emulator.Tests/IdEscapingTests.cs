using System;
using System.Linq;
using System.Net;
using System.Threading.Tasks;
using Xunit;

namespace DhubBatches.Emulator.Tests;

public class IdEscapingTests
{
    public const string WeirdId = "a/b?c#d%e f ü";

    [Fact]
    public async Task Pipeline_id_with_reserved_characters_is_one_segment()
    {
        await using var emu = await RunningEmulator.StartAsync();
        emu.State.AddPipeline(WeirdId);

        using var create = await emu.Client.PostAsync(RunningEmulator.BatchPath(WeirdId), null);
        var id = (await RunningEmulator.ReadJsonAsync(create)).GetProperty("item").GetString()!;
        var latest = await RunningEmulator.ReadJsonAsync(await emu.Client.GetAsync(RunningEmulator.BatchPath(WeirdId)));
        var byId = await emu.GetBatchAsync(WeirdId, id);

        Assert.Equal(HttpStatusCode.OK, create.StatusCode);
        Assert.Equal(WeirdId, latest.GetProperty("name").GetString());
        Assert.Equal("run-pipeline/" + WeirdId, byId.GetProperty("deployment").GetString());
        Assert.Equal(1, emu.State.Dhub.CreatedCount(WeirdId));
        var logged = emu.State.Requests.First();
        Assert.Equal(new[] { "api", "v1", "batches", WeirdId }, logged.PathSegments);
        Assert.Contains("%2F", logged.RawTarget, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Id_containing_a_slash_never_reaches_another_endpoint()
    {
        await using var emu = await RunningEmulator.StartAsync();
        var real = await emu.CreateAsync("orders");
        emu.State.AddPipeline("orders/" + real);

        // "orders/<id>" escaped is the *pipeline* segment: it lists that pipeline, not batch <id> of "orders".
        using var latest = await emu.Client.GetAsync(RunningEmulator.BatchPath("orders/" + real));
        // A batch id "<id>/stop" must be looked up as a batch, not stop the batch.
        using var get = await emu.Client.GetAsync(RunningEmulator.BatchPath("orders", real + "/stop"));

        Assert.Equal(HttpStatusCode.NotFound, latest.StatusCode);
        Assert.Equal($"No batches found for pipeline 'orders/{real}'", (await RunningEmulator.ReadJsonAsync(latest)).GetProperty("message").GetString());
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
        Assert.Equal($"Batch '{real}/stop' not found in pipeline 'orders'", (await RunningEmulator.ReadJsonAsync(get)).GetProperty("message").GetString());
        Assert.Null(emu.State.Dhub.GetBatch("orders", real)!.StoppedAt);
    }

    [Fact]
    public void Raw_target_parsing_decodes_each_segment_and_the_query()
    {
        var target = Paths.RawRequestTarget.Parse("/api/v1/batches/" + Uri.EscapeDataString(WeirdId) + "/?limit=5&token=a%2Bb+c");

        Assert.Equal(new[] { "api", "v1", "batches", WeirdId, "" }, target.Segments);
        Assert.Equal("5", target.Query("limit"));
        Assert.Equal("a+b c", target.Query("token"));
        Assert.Null(target.Query("missing"));
    }

    [Fact]
    public void Absolute_form_target_is_reduced_to_its_path()
    {
        var target = Paths.RawRequestTarget.Parse("http://127.0.0.1:5000/api/v1/batches/orders?x=http://y/z");

        Assert.Equal(new[] { "api", "v1", "batches", "orders" }, target.Segments);
        Assert.Equal("http://y/z", target.Query("x"));
    }
}
