using System;
using System.Linq;
using System.Text.Json;
using DhubBatches.Engine.Prefect;
using DhubBatches.TestSupport;
using Xunit;

namespace DhubBatches.Tests;

/// <summary>A deployment as Prefect sends it → the pipeline Get-DhubPipeline shows (parameters, defaults, schedules).</summary>
public class PipelineReaderTests
{
    private static PrefectDeployment Deployment(string json) => JsonSerializer.Deserialize(json, PrefectJsonContext.Default.PrefectDeployment)!;

    private static string Summary<T>(System.Collections.Generic.IReadOnlyList<System.Collections.Generic.KeyValuePair<string, T>> pairs) =>
        string.Join("; ", pairs.Select(p => p.Key + "=" + (p.Value?.ToString() ?? "null")));

    [Fact]
    public void The_recorded_2_16_8_deployment_reads_as_a_pipeline_with_its_parameters_defaults_and_tags()
    {
        var deployment = JsonSerializer.Deserialize(RecordedAnswers.Text("deployment.json"), PrefectJsonContext.Default.PrefectDeployment)!;

        var pipeline = PipelineReader.From(deployment, "run-pipeline");

        Assert.Equal("sales-pipeline", pipeline.PipelineId);
        Assert.Equal("7dcea359-111d-49c2-bf14-534be26c8d86", pipeline.DeploymentId);
        Assert.Equal("run-pipeline/sales-pipeline", pipeline.Deployment);
        Assert.Equal("pipeline_id=string; partitions=integer; sleep_seconds=number", Summary(pipeline.Parameters));
        Assert.Equal("pipeline_id=sales-pipeline; partitions=2; sleep_seconds=1", Summary(pipeline.Defaults));
        Assert.IsType<long>(pipeline.Defaults[1].Value);
        Assert.Equal(new[] { "conformance" }, pipeline.Tags);
        Assert.False(pipeline.Paused);
        Assert.Null(pipeline.Schedule);
        Assert.Null(pipeline.Description);
    }

    [Fact]
    public void The_deployments_own_parameter_values_win_over_the_flows_defaults_and_extra_ones_are_kept()
    {
        var pipeline = PipelineReader.From(Deployment("""
            {"id":"5b1d2c3e-4f50-4617-8829-3a4b5c6d7e8f","name":"orders","parameters":{"partitions":8,"region":"eu"},
             "parameter_openapi_schema":{"type":"object","properties":{
               "partitions":{"type":"integer","default":2,"position":1},
               "pipeline_id":{"type":"string","default":"x","position":0}}}}
            """), "run-pipeline");

        Assert.Equal("pipeline_id=string; partitions=integer", Summary(pipeline.Parameters));
        Assert.Equal("pipeline_id=x; partitions=8; region=eu", Summary(pipeline.Defaults));
    }

    [Theory]
    [InlineData("""{"anyOf":[{"type":"integer"},{"type":"null"}],"default":null}""", "integer|null")]
    [InlineData("""{"allOf":[{"$ref":"#/definitions/Window"}]}""", "Window")]
    [InlineData("""{"$ref":"#/definitions/Window"}""", "Window")]
    [InlineData("""{"type":["string","null"]}""", "string|null")]
    [InlineData("""{"title":"anything"}""", "any")]
    public void A_parameters_type_is_its_schema_type_a_union_or_a_models_name(string property, string expected)
    {
        var pipeline = PipelineReader.From(Deployment(
            """{"id":"5b1d2c3e-4f50-4617-8829-3a4b5c6d7e8f","name":"p","parameter_openapi_schema":{"properties":{"value":""" + property + "}}}"), "f");

        Assert.Equal("value=" + expected, Summary(pipeline.Parameters));
    }

    [Theory]
    [InlineData("""{"schedules":[{"schedule":{"cron":"0 2 * * *","timezone":"UTC","day_or":true},"active":true}]}""", "cron 0 2 * * * (UTC)")]
    [InlineData("""{"schedules":[{"schedule":{"interval":3600.0,"anchor_date":"2026-01-01T00:00:00Z","timezone":"UTC"},"active":true}]}""", "every 1h (UTC)")]
    [InlineData("""{"schedules":[{"schedule":{"interval":5400,"anchor_date":"2026-01-01T00:00:00Z"},"active":false}]}""", "every 1h30m, inactive")]
    [InlineData("""{"schedules":[{"schedule":{"rrule":"DTSTART:20260101T020000\nRRULE:FREQ=DAILY","timezone":"UTC"}}]}""", "rrule DTSTART:20260101T020000 RRULE:FREQ=DAILY (UTC)")]
    [InlineData("""{"schedules":[{"schedule":{"cron":"0 2 * * *"}},{"schedule":{"interval":0.5}}]}""", "cron 0 2 * * *; every 0.5s")]
    [InlineData("""{"schedules":[],"schedule":{"cron":"*/5 * * * *","timezone":"Europe/Oslo"},"is_schedule_active":false}""", "cron */5 * * * * (Europe/Oslo), inactive")]
    [InlineData("""{"schedules":[],"schedule":null}""", null)]
    public void Schedules_read_as_one_line_in_every_shape_Prefect_writes(string members, string? expected)
    {
        var json = """{"id":"5b1d2c3e-4f50-4617-8829-3a4b5c6d7e8f","name":"p",""" + members.Substring(1);

        Assert.Equal(expected, PipelineReader.From(Deployment(json), "f").Schedule);
    }

    [Theory]
    [InlineData("""{"paused":true}""", true)]
    [InlineData("""{"paused":false,"is_schedule_active":false}""", false)]
    [InlineData("""{"is_schedule_active":false}""", true)]
    [InlineData("""{"tags":[]}""", false)]
    public void Paused_is_the_deployments_paused_and_before_it_existed_an_inactive_schedule(string members, bool expected)
    {
        var json = """{"id":"5b1d2c3e-4f50-4617-8829-3a4b5c6d7e8f","name":"p",""" + members.Substring(1);

        Assert.Equal(expected, PipelineReader.From(Deployment(json), "f").Paused);
    }

    [Fact]
    public void A_deleted_deployments_pipeline_id_carries_its_id_and_reads_back()
    {
        var id = Guid.NewGuid().ToString();

        var pipelineId = DeletedDeployment.PipelineId(id);

        Assert.Equal("(deleted) " + id, pipelineId);
        Assert.True(DeletedDeployment.TryParse(pipelineId, out var parsed));
        Assert.Equal(id, parsed);
        Assert.False(DeletedDeployment.TryParse("(deleted) not-a-uuid", out _));
        Assert.False(DeletedDeployment.TryParse("orders", out _));
    }
}
