using System.Collections.Generic;

namespace DhubBatches.Contract;

/// <summary>What a backend read about one pipeline (Prefect: a deployment of the connection's flow).</summary>
public sealed class PipelineSnapshot
{
    private static readonly KeyValuePair<string, string>[] s_noParameters = new KeyValuePair<string, string>[0];
    private static readonly KeyValuePair<string, object?>[] s_noDefaults = new KeyValuePair<string, object?>[0];
    private static readonly string[] s_none = new string[0];

    public PipelineSnapshot(string pipelineId)
    {
        PipelineId = pipelineId;
    }

    public string PipelineId { get; }

    /// <summary>The server's own id of the pipeline (Prefect: the deployment id).</summary>
    public string? DeploymentId { get; set; }

    /// <summary><c>&lt;flow&gt;/&lt;deployment&gt;</c>.</summary>
    public string? Deployment { get; set; }

    /// <summary>Declared parameter → its JSON schema type (<c>integer</c>, <c>string</c>, …), in the flow's order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Parameters { get; set; } = s_noParameters;

    /// <summary>Parameter → the value a run gets when none is given, in the same order.</summary>
    public IReadOnlyList<KeyValuePair<string, object?>> Defaults { get; set; } = s_noDefaults;

    public bool Paused { get; set; }

    /// <summary>Its schedules as one line, e.g. <c>cron 0 2 * * * (UTC)</c>; null when it has none.</summary>
    public string? Schedule { get; set; }

    public IReadOnlyList<string> Tags { get; set; } = s_none;

    public string? Description { get; set; }

    /// <summary>Parts of the record that could not be read, one line each.</summary>
    public IReadOnlyList<string> Warnings { get; set; } = s_none;
}
