using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using DhubBatches.Contract;
using DhubBatches.Engine.Prefect;
using DhubBatches.TestSupport;
using Xunit;

namespace DhubBatches.Tests;

/// <summary>
/// A real 2.16.8 runner's flow that calls its tasks in order (tests/fixtures/prefect-2.16.8/real-runner): the steps
/// with no task run come from a completed run's, and a run left CANCELLING shows that no step is running.
/// </summary>
public class RecordedRealRunnerTests
{
    private static T Read<T>(string file, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type) =>
        JsonSerializer.Deserialize(RecordedAnswers.Text(file), type)!;

    /// <summary>The steps of the recorded completed run (extract, transform, load).</summary>
    private static StepTemplate CompletedRunSteps()
    {
        var completed = Read("flow_run.json", PrefectJsonContext.Default.PrefectFlowRun);
        return StepTemplate.From(completed.Id!, completed.ExpectedStartTime, Read("task_runs.json", PrefectJsonContext.Default.ListPrefectTaskRun), null);
    }

    [Fact]
    public void A_run_that_failed_at_transform_has_no_load_task_run_and_shows_load_pending()
    {
        var run = Read("real-runner/flow_run_failed_sequential.json", PrefectJsonContext.Default.PrefectFlowRun);
        var taskRuns = Read("real-runner/task_runs_failed_sequential.json", PrefectJsonContext.Default.ListPrefectTaskRun);
        Assert.DoesNotContain(taskRuns, t => t.Name!.StartsWith("load", System.StringComparison.Ordinal));

        var without = Batches.Of(PrefectMapper.ToSnapshot("sales-pipeline", "run-pipeline", run, taskRuns, new List<PrefectArtifact>()), BackendKind.Prefect);
        Assert.Equal("extract=success; transform=failed", without.StepSummary);

        var batch = Batches.Of(PrefectMapper.ToSnapshot("sales-pipeline", "run-pipeline", run, taskRuns, new List<PrefectArtifact>(), template: CompletedRunSteps()), BackendKind.Prefect);
        Assert.Equal("extract=success; transform=failed; load=pending", batch.StepSummary);
        Assert.Equal(BatchOutcome.Failed, batch.Outcome);
        Assert.Equal(2, run.RunCount);
    }

    [Fact]
    public void A_run_the_runner_left_cancelling_shows_no_step_running()
    {
        var run = Read("real-runner/flow_run_stuck_cancelling.json", PrefectJsonContext.Default.PrefectFlowRun);
        var taskRuns = Read("real-runner/task_runs_stuck_cancelling.json", PrefectJsonContext.Default.ListPrefectTaskRun);
        using var states = JsonDocument.Parse(RecordedAnswers.Text("real-runner/flow_run_states_stuck_cancelling.json"));
        Assert.Equal("CANCELLING", states.RootElement.EnumerateArray().Last().GetProperty("type").GetString());

        var batch = Batches.Of(PrefectMapper.ToSnapshot("sales-pipeline", "run-pipeline", run, taskRuns, new List<PrefectArtifact>(), template: CompletedRunSteps()), BackendKind.Prefect);
        Assert.Equal("CANCELLING", batch.EngineState);
        Assert.False(batch.IsComplete);
        Assert.DoesNotContain(batch.Steps, s => s.State == StepState.Running);
        Assert.Equal("extract=success; transform=pending; load=pending", batch.StepSummary);
    }

    [Fact]
    public void An_expected_step_the_run_lacks_is_added_pending_after_the_expected_step_before_it()
    {
        var completed = Read("flow_run.json", PrefectJsonContext.Default.PrefectFlowRun);
        var taskRuns = Read("task_runs.json", PrefectJsonContext.Default.ListPrefectTaskRun);
        var template = StepTemplate.From("other", null, taskRuns.Concat(new[] { new PrefectTaskRun { Id = "x", Name = "publish-0", DynamicKey = "0", FlowRunId = "other", TaskKey = "publish-1", ExpectedStartTime = taskRuns.Max(t => t.ExpectedStartTime)!.Value.AddSeconds(1) } }).ToList(), null);
        Assert.Equal(4, template.Steps.Count);
        var merged = template.Merge(StepAssembler.Assemble(completed, taskRuns, new Dictionary<string, PrefectArtifact>(), new List<string>()));
        Assert.Equal(new[] { "extract", "transform", "load", "publish" }, merged.Select(s => s.Name));
        Assert.Equal(StepState.Pending, merged[3].State);
    }
}
