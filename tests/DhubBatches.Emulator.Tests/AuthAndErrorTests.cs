using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Threading.Tasks;
using Xunit;

namespace DhubBatches.Emulator.Tests;

public class AuthAndErrorTests
{
    [Theory]
    [InlineData(null)]
    [InlineData("wrong-token")]
    public async Task Missing_or_wrong_token_is_401_with_message(string? token)
    {
        await using var emu = await RunningEmulator.StartAsync();
        using var client = emu.NewClient();
        client.DefaultRequestHeaders.Authorization = token is null ? null : new AuthenticationHeaderValue("Bearer", token);

        using var response = await client.PostAsync("api/v1/batches/orders", null);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.False(string.IsNullOrEmpty((await RunningEmulator.ReadJsonAsync(response)).GetProperty("message").GetString()));
        Assert.Equal(0, emu.State.Dhub.CreatedCount("orders"));
    }

    [Fact]
    public async Task Null_token_disables_authentication()
    {
        await using var emu = await RunningEmulator.StartAsync(o => o.Token = null);
        using var client = emu.NewClient();
        client.DefaultRequestHeaders.Authorization = null;

        using var response = await client.PostAsync("api/v1/batches/orders", null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Unknown_pipeline_is_404_pipeline_not_found()
    {
        await using var emu = await RunningEmulator.StartAsync();

        using var create = await emu.Client.PostAsync("api/v1/batches/no-such", null);
        using var list = await emu.Client.GetAsync("api/v1/batches/no-such/");

        foreach (var response in new[] { create, list })
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("Pipeline 'no-such' not found", (await RunningEmulator.ReadJsonAsync(response)).GetProperty("message").GetString());
        }
    }

    [Fact]
    public async Task Unknown_batch_is_404_batch_not_found_for_get_stop_and_delete()
    {
        await using var emu = await RunningEmulator.StartAsync();

        using var get = await emu.Client.GetAsync("api/v1/batches/orders/batch-nope");
        using var stop = await emu.Client.PutAsync("api/v1/batches/orders/batch-nope/stop", null);
        using var delete = await emu.Client.DeleteAsync("api/v1/batches/orders/batch-nope");

        foreach (var response in new[] { get, stop, delete })
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("Batch 'batch-nope' not found in pipeline 'orders'",
                (await RunningEmulator.ReadJsonAsync(response)).GetProperty("message").GetString());
        }
    }

    [Fact]
    public async Task Latest_of_empty_pipeline_is_404_no_batches()
    {
        await using var emu = await RunningEmulator.StartAsync();

        using var response = await emu.Client.GetAsync("api/v1/batches/inventory");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("No batches found for pipeline 'inventory'", (await RunningEmulator.ReadJsonAsync(response)).GetProperty("message").GetString());
    }
}
