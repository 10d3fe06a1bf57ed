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

namespace DhubBatches.Tests;

/// <summary>
/// Prefect's request models by name in <c>prefect-openapi.json</c>, judged strictly (§1.3): JsonSchema.Net over
/// <c>#/components/schemas/&lt;model&gt;</c>, plus what the schema leaves open for FastAPI's embedded bodies — no
/// unknown top-level key — and no <c>null</c> anywhere (the engine never needs to send one).
/// </summary>
public static class PrefectOpenApi
{
    public const string DeploymentFlowRunCreate = "DeploymentFlowRunCreate";
    public const string FlowRunsFilter = "Body_read_flow_runs_flow_runs_filter_post";
    public const string FlowRunsCount = "Body_count_flow_runs_flow_runs_count_post";
    public const string TaskRunsFilter = "Body_read_task_runs_task_runs_filter_post";
    public const string ArtifactsFilter = "Body_read_artifacts_artifacts_filter_post";
    public const string DeploymentsFilter = "Body_read_deployments_deployments_filter_post";
    public const string SetState = "Body_set_flow_run_state_flow_runs__id__set_state_post";

    /// <summary>The shared spec beside the repository (../shared/spec); the emulator embeds the same file.</summary>
    public static readonly string SpecPath = SharedSpecPath("prefect-openapi.json");

    private static string SharedSpecPath(string file)
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory != null && !File.Exists(Path.Combine(directory.FullName, "DhubBatches.sln")))
        {
            directory = directory.Parent;
        }
        return directory == null
            ? Path.Combine(AppContext.BaseDirectory, "prefect-openapi.json")
            : Path.GetFullPath(Path.Combine(directory.FullName, "..", "shared", "spec", file));
    }

    private static readonly Uri DocumentUri = new("urn:prefect:openapi:tests");
    private static readonly Lazy<(JsonDocument Document, BuildOptions Build)> Loaded = new(Load);
    private static readonly ConcurrentDictionary<string, JsonSchema> Compiled = new(StringComparer.Ordinal);

    public static string Text() => File.Exists(SpecPath) ? File.ReadAllText(SpecPath) : EmbeddedText();

    public static string EmbeddedText()
    {
        using var stream = typeof(EmulatorServer).Assembly.GetManifestResourceStream("DhubBatches.Emulator.Prefect.prefect-openapi.json")!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private static (JsonDocument, BuildOptions) Load()
    {
        var document = JsonDocument.Parse(Text());
        var registry = new SchemaRegistry();
        registry.Register(DocumentUri, new JsonElementBaseDocument(document.RootElement, DocumentUri));
        return (document, new BuildOptions { SchemaRegistry = registry });
    }

    /// <summary>Every reason <paramref name="body"/> is not a valid <paramref name="model"/>; empty when it is.</summary>
    public static List<string> Problems(string model, JsonElement body)
    {
        var (document, build) = Loaded.Value;
        var problems = new List<string>();
        var schemaElement = document.RootElement.GetProperty("components").GetProperty("schemas").GetProperty(model);
        if (body.ValueKind == JsonValueKind.Object && schemaElement.TryGetProperty("properties", out var properties))
        {
            problems.AddRange(body.EnumerateObject().Where(p => !properties.TryGetProperty(p.Name, out _)).Select(p => $"unknown top-level field '{p.Name}'"));
        }
        NoNulls(body, "$", problems);

        var schema = Compiled.GetOrAdd(model, m => JsonSchema.FromText(
            "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\",\"$ref\":\"" + DocumentUri + "#/components/schemas/" + m + "\"}", build));
        var result = schema.Evaluate(body, new EvaluationOptions { RequireFormatValidation = true, OutputFormat = OutputFormat.List });
        if (!result.IsValid)
        {
            var details = (result.Details ?? new List<EvaluationResults>())
                .Where(d => d.Errors != null)
                .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Key} {e.Value}"))
                .ToList();
            problems.Add("schema: " + (details.Count == 0 ? "invalid" : string.Join("; ", details.Take(10))));
        }
        return problems;
    }

    private static void NoNulls(JsonElement value, string path, List<string> problems)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Null:
                problems.Add($"null at {path}");
                break;
            case JsonValueKind.Object:
                foreach (var p in value.EnumerateObject())
                {
                    NoNulls(p.Value, path + "." + p.Name, problems);
                }
                break;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var item in value.EnumerateArray())
                {
                    NoNulls(item, $"{path}[{i++}]", problems);
                }
                break;
        }
    }
}

/// <summary>§1.3: every request body the Prefect engine sends validates strictly against Prefect's own OpenAPI models.</summary>
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
        var problems = PrefectOpenApi.Problems(model, body);
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

        Assert.NotEmpty(PrefectOpenApi.Problems(model, document.RootElement));
    }

    [Fact]
    public void The_emulator_judges_by_the_same_openapi_document_as_the_spec()
    {
        Assert.True(File.Exists(PrefectOpenApi.SpecPath), $"The shared spec is missing: {PrefectOpenApi.SpecPath}");
        Assert.Equal(
            JsonDocument.Parse(File.ReadAllText(PrefectOpenApi.SpecPath)).RootElement.GetRawText(),
            JsonDocument.Parse(PrefectOpenApi.EmbeddedText()).RootElement.GetRawText());
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
            new StartRequest("orders")
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
        await engine.GetPipelineNamesAsync(CancellationToken.None);
        State.Prefect.WaitNextSetState(1);
        await engine.StopAsync("orders", a.Id, CancellationToken.None);
        Clock.Advance(Step * 1.5);
        await engine.StopAsync("orders", b.Id, CancellationToken.None);
        Clock.Advance(Step);
        await engine.RemoveAsync("orders", b.Id, TimeSpan.FromSeconds(5), CancellationToken.None);

        var bodies = State.Prefect.RequestBodies;
        var models = bodies.Select(x => x.Model).Distinct().ToList();
        foreach (var expected in new[]
        {
            PrefectOpenApi.DeploymentFlowRunCreate, PrefectOpenApi.FlowRunsFilter, PrefectOpenApi.FlowRunsCount, PrefectOpenApi.TaskRunsFilter,
            PrefectOpenApi.ArtifactsFilter, PrefectOpenApi.DeploymentsFilter, PrefectOpenApi.SetState,
        })
        {
            Assert.Contains(expected, models);
        }
        Assert.All(bodies, x =>
        {
            using var document = JsonDocument.Parse(x.Body);
            var problems = PrefectOpenApi.Problems(x.Model, document.RootElement);
            Assert.True(problems.Count == 0, $"{x.Method} {x.Path} ({x.Model}) {x.Body}: {string.Join(" | ", problems)}");
        });
        var refused = Prefect().Where(r => r.Status is 400 or 422 && Route(r) != "csrf-token").ToList();
        Assert.True(refused.Count == 0, string.Join(", ", refused.Select(r => $"{r.Method} {r.RawTarget} -> {r.Status}")));
        Assert.DoesNotContain(Prefect(), r => r.Status >= 400 && Route(r) != "csrf-token");
    }
}
