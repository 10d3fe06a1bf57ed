using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;

namespace DhubBatches.Emulator.Prefect.Flows;

/// <summary>
/// What the flow behind a deployment does when it runs, and the deployment's own fields (description, paused,
/// tags, schedule, parameters). The emulator plays it step by step from elapsed time; a built-in one is picked by
/// deployment name prefix (<see cref="BuiltInFlows"/>), and the control API can register any pipeline or other
/// flow's deployment with its own (<see cref="FlowDefinitionJson"/> describes the JSON form).
/// </summary>
public sealed record FlowDefinition
{
    /// <summary>Tasks in call order; each takes one step (a subflow takes one step per child task).</summary>
    public IReadOnlyList<TaskDefinition> Tasks { get; init; } = Array.Empty<TaskDefinition>();

    /// <summary><c>@flow(retries=N)</c>: a failed attempt goes AwaitingRetry and runs again while attempts remain.</summary>
    public int Retries { get; init; }

    /// <summary>The deployment's schedule: shown in <c>schedules</c>; an active interval one also makes the scheduler keep future runs.</summary>
    public ScheduleDefinition? Schedule { get; init; }

    /// <summary>The deployment's <c>description</c>; Prefect's default is null.</summary>
    public string? Description { get; init; }

    /// <summary>
    /// The deployment is paused: the scheduler makes no runs for it, manual runs still work. Prefect 2.16.8 also
    /// writes <c>is_schedule_active</c>, always <c>!paused</c> (<c>DeploymentResponse.from_orm</c>).
    /// </summary>
    public bool Paused { get; init; }

    /// <summary>The deployment's tags, which every run of it gets too; null means <c>["pipeline"]</c>.</summary>
    public IReadOnlyList<string>? Tags { get; init; }

    /// <summary>
    /// The deployment's <c>parameters</c> (values fixed at deploy time, merged under each run's own); null means
    /// <c>{"pipeline_id": "&lt;deployment name&gt;"}</c>, as the recorded deployment has.
    /// </summary>
    public JsonObject? DeploymentParameters { get; init; }

    /// <summary>The flow function's parameters, in signature order.</summary>
    public IReadOnlyList<ParameterDefinition> Parameters { get; init; } = Array.Empty<ParameterDefinition>();

    /// <summary>
    /// The flow function ends with <c>**kwargs</c>. Prefect's schema then lists a property named <c>kwargs</c>, and its
    /// signature check compares top-level names only, so an undeclared name still fails the run: extra values have to
    /// be nested under <c>kwargs</c> (<c>src/prefect/utilities/callables.py</c>, <c>parameters_to_args_kwargs</c>).
    /// </summary>
    public bool AcceptsKwargs { get; init; }

    /// <summary>
    /// The deployment's schema says <c>"additionalProperties": true</c> (written by hand, not by Prefect's generator) and
    /// its flow takes whatever it is given: undeclared parameters are accepted.
    /// </summary>
    public bool OpenSchema { get; init; }

    /// <summary>How each task writes its offsets artifact.</summary>
    public OffsetsArtifact Offsets { get; init; } = new();

    /// <summary>One <c>create_link_artifact(key="report")</c> per flow run, which a reader of offsets must ignore.</summary>
    public bool ReportLink { get; init; }

    /// <summary>Whether a worker ever picks the deployment's runs up.</summary>
    public WorkerBehaviour Worker { get; init; } = WorkerBehaviour.Polls;

    /// <summary>Deployment <c>concurrency_limit</c>: runs beyond it wait for a slot.</summary>
    public int? ConcurrencyLimit { get; init; }

    /// <summary>The flow pauses (or suspends) after a task.</summary>
    public PauseDefinition? Pause { get; init; }

    /// <summary>The deployment's <c>enforce_parameter_schema</c>; null takes the Prefect version's default (3: true, 2: false).</summary>
    public bool? EnforceParameterSchema { get; init; }

    /// <summary>Results are persisted, so Prefect refuses to move a COMPLETED run back to SCHEDULED without <c>force</c>.</summary>
    public bool PersistsResults { get; init; }

    /// <summary>
    /// The flow calls its tasks one after another (<c>extract()</c>, then <c>transform()</c>): a task run exists only once
    /// its call starts, and a failure ends the flow, so later tasks never get one. False: the calls are submitted
    /// (<c>.submit()</c>, <c>wait_for</c>), and tasks downstream of a failure are created PENDING/<c>NotReady</c>.
    /// </summary>
    public bool CallsInOrder { get; init; }

    /// <summary>
    /// Served by <c>flow.serve()</c>'s runner, which kills only processes still alive: on CANCELLING the running task
    /// finishes, the next task call is aborted (its task run stays PENDING), the process exits cleanly and nothing
    /// ever sets CANCELLED (recorded on a real 2.16.8 runner). False: a worker kills the process and sets CANCELLED.
    /// </summary>
    public bool CancelStaysCancelling { get; init; }

    /// <summary>The flow run fails as it starts when its parameters name something the flow does not declare.</summary>
    internal IReadOnlyList<string>? UndeclaredIn(IReadOnlyList<string> parameterNames)
    {
        if (OpenSchema)
        {
            return null;
        }

        // Checked as every run's script is built: no allocation unless something is undeclared.
        List<string>? extra = null;
        foreach (var name in parameterNames)
        {
            if (!Declares(name))
            {
                (extra ??= new List<string>()).Add(name);
            }
        }

        return extra;
    }

    private bool Declares(string name)
    {
        if (AcceptsKwargs && name == "kwargs")
        {
            return true;
        }

        foreach (var p in Parameters)
        {
            if (p.Name == name)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Checks the definition is playable; throws <see cref="ArgumentException"/> naming the problem.</summary>
    public void Validate()
    {
        if (Tasks.Count == 0)
        {
            throw new ArgumentException("A flow definition needs at least one task.");
        }

        foreach (var task in Tasks)
        {
            if (string.IsNullOrWhiteSpace(task.Name))
            {
                throw new ArgumentException("Every task needs a name.");
            }

            if (task.Map < 0 || task.Map > 100)
            {
                throw new ArgumentException($"Task '{task.Name}': map must be 0..100.");
            }

            if (task.Subflow is { Count: 0 })
            {
                throw new ArgumentException($"Task '{task.Name}': a subflow needs at least one task.");
            }

            if (task.RunName is not null && (task.RunName.Length == 0 || task.Subflow is not null))
            {
                throw new ArgumentException($"Task '{task.Name}': runName must not be empty, and a subflow has no task_run_name.");
            }

            if (task.FailsWhen is { } flag && Parameters.All(p => p.Name != flag || p.Type != "boolean"))
            {
                throw new ArgumentException($"Task '{task.Name}': failsWhen must name a boolean parameter of the flow, not '{flag}'.");
            }

            if (task.Subflow is not null && task.Map > 0)
            {
                throw new ArgumentException($"Task '{task.Name}': a subflow cannot be mapped.");
            }
        }

        if (Retries < 0 || ConcurrencyLimit is < 1 || Pause is { Steps: < 0 })
        {
            throw new ArgumentException("retries must not be negative, concurrencyLimit must be at least 1 and pause steps must not be negative.");
        }

        if (Pause is { } pause && Tasks.All(t => t.Name != pause.AfterTask))
        {
            throw new ArgumentException($"pause.afterTask names no task: '{pause.AfterTask}'.");
        }

        Schedule?.Validate();
        if (Tags is { } tags && tags.Any(string.IsNullOrEmpty))
        {
            throw new ArgumentException("tags must be non-empty strings.");
        }

        if (Parameters.Select(p => p.Name).Distinct(StringComparer.Ordinal).Count() != Parameters.Count)
        {
            throw new ArgumentException("Parameter names must be unique.");
        }
    }
}

/// <summary>One task call (or a mapped call, or a subflow call) inside the flow.</summary>
public sealed record TaskDefinition
{
    public required string Name { get; init; }

    /// <summary>
    /// <c>@task(task_run_name=...)</c>: the task run is renamed to exactly this when the task starts, without a suffix
    /// (<c>src/prefect/utilities/_engine.py</c>, <c>resolve_custom_task_run_name</c>); a task run that never starts
    /// (NotReady) keeps its generated name. Null: the generated name.
    /// </summary>
    public string? RunName { get; init; }

    /// <summary><c>task.map(partitions)</c> over this many partitions; 0 is a plain call.</summary>
    public int Map { get; init; }

    /// <summary>Non-null: this is a subflow (a flow called <see cref="Name"/>) running these tasks.</summary>
    public IReadOnlyList<string>? Subflow { get; init; }

    /// <summary>Flow run attempts (<c>run_count</c>) in which the task raises <c>RuntimeError("&lt;name&gt; failed")</c>.</summary>
    public IReadOnlyList<int> FailsOnAttempts { get; init; } = Array.Empty<int>();

    /// <summary>The task raises in every attempt.</summary>
    public bool FailsAlways { get; init; }

    /// <summary>The infrastructure dies half way through this task: the run ends CRASHED.</summary>
    public bool Crashes { get; init; }

    /// <summary>The worker goes away while this task runs: it stays RUNNING and nobody acts on a cancel.</summary>
    public bool Hangs { get; init; }

    /// <summary>The name of a boolean flow parameter: the task raises in a run given <c>true</c> for it (<c>fail=True</c>).</summary>
    public string? FailsWhen { get; init; }

    internal bool FailsOn(int attempt) => FailsAlways || FailsOnAttempts.Contains(attempt);
}

/// <summary>A flow function parameter: <c>type</c> is its JSON schema type (string, integer, number, boolean, object, array).</summary>
public sealed record ParameterDefinition(string Name, string Type, JsonNode? Default = null);

/// <summary><c>pause_flow_run</c> (or <c>suspend_flow_run</c> when <see cref="Suspend"/>) after a task, resumed <see cref="Steps"/> steps later.</summary>
public sealed record PauseDefinition(string AfterTask, int Steps = 2, bool Suspend = false);

/// <summary>Where a task's offsets go: the helper used and the artifact key.</summary>
public sealed record OffsetsArtifact
{
    public OffsetsForm Form { get; init; } = OffsetsForm.Markdown;

    /// <summary>Artifact key; <c>{pipeline}</c> stands for the pipeline name. Normalised to <c>^[a-z0-9-]*$</c>.</summary>
    public string Key { get; init; } = "offsets";
}

/// <summary>How offsets are stored: <c>create_markdown_artifact</c>, <c>create_table_artifact</c>, or a raw POST with an object.</summary>
public enum OffsetsForm
{
    Markdown,
    Table,
    Object,
}

/// <summary>Whether a worker polls the deployment's work pool.</summary>
public enum WorkerBehaviour
{
    Polls,
    Absent,
}
