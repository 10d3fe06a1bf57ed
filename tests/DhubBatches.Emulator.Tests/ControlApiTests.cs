using System;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using Xunit;

namespace DhubBatches.Emulator.Tests;

public class ControlApiTests
{
    [Fact]
    public async Task Pipelines_seed_and_stats_over_http()
    {
        await using var emu = await RunningEmulator.StartAsync();
        using var control = new HttpClient { BaseAddress = emu.Server.BaseUri }; // no token: control is unauthenticated

        using var add = await control.PostAsync("_emulator/pipelines/" + Uri.EscapeDataString("new/pipe"), Json("{\"stepSeconds\":0}"));
        using var seed = await control.PostAsync("_emulator/pipelines/orders/seed", Json("{\"count\":20000,\"finished\":true}"));
        using var seedUnknown = await control.PostAsync("_emulator/pipelines/nope/seed", Json("{\"count\":1}"));
        await emu.CreateAsync("new/pipe");
        var stats = await RunningEmulator.ReadJsonAsync(await control.GetAsync("_emulator/stats"));

        Assert.Equal(HttpStatusCode.OK, add.StatusCode);
        Assert.Equal(HttpStatusCode.OK, seed.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, seedUnknown.StatusCode);
        var pipelines = stats.GetProperty("pipelines");
        Assert.Equal(20000, pipelines.GetProperty("orders").GetProperty("batches").GetInt32());
        Assert.Equal(0, pipelines.GetProperty("orders").GetProperty("created").GetInt32());
        Assert.Equal(1, pipelines.GetProperty("new/pipe").GetProperty("created").GetInt32());
        Assert.Equal(0, pipelines.GetProperty("inventory").GetProperty("batches").GetInt32());
        var latest = await RunningEmulator.ReadJsonAsync(await emu.Client.GetAsync(RunningEmulator.BatchPath("new/pipe")));
        Assert.Equal("stop", latest.GetProperty("state").GetProperty("state").GetString()); // stepSeconds 0 = instant
    }

    [Fact]
    public async Task Settings_change_token_and_step_duration()
    {
        await using var emu = await RunningEmulator.StartAsync();
        using var control = new HttpClient { BaseAddress = emu.Server.BaseUri };

        using var put = await control.PutAsync("_emulator/settings", Json("{\"stepSeconds\":0.5,\"token\":\"other\"}"));
        using var oldToken = await emu.Client.GetAsync("api/v1/batches/orders/");
        using var bad = await control.PutAsync("_emulator/settings", Json("{\"stepSeconds\":-1}"));

        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, oldToken.StatusCode);
        Assert.Equal("other", emu.State.Dhub.Token);
        Assert.Equal(TimeSpan.FromSeconds(0.5), emu.State.StepDuration);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task Faults_add_list_and_clear_over_http()
    {
        await using var emu = await RunningEmulator.StartAsync();
        using var control = new HttpClient { BaseAddress = emu.Server.BaseUri };

        using var add = await control.PostAsync("_emulator/faults",
            Json("{\"id\":\"auto\",\"method\":\"GET\",\"status\":503,\"retryAfter\":\"1\",\"mode\":\"respond\",\"times\":0}"));
        using var badMode = await control.PostAsync("_emulator/faults", Json("{\"mode\":\"explode\"}"));
        using var faulted = await emu.Client.GetAsync("api/v1/batches/orders/");
        var list = await RunningEmulator.ReadJsonAsync(await control.GetAsync("_emulator/faults"));
        using var clear = await control.DeleteAsync("_emulator/faults");
        using var healed = await emu.Client.GetAsync("api/v1/batches/orders/");

        Assert.Equal(HttpStatusCode.OK, add.StatusCode);
        Assert.Equal("respond", (await RunningEmulator.ReadJsonAsync(add)).GetProperty("mode").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, badMode.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, faulted.StatusCode);
        var rule = Assert.Single(list.EnumerateArray());
        Assert.Equal(1, rule.GetProperty("hits").GetInt32());
        Assert.StartsWith("fault-", rule.GetProperty("id").GetString());
        Assert.Equal(HttpStatusCode.OK, clear.StatusCode);
        Assert.Equal(HttpStatusCode.OK, healed.StatusCode);
    }

    [Fact]
    public async Task Request_log_records_api_calls_without_secrets_and_skips_control_calls()
    {
        await using var emu = await RunningEmulator.StartAsync(o => o.Token = "s3cr3t-value");
        using var client = emu.NewClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "s3cr3t-value");
        client.DefaultRequestHeaders.UserAgent.ParseAdd("DhubBatches/0.1.0");
        using var anonymous = new HttpClient { BaseAddress = emu.Server.BaseUri };

        (await client.PostAsync("api/v1/batches/orders?pipeline_version=1", null)).Dispose();
        (await anonymous.GetAsync("api/v1/batches/orders")).Dispose();
        (await anonymous.GetAsync("_emulator/stats")).Dispose();
        var text = await anonymous.GetStringAsync("_emulator/requests");
        using var doc = JsonDocument.Parse(text);

        var entries = doc.RootElement.EnumerateArray().ToList();
        Assert.Equal(2, entries.Count);
        Assert.Equal("POST", entries[0].GetProperty("method").GetString());
        Assert.Equal("/api/v1/batches/orders?pipeline_version=1", entries[0].GetProperty("rawTarget").GetString());
        Assert.Equal(new[] { "api", "v1", "batches", "orders" }, entries[0].GetProperty("pathSegments").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(200, entries[0].GetProperty("status").GetInt32());
        Assert.Equal("present", entries[0].GetProperty("authorization").GetString());
        Assert.Equal("DhubBatches/0.1.0", entries[0].GetProperty("userAgent").GetString());
        Assert.True(entries[0].GetProperty("elapsedMs").GetDouble() >= 0);
        Assert.Equal(JsonValueKind.Null, entries[0].GetProperty("fault").ValueKind);
        Assert.Equal("absent", entries[1].GetProperty("authorization").GetString());
        Assert.Equal(401, entries[1].GetProperty("status").GetInt32());
        Assert.DoesNotContain("s3cr3t", text);

        (await anonymous.DeleteAsync("_emulator/requests")).Dispose();
        Assert.Empty(emu.State.Requests);
    }

    [Fact]
    public async Task Reset_restores_the_start_up_state()
    {
        await using var emu = await RunningEmulator.StartAsync();
        await emu.CreateAsync("orders");
        emu.State.AddPipeline("extra");
        emu.State.AddFault(new Faults.FaultRule { Times = 0 });
        emu.State.Dhub.Token = "changed";
        using var control = new HttpClient { BaseAddress = emu.Server.BaseUri };

        using var reset = await control.PostAsync("_emulator/reset", null);

        Assert.Equal(HttpStatusCode.OK, reset.StatusCode);
        Assert.Equal(0, emu.State.Dhub.BatchCount("orders"));
        Assert.Equal(0, emu.State.Dhub.CreatedCount("orders"));
        Assert.False(emu.State.IsKnownPipeline("extra"));
        Assert.Equal(new EmulatorOptions().Pipelines, emu.State.Pipelines);
        Assert.Contains("failing-pipeline", emu.State.Pipelines);
        Assert.Empty(emu.State.Faults);
        Assert.Empty(emu.State.Requests);
        Assert.Equal("emulator-token", emu.State.Dhub.Token);
    }

    [Fact]
    public async Task Unknown_control_endpoint_is_404()
    {
        await using var emu = await RunningEmulator.StartAsync();
        using var control = new HttpClient { BaseAddress = emu.Server.BaseUri };

        using var response = await control.GetAsync("_emulator/nothing");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");
}
