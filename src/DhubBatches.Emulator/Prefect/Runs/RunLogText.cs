using System;
using DhubBatches.Emulator.Prefect.Flows;

namespace DhubBatches.Emulator.Prefect.Runs;

/// <summary>
/// The wording of the log lines and state messages a real flow process writes, taken from Prefect's engine
/// (<c>src/prefect/engine.py</c> in 2.x, <c>flow_engine.py</c>/<c>task_engine.py</c> in 3.x), its runner/worker
/// (<c>src/prefect/runner/runner.py</c>) and <c>src/prefect/states.py</c> (<c>exception_to_failed_state</c>,
/// <c>State.__str__</c>). Levels are Python's: 20 info, 40 error.
/// </summary>
internal static class RunLogText
{
    public const int Info = 20;
    public const int Warning = 30;
    public const int Error = 40;

    /// <summary>Flow-level lines (<c>task_run_id</c> null).</summary>
    public const string FlowLogger = "prefect.flow_runs";

    /// <summary>Task-level lines.</summary>
    public const string TaskLogger = "prefect.task_runs";

    /// <summary>What the anyio cancellation of a run's process becomes (<c>exception_to_crashed_state</c>).</summary>
    public const string CancelledByRuntime = "Execution was cancelled by the runtime environment.";

    /// <summary>The message the runner/worker gives the CANCELLED state once it killed the process (recorded on 2.16.8).</summary>
    public const string CancelledSuccessfully = "Flow run was cancelled successfully.";

    /// <summary>Prefect 2 serves deployments with a runner, Prefect 3 here with a process worker.</summary>
    public static string WorkerLogger(PrefectDialect dialect) => dialect.IsV2 ? "prefect.flow_runs.runner" : "prefect.flow_runs.worker";

    public static string Submitting(PrefectDialect dialect, Guid workerId, Guid flowRunId) =>
        dialect.IsV2
            ? $"Runner 'runner-{workerId}' submitting flow run '{flowRunId}'"
            : $"Worker 'ProcessWorker {workerId}' submitting flow run '{flowRunId}'";

    public const string OpeningProcess = "Opening process...";

    public static string SubmissionCompleted(Guid flowRunId) => $"Completed submission of flow run '{flowRunId}'";

    public const string DownloadingCode = "Downloading flow code from storage at '.'";

    public static string ExitedCleanly(string runName) => $"Process for flow run {PythonText.Repr(runName)} exited cleanly.";

    public static string ExitedWithError(string runName) => $"Process for flow run {PythonText.Repr(runName)} exited with status code: 1";

    public static string CancelledRun(string runName) => $"Cancelled flow run {PythonText.Repr(runName)}!";

    /// <summary>A task call the server refused because its flow run is no longer RUNNING (2.x <c>engine.py</c>, <c>begin_task_run</c>).</summary>
    public static string AbortedTaskRun(Guid taskRunId) =>
        $"Task run '{taskRunId}' received abort during orchestration: The enclosing flow must be running to begin task execution. Task run is in PENDING state.";

    /// <summary>The engine's final state proposal refused while the run is CANCELLING (<c>propose_state</c>).</summary>
    public const string FinalStateRefused = "Received non-final state 'Cancelling' when proposing final state 'Failed' and will attempt to run again...";

    public static string CreatedTaskRun(string taskRunName, string taskName) =>
        $"Created task run {PythonText.Repr(taskRunName)} for task {PythonText.Repr(taskName)}";

    public static string ExecutingImmediately(string taskRunName) => $"Executing {PythonText.Repr(taskRunName)} immediately...";

    public static string Submitted(string taskRunName) => $"Submitted task run {PythonText.Repr(taskRunName)} for execution.";

    public static string CreatedSubflowRun(string runName, string flowName) =>
        $"Created subflow run {PythonText.Repr(runName)} for flow {PythonText.Repr(flowName)}";

    public static string Offsets(System.Collections.Generic.IEnumerable<(string Partition, long Offset)> offsets) =>
        "offsets " + PythonText.ReprOffsets(offsets);

    /// <summary><c>"Finished in state " + str(state)</c>, e.g. <c>Completed()</c> or <c>Failed('...')</c>.</summary>
    public static string Finished(RunState state)
    {
        var parts = new System.Collections.Generic.List<string>();
        if (!string.IsNullOrEmpty(state.Message))
        {
            parts.Add(PythonText.Repr(state.Message));
        }

        if (!string.Equals(state.Type, state.Name, StringComparison.OrdinalIgnoreCase))
        {
            parts.Add("type=" + state.Type);
        }

        return $"Finished in state {state.Name}({string.Join(", ", parts)})";
    }

    /// <summary>A task's failure message: the engine passes no separator, so the exception follows a space.</summary>
    public static string TaskFailed(string task) => $"Task run encountered an exception RuntimeError: {task} failed";

    /// <summary>The flow's failure message: "exception." in Prefect 2, "exception:" in Prefect 3.</summary>
    public static string FlowFailed(PrefectDialect dialect, string task) =>
        (dialect.IsV2 ? "Flow run encountered an exception. " : "Flow run encountered an exception: ") + $"RuntimeError: {task} failed";

    public static string TaskTraceback(string task) =>
        "Encountered exception during execution:\nTraceback (most recent call last):\n"
        + $"  File \"/opt/prefect/flows/pipeline.py\", line 24, in {task}\n    raise RuntimeError(\"{task} failed\")\nRuntimeError: {task} failed";

    public static string FlowTraceback(string flow, string task) =>
        "Encountered exception during execution:\nTraceback (most recent call last):\n"
        + $"  File \"/opt/prefect/flows/pipeline.py\", line 41, in {flow.Replace('-', '_')}\n    {task}(data)\n"
        + $"  File \"/opt/prefect/flows/pipeline.py\", line 24, in {task}\n    raise RuntimeError(\"{task} failed\")\nRuntimeError: {task} failed";

    public static string Upstream(Guid failedTaskRunId) => $"Upstream task run '{failedTaskRunId}' did not reach a 'COMPLETED' state.";

    public const string WillRunAgain = "Received non-final state 'AwaitingRetry' when proposing final state 'Failed' and will attempt to run again...";

    public static string CrashDetected(string message) => "Crash detected! " + message;

    public const string Pausing = "Pausing flow, execution will continue when this flow run is resumed.";

    public const string Suspending = "Suspending flow run, execution will be rescheduled when this flow run is resumed.";

    public const string Resuming = "Resuming flow run execution!";

    /// <summary>What the engine logs before failing a run whose parameters do not fit the flow's signature.</summary>
    public static string ParameterValidation(FlowDefinition definition, System.Collections.Generic.IReadOnlyList<string> provided) =>
        "Validation of flow parameters failed with error: " + FlowParameters.SignatureMismatchText(definition, provided);
}
