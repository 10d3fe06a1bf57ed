using System.Collections.Generic;

namespace DhubBatches.Contract;

/// <summary>What Start-DhubBatch asks for.</summary>
public sealed class StartRequest
{
    public StartRequest(string pipelineId)
    {
        PipelineId = pipelineId;
    }

    public string PipelineId { get; }

    public string? PipelineVersion { get; set; }

    /// <summary>
    /// Run parameters as JSON-ready values only: string, bool, long, ulong, double, decimal, null, an
    /// <c>IDictionary&lt;string, object?&gt;</c> or <c>IList&lt;object?&gt;</c> of those. The cmdlet converts PowerShell
    /// values (see ParameterValues) so the engine never sees a PSObject.
    /// </summary>
    public IDictionary<string, object?>? Parameters { get; set; }
}
