using System.Collections.Generic;
using System.Linq;
using DhubBatches.Contract;

namespace DhubBatches;

/// <summary>
/// A pipeline the server has (Get-DhubPipeline; Prefect: a deployment of the connection's flow). Its PipelineId and
/// Connection bind by property name, so it pipes into every batch command.
/// </summary>
public sealed class Pipeline
{
    internal Pipeline(PipelineSnapshot snapshot, DhubConnection connection)
    {
        PipelineId = snapshot.PipelineId;
        DeploymentId = snapshot.DeploymentId;
        Deployment = snapshot.Deployment;
        Backend = connection.BackendName;
        Parameters = new PipelineParameters(snapshot.Parameters);
        Defaults = new ParameterDefaults(snapshot.Defaults);
        Paused = snapshot.Paused;
        Schedule = snapshot.Schedule;
        Tags = new TagList(snapshot.Tags.ToList());
        Description = snapshot.Description;
        Connection = connection;
        Warnings = snapshot.Warnings;
    }

    /// <summary>The pipeline id batch commands take (Prefect: the deployment's name).</summary>
    public string PipelineId { get; }

    /// <summary>The server's id of it (Prefect: the deployment id).</summary>
    public string? DeploymentId { get; }

    /// <summary><c>&lt;flow&gt;/&lt;deployment&gt;</c>.</summary>
    public string? Deployment { get; }

    /// <summary><c>Dhub</c> or <c>Prefect</c>.</summary>
    public string Backend { get; }

    /// <summary>Declared parameter → JSON schema type, e.g. <c>partitions=integer</c>.</summary>
    public PipelineParameters Parameters { get; }

    /// <summary>Parameter → the value a run gets when Start-DhubBatch -Parameter does not give one.</summary>
    public ParameterDefaults Defaults { get; }

    /// <summary>Whether the deployment is paused: its schedules make no runs (a started batch still runs).</summary>
    public bool Paused { get; }

    /// <summary>Its schedules as one line, e.g. <c>cron 0 2 * * * (UTC)</c>; null when it has none.</summary>
    public string? Schedule { get; }

    public TagList Tags { get; }

    public string? Description { get; }

    /// <summary>Where the pipeline was read, so piping it to a batch command acts on the same server.</summary>
    public DhubConnection Connection { get; }

    internal IReadOnlyList<string> Warnings { get; }

    public override string ToString() => PipelineId;
}
