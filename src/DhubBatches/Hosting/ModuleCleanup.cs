using System.Management.Automation;
using System.Management.Automation.Runspaces;
using DhubBatches.Connections;

namespace DhubBatches.Hosting;

/// <summary>
/// Remove-Module DhubBatches: stop the runspace's -AsJob jobs (their work ends before the module goes), then close
/// its connections (their pooled HTTP connections) instead of leaving them to the garbage collector. Other runspaces
/// that still have the module keep theirs.
/// </summary>
public sealed class ModuleCleanup : IModuleAssemblyCleanup
{
    public void OnRemove(PSModuleInfo psModuleInfo)
    {
        if (Runspace.DefaultRunspace is { } runspace)
        {
            DhubJob.StopAll(runspace.InstanceId);
        }
        SessionConnections.Current.Release();
    }
}
