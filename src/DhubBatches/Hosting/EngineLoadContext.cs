using System;
using System.Collections.Generic;
using System.IO;
using System.Reflection;
using System.Runtime.Loader;

namespace DhubBatches.Hosting;

/// <summary>
/// The load context of DhubBatches.Engine and its dependencies (Refit, Polly, System.Text.Json …), so that
/// another module's copy of them in the default context cannot break ours, nor ours theirs
/// (docs/architecture.md). Only used on PowerShell 7 (.NET); the type is never touched elsewhere.
/// </summary>
internal sealed class EngineLoadContext : AssemblyLoadContext
{
    private readonly string _directory;
    private readonly Assembly _sharedAssembly;
    private readonly Dictionary<string, Version> _platformAssemblies;

    public EngineLoadContext(string directory)
    {
        _directory = directory;
        _sharedAssembly = typeof(EngineLoadContext).Assembly;
        _platformAssemblies = ReadPlatformAssemblies();
    }

    protected override Assembly? Load(AssemblyName assemblyName)
    {
        var name = assemblyName.Name ?? string.Empty;

        // The contract (interfaces, Batch, DhubException) must keep one identity on both sides.
        if (string.Equals(name, _sharedAssembly.GetName().Name, StringComparison.OrdinalIgnoreCase))
        {
            return _sharedAssembly;
        }

        var path = Path.Combine(_directory, name + ".dll");
        if (!File.Exists(path))
        {
            return null; // System.Runtime, System.Management.Automation …: the default context's copy.
        }

        // Where the runtime itself ships the same or a newer version (System.Text.Json 10 on .NET 10), use it:
        // one copy in memory and no second identity for framework types (PowerShellEditorServices does the same).
        if (_platformAssemblies.TryGetValue(name, out var platformVersion) &&
            assemblyName.Version != null && platformVersion >= assemblyName.Version)
        {
            return null;
        }

        return LoadFromAssemblyPath(path);
    }

    private static Dictionary<string, Version> ReadPlatformAssemblies()
    {
        var result = new Dictionary<string, Version>(StringComparer.OrdinalIgnoreCase);
        if (AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") is not string list)
        {
            return result;
        }
        foreach (var path in list.Split(Path.PathSeparator))
        {
            var file = Path.GetFileNameWithoutExtension(path);
            if (!file.StartsWith("System.", StringComparison.OrdinalIgnoreCase))
            {
                continue; // only framework assemblies can shadow ours; skip reading the rest.
            }
            try
            {
                result[file] = AssemblyName.GetAssemblyName(path).Version ?? new Version();
            }
            catch (Exception ex) when (ex is IOException || ex is BadImageFormatException || ex is UnauthorizedAccessException)
            {
                // not a managed assembly: nothing to compare with.
            }
        }
        return result;
    }
}
