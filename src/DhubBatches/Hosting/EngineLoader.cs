using System;
using System.IO;
using System.Reflection;
using DhubBatches.Connections;
using DhubBatches.Contract;

namespace DhubBatches.Hosting;

/// <summary>
/// Creates engines. The engine assembly is loaded on first use (not at import, which keeps
/// <c>Import-Module</c> cheap) from the module's <c>deps</c> folder into <see cref="EngineLoadContext"/>.
/// </summary>
internal static class EngineLoader
{
    private const string EngineAssemblyName = "DhubBatches.Engine";
    private const string FactoryTypeName = "DhubBatches.Engine.BatchEngineFactory";
    private static readonly object s_gate = new object();
    private static Func<EngineSettings, IBatchEngine>? s_factory;
    private static Func<string, string?, PrefectProfile?>? s_profileReader;

    /// <summary>The folder the engine and its dependencies ship in, beside DhubBatches.dll.</summary>
    public static string DependencyDirectory =>
        Path.Combine(Path.GetDirectoryName(typeof(EngineLoader).Assembly.Location) ?? ".", "deps");

    public static IBatchEngine Create(EngineSettings settings)
    {
        EnsureLoaded();
        return s_factory!(settings);
    }

    /// <summary>Parses a profiles.toml and returns the named (or active) profile.</summary>
    public static PrefectProfile? ReadPrefectProfile(string path, string? name)
    {
        EnsureLoaded();
        return s_profileReader!(path, name);
    }

    private static void EnsureLoaded()
    {
        lock (s_gate)
        {
            if (s_factory != null)
            {
                return;
            }
            var factory = LoadEngine().GetType(FactoryTypeName, throwOnError: true)!;
            s_profileReader = Bind<Func<string, string?, PrefectProfile?>>(factory, "ReadPrefectProfile", typeof(string), typeof(string));
            s_factory = Bind<Func<EngineSettings, IBatchEngine>>(factory, "Create", typeof(EngineSettings));
        }
    }

    private static TDelegate Bind<TDelegate>(Type type, string name, params Type[] parameters)
        where TDelegate : Delegate
    {
        var method = type.GetMethod(name, BindingFlags.Public | BindingFlags.Static, null, parameters, null)
            ?? throw new MissingMethodException(type.FullName, name);
        return (TDelegate)method.CreateDelegate(typeof(TDelegate));
    }

    private static Assembly LoadEngine()
    {
        var path = Path.Combine(DependencyDirectory, EngineAssemblyName + ".dll");
        if (File.Exists(path))
        {
            return new EngineLoadContext(DependencyDirectory).LoadFromAssemblyPath(path);
        }
        // Development layout (unit tests reference the engine directly): everything sits side by side.
        return Assembly.Load(new AssemblyName(EngineAssemblyName));
    }
}
