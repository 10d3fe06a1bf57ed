using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using DhubBatches.Emulator.Prefect.Flows;
using DhubBatches.Emulator.Prefect.Runs;

namespace DhubBatches.Emulator.Prefect.Store;

/// <summary>What a client's set_state made happen to a run, in the order it happened.</summary>
internal enum InterventionKind
{
    /// <summary>CANCELLING accepted: the worker tears the run down one step later.</summary>
    Cancelling,

    /// <summary>CANCELLED written directly (a REJECT's substitute, or a client proposing it).</summary>
    Cancelled,

    /// <summary>SCHEDULED written (a restart, <c>prefect flow-run retry</c>): a new attempt follows.</summary>
    Rescheduled,

    /// <summary>Any other accepted state: it holds until something else happens.</summary>
    Forced,
}

internal sealed record Intervention(
    InterventionKind Kind,
    DateTimeOffset At,
    string Type,
    string Name,
    string? Message,
    string? TransitionId,
    DateTimeOffset? ScheduledTime);

/// <summary>
/// What the store keeps per flow run: facts fixed at creation plus the interventions set_state recorded.
/// Everything else (state, task runs, artifacts, logs) is played from these by <see cref="FlowRunLifecycle"/>.
/// </summary>
internal sealed class StoredFlowRun
{
    private ImmutableArray<Intervention> _interventions = ImmutableArray<Intervention>.Empty;

    public required Guid Id { get; init; }
    public required long Seq { get; init; }
    public required string Name { get; init; }
    public required PrefectDeployment? Deployment { get; init; }
    public required FlowDefinition Definition { get; init; }
    public required string FlowName { get; init; }
    public required Guid FlowId { get; init; }
    public required DateTimeOffset Created { get; init; }

    /// <summary>The scheduled time of the first state (creation for a manual run, the slot for a scheduled one).</summary>
    public required DateTimeOffset ExpectedStart { get; init; }

    public required TimeSpan Step { get; init; }
    public required string ParametersJson { get; init; }

    /// <summary>Parameter names in the order the flow function receives them (for the signature check).</summary>
    public required IReadOnlyList<string> CallParameterNames { get; init; }

    public required string[] Tags { get; init; }
    public string? IdempotencyKey { get; init; }
    public bool AutoScheduled { get; init; }

    /// <summary>The pipeline the run belongs to (a subflow run: its parent's).</summary>
    public required string Pipeline { get; init; }

    /// <summary>Set for a subflow run: the parent run and the tracking task run in it.</summary>
    public StoredFlowRun? Parent { get; init; }

    public Guid? ParentTaskRunId { get; init; }

    /// <summary>The deployment's concurrency queue this run waits in (its first attempt only).</summary>
    public ConcurrencyQueue? Queue { get; set; }

    /// <summary>Subflow runs this run started, by spawn key; created on first need and reused.</summary>
    public Dictionary<string, StoredFlowRun> ChildRuns { get; } = new(StringComparer.Ordinal);

    public DateTimeOffset? DeletedAt { get; set; }

    /// <summary>Interventions in arrival order; replaced (never mutated) so readers need no lock.</summary>
    public ImmutableArray<Intervention> Interventions => _interventions;

    /// <summary>Bumped on every intervention, so cached scripts and memos know they are stale.</summary>
    public int Version { get; private set; }

    /// <summary>A memo of the flow-level view once nothing more can change (null until then).</summary>
    public FlowRunView? SettledView { get; set; }

    /// <summary>Whether the run was given <c>true</c> for the named parameter (a flow's <c>fail=True</c>).</summary>
    public bool ParameterIsTrue(string name) =>
        System.Text.Json.Nodes.JsonNode.Parse(ParametersJson) is System.Text.Json.Nodes.JsonObject o
        && o[name] is { } v && v.GetValueKind() == System.Text.Json.JsonValueKind.True;

    public string InfrastructurePid => "emulator-worker:" + (4000 + (Seq % 60000));

    public void Add(Intervention intervention)
    {
        _interventions = _interventions.Add(intervention);
        Version++;
        SettledView = null;
    }
}
