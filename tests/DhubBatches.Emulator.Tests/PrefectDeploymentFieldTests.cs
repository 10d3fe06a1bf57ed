using System;
using System.Linq;
using System.Net;
using System.Text.Json;
using System.Threading.Tasks;
using DhubBatches.TestSupport;
using Xunit;
using static DhubBatches.Emulator.Tests.FlowDeploymentControl;

namespace DhubBatches.Emulator.Tests;

/// <summary>
/// Deployment fields set through the flow definition, written in each version's shape: description, paused (and
/// 2.16.8's is_schedule_active), tags, cron / rrule / interval schedules (2.16.8: also the legacy <c>schedule</c>),
/// and the deployment's parameters next to its parameter schema.
/// </summary>
public class PrefectDeploymentFieldTests
{
    private static readonly string[] Schedule3Members = { "id", "created", "updated", "deployment_id", "schedule", "active", "max_scheduled_runs", "parameters", "slug" };
    private static readonly string[] Schedule2Members = { "id", "created", "updated", "deployment_id", "schedule", "active" };

    [Theory]
    [InlineData(3)]
    [InlineData(2)]
    public async Task A_deployment_left_to_the_defaults_has_no_description_is_not_paused_and_has_no_schedule(int version)
    {
        await using var emu = await PrefectEmulator.StartAsync(version: version);
        var d = await DeploymentAsync(emu, "run-pipeline", "orders");
        Assert.Equal(JsonValueKind.Null, d.GetProperty("description").ValueKind);
        Assert.False(d.GetProperty("paused").GetBoolean());
        Assert.Equal(new[] { "pipeline" }, d.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal(0, d.GetProperty("schedules").GetArrayLength());
        Assert.Equal("{\"pipeline_id\":\"orders\"}", d.GetProperty("parameters").GetRawText());
        if (version == 2)
        {
            Assert.Equal(RecordedAnswers.Members(RecordedAnswers.Read("deployment.json")), RecordedAnswers.Members(d));
            Assert.True(d.IsNull("schedule"));
            Assert.True(d.GetProperty("is_schedule_active").GetBoolean());
        }
        else
        {
            Assert.False(d.TryGetProperty("schedule", out _));
            Assert.False(d.TryGetProperty("is_schedule_active", out _));
        }
    }

    [Theory]
    [InlineData(3)]
    [InlineData(2)]
    public async Task A_paused_deployment_with_a_cron_schedule_shows_it_in_the_versions_shape_and_gets_no_runs(int version)
    {
        await using var emu = await PrefectEmulator.StartAsync(version: version);
        await RegisterAsync(emu, "reports", "nightly",
            "{\"tasks\":[{\"name\":\"build\"}],\"schedule\":{\"cron\":\"0 2 * * *\",\"timezone\":\"Europe/Berlin\",\"dayOr\":false},"
            + "\"description\":\"Nightly reports\",\"paused\":true,\"tags\":[\"fleet\",\"nightly\"]}");
        var d = await DeploymentAsync(emu, "reports", "nightly");
        Assert.Equal(("Nightly reports", true), (d.Str("description"), d.GetProperty("paused").GetBoolean()));
        Assert.Equal(new[] { "fleet", "nightly" }, d.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        var entry = Assert.Single(d.GetProperty("schedules").EnumerateArray());
        Assert.Equal(version == 2 ? Schedule2Members : Schedule3Members, RecordedAnswers.Members(entry));
        Assert.Equal((d.Str("id"), true), (entry.Str("deployment_id"), entry.GetProperty("active").GetBoolean()));
        Assert.Equal("{\"cron\":\"0 2 * * *\",\"timezone\":\"Europe/Berlin\",\"day_or\":false}", entry.GetProperty("schedule").GetRawText());
        if (version == 2)
        {
            Assert.Equal(RecordedAnswers.Members(RecordedAnswers.Read("deployment.json")), RecordedAnswers.Members(d));
            Assert.Equal(entry.GetProperty("schedule").GetRawText(), d.GetProperty("schedule").GetRawText());
            Assert.False(d.GetProperty("is_schedule_active").GetBoolean());
        }
        else
        {
            Assert.Equal("{}", entry.GetProperty("parameters").GetRawText());
        }

        // Paused deployments are left alone by the scheduler, and cron schedules make no runs here anyway.
        emu.Clock.Advance(TimeSpan.FromDays(2));
        var (_, count) = await emu.PostAsync("flow_runs/count", $"{{\"flow_runs\":{{\"deployment_id\":{{\"any_\":[\"{d.Str("id")}\"]}}}}}}");
        Assert.Equal(0, count.GetInt32());
        var (_, paused) = await emu.PostAsync("deployments/filter", "{\"deployments\":{\"paused\":{\"eq_\":true}}}");
        Assert.Equal(new[] { "nightly" }, paused.EnumerateArray().Select(x => x.Str("name")));
        var (_, tagged) = await emu.PostAsync("deployments/filter", "{\"deployments\":{\"tags\":{\"all_\":[\"fleet\",\"nightly\"]}}}");
        Assert.Equal(new[] { "nightly" }, tagged.EnumerateArray().Select(x => x.Str("name")));
        AssertAnswersFitPrefectsSchema(emu);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(2)]
    public async Task Rrule_cron_and_inactive_interval_schedules_take_prefects_timezone_defaults(int version)
    {
        await using var emu = await PrefectEmulator.StartAsync(version: version);
        await RegisterAsync(emu, "reports", "rrule", "{\"tasks\":[{\"name\":\"a\"}],\"schedule\":{\"rrule\":\"FREQ=DAILY;BYHOUR=2\"}}");
        await RegisterAsync(emu, "reports", "cron", "{\"tasks\":[{\"name\":\"a\"}],\"schedule\":{\"cron\":\"*/5 * * * *\"}}");
        await RegisterAsync(emu, "reports", "off", "{\"tasks\":[{\"name\":\"a\"}],\"schedule\":{\"intervalSeconds\":600,\"active\":false}}");
        JsonElement ScheduleOf(JsonElement d) => d.GetProperty("schedules")[0];

        var rrule = ScheduleOf(await DeploymentAsync(emu, "reports", "rrule"));
        Assert.Equal("{\"rrule\":\"FREQ=DAILY;BYHOUR=2\",\"timezone\":\"UTC\"}", rrule.GetProperty("schedule").GetRawText());
        var cron = ScheduleOf(await DeploymentAsync(emu, "reports", "cron"));
        Assert.Equal("{\"cron\":\"*/5 * * * *\",\"timezone\":null,\"day_or\":true}", cron.GetProperty("schedule").GetRawText());
        var offDeployment = await DeploymentAsync(emu, "reports", "off");
        var off = ScheduleOf(offDeployment);
        Assert.False(off.GetProperty("active").GetBoolean());
        var interval = off.GetProperty("schedule");
        Assert.Equal(new[] { "interval", "anchor_date", "timezone" }, RecordedAnswers.Members(interval));
        Assert.Equal((600.0, "UTC"), (interval.GetProperty("interval").GetDouble(), interval.Str("timezone")));
        Assert.False(offDeployment.GetProperty("paused").GetBoolean());

        emu.Clock.Advance(TimeSpan.FromHours(2));
        var (_, count) = await emu.PostAsync("flow_runs/count", $"{{\"flow_runs\":{{\"deployment_id\":{{\"any_\":[\"{offDeployment.Str("id")}\"]}}}}}}");
        Assert.Equal(0, count.GetInt32());
        AssertAnswersFitPrefectsSchema(emu);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(2)]
    public async Task Deployment_parameters_are_merged_under_a_runs_and_a_parameter_without_default_is_required(int version)
    {
        await using var emu = await PrefectEmulator.StartAsync(version: version);
        const string parameters = "\"parameters\":[{\"name\":\"region\",\"type\":\"string\"},{\"name\":\"limit\",\"type\":\"integer\",\"default\":10}]";
        await RegisterAsync(emu, "exports", "eu", $"{{\"tasks\":[{{\"name\":\"a\"}}],{parameters},\"deploymentParameters\":{{\"region\":\"eu\"}}}}");
        await RegisterAsync(emu, "exports", "bare", $"{{\"tasks\":[{{\"name\":\"a\"}}],{parameters}}}");
        var eu = await DeploymentAsync(emu, "exports", "eu");
        Assert.Equal("{\"region\":\"eu\"}", eu.GetProperty("parameters").GetRawText());
        var schema = eu.GetProperty("parameter_openapi_schema");
        Assert.Equal(new[] { "region" }, schema.GetProperty("required").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal(10, schema.GetProperty("properties").GetProperty("limit").Int("default"));
        Assert.False(schema.GetProperty("properties").GetProperty("region").TryGetProperty("default", out _));

        var (created, run) = await emu.PostAsync($"deployments/{eu.Str("id")}/create_flow_run", "{\"parameters\":{\"limit\":3}}");
        Assert.Equal(HttpStatusCode.Created, created);
        Assert.Equal("{\"region\":\"eu\",\"limit\":3}", run.GetProperty("parameters").GetRawText());

        // Prefect 3 enforces the schema by default: the bare deployment gives no region, so it is refused there.
        var bare = await DeploymentAsync(emu, "exports", "bare");
        var (status, answer) = await emu.PostAsync($"deployments/{bare.Str("id")}/create_flow_run", "{\"parameters\":{\"region\":\"us\"}}");
        Assert.Equal(HttpStatusCode.Created, status);
        var (refused, detail) = await emu.PostAsync($"deployments/{bare.Str("id")}/create_flow_run", "{}");
        if (version == 3)
        {
            Assert.Equal(HttpStatusCode.Conflict, refused);
            Assert.Equal("Error creating flow run: Validation failed. Failure reason: 'region' is a required property", detail.Str("detail"));
        }
        else
        {
            Assert.Equal(HttpStatusCode.Created, refused);
        }

        Assert.Equal("{\"pipeline_id\":\"bare\",\"region\":\"us\"}", answer.GetProperty("parameters").GetRawText());
    }

    [Theory]
    [InlineData("{\"tasks\":[{\"name\":\"a\"}],\"schedule\":{\"cron\":\"0 2 * * *\",\"intervalSeconds\":60}}", "exactly one of intervalSeconds, cron and rrule")]
    [InlineData("{\"tasks\":[{\"name\":\"a\"}],\"schedule\":{\"cron\":\"0 2 * *\"}}", "Invalid cron string")]
    [InlineData("{\"tasks\":[{\"name\":\"a\"}],\"schedule\":{\"cron\":\"H 2 * * *\"}}", "Invalid cron string")]
    [InlineData("{\"tasks\":[{\"name\":\"a\"}],\"schedule\":{\"rrule\":\"BYHOUR=2\"}}", "needs a FREQ")]
    [InlineData("{\"tasks\":[{\"name\":\"a\"}],\"schedule\":{\"cron\":\"0 2 * * *\",\"timezone\":\"Mars/Olympus\"}}", "Invalid timezone")]
    [InlineData("{\"tasks\":[{\"name\":\"a\"}],\"schedule\":{\"rrule\":\"FREQ=DAILY\",\"futureRuns\":3}}", "belong to an interval schedule")]
    [InlineData("{\"tasks\":[{\"name\":\"a\"}],\"tags\":\"fleet\"}", "tags must be an array")]
    [InlineData("{\"tasks\":[{\"name\":\"a\"}],\"deploymentParameters\":[1]}", "deploymentParameters must be an object")]
    [InlineData("{\"tasks\":[{\"name\":\"a\"}],\"pasued\":true}", "pasued")]
    public async Task A_bad_deployment_member_is_400_naming_the_problem(string definition, string problem)
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var (status, message) = await RefusedAsync(emu, "reports", "broken", definition);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(problem, message, StringComparison.Ordinal);
        Assert.Null(emu.State.Prefect.DeploymentId("reports", "broken"));
    }
}
