using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;
using DhubBatches.Emulator.Prefect.Flows;
using DhubBatches.Emulator.Prefect.Runs;

namespace DhubBatches.Emulator.Prefect.Store;

/// <summary>
/// Makes flow runs the three ways a Prefect server gets them: <c>create_flow_run</c>, seeding (test history), and
/// the scheduler service, which keeps a scheduled deployment's upcoming runs in place
/// (<c>src/prefect/server/services/scheduler.py</c>, <c>models/deployments.py</c> <c>_generate_scheduled_flow_runs</c>).
/// </summary>
internal sealed class RunFactory
{
    private readonly PrefectStore _store;
    private readonly Func<PrefectDeployment, TimeSpan> _stepOf;
    private readonly Dictionary<Guid, int> _lastSlot = new();

    public RunFactory(PrefectStore store, Func<PrefectDeployment, TimeSpan> stepOf)
    {
        _store = store;
        _stepOf = stepOf;
    }

    public void Clear() => _lastSlot.Clear();

    /// <summary>The deployment's own <c>parameters</c>, merged under every run's (a fresh copy: callers change it).</summary>
    public static JsonObject DeploymentParameters(PrefectDeployment deployment) =>
        deployment.Definition.DeploymentParameters is { } set
            ? (JsonObject)set.DeepClone()
            : new JsonObject { ["pipeline_id"] = deployment.Name };

    /// <summary>The tags a deployment has when its definition names none.</summary>
    public static readonly IReadOnlyList<string> DefaultDeploymentTags = new[] { "pipeline" };

    /// <summary>Deployment tags; a run's tags are their union with its own.</summary>
    public static IReadOnlyList<string> DeploymentTags(PrefectDeployment deployment) => deployment.Definition.Tags ?? DefaultDeploymentTags;

    /// <summary>A run for <c>create_flow_run</c>: parameters shallow-merged over the deployment's, tags unioned.</summary>
    public StoredFlowRun Manual(PrefectDeployment deployment, long seq, string? name, JsonObject parameters, IEnumerable<string> tags,
        string? idempotencyKey, DateTimeOffset now, DateTimeOffset? scheduledTime)
    {
        var merged = DeploymentParameters(deployment);
        foreach (var (key, value) in parameters)
        {
            merged[key] = value?.DeepClone();
        }

        return Make(deployment, seq, name, merged, DeploymentTags(deployment).Concat(tags).Distinct().ToArray(), idempotencyKey, now, scheduledTime ?? now, false);
    }

    /// <summary>Adds history that is not counted as created: finished runs dated in the past, one second apart, oldest first.</summary>
    public void Seed(PrefectDeployment deployment, int count, bool finished, DateTimeOffset now)
    {
        var step = StepOf(deployment);
        // Far enough back for the longest built-in (pauses, retries) to have finished.
        var settle = step * (10 + (deployment.Definition.Tasks.Count * 4));
        var parameters = DeploymentParameters(deployment);
        var json = parameters.ToJsonString();
        var callNames = FlowParameters.CallOrder(deployment.Definition, parameters.Select(p => p.Key));
        var tags = DeploymentTags(deployment).ToArray();
        var runs = new List<StoredFlowRun>(count);
        for (var i = 0; i < count; i++)
        {
            var created = finished ? now - settle - TimeSpan.FromSeconds(count - i) : now - TimeSpan.FromTicks(count - i);
            runs.Add(Make(deployment, _store.NextSeq(), null, json, callNames, tags, null, created, created, false));
        }

        _store.AddUncounted(runs);
    }

    /// <summary>
    /// The scheduler: for each deployment with an active interval schedule that is not paused, the runs up to
    /// <c>FutureRuns</c> slots ahead of now exist (created when their slot entered that window), plus, from the
    /// start, a few past ones. Idempotent. Cron and rrule schedules are shown but never produce runs.
    /// </summary>
    public void ScheduleTick(DateTimeOffset now)
    {
        foreach (var deployment in _store.Deployments.Where(Schedules).ToList())
        {
            var schedule = deployment.Definition.Schedule!;
            var ahead = schedule.Interval * schedule.FutureRuns;
            var anchor = deployment.Created;
            if (!_lastSlot.TryGetValue(deployment.Id, out var last))
            {
                var past = new List<StoredFlowRun>();
                for (var k = -schedule.PastRuns; k < 0; k++)
                {
                    var slot = anchor + (schedule.Interval * k);
                    past.Add(Scheduled(deployment, slot, slot - ahead));
                }

                _store.AddUncounted(past);
                last = 0;
            }

            var target = (int)Math.Floor((now - anchor) / schedule.Interval) + schedule.FutureRuns;
            var added = new List<StoredFlowRun>();
            for (var k = last + 1; k <= target; k++)
            {
                var slot = anchor + (schedule.Interval * k);
                var created = slot - ahead > anchor ? slot - ahead : anchor;
                added.Add(Scheduled(deployment, slot, created));
            }

            _store.AddUncounted(added);
            _lastSlot[deployment.Id] = Math.Max(last, target);
        }
    }

    private static bool Schedules(PrefectDeployment d) =>
        d.Definition.Schedule is { Kind: ScheduleKind.Interval, Active: true } && !d.Definition.Paused;

    private StoredFlowRun Scheduled(PrefectDeployment deployment, DateTimeOffset slot, DateTimeOffset created) =>
        Make(deployment, _store.NextSeq(), null, DeploymentParameters(deployment), new[] { "auto-scheduled" }.Concat(DeploymentTags(deployment)).ToArray(),
            $"scheduled {deployment.Id} {deployment.ScheduleId} {PrefectDialect.PythonDateTime(slot)}", created, slot, true);

    private TimeSpan StepOf(PrefectDeployment deployment) => _stepOf(deployment);

    private StoredFlowRun Make(PrefectDeployment deployment, long seq, string? name, JsonObject parameters, string[] tags, string? key,
        DateTimeOffset created, DateTimeOffset expectedStart, bool autoScheduled) =>
        Make(deployment, seq, name, parameters.ToJsonString(), FlowParameters.CallOrder(deployment.Definition, parameters.Select(p => p.Key)),
            tags, key, created, expectedStart, autoScheduled);

    private StoredFlowRun Make(PrefectDeployment deployment, long seq, string? name, string parametersJson, IReadOnlyList<string> callNames,
        string[] tags, string? key, DateTimeOffset created, DateTimeOffset expectedStart, bool autoScheduled)
    {
        var id = NewRunId();
        return new StoredFlowRun
        {
            Id = id,
            Seq = seq,
            Name = name ?? ScriptWriter.Slug(Guid.NewGuid()),
            Deployment = deployment,
            Definition = deployment.Definition,
            FlowName = deployment.FlowName,
            FlowId = deployment.FlowId,
            Created = created,
            ExpectedStart = expectedStart,
            Step = StepOf(deployment),
            ParametersJson = parametersJson,
            CallParameterNames = callNames,
            Tags = tags,
            IdempotencyKey = key,
            AutoScheduled = autoScheduled,
            Pipeline = deployment.Name,
        };
    }

    /// <summary>Run ids are random uuid4s, so ID_DESC is not chronological.</summary>
    private Guid NewRunId()
    {
        Guid id;
        do
        {
            id = Guid.NewGuid();
        }
        while (_store.GetIncludingDeleted(id) is not null);

        return id;
    }
}
