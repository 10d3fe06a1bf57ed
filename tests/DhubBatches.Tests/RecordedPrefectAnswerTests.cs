using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using DhubBatches.Contract;
using DhubBatches.Engine.Http;
using DhubBatches.Engine.Prefect;
using DhubBatches.TestSupport;
using Xunit;

namespace DhubBatches.Tests;

/// <summary>
/// Answers recorded from a real Prefect 2.16.8 server (tests/fixtures/prefect-2.16.8) are ground truth: each one
/// parses, and the runs, task runs and artifacts map to the Batch a user expects.
/// </summary>
public class RecordedPrefectAnswerTests
{
    private static string Text(string file) => RecordedAnswers.Text(file);

    private static T Read<T>(string file, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type) =>
        JsonSerializer.Deserialize(Text(file), type)!;

    public static IEnumerable<object[]> Files() => RecordedAnswers.Files().Select(f => new object[] { f });

    [Theory]
    [MemberData(nameof(Files))]
    public void Every_recorded_answer_is_json(string file)
    {
        using var document = JsonDocument.Parse(Text(file));
        Assert.NotEqual(JsonValueKind.Undefined, document.RootElement.ValueKind);
    }

    [Fact]
    public void A_completed_run_with_markdown_offsets_maps_to_its_three_steps_and_their_offsets()
    {
        var run = Read("flow_run.json", PrefectJsonContext.Default.PrefectFlowRun);
        var taskRuns = Read("task_runs.json", PrefectJsonContext.Default.ListPrefectTaskRun);
        var artifacts = Read("artifacts.json", PrefectJsonContext.Default.ListPrefectArtifact);

        var batch = Batches.Of(PrefectMapper.ToSnapshot("sales-pipeline", "run-pipeline", run, taskRuns, artifacts), BackendKind.Prefect);

        Assert.Equal("1bcff959-3680-4cc0-9177-965e98015250", batch.Id);
        Assert.Equal(BatchState.Stop, batch.State);
        Assert.Equal("COMPLETED", batch.EngineState);
        Assert.Equal(BatchOutcome.Succeeded, batch.Outcome);
        Assert.True(batch.IsComplete);
        Assert.Equal("extract=success; transform=success; load=success", batch.StepSummary);
        Assert.Equal("partition_0=1000; partition_1=1001", batch.Steps[0].OffsetSummary);
        Assert.Equal("partition_0=2000; partition_1=2001", batch.Steps[1].OffsetSummary);
        Assert.Equal("partition_0=3000; partition_1=3001", batch.Steps[2].OffsetSummary);
        Assert.Equal(DateTimeOffset.Parse("2026-11-30T00:37:01.547380+00:00"), batch.StartTime);
        Assert.Equal(DateTimeOffset.Parse("2026-11-30T00:37:04.891053+00:00"), batch.EndTime);
        Assert.Empty(batch.Warnings);
    }

    [Theory]
    [InlineData("artifacts_markdown.json")]
    [InlineData("artifacts_table.json")]
    [InlineData("artifacts_object.json")]
    public void Offsets_written_by_each_prefect_helper_read_the_same(string file)
    {
        var artifacts = Read(Path.Combine("artifact-kinds", file), PrefectJsonContext.Default.ListPrefectArtifact);

        var newest = OffsetReader.NewestByTaskRun(artifacts);
        var read = newest.Values
            .OrderBy(a => a.Created)
            .Select(a =>
            {
                var values = new Dictionary<string, long>();
                var order = new List<string>();
                var skipped = new List<string>();
                OffsetReader.Read(a.Data, values, order, skipped);
                Assert.Empty(skipped);
                return string.Join("; ", order.Select(p => p + "=" + values[p]));
            })
            .ToList();

        Assert.Equal(new[] { "partition_0=1000; partition_1=1001", "partition_0=2000; partition_1=2001", "partition_0=3000; partition_1=3001" }, read);
    }

    [Fact]
    public void After_a_restart_the_reused_task_runs_of_the_new_attempt_are_the_steps()
    {
        var run = Read("flow_run.json", PrefectJsonContext.Default.PrefectFlowRun);
        run.Id = "3066fcbe-edf6-45f7-8035-4d3a7265736d";
        run.RunCount = 2;
        var taskRuns = Read("task_runs_after_restart.json", PrefectJsonContext.Default.ListPrefectTaskRun);

        var snapshot = PrefectMapper.ToSnapshot("orders", "run-pipeline", run, taskRuns, Array.Empty<PrefectArtifact>());

        Assert.Equal("extract=success; transform=success; load=success", snapshot.StepSummary());
    }

    [Fact]
    public void A_cancelled_run_is_stopped_and_its_crashed_task_shows_as_failed()
    {
        var run = Read("cancelled_flow_run.json", PrefectJsonContext.Default.PrefectFlowRun);
        var taskRuns = Read("cancelled_task_runs.json", PrefectJsonContext.Default.ListPrefectTaskRun);

        var batch = Batches.Of(PrefectMapper.ToSnapshot("orders", "run-pipeline", run, taskRuns, Array.Empty<PrefectArtifact>()), BackendKind.Prefect);

        Assert.Equal(BatchState.Stop, batch.State);
        Assert.Equal("CANCELLED", batch.EngineState);
        Assert.Equal(BatchOutcome.Stopped, batch.Outcome);
        Assert.Equal("extract=failed", batch.StepSummary);
    }

    [Fact]
    public void A_just_created_run_is_scheduled_without_steps()
    {
        var run = Read("create_flow_run.json", PrefectJsonContext.Default.PrefectFlowRun);

        var batch = Batches.Of(PrefectMapper.ToSnapshot("sales-pipeline", "run-pipeline", run, Array.Empty<PrefectTaskRun>(), Array.Empty<PrefectArtifact>()), BackendKind.Prefect);

        Assert.Equal(BatchState.Scheduled, batch.State);
        Assert.Equal(BatchOutcome.InProgress, batch.Outcome);
        Assert.False(batch.IsComplete);
        Assert.Empty(batch.Steps);
    }

    [Theory]
    [InlineData("set_state_cancelling.json", "ACCEPT", "CANCELLING")]
    [InlineData("set_state_abort_terminal.json", "ABORT", "COMPLETED")]
    [InlineData("set_state_restart_scheduled.json", "ACCEPT", "SCHEDULED")]
    public void Orchestration_answers_read_their_status_and_state(string file, string status, string type)
    {
        var result = Read(file, PrefectJsonContext.Default.PrefectOrchestrationResult);

        Assert.Equal(status, result.Status);
        Assert.Equal(type, result.State?.NormalType);
    }

    [Fact]
    public void Log_lines_name_their_steps_by_the_task_runs_of_the_run()
    {
        var logs = Read("logs_filter.json", PrefectJsonContext.Default.ListPrefectLog);
        var stepOf = Read("task_runs_after_restart.json", PrefectJsonContext.Default.ListPrefectTaskRun)
            .ToDictionary(t => t.Id!, StepAssembler.StepName);

        var steps = logs.Where(l => l.TaskRunId != null).Select(l => stepOf[l.TaskRunId!]).Distinct().ToList();

        Assert.Equal(19, logs.Count);
        Assert.Equal(new[] { "extract", "transform", "load" }, steps);
        Assert.All(logs, l => Assert.Equal(20, l.Level));
        Assert.Contains(logs, l => l.TaskRunId == null && l.Message == "Finished in state Completed()");
    }

    [Theory]
    [InlineData("error_404_deployment_by_name.json", "Deployment not found")]
    [InlineData("error_404_flow_run.json", "Flow run not found")]
    [InlineData("error_404_route.json", "Not Found")]
    [InlineData("error_503_sqlite_locked.json", "Service Unavailable")]
    [InlineData("error_422_bad_uuid.json", "Invalid request received. path.id: value is not a valid uuid")]
    public void Error_bodies_give_the_servers_own_message(string file, string message)
    {
        Assert.Equal(message, ApiCall.ServerMessage(Text(file)));
    }

    [Fact]
    public void The_recorded_deployment_declares_no_pipeline_version_so_one_is_refused_before_any_run()
    {
        var deployment = Read("deployment.json", PrefectJsonContext.Default.PrefectDeployment);

        ParameterCheck.Ensure(deployment, "run-pipeline/sales-pipeline", new[] { "pipeline_id", "partitions" });
        var ex = Assert.Throws<DhubException>(() => ParameterCheck.Ensure(deployment, "run-pipeline/sales-pipeline", new[] { "pipeline_version" }));

        Assert.Equal(DhubErrorKind.DhubBadRequest, ex.Kind);
        Assert.Contains("'pipeline_version'", ex.Message);
        Assert.Contains("'pipeline_id', 'partitions', 'sleep_seconds'", ex.Message);
        Assert.Contains("-PipelineVersion", ex.Message);
    }
}
