using System;
using DhubBatches.Emulator.Prefect.Flows;

namespace DhubBatches.Emulator.Prefect.Store;

/// <summary>
/// A deployment <c>{flow}/{name}</c>, running a flow definition. Deployments of the pipelines' flow are the
/// pipelines (<see cref="IsPipeline"/>); any other flow can have deployments of the same names, which are not.
/// </summary>
internal sealed record PrefectDeployment(
    Guid Id,
    string FlowName,
    Guid FlowId,
    string Name,
    DateTimeOffset Created,
    DateTimeOffset Updated,
    string Version,
    Guid WorkQueueId,
    FlowDefinition Definition,
    bool IsPipeline)
{
    /// <summary>The schedule's id (<c>schedules[0].id</c>), stable for the deployment.</summary>
    public Guid ScheduleId { get; } = Guid.NewGuid();

    /// <summary>The deployment's concurrency limit id, when it has a limit.</summary>
    public Guid ConcurrencyLimitId { get; } = Guid.NewGuid();
}
