using System.Management.Automation;
using DhubBatches.Connections;

namespace DhubBatches.Hosting;

/// <summary>
/// Remove-Module DhubBatches: close the runspace's connections (their pooled HTTP connections) instead of leaving them
/// to the garbage collector. Other runspaces that still have the module keep theirs.
/// </summary>
public sealed class ModuleCleanup : IModuleAssemblyCleanup
{
    public void OnRemove(PSModuleInfo psModuleInfo) => SessionConnections.Current.Release();
}
