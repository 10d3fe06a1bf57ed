using System.Management.Automation;
using DhubBatches.Connections;

namespace DhubBatches.Hosting;

/// <summary>Remove-Module DhubBatches: close every connection's pooled HTTP connections instead of leaving them to the GC.</summary>
public sealed class ModuleCleanup : IModuleAssemblyCleanup
{
    public void OnRemove(PSModuleInfo psModuleInfo) => SessionConnections.ReleaseAll();
}
