using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using DhubBatches.Emulator;
using DhubBatches.Contract;
using DhubBatches.Engine.Prefect;
using Json.Schema;
using Xunit;
using DhubBatches.TestSupport;

namespace DhubBatches.Tests;

/// <summary>Every request body the Prefect engine sends validates strictly against Prefect's own OpenAPI models (the repository's copy).</summary>
public sealed class PrefectRequestSchemaTests : PrefectTestBase
{
    private const string RunId = "0c1e2f3a-4b5c-4d6e-8f70-81a2b3c4d5e6";
    private const string DeploymentId = "5b1d2c3e-4f50-4617-8829-3a4b5c6d7e8f";

    public PrefectRequestSchemaTests(ManualClockEmulatorFixture fixture)
        : base(fixture)
    {
    }

    internal static JsonElement Serialize<T>(T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> info) =>
        JsonDocument.Parse(JsonSerializer.Serialize(value, info)).RootElement.Clone();

    private static void AssertValid(string model, JsonElement body)
    {
        var problems = PrefectOpenApi.RequestProblems(model, body);
        Assert.True(problems.Count == 0, $"{model} {body.GetRawText()}: {string.Join(" | ", problems)}");
    }

    private static CreateFlowRunRequest CreateBody(string name) => name switch
    {
        "empty" => new CreateFlowRunRequest(),
        "key only" => new CreateFlowRunRequest { IdempotencyKey = "orders:" + Guid.NewGuid() },
        "parameters without version" => new CreateFlowRunRequest { Parameters = ParameterJson.Object(new Dictionary<string, object?> { ["x"] = "y" }) },
        _ => new CreateFlowRunRequest
        {
            Parameters = ParameterJson.Object(new Dictionary<string, object?>
            {
                ["pipeline_version"] = "1.4.2",
                ["full_refresh"] = false,
                ["partitions"] = 4L,
                ["ratio"] = 0.5,
                ["big"] = ulong.MaxValue,
                ["price"] = 12.50m,
                ["nested"] = new Dictionary<string, object?> { ["a"] = "b", ["list"] = new List<object?> { 1L, "two" } },
            }),
            Tags = new List<string> { "pv:1.4.2" },
            IdempotencyKey = "orders:" + Guid.NewGuid(),
        },
    };

    [Theory]
    [InlineData("empty")]
    [InlineData("key only")]
    [InlineData("parameters without version")]
    [InlineData("version, parameters, tags, key")]
    public void S5_create_flow_run_bodies_are_valid_DeploymentFlowRunCreate(string name)
    {
        AssertValid(PrefectOpenApi.DeploymentFlowRunCreate, Serialize(CreateBody(name), PrefectJsonContext.Default.CreateFlowRunRequest));
    }

    [Fact]
    public void S6_flow_run_filter_and_count_bodies_are_valid()
    {
        var latest = new FlowRunQuery { FlowRuns = new FlowRunCriteria { DeploymentId = new AnyFilter(DeploymentId) }, Sort = "EXPECTED_START_TIME_DESC", Limit = 1, Offset = 0 };
        var page = new FlowRunQuery { FlowRuns = new FlowRunCriteria { DeploymentId = new AnyFilter(DeploymentId) }, Sort = "EXPECTED_START_TIME_DESC", Limit = 200, Offset = 400 };
        var byId = new FlowRunQuery { FlowRuns = new FlowRunCriteria { Id = new AnyFilter(RunId) } };
        var count = new FlowRunQuery { FlowRuns = new FlowRunCriteria { DeploymentId = new AnyFilter(DeploymentId) } };

        AssertValid(PrefectOpenApi.FlowRunsFilter, Serialize(latest, PrefectJsonContext.Default.FlowRunQuery));
        AssertValid(PrefectOpenApi.FlowRunsFilter, Serialize(page, PrefectJsonContext.Default.FlowRunQuery));
        AssertValid(PrefectOpenApi.FlowRunsFilter, Serialize(byId, PrefectJsonContext.Default.FlowRunQuery));
        AssertValid(PrefectOpenApi.FlowRunsCount, Serialize(count, PrefectJsonContext.Default.FlowRunQuery));
        AssertValid(PrefectOpenApi.FlowRunsCount, Serialize(new FlowRunQuery(), PrefectJsonContext.Default.FlowRunQuery)); // Cloud's verify
    }

    [Fact]
    public void S8_task_run_and_artifact_filter_bodies_are_valid()
    {
        var tasks = new TaskRunQuery { TaskRuns = new TaskRunCriteria { FlowRunId = new AnyFilter(RunId, "1b2c3d4e-5f60-4718-9a2b-3c4d5e6f7a8b") }, Sort = "EXPECTED_START_TIME_ASC", Limit = 200, Offset = 200 };
        var artifacts = new ArtifactQuery
        {
            FlowRuns = new FlowRunCriteria { Id = new AnyFilter(RunId) },
            Artifacts = new ArtifactCriteria { Operator = "or_", Type = new AnyFilter("offsets"), Key = new KeyFilter { Like = "offsets" } },
            Sort = "CREATED_DESC",
            Limit = 200,
            Offset = 0,
        };

        AssertValid(PrefectOpenApi.TaskRunsFilter, Serialize(tasks, PrefectJsonContext.Default.TaskRunQuery));
        AssertValid(PrefectOpenApi.ArtifactsFilter, Serialize(artifacts, PrefectJsonContext.Default.ArtifactQuery));
    }

    [Fact]
    public void S4_deployment_filter_body_is_valid()
    {
        var query = new DeploymentQuery { Flows = new NameCriteria { Name = new AnyFilter("run-pipeline") }, Sort = "NAME_ASC", Limit = 200, Offset = 0 };

        AssertValid(PrefectOpenApi.DeploymentsFilter, Serialize(query, PrefectJsonContext.Default.DeploymentQuery));
    }

    [Fact]
    public void Fleet_view_bodies_are_valid_every_run_of_the_flow_with_a_deployment_and_deployments_by_id_or_name()
    {
        var fleet = new FlowRunQuery
        {
            Flows = new NameCriteria { Name = new AnyFilter("run-pipeline") },
            FlowRuns = new FlowRunCriteria { DeploymentId = AnyFilter.NotNull(), State = new StateTypeCriteria { Type = new AnyFilter("FAILED", "CRASHED") } },
            Sort = "EXPECTED_START_TIME_DESC",
            Limit = 200,
            Offset = 0,
        };
        var byId = new DeploymentQuery
        {
            Flows = new NameCriteria { Name = new AnyFilter("run-pipeline") },
            Deployments = new DeploymentCriteria { Id = new AnyFilter(DeploymentId) },
            Limit = 200,
            Offset = 0,
        };
        var byName = new DeploymentQuery { Flows = new NameCriteria { Name = new AnyFilter("run-pipeline") }, Deployments = new DeploymentCriteria { Name = new AnyFilter("orders", "sales") }, Sort = "NAME_ASC" };
        var fleetBody = Serialize(fleet, PrefectJsonContext.Default.FlowRunQuery);

        AssertValid(PrefectOpenApi.FlowRunsFilter, fleetBody);
        AssertValid(PrefectOpenApi.DeploymentsFilter, Serialize(byId, PrefectJsonContext.Default.DeploymentQuery));
        AssertValid(PrefectOpenApi.DeploymentsFilter, Serialize(byName, PrefectJsonContext.Default.DeploymentQuery));
        Assert.Equal("""{"is_null_":false}""", fleetBody.GetProperty("flow_runs").GetProperty("deployment_id").GetRawText());
    }

    [Fact]
    public void S9_set_state_body_is_valid_and_has_no_data()
    {
        var request = new SetStateRequest(
            new StateCreate("CANCELLING", "Cancelling") { Message = "Cancelled", StateDetails = new StateDetailsCreate { TransitionId = Guid.NewGuid().ToString() } },
            force: false);
        var body = Serialize(request, PrefectJsonContext.Default.SetStateRequest);

        AssertValid(PrefectOpenApi.SetState, body);
        Assert.False(body.GetProperty("state").TryGetProperty("data", out _));
        Assert.Equal(JsonValueKind.False, body.GetProperty("force").ValueKind);
    }

    [Theory]
    [InlineData(PrefectOpenApi.DeploymentFlowRunCreate, """{"parameters":null}""")]
    [InlineData(PrefectOpenApi.DeploymentFlowRunCreate, """{"labels2":{}}""")]
    [InlineData(PrefectOpenApi.SetState, """{"state":{"type":"CANCELLING","timestamp":"2026-01-01T00:00:00Z"},"force":false}""")]
    [InlineData(PrefectOpenApi.FlowRunsFilter, """{"flow_runs":{"deployment_id":{"any":["x"]}}}""")]
    [InlineData(PrefectOpenApi.FlowRunsFilter, """{"sort":"CREATED_DESC"}""")]
    [InlineData(PrefectOpenApi.FlowRunsFilter, """{"page":1}""")]
    public void The_validator_rejects_what_a_strict_server_rejects(string model, string json)
    {
        using var document = JsonDocument.Parse(json);

        Assert.NotEmpty(PrefectOpenApi.RequestProblems(model, document.RootElement));
    }

    [Fact]
    public void The_emulator_judges_by_the_same_openapi_document_as_these_tests()
    {
        using var stream = typeof(EmulatorServer).Assembly.GetManifestResourceStream("DhubBatches.Emulator.Prefect.prefect-openapi.json")!;
        using var reader = new StreamReader(stream);

        Assert.Equal(PrefectOpenApi.Root.GetRawText(), JsonDocument.Parse(reader.ReadToEnd()).RootElement.GetRawText());
    }

    /// <summary>"A request body the strict server would reject is never sent": every body of a full scenario, as received.</summary>
    [Fact]
    public async Task S1_3_every_body_the_engine_sends_in_a_scenario_is_valid_and_none_gets_a_422()
    {
        State.Prefect.Csrf = true;
        State.Prefect.Seed("inventory", 250);
        using var engine = NewEngine();

        await engine.VerifyAsync(CancellationToken.None);
        var a = await engine.StartAsync(new StartRequest("orders"), CancellationToken.None);
        var b = await engine.StartAsync(
            new StartRequest("open-pipeline")
            {
                PipelineVersion = "1.4.2",
                Parameters = new Dictionary<string, object?> { ["full_refresh"] = true, ["n"] = 3, ["list"] = new List<object?> { "x", 1.5 }, ["map"] = new Dictionary<string, object?> { ["k"] = "v" } },
            },
            CancellationToken.None);
        await engine.GetLatestAsync("orders", CancellationToken.None);
        await engine.GetAsync("orders", a.Id, CancellationToken.None);
        var page = await engine.GetPageAsync("inventory", new BatchPageRequest { Limit = 1000 }, CancellationToken.None);
        await engine.GetPageAsync("inventory", new BatchPageRequest { Limit = 1000, Continuation = page.Continuation }, CancellationToken.None);
        await engine.GetPageAsync("inventory", new BatchPageRequest { Limit = 5, Skip = 7 }, CancellationToken.None);
        await engine.CountAsync("inventory", CancellationToken.None);
        var filtered = new BatchQuery
        {
            States = new[] { BatchState.Stop, BatchState.Running },
            Since = DateTimeOffset.UtcNow.AddDays(-1),
            Until = DateTimeOffset.UtcNow.AddDays(1),
        };
        await engine.GetPageAsync("inventory", filtered, new PageRequest { Want = 10, PageSize = 10 }, CancellationToken.None);
        await engine.GetPageAsync("scheduled-pipeline", new BatchQuery { IncludeUpcoming = true }, new PageRequest { Want = 10, PageSize = 10 }, CancellationToken.None);
        await engine.CountAsync("inventory", filtered, CancellationToken.None);
        await engine.CreateRefresher().RefreshAsync(new[] { new BatchKey("orders", a.Id), new BatchKey("open-pipeline", b.Id) }, CancellationToken.None);
        await engine.GetPipelineNamesAsync(CancellationToken.None);
        State.Prefect.WaitNextSetState(1);
        await engine.StopAsync("orders", a.Id, CancellationToken.None);
        await engine.RestartAsync("orders", a.Id, CancellationToken.None);
        Clock.Advance(Step * 1.5);
        await engine.StopAsync("open-pipeline", b.Id, CancellationToken.None);
        Clock.Advance(Step);
        await engine.RemoveAsync("open-pipeline", b.Id, TimeSpan.FromSeconds(5), CancellationToken.None);
        var forward = engine.CreateLogReader(new LogRequest("orders", a.Id) { MinimumLevel = 20 });
        await forward.ReadAsync(CancellationToken.None);
        await forward.ReadAsync(CancellationToken.None);
        await engine.CreateLogReader(new LogRequest("orders", a.Id) { Tail = 3, Steps = System.Array.Empty<string>() }).ReadAsync(CancellationToken.None);

        var bodies = State.Prefect.RequestBodies;
        var models = bodies.Select(x => x.Model).Distinct().ToList();
        foreach (var expected in new[]
        {
            PrefectOpenApi.DeploymentFlowRunCreate, PrefectOpenApi.FlowRunsFilter, PrefectOpenApi.FlowRunsCount, PrefectOpenApi.TaskRunsFilter,
            PrefectOpenApi.ArtifactsFilter, PrefectOpenApi.DeploymentsFilter, PrefectOpenApi.SetState, PrefectOpenApi.LogsFilter,
        })
        {
            Assert.Contains(expected, models);
        }
        Assert.All(bodies, x =>
        {
            using var document = JsonDocument.Parse(x.Body);
            var problems = PrefectOpenApi.RequestProblems(x.Model, document.RootElement);
            Assert.True(problems.Count == 0, $"{x.Method} {x.Path} ({x.Model}) {x.Body}: {string.Join(" | ", problems)}");
        });
        var refused = Prefect().Where(r => r.Status is 400 or 422 && Route(r) != "csrf-token").ToList();
        Assert.True(refused.Count == 0, string.Join(", ", refused.Select(r => $"{r.Method} {r.RawTarget} -> {r.Status}")));
        Assert.DoesNotContain(Prefect(), r => r.Status >= 400 && Route(r) != "csrf-token");
    }
}
