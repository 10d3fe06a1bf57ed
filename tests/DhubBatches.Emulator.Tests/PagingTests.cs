using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Net;
using System.Text.Json;
using System.Threading.Tasks;
using Xunit;

namespace DhubBatches.Emulator.Tests;

public class PagingTests
{
    [Fact]
    public async Task Pages_follow_the_token_until_it_is_null()
    {
        await using var emu = await RunningEmulator.StartAsync();
        var created = new List<string>();
        for (var i = 0; i < 7; i++)
        {
            created.Add(await emu.CreateAsync("orders"));
        }

        var (pages, seen) = await ReadAllAsync(emu, "orders", limit: 3);

        Assert.Equal(new[] { 3, 3, 1 }, pages);
        Assert.Equal(Enumerable.Reverse(created), seen);
    }

    [Fact]
    public async Task Default_limit_is_100()
    {
        await using var emu = await RunningEmulator.StartAsync();
        emu.State.Dhub.Seed("orders", 150);

        var json = await GetPageAsync(emu, "api/v1/batches/orders/");

        Assert.Equal(100, json.GetProperty("items").EnumerateObject().Count());
        Assert.Equal(JsonValueKind.String, json.GetProperty("token").ValueKind);
    }

    [Fact]
    public async Task Token_is_a_cursor_stable_when_batches_are_created_between_pages()
    {
        await using var emu = await RunningEmulator.StartAsync();
        var created = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            created.Add(await emu.CreateAsync("orders"));
        }

        var first = await GetPageAsync(emu, "api/v1/batches/orders/?limit=2");
        var inserted = await emu.CreateAsync("orders");
        var token = first.GetProperty("token").GetString()!;
        var second = await GetPageAsync(emu, "api/v1/batches/orders/?limit=2&token=" + Uri.EscapeDataString(token));

        Assert.Equal(new[] { created[3], created[2] }, first.GetProperty("items").EnumerateObject().Select(p => p.Name));
        Assert.Equal(new[] { created[1], created[0] }, second.GetProperty("items").EnumerateObject().Select(p => p.Name));
        Assert.DoesNotContain(inserted, second.GetProperty("items").EnumerateObject().Select(p => p.Name));
        Assert.Equal(JsonValueKind.Null, second.GetProperty("token").ValueKind);
    }

    [Theory]
    [InlineData("limit=0")]
    [InlineData("limit=1001")]
    [InlineData("limit=abc")]
    [InlineData("limit=-5")]
    [InlineData("token=not-a-token")]
    [InlineData("token=%21%21%21")]
    public async Task Bad_limit_or_token_is_400_with_message(string query)
    {
        await using var emu = await RunningEmulator.StartAsync();

        using var response = await emu.Client.GetAsync("api/v1/batches/orders/?" + query);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.False(string.IsNullOrEmpty((await RunningEmulator.ReadJsonAsync(response)).GetProperty("message").GetString()));
    }

    [Fact]
    public async Task Seeding_100000_is_fast_and_pages_list_every_batch_once_newest_first()
    {
        await using var emu = await RunningEmulator.StartAsync();
        var clock = Stopwatch.StartNew();
        emu.State.Dhub.Seed("sales-pipeline", 100_000, finished: true);
        var seedTime = clock.Elapsed;

        var (pages, seen) = await ReadAllAsync(emu, "sales-pipeline", limit: 1000);

        Assert.True(seedTime < TimeSpan.FromSeconds(5), $"seeding took {seedTime}");
        Assert.Equal(100_000, emu.State.Dhub.BatchCount("sales-pipeline"));
        Assert.Equal(0, emu.State.Dhub.CreatedCount("sales-pipeline"));
        Assert.Equal(100, pages.Count);
        Assert.Equal(100_000, seen.Distinct().Count());
        var seqs = seen.Take(50).Select(id => emu.State.Dhub.GetBatch("sales-pipeline", id)!.Seq).ToList();
        Assert.Equal(seqs.OrderByDescending(s => s), seqs);
        Assert.Equal("stop", emu.State.Dhub.GetBatch("sales-pipeline", seen[^1])!.View.State);
    }

    private static async Task<JsonElement> GetPageAsync(RunningEmulator emu, string path)
    {
        using var response = await emu.Client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await RunningEmulator.ReadJsonAsync(response);
    }

    private static async Task<(List<int> Pages, List<string> Ids)> ReadAllAsync(RunningEmulator emu, string pipeline, int limit)
    {
        var pages = new List<int>();
        var ids = new List<string>();
        string? token = null;
        do
        {
            var path = $"{RunningEmulator.BatchPath(pipeline)}/?limit={limit}" + (token is null ? string.Empty : "&token=" + Uri.EscapeDataString(token));
            var page = await GetPageAsync(emu, path);
            var names = page.GetProperty("items").EnumerateObject().Select(p => p.Name).ToList();
            pages.Add(names.Count);
            ids.AddRange(names);
            token = page.GetProperty("token").ValueKind == JsonValueKind.Null ? null : page.GetProperty("token").GetString();
        }
        while (token is not null);

        return (pages, ids);
    }
}
