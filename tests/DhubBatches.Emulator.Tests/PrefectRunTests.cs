using System;
using System.Diagnostics;
using System.Linq;
using System.Net;
using System.Text.Json;
using System.Threading.Tasks;
using DhubBatches.Emulator.Prefect;
using Xunit;

namespace DhubBatches.Emulator.Tests;

/// <summary>Deployments (§4), create_flow_run (§5), lists (§6), read (§7), steps and artifacts (§8), delete (§10).</summary>
public class PrefectRunTests
{
    [Fact]
    public async Task S4_deployment_by_name_and_404()
    {
        await using var emu = await PrefectEmulator.StartAsync(o => o.Pipelines.Add("sales pipeline/é"));
        var (status, d) = await emu.GetAsync("deployments/name/run-pipeline/" + Uri.EscapeDataString("sales pipeline/é"));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("sales pipeline/é", d.GetProperty("name").GetString());
        Assert.Equal("1.0.0", d.GetProperty("version").GetString());
        Assert.True(d.GetProperty("enforce_parameter_schema").GetBoolean());
        Assert.Equal("string", d.GetProperty("parameter_openapi_schema").GetProperty("properties").GetProperty("pipeline_version").GetProperty("type").GetString());
        Assert.Equal("pipeline", d.GetProperty("tags")[0].GetString());
        Assert.Equal(emu.State.PrefectDeploymentId("sales pipeline/é"), d.GetProperty("id").GetString());

        var (missing, body) = await emu.GetAsync("deployments/name/run-pipeline/no-such");
        var (wrongFlow, _) = await emu.GetAsync("deployments/name/other-flow/orders");
        Assert.Equal(HttpStatusCode.NotFound, missing);
        Assert.Equal(HttpStatusCode.NotFound, wrongFlow);
        Assert.Equal("Deployment not found", body.GetProperty("detail").GetString());

        // §4 listing pipelines: flows.name any_ + NAME_ASC.
        var (listStatus, list) = await emu.PostAsync("deployments/filter", "{\"flows\":{\"name\":{\"any_\":[\"run-pipeline\"]}},\"sort\":\"NAME_ASC\",\"limit\":200,\"offset\":0}");
        Assert.Equal(HttpStatusCode.OK, listStatus);
        var names = list.EnumerateArray().Select(x => x.GetProperty("name").GetString()).ToArray();
        Assert.Equal(names.OrderBy(n => n, StringComparer.Ordinal), names);
        Assert.Contains("orders", names);
    }

    [Fact]
    public async Task S5_2_create_201_then_same_key_200_with_same_run_and_unchanged_params()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var first = await emu.CreateRunAsync("orders",
            "{\"name\":\"orders-run\",\"parameters\":{\"pipeline_version\":\"1.4.2\"},\"tags\":[\"pv:1.4.2\"],\"idempotency_key\":\"orders:k1\"}");
        var again = await emu.CreateRunAsync("orders", "{\"parameters\":{\"pipeline_version\":\"9\"},\"idempotency_key\":\"orders:k1\"}", HttpStatusCode.OK);

        Assert.Equal(first.GetProperty("id").GetString(), again.GetProperty("id").GetString());
        Assert.Equal("1.4.2", again.GetProperty("parameters").GetProperty("pipeline_version").GetString());
        Assert.Equal(new[] { "pipeline", "pv:1.4.2" }, first.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal("SCHEDULED", first.GetProperty("state_type").GetString());
        Assert.Equal("Scheduled", first.GetProperty("state_name").GetString());
        Assert.Equal(first.GetProperty("created").GetString(), first.GetProperty("expected_start_time").GetString());
        Assert.Equal(emu.State.PrefectDeploymentId("orders"), first.GetProperty("deployment_id").GetString());
        Assert.Equal("1.0.0", first.GetProperty("deployment_version").GetString());
        Assert.Equal(0, first.GetProperty("run_count").GetInt32());
        Assert.Equal(JsonValueKind.Null, first.GetProperty("infrastructure_pid").ValueKind);
        Assert.Equal("orders:k1", first.GetProperty("idempotency_key").GetString());
        Assert.True(first.GetProperty("state").GetProperty("state_details").TryGetProperty("transition_id", out _));
        Assert.Equal(new PrefectPipelineCounts(1, 1, 1), emu.State.PrefectCounts("orders"));
    }

    [Fact]
    public async Task S5_2_key_is_scoped_per_flow_so_the_pipeline_must_be_in_the_key()
    {
        // Every pipeline is a deployment of the same flow: a key reused for another pipeline returns the first
        // pipeline's run (200, other deployment_id). Clients therefore put the pipeline into the key.
        await using var emu = await PrefectEmulator.StartAsync();
        var a = await emu.CreateRunAsync("orders", "{\"idempotency_key\":\"shared\"}");
        var b = await emu.CreateRunAsync("inventory", "{\"idempotency_key\":\"shared\"}", HttpStatusCode.OK);
        var c = await emu.CreateRunAsync("inventory", "{\"idempotency_key\":\"inventory:shared\"}");

        Assert.Equal(a.GetProperty("id").GetString(), b.GetProperty("id").GetString());
        Assert.Equal(emu.State.PrefectDeploymentId("orders"), b.GetProperty("deployment_id").GetString());
        Assert.Equal(emu.State.PrefectDeploymentId("inventory"), c.GetProperty("deployment_id").GetString());
    }

    [Fact]
    public async Task S1_3_unknown_field_and_null_parameters_are_422_with_prefects_validation_body()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var id = await emu.DeploymentIdAsync("orders");
        var (status, body) = await emu.PostAsync($"deployments/{id}/create_flow_run", "{\"idempotency_key\":\"k\",\"foo\":42}");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.Equal("Invalid request received.", body.GetProperty("exception_message").GetString());
        var detail = body.GetProperty("exception_detail")[0];
        Assert.Equal("extra_forbidden", detail.GetProperty("type").GetString());
        Assert.Equal("[\"body\",\"foo\"]", detail.GetProperty("loc").GetRawText());
        Assert.Equal("Extra inputs are not permitted", detail.GetProperty("msg").GetString());
        Assert.Equal(42, detail.GetProperty("input").GetInt32());
        Assert.Equal("k", body.GetProperty("request_body").GetProperty("idempotency_key").GetString());

        var (nullStatus, nullBody) = await emu.PostAsync($"deployments/{id}/create_flow_run", "{\"parameters\":null}");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, nullStatus);
        Assert.Equal("[\"body\",\"parameters\"]", nullBody.GetProperty("exception_detail")[0].GetProperty("loc").GetRawText());
        Assert.Equal(0, emu.State.PrefectCreatedCount("orders"));

        // §9: extra key inside set_state's state.
        var run = await emu.CreateRunAsync("orders");
        var (stateStatus, stateBody) = await emu.PostAsync($"flow_runs/{run.GetProperty("id").GetString()}/set_state", "{\"state\":{\"type\":\"CANCELLING\",\"timestamp\":\"2026-01-01T00:00:00Z\"}}");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, stateStatus);
        Assert.Equal("[\"body\",\"state\",\"timestamp\"]", stateBody.GetProperty("exception_detail")[0].GetProperty("loc").GetRawText());
    }

    [Theory]
    [InlineData(201, "Invalid limit: must be less than or equal to 200.")]
    [InlineData(-1, "Invalid limit: must be greater than or equal to 0.")]
    public async Task S6_1_limit_over_200_or_negative_is_422(int limit, string detail)
    {
        await using var emu = await PrefectEmulator.StartAsync();
        foreach (var path in new[] { "flow_runs/filter", "task_runs/filter", "artifacts/filter", "deployments/filter" })
        {
            var (status, body) = await emu.PostAsync(path, $"{{\"limit\":{limit}}}");
            Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
            Assert.Equal(detail, body.GetProperty("detail").GetString());
        }
    }

    [Fact]
    public async Task S6_1_latest_by_expected_start_time_desc_while_id_desc_is_not_chronological_and_S6_2_count()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var dep = await emu.DeploymentIdAsync("orders");
        var ids = new string[30];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = (await emu.CreateRunAsync("orders")).GetProperty("id").GetString()!;
            emu.Clock.Advance(TimeSpan.FromMilliseconds(1));
        }

        await emu.CreateRunAsync("inventory");
        var filter = $"\"flow_runs\":{{\"deployment_id\":{{\"any_\":[\"{dep}\"]}}}}";
        var (_, latest) = await emu.PostAsync("flow_runs/filter", $"{{{filter},\"sort\":\"EXPECTED_START_TIME_DESC\",\"limit\":1,\"offset\":0}}");
        Assert.Equal(ids[^1], latest[0].GetProperty("id").GetString());

        var (_, page2) = await emu.PostAsync("flow_runs/filter", $"{{{filter},\"sort\":\"EXPECTED_START_TIME_DESC\",\"limit\":10,\"offset\":10}}");
        Assert.Equal(ids.Reverse().Skip(10).Take(10), page2.EnumerateArray().Select(r => r.GetProperty("id").GetString()));
        var (_, asc) = await emu.PostAsync("flow_runs/filter", $"{{{filter},\"sort\":\"EXPECTED_START_TIME_ASC\",\"limit\":1}}");
        Assert.Equal(ids[0], asc[0].GetProperty("id").GetString());

        // Default sort ID_DESC: ordered by the random UUID, not by creation.
        var (_, byId) = await emu.PostAsync("flow_runs/filter", $"{{{filter}}}");
        var listed = byId.EnumerateArray().Select(r => r.GetProperty("id").GetString()!).ToArray();
        Assert.Equal(listed.OrderByDescending(x => x, StringComparer.Ordinal), listed);
        Assert.NotEqual(ids.Reverse(), listed);

        var (countStatus, count) = await emu.PostAsync("flow_runs/count", $"{{{filter}}}");
        Assert.Equal(HttpStatusCode.OK, countStatus);
        Assert.Equal(30, count.GetInt32());
        var (_, all) = await emu.PostAsync("flow_runs/count", "{}");
        Assert.Equal(31, all.GetInt32());

        // Lookup by idempotency key and by id (§5.2, §6.1).
        var run = await emu.CreateRunAsync("orders", "{\"idempotency_key\":\"orders:find-me\"}");
        var (_, byKey) = await emu.PostAsync("flow_runs/filter", "{\"flow_runs\":{\"idempotency_key\":{\"any_\":[\"orders:find-me\"]}}}");
        Assert.Equal(run.GetProperty("id").GetString(), byKey.EnumerateArray().Single().GetProperty("id").GetString());
        var (_, byIds) = await emu.PostAsync("flow_runs/filter", $"{{\"flow_runs\":{{\"id\":{{\"any_\":[\"{ids[3]}\",\"{ids[4]}\"]}}}}}}");
        Assert.Equal(2, byIds.GetArrayLength());
    }

    [Fact]
    public async Task S6_1_state_type_filters()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var old = (await emu.CreateRunAsync("orders")).GetProperty("id").GetString();
        emu.Step(10);
        var fresh = (await emu.CreateRunAsync("orders")).GetProperty("id").GetString();
        var (_, done) = await emu.PostAsync("flow_runs/filter", "{\"flow_runs\":{\"state\":{\"type\":{\"any_\":[\"COMPLETED\"]}}}}");
        var (_, notScheduled) = await emu.PostAsync("flow_runs/filter", "{\"flow_runs\":{\"state\":{\"type\":{\"not_any_\":[\"SCHEDULED\"]}}}}");
        Assert.Equal(old, done.EnumerateArray().Single().GetProperty("id").GetString());
        Assert.Equal(old, notScheduled.EnumerateArray().Single().GetProperty("id").GetString());
        Assert.Equal("SCHEDULED", emu.State.PrefectRunStateType(fresh!));
    }

    [Fact]
    public async Task S7_read_run_404_and_malformed_id()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var (missing, body) = await emu.GetAsync("flow_runs/" + Guid.NewGuid());
        var (malformed, malformedBody) = await emu.GetAsync("flow_runs/not-a-uuid");
        Assert.Equal(HttpStatusCode.NotFound, missing);
        Assert.Equal("Flow run not found", body.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.NotFound, malformed);
        Assert.Equal("Not Found", malformedBody.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task S6_3_S8_1_lifecycle_with_task_runs_appearing_as_steps_start()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var id = (await emu.CreateRunAsync("orders")).GetProperty("id").GetString()!;
        Assert.Empty(await emu.TaskRunsAsync(id));

        emu.Step(1.5);
        var pending = await emu.ReadRunAsync(id);
        Assert.Equal("PENDING", pending.GetProperty("state_type").GetString());
        Assert.False(string.IsNullOrEmpty(pending.GetProperty("infrastructure_pid").GetString()));
        Assert.Equal(0, pending.GetProperty("run_count").GetInt32());

        emu.Step(0.6); // 2.1 steps: running, extract started
        var running = await emu.ReadRunAsync(id);
        Assert.Equal("RUNNING", running.GetProperty("state_type").GetString());
        Assert.Equal(1, running.GetProperty("run_count").GetInt32());
        Assert.NotEqual(JsonValueKind.Null, running.GetProperty("start_time").ValueKind);
        Assert.Equal(JsonValueKind.Null, running.GetProperty("end_time").ValueKind);
        var tasks = await emu.TaskRunsAsync(id);
        var extract = Assert.Single(tasks);
        Assert.Equal("extract-0", extract.GetProperty("name").GetString());
        Assert.StartsWith("extract-", extract.GetProperty("task_key").GetString());
        Assert.Equal("0", extract.GetProperty("dynamic_key").GetString());
        Assert.Equal(1, extract.GetProperty("flow_run_run_count").GetInt32());
        Assert.Equal("RUNNING", extract.GetProperty("state_type").GetString());

        emu.Step(1);
        tasks = await emu.TaskRunsAsync(id);
        Assert.Equal(new[] { "extract-0", "transform-0" }, tasks.Select(t => t.GetProperty("name").GetString()));
        Assert.Equal(new[] { "COMPLETED", "RUNNING" }, tasks.Select(t => t.GetProperty("state_type").GetString()));
        Assert.True(DateTimeOffset.Parse(tasks[1].GetProperty("expected_start_time").GetString()!) > DateTimeOffset.Parse(tasks[0].GetProperty("expected_start_time").GetString()!));

        emu.Step(2);
        var done = await emu.ReadRunAsync(id);
        Assert.Equal("COMPLETED", done.GetProperty("state_type").GetString());
        Assert.NotEqual(JsonValueKind.Null, done.GetProperty("end_time").ValueKind);
        Assert.Equal(new[] { "extract-0", "transform-0", "load-0" }, (await emu.TaskRunsAsync(id)).Select(t => t.GetProperty("name").GetString()));

        // Equivalent filter: flow_runs.id.any_ (§8.1).
        var (_, viaFlowRuns) = await emu.PostAsync("task_runs/filter", $"{{\"flow_runs\":{{\"id\":{{\"any_\":[\"{id}\"]}}}},\"sort\":\"EXPECTED_START_TIME_ASC\"}}");
        Assert.Equal(3, viaFlowRuns.GetArrayLength());
    }

    [Fact]
    public async Task S8_failing_pipeline_fails_at_transform()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var id = (await emu.CreateRunAsync("failing-pipeline")).GetProperty("id").GetString()!;
        emu.Step(10);
        var run = await emu.ReadRunAsync(id);
        Assert.Equal("FAILED", run.GetProperty("state_type").GetString());
        var tasks = await emu.TaskRunsAsync(id);
        Assert.Equal(new[] { "COMPLETED", "FAILED" }, tasks.Select(t => t.GetProperty("state_type").GetString()));
    }

    [Theory]
    [InlineData("orders", false)]
    [InlineData("object-data-pipeline", true)]
    public async Task S8_2_offsets_artifacts_grow_newest_wins_and_results_are_separate(string pipeline, bool objectData)
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var id = (await emu.CreateRunAsync(pipeline)).GetProperty("id").GetString()!;
        emu.Step(2.6); // extract running, a bit more than half done
        var tasks = await emu.TaskRunsAsync(id);
        var offsets = await emu.ArtifactsAsync(id, "offsets");
        Assert.True(offsets.Length >= 2, "several offsets artifacts per task run as offsets grow");
        Assert.All(offsets, a =>
        {
            Assert.Equal("offsets", a.GetProperty("type").GetString());
            Assert.Equal(pipeline + "-offsets", a.GetProperty("key").GetString());
            Assert.Matches("^[a-z0-9-]*$", a.GetProperty("key").GetString());
            Assert.Equal(id, a.GetProperty("flow_run_id").GetString());
            Assert.Equal(tasks[0].GetProperty("id").GetString(), a.GetProperty("task_run_id").GetString());
            Assert.Equal(objectData ? JsonValueKind.Object : JsonValueKind.String, a.GetProperty("data").ValueKind);
        });

        static long P0(JsonElement a) =>
            (a.GetProperty("data").ValueKind == JsonValueKind.String ? JsonDocument.Parse(a.GetProperty("data").GetString()!).RootElement : a.GetProperty("data"))
            .GetProperty("partition_0").GetInt64();

        var newest = offsets.OrderByDescending(a => DateTimeOffset.Parse(a.GetProperty("created").GetString()!)).First();
        Assert.Equal(offsets.Max(P0), P0(newest));
        Assert.Equal(500, P0(newest));

        emu.Step(10);
        var all = await emu.ArtifactsAsync(id);
        var results = all.Where(a => a.GetProperty("type").GetString() == "result").ToArray();
        Assert.Equal(3, results.Length);
        Assert.All(results, r => Assert.Equal(JsonValueKind.Null, r.GetProperty("key").ValueKind));
        var finalOffsets = all.Where(a => a.GetProperty("type").GetString() == "offsets")
            .GroupBy(a => a.GetProperty("task_run_id").GetString())
            .Select(g => P0(g.OrderByDescending(a => DateTimeOffset.Parse(a.GetProperty("created").GetString()!)).First()));
        Assert.Equal(new long[] { 1000, 1000, 1000 }, finalOffsets);
    }

    [Fact]
    public async Task S10_delete_204_then_404_and_frees_the_key()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var run = await emu.CreateRunAsync("orders", "{\"idempotency_key\":\"orders:del\"}");
        var id = run.GetProperty("id").GetString()!;
        var (status, _) = await emu.SendAsync(System.Net.Http.HttpMethod.Delete, "flow_runs/" + id);
        var (again, body) = await emu.SendAsync(System.Net.Http.HttpMethod.Delete, "flow_runs/" + id);
        var (read, _) = await emu.GetAsync("flow_runs/" + id);
        Assert.Equal(HttpStatusCode.NoContent, status);
        Assert.Equal(HttpStatusCode.NotFound, again);
        Assert.Equal("Flow run not found", body.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.NotFound, read);
        Assert.Equal(id, Assert.Single(emu.State.PrefectDeletedRuns).FlowRunId);

        var fresh = await emu.CreateRunAsync("orders", "{\"idempotency_key\":\"orders:del\"}");
        Assert.NotEqual(id, fresh.GetProperty("id").GetString());
    }

    [Fact]
    public async Task Seeding_100k_runs_is_fast_and_latest_is_newest()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var watch = Stopwatch.StartNew();
        emu.State.SeedPrefect("orders", 100_000);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"seeding took {watch.Elapsed}");

        var dep = await emu.DeploymentIdAsync("orders");
        var filter = $"\"flow_runs\":{{\"deployment_id\":{{\"any_\":[\"{dep}\"]}}}}";
        watch.Restart();
        var (_, latest) = await emu.PostAsync("flow_runs/filter", $"{{{filter},\"sort\":\"EXPECTED_START_TIME_DESC\",\"limit\":200,\"offset\":0}}");
        var (_, count) = await emu.PostAsync("flow_runs/count", $"{{{filter}}}");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"queries took {watch.Elapsed}");
        var times = latest.EnumerateArray().Select(r => DateTimeOffset.Parse(r.GetProperty("expected_start_time").GetString()!)).ToArray();
        Assert.Equal(200, times.Length);
        Assert.Equal(times.OrderByDescending(t => t), times);
        Assert.Equal(times.Length, times.Distinct().Count());
        Assert.All(latest.EnumerateArray(), r => Assert.Equal("COMPLETED", r.GetProperty("state_type").GetString()));
        Assert.Equal(100_000, count.GetInt32());
        Assert.Equal(0, emu.State.PrefectCreatedCount("orders"));

        // Control API seeding does the same.
        using var control = new System.Net.Http.HttpClient { BaseAddress = emu.Server.BaseUri };
        using var response = await control.PostAsync("_emulator/prefect/pipelines/inventory/seed",
            new System.Net.Http.StringContent("{\"count\":1000}", System.Text.Encoding.UTF8, "application/json"));
        response.EnsureSuccessStatusCode();
        Assert.Equal(1000, emu.State.PrefectCounts("inventory").Runs);
    }
}
