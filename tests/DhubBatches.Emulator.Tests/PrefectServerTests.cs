using System;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Threading.Tasks;
using Xunit;

namespace DhubBatches.Emulator.Tests;

/// <summary>What a Prefect server is beyond its runs: its version, its datetimes, its default limit, and the UI around its API.</summary>
public class PrefectServerTests
{
    [Theory]
    [InlineData(3, "3.8.3", "Z")]
    [InlineData(2, "2.16.8", "+00:00")]
    public async Task Version_and_datetimes_follow_the_prefect_version(int version, string serverVersion, string utc)
    {
        await using var emu = await PrefectEmulator.StartAsync(version: version);
        Assert.Equal(serverVersion, (await emu.GetAsync("admin/version")).Json.GetString());
        Assert.Equal("0.8.4", (await emu.GetAsync("version")).Json.GetString());
        emu.Clock.Advance(TimeSpan.FromTicks(1234567));
        var run = await emu.CreateRunAsync("orders");
        Assert.EndsWith(utc, run.Str("created"));
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|\+00:00)$", run.Str("created"));
        Assert.Equal(version == 3, run.TryGetProperty("labels", out _));
    }

    [Theory]
    [InlineData(201, "Invalid limit: must be less than or equal to 200.")]
    [InlineData(-1, "Invalid limit: must be greater than or equal to 0.")]
    public async Task A_limit_over_the_servers_or_negative_is_422(int limit, string detail)
    {
        await using var emu = await PrefectEmulator.StartAsync();
        foreach (var path in new[] { "flow_runs/filter", "task_runs/filter", "artifacts/filter", "deployments/filter", "logs/filter" })
        {
            var (status, body) = await emu.PostAsync(path, $"{{\"limit\":{limit}}}");
            Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
            Assert.Equal(detail, body.Str("detail"));
        }
    }

    [Fact]
    public async Task An_admin_can_lower_the_limit_and_larger_limits_are_refused_with_the_new_maximum()
    {
        await using var emu = await PrefectEmulator.StartAsync(o => o.PrefectDefaultLimit = 50);
        emu.State.Prefect.Seed("orders", 60);
        var (status, body) = await emu.PostAsync("flow_runs/filter", "{\"limit\":200}");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.Equal("Invalid limit: must be less than or equal to 50.", body.Str("detail"));
        var dep = emu.State.Prefect.DeploymentId("orders");
        var (_, defaulted) = await emu.PostAsync("flow_runs/filter", $"{{\"flow_runs\":{{\"deployment_id\":{{\"any_\":[\"{dep}\"]}}}}}}");
        Assert.Equal(50, defaulted.GetArrayLength());

        using var control = new HttpClient { BaseAddress = emu.Server.BaseUri };
        using var put = await control.PutAsync("_emulator/prefect/settings", new StringContent("{\"defaultLimit\":10}", Encoding.UTF8, "application/json"));
        Assert.Equal(10, (await RunningEmulator.ReadJsonAsync(put)).Int("defaultLimit"));
        var (_, lowered) = await emu.PostAsync("task_runs/filter", "{\"limit\":11}");
        Assert.Equal("Invalid limit: must be less than or equal to 10.", lowered.Str("detail"));
    }

    [Theory]
    [InlineData("prefect/")]
    [InlineData("prefect")]
    [InlineData("prefect/admin/version")]
    [InlineData("prefect/runs/flow-run/0c1e")]
    public async Task Paths_outside_the_api_are_the_ui_and_answer_html(string path)
    {
        await using var emu = await PrefectEmulator.StartAsync();
        using var client = new HttpClient { BaseAddress = emu.Server.BaseUri };
        using var response = await client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType!.MediaType);
        var html = await response.Content.ReadAsStringAsync();
        Assert.StartsWith("<!DOCTYPE html>", html);
        Assert.Contains("<title>Prefect</title>", html);
    }

    [Fact]
    public async Task Unknown_api_routes_are_fastapis_404_and_wrong_methods_405()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var (missing, body) = await emu.GetAsync("no/such/route");
        Assert.Equal(HttpStatusCode.NotFound, missing);
        Assert.Equal("{\"detail\":\"Not Found\"}", body.GetRawText());
        var (wrong, wrongBody) = await emu.GetAsync("flow_runs/filter");
        Assert.Equal(HttpStatusCode.MethodNotAllowed, wrong);
        Assert.Equal("Method Not Allowed", wrongBody.Str("detail"));

        using var dhub = new HttpClient { BaseAddress = emu.Server.BaseUri };
        using var other = await dhub.GetAsync("api/v1/nothing");
        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
        Assert.Contains("\"message\"", await other.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task In_prefect_2_a_get_of_a_literal_route_falls_to_the_id_route_and_is_422()
    {
        await using var emu = await PrefectEmulator.StartAsync(version: 2);
        var (status, body) = await emu.GetAsync("flow_runs/filter");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.Equal("type_error.uuid", body.GetProperty("exception_detail")[0].Str("type"));
    }
}
