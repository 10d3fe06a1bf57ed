using System.Management.Automation;
using DhubBatches.Connections;

namespace DhubBatches.Cmdlets;

/// <summary>
/// Get-DhubConnection: the connection commands will use now: the default from Connect-Dhub, else the one the
/// environment describes; nothing when neither exists.
/// </summary>
[Cmdlet(VerbsCommon.Get, "DhubConnection")]
[OutputType(typeof(DhubConnection))]
public sealed class GetDhubConnectionCommand : PSCmdlet
{
    protected override void EndProcessing()
    {
        var session = SessionConnections.Current;
        if (session.Default != null)
        {
            WriteObject(session.Default);
            return;
        }
        try
        {
            WriteObject(session.Resolve(null, SessionConnections.UserAgent));
        }
        catch (DhubException ex) when (ex.Kind == DhubErrorKind.DhubNotConnected)
        {
            WriteVerbose("No connection: run Connect-Dhub or set DHUB_API_URL / PREFECT_API_URL.");
        }
        catch (DhubException ex)
        {
            WriteError(DhubErrors.Record(ex, null));
        }
    }
}
