using System;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using DhubBatches.Emulator.Faults;
using Xunit;

namespace DhubBatches.Emulator.Tests;

/// <summary>set_state orchestration of cancels, auth, CSRF, the API version header, and faults on Prefect paths.</summary>
public class PrefectStateAndSecurityTests
{
    [Fact]
    public async Task Cancelling_a_scheduled_run_is_REJECTed_with_a_CANCELLED_substitute()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var id = (await emu.CreateRunAsync("orders")).GetProperty("id").GetString()!;
        var (status, result) = await emu.SetStateAsync(id, "CANCELLING", Guid.NewGuid().ToString());
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal("REJECT", result.GetProperty("status").GetString());
        Assert.Equal("CANCELLED", result.GetProperty("state").GetProperty("type").GetString());
        Assert.Equal("reject_details", result.GetProperty("details").GetProperty("type").GetString());
        Assert.Equal("Scheduled flow run has no infrastructure to terminate.", result.GetProperty("details").GetProperty("reason").GetString());
        var run = await emu.ReadRunAsync(id);
        Assert.Equal("CANCELLED", run.GetProperty("state_type").GetString());
        Assert.Equal(run.GetProperty("end_time").GetString(), run.GetProperty("start_time").GetString());
    }

    [Fact]
    public async Task Cancelling_a_running_run_is_ACCEPTed_and_the_worker_cancels_it_one_step_later()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var id = (await emu.CreateRunAsync("orders")).GetProperty("id").GetString()!;
        emu.Step(2.5);
        var (status, result) = await emu.SetStateAsync(id, "CANCELLING", Guid.NewGuid().ToString());
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal("ACCEPT", result.GetProperty("status").GetString());
        Assert.Equal("accept_details", result.GetProperty("details").GetProperty("type").GetString());
        Assert.Equal("CANCELLING", result.GetProperty("state").GetProperty("type").GetString());
        Assert.Equal("CANCELLING", (await emu.ReadRunAsync(id)).GetProperty("state_type").GetString());

        // EnforceCancellingToCancelledTransition: a CANCELLING run accepts nothing but CANCELLED.
        var (_, running) = await emu.SetStateAsync(id, "RUNNING", Guid.NewGuid().ToString());
        Assert.Equal("REJECT", running.GetProperty("status").GetString());
        Assert.Equal("CANCELLING", running.GetProperty("state").GetProperty("type").GetString());

        emu.Step(0.6);
        Assert.Equal("CANCELLING", (await emu.ReadRunAsync(id)).GetProperty("state_type").GetString());
        emu.Step(0.5);
        var cancelled = await emu.ReadRunAsync(id);
        Assert.Equal("CANCELLED", cancelled.GetProperty("state_type").GetString());
        Assert.Equal("Flow run was cancelled successfully.", cancelled.GetProperty("state").GetProperty("message").GetString());
        Assert.False(cancelled.IsNull("end_time"));

        // The task run that was running: CRASHED on even-numbered runs, left RUNNING on odd ones (Prefect 3 often loses it).
        var task = Assert.Single(await emu.TaskRunsAsync(id));
        Assert.Contains(task.GetProperty("state_type").GetString(), new[] { "CRASHED", "RUNNING" });
        if (task.GetProperty("state_type").GetString() == "CRASHED")
        {
            Assert.Equal("Execution was cancelled by the runtime environment.", task.GetProperty("state").GetProperty("message").GetString());
        }
    }

    [Fact]
    public async Task Cancelling_a_finished_run_is_ABORTed()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var id = (await emu.CreateRunAsync("orders")).GetProperty("id").GetString()!;
        emu.Step(10);
        var (status, result) = await emu.SetStateAsync(id, "CANCELLING", Guid.NewGuid().ToString());
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("ABORT", result.GetProperty("status").GetString());
        Assert.Equal("Run is already in terminal state COMPLETED.", result.GetProperty("details").GetProperty("reason").GetString());
        Assert.Equal("COMPLETED", result.GetProperty("state").GetProperty("type").GetString());
    }

    [Fact]
    public async Task A_repeated_transition_id_is_REJECTed_with_the_current_state()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var id = (await emu.CreateRunAsync("orders")).GetProperty("id").GetString()!;
        emu.Step(1.5);
        var transition = Guid.NewGuid().ToString();
        var (first, _) = await emu.SetStateAsync(id, "CANCELLING", transition);
        var (second, result) = await emu.SetStateAsync(id, "CANCELLING", transition);
        Assert.Equal(HttpStatusCode.Created, first);
        Assert.Equal(HttpStatusCode.OK, second);
        Assert.Equal("REJECT", result.GetProperty("status").GetString());
        Assert.Equal("This run has already made this state transition.", result.GetProperty("details").GetProperty("reason").GetString());
        Assert.Equal(transition, result.GetProperty("state").GetProperty("state_details").GetProperty("transition_id").GetString());
        Assert.Equal(2, emu.State.Prefect.SetStateCalls.Count);
    }

    [Fact]
    public async Task The_wait_knob_answers_WAIT_and_a_missing_run_is_404_with_exception_message()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var id = (await emu.CreateRunAsync("orders")).GetProperty("id").GetString()!;
        emu.State.Prefect.WaitNextSetState(1);
        var (status, wait) = await emu.SetStateAsync(id, "CANCELLING", Guid.NewGuid().ToString());
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("WAIT", wait.GetProperty("status").GetString());
        Assert.Equal("wait_details", wait.GetProperty("details").GetProperty("type").GetString());
        Assert.Equal(1, wait.GetProperty("details").GetProperty("delay_seconds").GetInt32());
        Assert.Equal("SCHEDULED", wait.GetProperty("state").GetProperty("type").GetString());
        var (_, after) = await emu.SetStateAsync(id, "CANCELLING", Guid.NewGuid().ToString());
        Assert.Equal("REJECT", after.GetProperty("status").GetString());

        var missingId = Guid.NewGuid();
        var (missing, body) = await emu.SetStateAsync(missingId.ToString(), "CANCELLING");
        Assert.Equal(HttpStatusCode.NotFound, missing);
        Assert.Equal($"Flow run with id {missingId} not found", body.GetProperty("exception_message").GetString());
    }

    [Fact]
    public async Task Basic_auth_exempts_health_and_guards_version()
    {
        await using var emu = await PrefectEmulator.StartAsync(o => o.PrefectAuthString = "admin:pass");
        var (health, healthBody) = await emu.GetAsync("health");
        Assert.Equal(HttpStatusCode.OK, health);
        Assert.True(healthBody.GetBoolean());
        var (noAuth, body) = await emu.GetAsync("admin/version");
        Assert.Equal(HttpStatusCode.Unauthorized, noAuth);
        Assert.Equal("Unauthorized", body.GetProperty("exception_message").GetString());

        using var wrong = emu.NewClient();
        wrong.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("admin:nope")));
        Assert.Equal(HttpStatusCode.Unauthorized, (await emu.SendAsync(HttpMethod.Get, "version", client: wrong)).Status);

        using var right = emu.NewClient();
        right.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("admin:pass")));
        var (ok, version) = await emu.SendAsync(HttpMethod.Get, "admin/version", client: right);
        Assert.Equal(HttpStatusCode.OK, ok);
        Assert.Equal("3.8.3", version.GetString());
        Assert.Equal("0.8.4", (await emu.SendAsync(HttpMethod.Get, "version", client: right)).Json.GetString());
    }

    [Fact]
    public async Task Auth_is_off_by_default_and_an_api_key_is_a_bearer_token_like_cloud()
    {
        await using (var open = await PrefectEmulator.StartAsync())
        {
            Assert.Equal(HttpStatusCode.OK, (await open.GetAsync("admin/version")).Status);
        }

        await using var emu = await PrefectEmulator.StartAsync(o => o.PrefectApiKey = "pnu_test");
        Assert.Equal(HttpStatusCode.Unauthorized, (await emu.GetAsync("health")).Status);
        using var bad = emu.NewClient();
        bad.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "pnu_wrong");
        Assert.Equal(HttpStatusCode.Unauthorized, (await emu.SendAsync(HttpMethod.Post, "flow_runs/count", "{}", client: bad)).Status);
        using var good = emu.NewClient();
        good.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "pnu_test");
        var (status, count) = await emu.SendAsync(HttpMethod.Post, "flow_runs/count", "{}", client: good);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(JsonValueKind.Number, count.ValueKind);
    }

    [Fact]
    public async Task Csrf_requires_a_token_and_an_expired_one_is_403_invalid()
    {
        await using var emu = await PrefectEmulator.StartAsync(o => o.PrefectCsrf = true);
        var (missing, body) = await emu.PostAsync("flow_runs/count", "{}");
        Assert.Equal(HttpStatusCode.Forbidden, missing);
        Assert.Equal("Missing CSRF token.", body.GetProperty("detail").GetString());

        var (tokenStatus, token) = await emu.GetAsync("csrf-token?client=my-client");
        Assert.Equal(HttpStatusCode.OK, tokenStatus);
        Assert.Equal("my-client", token.GetProperty("client").GetString());
        using var client = emu.NewClient();
        client.DefaultRequestHeaders.Add("Prefect-Csrf-Token", token.GetProperty("token").GetString());
        client.DefaultRequestHeaders.Add("Prefect-Csrf-Client", "my-client");
        Assert.Equal(HttpStatusCode.OK, (await emu.SendAsync(HttpMethod.Post, "flow_runs/count", "{}", client: client)).Status);

        emu.State.Prefect.ExpireCsrfTokens();
        var (expired, expiredBody) = await emu.SendAsync(HttpMethod.Post, "flow_runs/count", "{}", client: client);
        Assert.Equal(HttpStatusCode.Forbidden, expired);
        Assert.Contains("Invalid CSRF token", expiredBody.GetProperty("detail").GetString());

        // Refresh-on-403: a new token for the same client works again.
        var (_, fresh) = await emu.GetAsync("csrf-token?client=my-client");
        client.DefaultRequestHeaders.Remove("Prefect-Csrf-Token");
        client.DefaultRequestHeaders.Add("Prefect-Csrf-Token", fresh.GetProperty("token").GetString());
        Assert.Equal(HttpStatusCode.OK, (await emu.SendAsync(HttpMethod.Post, "flow_runs/count", "{}", client: client)).Status);
    }

    [Fact]
    public async Task Csrf_off_makes_the_token_endpoint_422()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var (status, body) = await emu.GetAsync("csrf-token?client=x");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.Equal("CSRF protection is disabled.", body.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.OK, (await emu.PostAsync("flow_runs/count", "{}")).Status);
    }

    [Theory]
    [InlineData("0.8.4", HttpStatusCode.OK)]
    [InlineData("banana", HttpStatusCode.BadRequest)]
    [InlineData("0.8", HttpStatusCode.BadRequest)]
    [InlineData("0.7.9", HttpStatusCode.BadRequest)]
    public async Task The_api_version_header_must_be_x_y_z_and_at_least_0_8_0(string header, HttpStatusCode expected)
    {
        await using var emu = await PrefectEmulator.StartAsync();
        using var client = emu.NewClient();
        client.DefaultRequestHeaders.Add("X-PREFECT-API-VERSION", header);
        var (status, body) = await emu.SendAsync(HttpMethod.Post, "flow_runs/filter", "{}", client: client);
        Assert.Equal(expected, status);
        if (expected == HttpStatusCode.BadRequest)
        {
            Assert.False(string.IsNullOrEmpty(body.GetProperty("detail").GetString()));
        }
    }

    [Fact]
    public async Task Fault_rules_apply_to_prefect_paths_with_retry_after_and_maintenance()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        emu.State.AddFault(new FaultRule { PathPattern = "^/prefect/api/flow_runs/filter$", Status = 429, RetryAfter = "3", Body = "{\"detail\":\"Rate limit exceeded\"}" });
        emu.State.AddFault(new FaultRule { PathPattern = "^/prefect/api/flow_runs/count$", Status = 503, Headers = new() { ["Prefect-Maintenance"] = "true" } });

        using var limited = await emu.Client.PostAsync("flow_runs/filter", new StringContent("{}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(3), limited.Headers.RetryAfter!.Delta);
        using var maintenance = await emu.Client.PostAsync("flow_runs/count", new StringContent("{}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, maintenance.StatusCode);
        Assert.Equal("true", maintenance.Headers.GetValues("Prefect-Maintenance").Single());
        using var next = await emu.Client.PostAsync("flow_runs/filter", new StringContent("{}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.Contains(emu.State.Requests, r => r.Fault is not null && r.RawTarget.Contains("/prefect/api/flow_runs/filter", StringComparison.Ordinal));
    }
}
