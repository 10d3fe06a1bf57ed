using System;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using Xunit;

namespace DhubBatches.Emulator.Tests;

/// <summary>
/// The Prefect part of the control API, driven over HTTP as the Pester tests drive a separate emulator process:
/// registering a pipeline with a flow definition, looking at a run, moving the clock, the set_state knobs.
/// </summary>
public class PrefectControlApiTests
{
    [Fact]
    public async Task A_pipeline_registered_with_a_definition_is_a_deployment_whose_runs_follow_it()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        using var control = Control(emu);
        const string definition = "{\"tasks\":[{\"name\":\"fetch\"},{\"name\":\"store\",\"failsOnAttempts\":[1]}],\"retries\":1}";

        using var put = await control.PutAsync("_emulator/prefect/pipelines/nightly", Json(definition));
        var registered = await RunningEmulator.ReadJsonAsync(put);
        var described = await RunningEmulator.ReadJsonAsync(await control.GetAsync("_emulator/prefect/pipelines/nightly"));

        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.Equal("nightly", registered.Str("pipeline"));
        Assert.Equal(await emu.DeploymentIdAsync("nightly"), registered.Str("deploymentId"));
        Assert.Equal(new[] { "fetch", "store" }, registered.GetProperty("definition").GetProperty("tasks").EnumerateArray().Select(t => t.Str("name")));
        Assert.Equal(1, registered.GetProperty("definition").Int("retries"));
        Assert.Equal(registered.GetRawText(), described.GetRawText());
        Assert.True(emu.State.IsKnownPipeline("nightly"));

        var id = await emu.CreateRunIdAsync("nightly");
        emu.Step(12);
        var run = await emu.ReadRunAsync(id);
        Assert.Equal("COMPLETED", run.Str("state_type"));
        Assert.Equal(2, run.Int("run_count"));
        var tasks = await emu.TaskRunsAsync(id);
        Assert.Equal(new[] { "fetch", "store", "fetch", "store" }, tasks.Select(t => t.Str("name")[..^4]));
    }

    [Theory]
    [InlineData("{\"tasks\":[]}", "at least one task")]
    [InlineData("{\"tasks\":[{\"name\":\"a\"}],\"worker\":\"sometimes\"}", "worker must be 'polls' or 'absent'")]
    [InlineData("{\"tasks\":[{\"name\":\"a\"}],\"colour\":\"red\"}", "colour")]
    [InlineData("[1,2]", "JSON object")]
    public async Task A_bad_definition_is_400_naming_the_problem_and_registers_nothing(string definition, string problem)
    {
        await using var emu = await PrefectEmulator.StartAsync();
        using var control = Control(emu);

        using var put = await control.PutAsync("_emulator/prefect/pipelines/broken", Json(definition));
        var body = await RunningEmulator.ReadJsonAsync(put);
        using var get = await control.GetAsync("_emulator/prefect/pipelines/broken");

        Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
        Assert.Contains(problem, body.Str("message"), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
        Assert.False(emu.State.IsKnownPipeline("broken"));
    }

    [Fact]
    public async Task Runs_state_and_clock_advance_let_a_separate_process_skip_ahead()
    {
        // A real clock this time: only the control API moves it.
        await using var emu = await RunningEmulator.StartAsync(o => o.StepDuration = TimeSpan.FromSeconds(60));
        using var control = Control(emu);
        using var prefect = new HttpClient { BaseAddress = emu.Server.PrefectBaseUri };
        var dep = JsonDocument.Parse(await prefect.GetStringAsync("deployments/name/run-pipeline/orders")).RootElement.Str("id");
        using var create = await prefect.PostAsync($"deployments/{dep}/create_flow_run", Json("{}"));
        var id = (await RunningEmulator.ReadJsonAsync(create)).Str("id");

        var before = await RunningEmulator.ReadJsonAsync(await control.GetAsync("_emulator/prefect/runs/" + id));
        var clock = await RunningEmulator.ReadJsonAsync(await control.GetAsync("_emulator/clock"));
        using var advance = await control.PostAsync("_emulator/clock/advance", Json("{\"seconds\":3600}"));
        var moved = await RunningEmulator.ReadJsonAsync(advance);
        var after = await RunningEmulator.ReadJsonAsync(await control.GetAsync("_emulator/prefect/runs/" + id));
        using var backwards = await control.PostAsync("_emulator/clock/advance", Json("{\"seconds\":-1}"));
        using var unknown = await control.GetAsync("_emulator/prefect/runs/" + Guid.NewGuid());

        Assert.Equal(id, before.Str("id"));
        Assert.Equal("SCHEDULED", before.Str("stateType"));
        Assert.Equal("Scheduled", before.Str("stateName"));
        Assert.InRange(moved.Time("now") - clock.Time("now"), TimeSpan.FromSeconds(3600), TimeSpan.FromSeconds(3660));
        Assert.Equal("COMPLETED", after.Str("stateType"));
        Assert.Equal(HttpStatusCode.BadRequest, backwards.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task Set_state_knobs_answer_with_what_they_armed_and_act_on_the_next_calls()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        using var control = Control(emu);
        var id = await emu.CreateRunIdAsync("orders");
        emu.Step(3.5);

        using var wait = await control.PostAsync("_emulator/prefect/set-state-wait", Json("{\"count\":1}"));
        using var abort = await control.PostAsync("_emulator/prefect/set-state-abort", Json("{\"count\":1,\"reason\":\"Not now.\"}"));
        using var negative = await control.PostAsync("_emulator/prefect/set-state-wait", Json("{\"count\":-1}"));
        var (_, first) = await emu.SetStateAsync(id, "CANCELLING", Guid.NewGuid().ToString());
        var (_, second) = await emu.SetStateAsync(id, "CANCELLING", Guid.NewGuid().ToString());
        var (_, third) = await emu.SetStateAsync(id, "CANCELLING", Guid.NewGuid().ToString());
        var stats = await RunningEmulator.ReadJsonAsync(await control.GetAsync("_emulator/prefect/stats"));

        Assert.Equal(1, (await RunningEmulator.ReadJsonAsync(wait)).Int("waitNext"));
        var armed = await RunningEmulator.ReadJsonAsync(abort);
        Assert.Equal(1, armed.Int("abortNext"));
        Assert.Equal("Not now.", armed.Str("reason"));
        Assert.Equal(HttpStatusCode.BadRequest, negative.StatusCode);
        // Armed together, the ABORTs are answered first.
        Assert.Equal("ABORT", first.Str("status"));
        Assert.Equal("Not now.", first.GetProperty("details").Str("reason"));
        Assert.Equal("WAIT", second.Str("status"));
        Assert.Equal("ACCEPT", third.Str("status"));
        Assert.Equal(3, stats.Int("setStateCalls"));
        Assert.Equal(3, stats.Int("version"));
        Assert.True(stats.GetProperty("pipelines").GetProperty("orders").GetProperty("runs").GetInt32() >= 1);
    }

    [Fact]
    public async Task Settings_round_trip_and_a_lowered_limit_applies_to_every_filter()
    {
        await using var emu = await PrefectEmulator.StartAsync(version: 2);
        using var control = Control(emu);

        using var put = await control.PutAsync("_emulator/prefect/settings", Json("{\"defaultLimit\":5,\"apiKey\":\"k\"}"));
        var settings = await RunningEmulator.ReadJsonAsync(await control.GetAsync("_emulator/prefect/settings"));
        emu.Client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "k");
        var limited = new[] { "flow_runs/filter", "task_runs/filter", "artifacts/filter", "logs/filter", "deployments/filter" };
        var answers = await Task.WhenAll(limited.Select(p => emu.PostAsync(p, "{\"limit\":6}")));
        using var zero = await control.PutAsync("_emulator/prefect/settings", Json("{\"defaultLimit\":0}"));

        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.Equal(5, settings.Int("defaultLimit"));
        Assert.True(settings.GetProperty("apiKey").GetBoolean());
        Assert.Equal(2, settings.Int("version"));
        Assert.All(answers, a =>
        {
            Assert.Equal(HttpStatusCode.UnprocessableEntity, a.Status);
            Assert.Equal("Invalid limit: must be less than or equal to 5.", a.Json.Str("detail"));
        });
        Assert.Equal(HttpStatusCode.BadRequest, zero.StatusCode);
    }

    private static HttpClient Control(PrefectEmulator emu) => new() { BaseAddress = emu.Server.BaseUri };

    private static HttpClient Control(RunningEmulator emu) => new() { BaseAddress = emu.Server.BaseUri };

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");
}
