using System;
using System.Management.Automation;
using DhubBatches.Connections;
using DhubBatches.Engine;

namespace DhubBatches.Cmdlets;

/// <summary>A command that works on batches through a connection (-Connection, else the session's default).</summary>
public abstract class BatchCommand : DhubCmdlet
{
    private DhubConnection? _resolved;

    /// <summary>The connection to use instead of the session's default.</summary>
    [Parameter]
    [ValidateNotNull]
    public DhubConnection? Connection { get; set; }

    /// <summary>Resolved on first use, so a command with no input never needs a connection.</summary>
    protected DhubConnection ResolvedConnection =>
        _resolved ??= SessionConnections.Current.Resolve(Connection, SessionConnections.UserAgent);

    protected IBatchEngine Engine => ResolvedConnection.Engine;

    /// <summary>Rejects ids that cannot be one path segment (<c>.</c>, <c>..</c>, blank) before any request.</summary>
    protected static void ValidateIds(string pipelineId, string? batchId = null)
    {
        DhubErrors.ValidateId(pipelineId, "PipelineId");
        if (batchId != null)
        {
            DhubErrors.ValidateId(batchId, "BatchId");
        }
    }

    protected TimeSpan? TimeoutFromSeconds(int seconds) => seconds < 0 ? (TimeSpan?)null : TimeSpan.FromSeconds(seconds);
}
