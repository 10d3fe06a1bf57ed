using System;
using System.Linq;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using Xunit;
using DhubBatches.TestSupport;

namespace DhubBatches.Emulator.Tests;

/// <summary>Parameter schemas as Prefect generates them, schema enforcement at create time, and the signature check at start.</summary>
public class PrefectParameterTests
{
    [Fact]
    public async Task A_strict_flow_declares_exactly_what_the_recorded_deployment_declares()
    {
        await using var emu = await PrefectEmulator.StartAsync(version: 2);
        var (_, d) = await emu.GetAsync("deployments/name/run-pipeline/strict-pipeline", "/deployments/name/{flow_name}/{deployment_name}");
        var recorded = RecordedAnswers.Read("deployment.json").GetProperty("parameter_openapi_schema").GetRawText()
            .Replace("sales-pipeline", "strict-pipeline", StringComparison.Ordinal);
        Assert.Equal(JsonNode.Parse(recorded)!.ToJsonString(), JsonNode.Parse(d.GetProperty("parameter_openapi_schema").GetRawText())!.ToJsonString());
    }

    [Theory]
    [InlineData(3)]
    [InlineData(2)]
    public async Task An_undeclared_parameter_is_created_then_fails_the_run_as_it_starts_with_SignatureMismatchError(int version)
    {
        await using var emu = await PrefectEmulator.StartAsync(version: version);
        var id = await emu.CreateRunIdAsync("strict-pipeline", "{\"parameters\":{\"pipeline_version\":\"1.4.2\"}}");
        emu.Step(1.5);
        Assert.Equal("PENDING", emu.State.Prefect.RunStateType(id));
        emu.Step(1);
        var run = await emu.ReadRunAsync(id);
        Assert.Equal("FAILED", run.Str("state_type"));
        Assert.Equal(
            "Validation of flow parameters failed with error: SignatureMismatchError: Function expects parameters "
            + "['pipeline_id', 'partitions', 'sleep_seconds'] but was provided with parameters "
            + "['pipeline_id', 'partitions', 'sleep_seconds', 'pipeline_version']",
            run.GetProperty("state").Str("message"));
        Assert.Equal(0, run.Int("run_count"));
        Assert.True(run.IsNull("start_time") && run.IsNull("end_time"));
        Assert.Empty(await emu.TaskRunsAsync(id));
        Assert.Contains(await emu.LogsAsync(id), l => l.Int("level") == 40
            && l.Str("message").StartsWith("Validation of flow parameters failed with error: Function expects parameters", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_flow_taking_kwargs_shows_it_as_prefect_does_and_still_fails_on_an_undeclared_top_level_name()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var (_, d) = await emu.GetAsync("deployments/name/run-pipeline/kwargs-pipeline", "/deployments/name/{flow_name}/{deployment_name}");
        var schema = d.GetProperty("parameter_openapi_schema");
        // parameter_schema() has no case for **kwargs: an untyped, required property named after it.
        Assert.Equal("{\"title\":\"kwargs\",\"position\":4}", schema.GetProperty("properties").GetProperty("kwargs").GetRawText());
        Assert.Equal("[\"kwargs\"]", schema.GetProperty("required").GetRawText());
        Assert.False(d.GetProperty("enforce_parameter_schema").GetBoolean());

        // The signature check compares top-level names: extra values must be nested under kwargs.
        var nested = await emu.CreateRunIdAsync("kwargs-pipeline", "{\"parameters\":{\"kwargs\":{\"anything\":1},\"pipeline_version\":\"2\"}}");
        var flat = await emu.CreateRunIdAsync("kwargs-pipeline", "{\"parameters\":{\"anything\":1}}");
        emu.Step(6);
        Assert.Equal("COMPLETED", emu.State.Prefect.RunStateType(nested));
        Assert.NotEqual("COMPLETED", emu.State.Prefect.RunStateType(flat));
    }

    [Fact]
    public async Task A_schema_that_allows_other_keys_says_so_and_its_runs_take_them()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var (_, d) = await emu.GetAsync("deployments/name/run-pipeline/open-pipeline", "/deployments/name/{flow_name}/{deployment_name}");
        Assert.True(d.GetProperty("parameter_openapi_schema").GetProperty("additionalProperties").GetBoolean());

        var id = await emu.CreateRunIdAsync("open-pipeline", "{\"parameters\":{\"anything\":1,\"pipeline_version\":\"2\"}}");
        emu.Step(6);
        Assert.Equal("COMPLETED", emu.State.Prefect.RunStateType(id));
    }

    [Theory]
    [InlineData("{\"pipeline_version\":5}", "Error creating flow run: Validation failed for field 'pipeline_version'. Failure reason: 5 is not of type 'string'")]
    [InlineData("{\"partitions\":\"x\"}", "Error creating flow run: Validation failed for field 'partitions'. Failure reason: 'x' is not of type 'integer'")]
    [InlineData("{\"sleep_seconds\":null}", "Error creating flow run: Validation failed for field 'sleep_seconds'. Failure reason: None is not of type 'number'")]
    [InlineData("{\"partitions\":{\"a\":[true]}}", "Error creating flow run: Validation failed for field 'partitions'. Failure reason: {'a': [True]} is not of type 'integer'")]
    public async Task Prefect_3_enforces_the_parameter_schema_with_a_409(string parameters, string detail)
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var dep = await emu.DeploymentIdAsync("orders");
        var (status, body) = await emu.PostAsync($"deployments/{dep}/create_flow_run", $"{{\"parameters\":{parameters}}}");
        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Equal(detail, body.Str("detail"));
        Assert.Equal(0, emu.State.Prefect.CreatedCount("orders"));

        // A run can opt out, as can a Prefect 2 deployment (enforcement off by default there).
        var (optOut, _) = await emu.PostAsync($"deployments/{dep}/create_flow_run", $"{{\"parameters\":{parameters},\"enforce_parameter_schema\":false}}");
        Assert.Equal(HttpStatusCode.Created, optOut);
        await using var v2 = await PrefectEmulator.StartAsync(version: 2);
        var (v2Status, _) = await v2.PostAsync($"deployments/{await v2.DeploymentIdAsync("orders")}/create_flow_run", $"{{\"parameters\":{parameters}}}");
        Assert.Equal(HttpStatusCode.Created, v2Status);
    }

    [Fact]
    public async Task Every_built_in_but_strict_declares_pipeline_version_in_the_recorded_shape()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var (_, list) = await emu.PostAsync("deployments/filter", "{}");
        foreach (var d in list.EnumerateArray())
        {
            var schema = d.GetProperty("parameter_openapi_schema");
            Assert.Equal(("Parameters", "object"), (schema.Str("title"), schema.Str("type")));
            var properties = schema.GetProperty("properties");
            Assert.Equal(d.Str("name"), properties.GetProperty("pipeline_id").Str("default"));
            Assert.Equal(d.Str("name") != "strict-pipeline", properties.TryGetProperty("pipeline_version", out _));
            Assert.All(properties.EnumerateObject().Where(p => p.Name != "kwargs"), p =>
                Assert.Equal(new[] { "title", "default", "position", "type" }, p.Value.EnumerateObject().Select(m => m.Name)));
        }
    }
}
