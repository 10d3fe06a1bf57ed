using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Threading.Tasks;
using DhubBatches.Emulator.Prefect.Flows;
using Xunit;
using static DhubBatches.Emulator.Tests.FlowDeploymentControl;

namespace DhubBatches.Emulator.Tests;

/// <summary>
/// Several flows on one server: deployments keyed by (flow, name), so another flow can have a deployment named like a
/// pipeline without being one; the deployment and flow reads and filters; and what DELETE /deployments/{id} does.
/// </summary>
public class PrefectFleetTests
{
    private readonly Xunit.Abstractions.ITestOutputHelper _output;

    public PrefectFleetTests(Xunit.Abstractions.ITestOutputHelper output) => _output = output;

    [Theory]
    [InlineData(3)]
    [InlineData(2)]
    public async Task Another_flows_deployment_named_like_a_pipeline_is_its_own_deployment_and_no_pipeline(int version)
    {
        await using var emu = await PrefectEmulator.StartAsync(version: version);
        var registered = await RegisterAsync(emu, "other-flow", "orders");
        var pipeline = await DeploymentAsync(emu, "run-pipeline", "orders");
        var other = await DeploymentAsync(emu, "other-flow", "orders");

        Assert.Equal(("other-flow", "orders", other.Str("id"), other.Str("flow_id")),
            (registered.Str("flow"), registered.Str("deployment"), registered.Str("deploymentId"), registered.Str("flowId")));
        Assert.True(registered.IsNull("pipeline"));
        Assert.NotEqual(pipeline.Str("id"), other.Str("id"));
        Assert.NotEqual(pipeline.Str("flow_id"), other.Str("flow_id"));
        Assert.Equal(pipeline.Str("id"), emu.State.Prefect.DeploymentId("orders"));
        Assert.Equal(other.Str("id"), (await emu.GetAsync("deployments/" + other.Str("id"))).Json.Str("id"));

        async Task<string[]> Listed(string flows)
        {
            var (status, list) = await emu.PostAsync("deployments/filter", $"{{{flows}\"deployments\":{{\"name\":{{\"any_\":[\"orders\"]}}}}}}");
            Assert.Equal(HttpStatusCode.OK, status);
            return list.EnumerateArray().Select(d => d.Str("id")).Order().ToArray();
        }

        Assert.Equal(new[] { pipeline.Str("id") }, await Listed("\"flows\":{\"name\":{\"any_\":[\"run-pipeline\"]}},"));
        Assert.Equal(new[] { other.Str("id") }, await Listed($"\"flows\":{{\"id\":{{\"any_\":[\"{other.Str("flow_id")}\"]}}}},"));
        Assert.Equal(new[] { pipeline.Str("id"), other.Str("id") }.Order(), await Listed(string.Empty));

        // Its runs carry its flow and deployment, and play like a pipeline's: task runs, artifacts, logs.
        var (created, run) = await emu.PostAsync($"deployments/{other.Str("id")}/create_flow_run", "{}");
        Assert.Equal(HttpStatusCode.Created, created);
        Assert.Equal((other.Str("flow_id"), other.Str("id")), (run.Str("flow_id"), run.Str("deployment_id")));
        emu.Step(8);
        Assert.Equal("COMPLETED", (await emu.ReadRunAsync(run.Str("id"))).Str("state_type"));
        Assert.Equal(3, (await emu.TaskRunsAsync(run.Str("id"))).Length);
        Assert.NotEmpty(await emu.ArtifactsAsync(run.Str("id"), "markdown"));
        Assert.NotEmpty(await emu.LogsAsync(run.Str("id")));
        Assert.Equal(0, emu.State.Prefect.Counts("orders").Created);
        Assert.Equal(1, emu.State.Prefect.Counts("other-flow", "orders").Created);
        using var control = new System.Net.Http.HttpClient { BaseAddress = emu.Server.BaseUri };
        var stats = await RunningEmulator.ReadJsonAsync(await control.GetAsync("_emulator/prefect/stats"));
        Assert.Equal(1, stats.GetProperty("flowDeployments").GetProperty("other-flow/orders").Int("created"));
        Assert.Equal(0, stats.GetProperty("pipelines").GetProperty("orders").Int("created"));
        AssertAnswersFitPrefectsSchema(emu);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(2)]
    public async Task Deployments_filter_pages_by_name_and_takes_like_ids_and_count_across_flows(int version)
    {
        await using var emu = await PrefectEmulator.StartAsync(version: version);
        var names = Enumerable.Range(0, 30).Select(i => $"d-{i:000}").ToArray();
        foreach (var name in names)
        {
            emu.State.Prefect.RegisterFlowDeployment("fleet", name, BuiltInFlows.For(name));
            emu.Step(0.1); // distinct created times for CREATED_DESC
        }

        const string fleet = "\"flows\":{\"name\":{\"any_\":[\"fleet\"]}}";
        async Task<string[]> Names(string body)
        {
            var (status, list) = await emu.PostAsync("deployments/filter", body);
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.All(list.EnumerateArray(), d => Assert.Equal(emu.State.Prefect.FlowId("fleet"), d.Str("flow_id")));
            return list.EnumerateArray().Select(d => d.Str("name")).ToArray();
        }

        var paged = new List<string>();
        for (var offset = 0; offset < 35; offset += 7)
        {
            paged.AddRange(await Names($"{{{fleet},\"limit\":7,\"offset\":{offset}}}"));
        }

        Assert.Equal(names, paged);
        Assert.Equal(names.Reverse().Take(5), await Names($"{{{fleet},\"sort\":\"NAME_DESC\",\"limit\":5}}"));
        Assert.Equal(names.Reverse().Take(3), await Names($"{{{fleet},\"sort\":\"CREATED_DESC\",\"limit\":3}}"));
        Assert.Equal(names.Where(n => n.StartsWith("d-01", StringComparison.Ordinal)), await Names($"{{{fleet},\"deployments\":{{\"name\":{{\"like_\":\"D-01\"}}}}}}"));
        var ids = new[] { emu.State.Prefect.DeploymentId("fleet", "d-003")!, emu.State.Prefect.DeploymentId("fleet", "d-027")! };
        Assert.Equal(new[] { "d-003", "d-027" }, await Names($"{{\"deployments\":{{\"id\":{{\"any_\":[\"{ids[0]}\",\"{ids[1]}\"]}}}}}}"));

        async Task<int> Count(string body)
        {
            var (status, count) = await emu.PostAsync("deployments/count", body);
            Assert.Equal(HttpStatusCode.OK, status);
            return count.GetInt32();
        }

        var pipelines = emu.State.Pipelines.Count;
        Assert.Equal(30, await Count($"{{{fleet}}}"));
        Assert.Equal(10, await Count($"{{{fleet},\"deployments\":{{\"name\":{{\"like_\":\"d-01\"}}}}}}"));
        Assert.Equal(pipelines, await Count("{\"flows\":{\"name\":{\"any_\":[\"run-pipeline\"]}}}"));
        Assert.Equal(pipelines + 30, await Count("{}"));
        Assert.Equal(0, await Count("{\"flows\":{\"name\":{\"any_\":[\"no-such-flow\"]}}}"));

        var (tooMany, detail) = await emu.PostAsync("deployments/filter", $"{{{fleet},\"limit\":201}}");
        Assert.Equal((HttpStatusCode.UnprocessableEntity, "Invalid limit: must be less than or equal to 200."), (tooMany, detail.Str("detail")));
        using var request = new System.Net.Http.HttpRequestMessage(System.Net.Http.HttpMethod.Post, "deployments/filter")
        {
            Content = new System.Net.Http.StringContent("{\"deployments\":{\"work_queue_name\":{\"any_\":[\"default\"]}}}", System.Text.Encoding.UTF8, "application/json"),
        };
        using var ignoring = await emu.Client.SendAsync(request);
        Assert.Equal("deployments.work_queue_name", Assert.Single(ignoring.Headers.GetValues("X-Emulator-Ignored-Filters")));
        AssertAnswersFitPrefectsSchema(emu);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(2)]
    public async Task Listing_2000_deployments_of_a_flow_in_pages_of_200_takes_well_under_a_second(int version)
    {
        await using var emu = await PrefectEmulator.StartAsync(version: version);
        var definition = BuiltInFlows.For("fleet-job");
        for (var i = 0; i < 2_000; i++)
        {
            emu.State.Prefect.RegisterFlowDeployment("fleet", $"job-{i:0000}", definition);
        }

        await emu.PostAsync("deployments/filter", "{\"limit\":1}"); // warm up
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var names = new List<string>();
        for (var offset = 0; offset < 2_000; offset += 200)
        {
            var (status, page) = await emu.PostAsync("deployments/filter",
                $"{{\"flows\":{{\"name\":{{\"any_\":[\"fleet\"]}}}},\"sort\":\"NAME_ASC\",\"limit\":200,\"offset\":{offset}}}");
            Assert.Equal(HttpStatusCode.OK, status);
            names.AddRange(page.EnumerateArray().Select(d => d.Str("name")));
        }

        var elapsed = clock.Elapsed;
        var server = emu.State.RequestSummary.Single(r => r.Route.EndsWith("deployments/filter", StringComparison.Ordinal));
        _output.WriteLine($"Prefect {version}: 10 pages of 200 deployments in {elapsed.TotalMilliseconds:0} ms, {server.TotalMs:0} ms of it in the server");
        Assert.Equal(Enumerable.Range(0, 2_000).Select(i => $"job-{i:0000}"), names);
        // Well under a second on an idle machine; the bound leaves room for a busy one.
        Assert.True(elapsed < TimeSpan.FromSeconds(3), $"10 pages took {elapsed}");
        emu.Seen.RemoveRange(0, emu.Seen.Count - 1);
        AssertAnswersFitPrefectsSchema(emu);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(2)]
    public async Task Flows_are_read_by_name_and_id_and_an_unknown_one_is_404(int version)
    {
        await using var emu = await PrefectEmulator.StartAsync(version: version);
        await RegisterAsync(emu, "other-flow", "x");
        var (status, flow) = await emu.GetAsync("flows/name/other-flow", "/flows/name/{name}");
        Assert.Equal(HttpStatusCode.OK, status);
        var expected = version == 2 ? new[] { "id", "created", "updated", "name", "tags" } : new[] { "id", "created", "updated", "name", "tags", "labels" };
        Assert.Equal(expected, flow.EnumerateObject().Select(p => p.Name));
        Assert.Equal(("other-flow", 0), (flow.Str("name"), flow.GetProperty("tags").GetArrayLength()));
        Assert.Equal(emu.State.Prefect.FlowId("other-flow"), flow.Str("id"));
        Assert.Equal(flow.GetRawText(), (await emu.GetAsync("flows/" + flow.Str("id"))).Json.GetRawText());
        Assert.Equal((await DeploymentAsync(emu, "run-pipeline", "orders")).Str("flow_id"),
            (await emu.GetAsync("flows/name/run-pipeline", "/flows/name/{name}")).Json.Str("id"));

        var (missing, notFound) = await emu.GetAsync("flows/name/no-such-flow", "/flows/name/{name}");
        Assert.Equal((HttpStatusCode.NotFound, "Flow not found"), (missing, notFound.Str("detail")));
        var (missingId, _) = await emu.GetAsync("flows/" + Guid.NewGuid());
        Assert.Equal(HttpStatusCode.NotFound, missingId);

        var (_, listed) = await emu.PostAsync("flows/filter", "{\"flows\":{\"name\":{\"any_\":[\"other-flow\",\"run-pipeline\"]}}}");
        Assert.Equal(new[] { "other-flow", "run-pipeline" }, listed.EnumerateArray().Select(f => f.Str("name")));
        var (_, counted) = await emu.PostAsync("flows/count", $"{{\"flows\":{{\"id\":{{\"any_\":[\"{flow.Str("id")}\"]}}}}}}");
        Assert.Equal(1, counted.GetInt32());
        AssertAnswersFitPrefectsSchema(emu);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(2)]
    public async Task Deleting_a_deployment_deletes_its_scheduled_runs_and_leaves_the_others_naming_it(int version)
    {
        await using var emu = await PrefectEmulator.StartAsync(version: version);
        var id = (await RegisterAsync(emu, "other-flow", "nightly")).Str("deploymentId");
        await SeedAsync(emu, "other-flow", "nightly", 5);
        var finished = (await emu.PostAsync($"deployments/{id}/create_flow_run", "{}")).Json.Str("id");
        emu.Step(8);
        var running = (await emu.PostAsync($"deployments/{id}/create_flow_run", "{}")).Json.Str("id");
        emu.Step(2.5);
        var scheduled = (await emu.PostAsync($"deployments/{id}/create_flow_run", "{}")).Json.Str("id");
        Assert.Equal(new[] { "COMPLETED", "RUNNING", "SCHEDULED" }, new[] { finished, running, scheduled }.Select(emu.State.Prefect.RunStateType));

        var (deleted, _) = await emu.SendAsync(System.Net.Http.HttpMethod.Delete, "deployments/" + id, template: "/deployments/{id}");
        Assert.Equal(HttpStatusCode.NoContent, deleted);
        var (again, detail) = await emu.SendAsync(System.Net.Http.HttpMethod.Delete, "deployments/" + id, template: "/deployments/{id}");
        Assert.Equal((HttpStatusCode.NotFound, "Deployment not found"), (again, detail.Str("detail")));
        Assert.Equal(HttpStatusCode.NotFound, (await emu.GetAsync("deployments/" + id)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await emu.GetAsync("deployments/name/other-flow/nightly", ByNameTemplate)).Status);
        Assert.Equal(0, (await emu.PostAsync("deployments/filter", $"{{\"deployments\":{{\"id\":{{\"any_\":[\"{id}\"]}}}}}}")).Json.GetArrayLength());

        Assert.Equal(HttpStatusCode.NotFound, (await emu.GetAsync("flow_runs/" + scheduled)).Status);
        Assert.Contains(emu.State.Prefect.DeletedRuns, r => r.FlowRunId == scheduled);
        var (_, left) = await emu.PostAsync("flow_runs/filter", $"{{\"flow_runs\":{{\"deployment_id\":{{\"any_\":[\"{id}\"]}}}},\"sort\":\"EXPECTED_START_TIME_DESC\"}}");
        var runs = left.EnumerateArray().ToArray();
        Assert.Equal(7, runs.Length);
        Assert.Equal(new[] { running, finished }, runs.Take(2).Select(r => r.Str("id")));
        Assert.All(runs, r => Assert.Equal(id, r.Str("deployment_id")));
        emu.Step(8);
        Assert.Equal("COMPLETED", emu.State.Prefect.RunStateType(running)); // a run already going is not stopped
        AssertAnswersFitPrefectsSchema(emu);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(2)]
    public async Task Deleting_a_scheduled_deployment_stops_its_schedule_and_spares_retries_only_in_Prefect_3(int version)
    {
        await using var emu = await PrefectEmulator.StartAsync(version: version);
        var scheduledId = emu.State.Prefect.DeploymentId("scheduled-pipeline")!;
        var retry = await emu.CreateRunIdAsync("retry-pipeline");
        emu.Step(4.5);
        Assert.Equal("SCHEDULED/AwaitingRetry", await emu.StateOfAsync(retry));

        Assert.True(emu.State.Prefect.DeleteDeployment(Guid.Parse(scheduledId)));
        Assert.True(emu.State.Prefect.DeleteDeployment(Guid.Parse(emu.State.Prefect.DeploymentId("retry-pipeline")!)));
        emu.Clock.Advance(TimeSpan.FromHours(3));
        var (_, left) = await emu.PostAsync("flow_runs/filter", $"{{\"flow_runs\":{{\"deployment_id\":{{\"any_\":[\"{scheduledId}\"]}}}}}}");
        Assert.Equal(new[] { "COMPLETED" }, left.EnumerateArray().Select(r => r.Str("state_type")).Distinct());
        Assert.Equal(3, left.GetArrayLength());
        Assert.Equal(version == 3 ? HttpStatusCode.OK : HttpStatusCode.NotFound, (await emu.GetAsync("flow_runs/" + retry)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await emu.GetAsync("deployments/name/run-pipeline/scheduled-pipeline", ByNameTemplate)).Status);
    }
}
