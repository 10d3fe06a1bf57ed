using System.Management.Automation;
using DhubBatches.Connections;

namespace DhubBatches.Cmdlets;

/// <summary>Disconnect-Dhub: forgets the session's default connection and closes its HTTP connections.</summary>
[Cmdlet(VerbsCommunications.Disconnect, "Dhub")]
[OutputType(typeof(void))]
public sealed class DisconnectDhubCommand : PSCmdlet
{
    protected override void EndProcessing()
    {
        var current = SessionConnections.Current.Default;
        if (current != null)
        {
            WriteVerbose($"Disconnecting from {current}");
        }
        SessionConnections.Current.SetDefault(null);
    }
}
