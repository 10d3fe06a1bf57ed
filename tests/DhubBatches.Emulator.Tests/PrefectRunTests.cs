using System;
using System.Diagnostics;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text.Json;
using System.Threading.Tasks;
using DhubBatches.Emulator.Prefect;
using Xunit;
using DhubBatches.TestSupport;

namespace DhubBatches.Emulator.Tests;

/// <summary>Deployments, create_flow_run, flow run lists and counts, reading and deleting a run, and a run's life.</summary>
public class PrefectRunTests
{
    [Fact]
    public async Task Deployment_by_name_answers_the_deployment_and_404s_for_unknown_names()
    {
        await using var emu = await PrefectEmulator.StartAsync(o => o.Pipelines.Add("sales pipeline/é"));
        var (status, d) = await emu.GetAsync("deployments/name/run-pipeline/" + Uri.EscapeDataString("sales pipeline/é"), "/deployments/name/{flow_name}/{deployment_name}");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("sales pipeline/é", d.Str("name"));
        Assert.Equal("1.0.0", d.Str("version"));
        Assert.True(d.GetProperty("enforce_parameter_schema").GetBoolean());
        Assert.Equal("string", d.GetProperty("parameter_openapi_schema").GetProperty("properties").GetProperty("pipeline_version").Str("type"));
        Assert.Equal("pipeline", d.GetProperty("tags")[0].GetString());
        Assert.Equal(emu.State.Prefect.DeploymentId("sales pipeline/é"), d.Str("id"));

        var (missing, body) = await emu.GetAsync("deployments/name/run-pipeline/no-such", "/deployments/name/{flow_name}/{deployment_name}");
        var (wrongFlow, _) = await emu.GetAsync("deployments/name/other-flow/orders", "/deployments/name/{flow_name}/{deployment_name}");
        Assert.Equal(HttpStatusCode.NotFound, missing);
        Assert.Equal(HttpStatusCode.NotFound, wrongFlow);
        Assert.Equal("Deployment not found", body.Str("detail"));

        var (listStatus, list) = await emu.PostAsync("deployments/filter", "{\"flows\":{\"name\":{\"any_\":[\"run-pipeline\"]}},\"sort\":\"NAME_ASC\",\"limit\":200,\"offset\":0}");
        Assert.Equal(HttpStatusCode.OK, listStatus);
        var names = list.EnumerateArray().Select(x => x.Str("name")).ToArray();
        Assert.Equal(names.OrderBy(n => n, StringComparer.Ordinal), names);
        Assert.Contains("orders", names);
        Assert.Contains("retry-pipeline", names);
    }

    [Fact]
    public async Task Prefect_2_deployments_have_the_recorded_fields_and_do_not_enforce_the_schema()
    {
        await using var emu = await PrefectEmulator.StartAsync(version: 2);
        var (_, d) = await emu.GetAsync("deployments/name/run-pipeline/sales-pipeline", "/deployments/name/{flow_name}/{deployment_name}");
        Assert.Equal(RecordedAnswers.Members(RecordedAnswers.Read("deployment.json")), RecordedAnswers.Members(d));
        Assert.False(d.GetProperty("enforce_parameter_schema").GetBoolean());
        Assert.EndsWith("+00:00", d.Str("created"));

        var run = await emu.CreateRunAsync("sales-pipeline");
        Assert.Equal(RecordedAnswers.Members(RecordedAnswers.Read("create_flow_run.json")), RecordedAnswers.Members(run));
        Assert.Equal(RecordedAnswers.Members(RecordedAnswers.Read("create_flow_run.json").GetProperty("state").GetProperty("state_details")),
            RecordedAnswers.Members(run.GetProperty("state").GetProperty("state_details")));
    }

    [Fact]
    public async Task Create_is_201_then_200_with_the_same_run_for_a_repeated_idempotency_key()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var first = await emu.CreateRunAsync("orders",
            "{\"name\":\"orders-run\",\"parameters\":{\"pipeline_version\":\"1.4.2\"},\"tags\":[\"pv:1.4.2\"],\"idempotency_key\":\"orders:k1\"}");
        var again = await emu.CreateRunAsync("orders", "{\"parameters\":{\"pipeline_version\":\"9\"},\"idempotency_key\":\"orders:k1\"}", HttpStatusCode.OK);

        Assert.Equal(first.Str("id"), again.Str("id"));
        Assert.Equal("1.4.2", again.GetProperty("parameters").Str("pipeline_version"));
        Assert.Equal("orders", first.GetProperty("parameters").Str("pipeline_id"));
        Assert.Equal(new[] { "pipeline", "pv:1.4.2" }, first.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal("SCHEDULED", first.Str("state_type"));
        Assert.Equal("Scheduled", first.Str("state_name"));
        Assert.Equal(first.Str("created"), first.Str("expected_start_time"));
        Assert.Equal(emu.State.Prefect.DeploymentId("orders"), first.Str("deployment_id"));
        Assert.Equal(0, first.Int("run_count"));
        Assert.True(first.IsNull("infrastructure_pid"));
        Assert.True(first.GetProperty("state").GetProperty("state_details").IsNull("transition_id"));
        Assert.Equal(new PrefectPipelineCounts(1, 1, 1), emu.State.Prefect.Counts("orders"));
    }

    [Fact]
    public async Task Idempotency_keys_are_scoped_per_flow_so_clients_put_the_pipeline_into_them()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var a = await emu.CreateRunAsync("orders", "{\"idempotency_key\":\"shared\"}");
        var b = await emu.CreateRunAsync("inventory", "{\"idempotency_key\":\"shared\"}", HttpStatusCode.OK);
        var c = await emu.CreateRunAsync("inventory", "{\"idempotency_key\":\"inventory:shared\"}");

        Assert.Equal(a.Str("id"), b.Str("id"));
        Assert.Equal(emu.State.Prefect.DeploymentId("orders"), b.Str("deployment_id"));
        Assert.Equal(emu.State.Prefect.DeploymentId("inventory"), c.Str("deployment_id"));
    }

    [Fact]
    public async Task Unknown_fields_and_null_parameters_are_422_with_prefects_validation_body()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var id = await emu.DeploymentIdAsync("orders");
        var (status, body) = await emu.PostAsync($"deployments/{id}/create_flow_run", "{\"idempotency_key\":\"k\",\"foo\":42}");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.Equal("Invalid request received.", body.Str("exception_message"));
        var detail = body.GetProperty("exception_detail")[0];
        Assert.Equal("extra_forbidden", detail.Str("type"));
        Assert.Equal("[\"body\",\"foo\"]", detail.GetProperty("loc").GetRawText());
        Assert.Equal(42, detail.Int("input"));
        Assert.Equal("k", body.GetProperty("request_body").Str("idempotency_key"));

        var (nullStatus, nullBody) = await emu.PostAsync($"deployments/{id}/create_flow_run", "{\"parameters\":null}");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, nullStatus);
        Assert.Equal("[\"body\",\"parameters\"]", nullBody.GetProperty("exception_detail")[0].GetProperty("loc").GetRawText());
        Assert.Equal(0, emu.State.Prefect.CreatedCount("orders"));

        var run = await emu.CreateRunIdAsync("orders");
        var (stateStatus, stateBody) = await emu.PostAsync($"flow_runs/{run}/set_state", "{\"state\":{\"type\":\"CANCELLING\",\"timestamp\":\"2026-01-01T00:00:00Z\"}}");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, stateStatus);
        Assert.Equal("[\"body\",\"state\",\"timestamp\"]", stateBody.GetProperty("exception_detail")[0].GetProperty("loc").GetRawText());
    }

    [Fact]
    public async Task Latest_is_expected_start_time_desc_while_id_desc_is_not_chronological_and_count_is_a_bare_integer()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var dep = await emu.DeploymentIdAsync("orders");
        var ids = new string[30];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = await emu.CreateRunIdAsync("orders");
            emu.Clock.Advance(TimeSpan.FromMilliseconds(1));
        }

        await emu.CreateRunAsync("inventory");
        var filter = $"\"flow_runs\":{{\"deployment_id\":{{\"any_\":[\"{dep}\"]}}}}";
        var (_, latest) = await emu.PostAsync("flow_runs/filter", $"{{{filter},\"sort\":\"EXPECTED_START_TIME_DESC\",\"limit\":1,\"offset\":0}}");
        Assert.Equal(ids[^1], latest[0].Str("id"));

        var (_, page2) = await emu.PostAsync("flow_runs/filter", $"{{{filter},\"sort\":\"EXPECTED_START_TIME_DESC\",\"limit\":10,\"offset\":10}}");
        Assert.Equal(ids.Reverse().Skip(10).Take(10), page2.EnumerateArray().Select(r => r.Str("id")));
        var (_, asc) = await emu.PostAsync("flow_runs/filter", $"{{{filter},\"sort\":\"EXPECTED_START_TIME_ASC\",\"limit\":1}}");
        Assert.Equal(ids[0], asc[0].Str("id"));

        var (_, byId) = await emu.PostAsync("flow_runs/filter", $"{{{filter}}}");
        var listed = byId.EnumerateArray().Select(r => r.Str("id")).ToArray();
        Assert.Equal(listed.OrderByDescending(x => x, StringComparer.Ordinal), listed);
        Assert.NotEqual(ids.Reverse(), listed);

        var (countStatus, count) = await emu.PostAsync("flow_runs/count", $"{{{filter}}}");
        Assert.Equal(HttpStatusCode.OK, countStatus);
        Assert.Equal(30, count.GetInt32());
        var scheduled = emu.State.Prefect.Counts("scheduled-pipeline").Runs;
        var (_, all) = await emu.PostAsync("flow_runs/count", "{}");
        Assert.Equal(31 + scheduled, all.GetInt32());

        var run = await emu.CreateRunIdAsync("orders", "{\"idempotency_key\":\"orders:find-me\"}");
        var (_, byKey) = await emu.PostAsync("flow_runs/filter", "{\"flow_runs\":{\"idempotency_key\":{\"any_\":[\"orders:find-me\"]}}}");
        Assert.Equal(run, byKey.EnumerateArray().Single().Str("id"));
        var (_, byIds) = await emu.PostAsync("flow_runs/filter", $"{{\"flow_runs\":{{\"id\":{{\"any_\":[\"{ids[3]}\",\"{ids[4]}\"]}}}}}}");
        Assert.Equal(2, byIds.GetArrayLength());
    }

    [Fact]
    public async Task Flow_run_filters_combine_state_tags_times_and_operators()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var dep = await emu.DeploymentIdAsync("orders");
        var old = await emu.CreateRunIdAsync("orders", "{\"tags\":[\"old\"]}");
        emu.Step(10);
        var fresh = await emu.CreateRunIdAsync("orders", "{\"tags\":[\"fresh\"]}");
        var inDep = $"\"deployment_id\":{{\"any_\":[\"{dep}\"]}}";

        async Task<string[]> Ids(string runs)
        {
            var (status, json) = await emu.PostAsync("flow_runs/filter", $"{{\"flow_runs\":{{{runs}}},\"sort\":\"EXPECTED_START_TIME_ASC\"}}");
            Assert.Equal(HttpStatusCode.OK, status);
            return json.EnumerateArray().Select(r => r.Str("id")).ToArray();
        }

        Assert.Equal(new[] { old }, await Ids($"{inDep},\"state\":{{\"type\":{{\"any_\":[\"COMPLETED\"]}}}}"));
        Assert.Equal(new[] { old }, await Ids($"{inDep},\"state\":{{\"type\":{{\"not_any_\":[\"SCHEDULED\"]}}}}"));
        Assert.Equal(new[] { fresh }, await Ids($"{inDep},\"state\":{{\"name\":{{\"any_\":[\"Scheduled\"]}}}}"));
        Assert.Equal(new[] { fresh }, await Ids($"{inDep},\"tags\":{{\"all_\":[\"pipeline\",\"fresh\"]}}"));
        Assert.Equal(new[] { old, fresh }, await Ids($"{inDep},\"tags\":{{\"any_\":[\"old\",\"fresh\"]}}"));
        Assert.Equal(new[] { old }, await Ids($"{inDep},\"end_time\":{{\"is_null_\":false}}"));
        Assert.Equal(new[] { old }, await Ids($"{inDep},\"start_time\":{{\"before_\":\"{emu.State.UtcNow.AddSeconds(-1):O}\"}}"));
        Assert.Equal(new[] { fresh }, await Ids($"{inDep},\"expected_start_time\":{{\"after_\":\"{emu.State.UtcNow:O}\"}}"));
        Assert.Equal(new[] { old, fresh }, await Ids($"\"operator\":\"or_\",\"id\":{{\"any_\":[\"{old}\"]}},\"tags\":{{\"any_\":[\"fresh\"]}}"));
        Assert.Empty(await Ids($"{inDep},\"parent_task_run_id\":{{\"is_null_\":false}}"));
        Assert.Equal("SCHEDULED", emu.State.Prefect.RunStateType(fresh));
    }

    [Theory]
    [InlineData(3)]
    [InlineData(2)]
    public async Task A_missing_run_is_404_and_a_malformed_id_is_404_in_prefect_3_but_422_in_prefect_2(int version)
    {
        await using var emu = await PrefectEmulator.StartAsync(version: version);
        var (missing, body) = await emu.GetAsync("flow_runs/" + Guid.NewGuid());
        var (malformed, malformedBody) = await emu.GetAsync("flow_runs/not-a-uuid");
        Assert.Equal(HttpStatusCode.NotFound, missing);
        Assert.Equal("Flow run not found", body.Str("detail"));
        if (version == 3)
        {
            Assert.Equal(HttpStatusCode.NotFound, malformed);
            Assert.Equal("Not Found", malformedBody.Str("detail"));
        }
        else
        {
            Assert.Equal(HttpStatusCode.UnprocessableEntity, malformed);
            Assert.Equal(RecordedAnswers.Read("error_422_bad_uuid.json").GetRawText(), malformedBody.GetRawText());
        }
    }

    [Fact]
    public async Task A_run_is_scheduled_then_claimed_then_runs_one_task_per_step()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var id = await emu.CreateRunIdAsync("orders");
        Assert.Empty(await emu.TaskRunsAsync(id));

        emu.Step(1.5);
        var pending = await emu.ReadRunAsync(id);
        Assert.Equal("PENDING", pending.Str("state_type"));
        Assert.False(string.IsNullOrEmpty(pending.Str("infrastructure_pid")));
        Assert.Equal(0, pending.Int("run_count"));

        emu.Step(0.6);
        var running = await emu.ReadRunAsync(id);
        Assert.Equal("RUNNING/Running", running.Str("state_type") + "/" + running.Str("state_name"));
        Assert.Equal(1, running.Int("run_count"));
        Assert.False(running.IsNull("start_time"));
        Assert.True(running.IsNull("end_time"));
        var extract = Assert.Single(await emu.TaskRunsAsync(id));
        Assert.StartsWith("extract-", extract.Str("task_key"));
        Assert.Equal(1, extract.Int("flow_run_run_count"));
        Assert.Equal("RUNNING", extract.Str("state_type"));

        emu.Step(1);
        var tasks = await emu.TaskRunsAsync(id);
        Assert.Equal(new[] { "COMPLETED", "RUNNING" }, tasks.Select(t => t.Str("state_type")));
        Assert.True(tasks[1].Time("expected_start_time") > tasks[0].Time("expected_start_time"));

        emu.Step(2);
        var done = await emu.ReadRunAsync(id);
        Assert.Equal("COMPLETED", done.Str("state_type"));
        Assert.Equal(done.Str("end_time"), done.GetProperty("state").Str("timestamp"));
        Assert.True(done.GetProperty("total_run_time").GetDouble() > 29);
        Assert.Equal(3, (await emu.TaskRunsAsync(id)).Length);

        var (_, viaFlowRuns) = await emu.PostAsync("task_runs/filter", $"{{\"flow_runs\":{{\"id\":{{\"any_\":[\"{id}\"]}}}},\"sort\":\"EXPECTED_START_TIME_ASC\"}}");
        Assert.Equal(3, viaFlowRuns.GetArrayLength());
        var (_, byId) = await emu.GetAsync("task_runs/" + viaFlowRuns[0].Str("id"));
        Assert.Equal(viaFlowRuns[0].Str("name"), byId.Str("name"));
        Assert.Equal(HttpStatusCode.NotFound, (await emu.GetAsync("task_runs/" + Guid.NewGuid())).Status);
    }

    [Fact]
    public async Task Delete_is_204_then_404_and_frees_the_idempotency_key()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var id = await emu.CreateRunIdAsync("orders", "{\"idempotency_key\":\"orders:del\"}");
        var (status, _) = await emu.SendAsync(HttpMethod.Delete, "flow_runs/" + id, template: "/flow_runs/{id}");
        var (again, body) = await emu.SendAsync(HttpMethod.Delete, "flow_runs/" + id, template: "/flow_runs/{id}");
        Assert.Equal(HttpStatusCode.NoContent, status);
        Assert.Equal(HttpStatusCode.NotFound, again);
        Assert.Equal("Flow run not found", body.Str("detail"));
        Assert.Equal(HttpStatusCode.NotFound, (await emu.GetAsync("flow_runs/" + id)).Status);
        Assert.Equal(id, Assert.Single(emu.State.Prefect.DeletedRuns).FlowRunId);
        Assert.NotEqual(id, await emu.CreateRunIdAsync("orders", "{\"idempotency_key\":\"orders:del\"}"));
    }

    [Fact]
    public async Task Seeding_100k_runs_is_fast_and_the_latest_page_is_the_newest()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var watch = Stopwatch.StartNew();
        emu.State.Prefect.Seed("orders", 100_000);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(3), $"seeding took {watch.Elapsed}");

        var dep = await emu.DeploymentIdAsync("orders");
        var filter = $"\"flow_runs\":{{\"deployment_id\":{{\"any_\":[\"{dep}\"]}}}}";
        var (_, latest) = await emu.PostAsync("flow_runs/filter", $"{{{filter},\"sort\":\"EXPECTED_START_TIME_DESC\",\"limit\":200,\"offset\":0}}");
        var (_, count) = await emu.PostAsync("flow_runs/count", $"{{{filter}}}");
        var times = latest.EnumerateArray().Select(r => r.Time("expected_start_time")).ToArray();
        Assert.Equal(200, times.Length);
        Assert.Equal(times.OrderByDescending(t => t), times);
        Assert.Equal(times.Length, times.Distinct().Count());
        Assert.All(latest.EnumerateArray(), r => Assert.Equal("COMPLETED", r.Str("state_type")));
        Assert.Equal(100_000, count.GetInt32());
        Assert.Equal(0, emu.State.Prefect.CreatedCount("orders"));

        using var control = new HttpClient { BaseAddress = emu.Server.BaseUri };
        using var response = await control.PostAsync("_emulator/prefect/pipelines/inventory/seed",
            new StringContent("{\"count\":1000}", System.Text.Encoding.UTF8, "application/json"));
        response.EnsureSuccessStatusCode();
        Assert.Equal(1000, emu.State.Prefect.Counts("inventory").Runs);
    }
}
