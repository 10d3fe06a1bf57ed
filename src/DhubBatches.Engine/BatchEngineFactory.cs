using DhubBatches.Connections;
using DhubBatches.Contract;
using DhubBatches.Engine.Dhub;
using DhubBatches.Engine.Prefect;
using DhubBatches.Engine.Profiles;

namespace DhubBatches.Engine;

/// <summary>The engine's entry points, bound by name from the cmdlet assembly (see EngineLoader).</summary>
public static class BatchEngineFactory
{
    public static IBatchEngine Create(EngineSettings settings) => settings.Backend switch
    {
        BackendKind.Prefect => new PrefectEngine(settings),
        _ => new DhubEngine(settings),
    };

    public static PrefectProfile? ReadPrefectProfile(string path, string? name) => PrefectProfileReader.Read(path, name);
}
