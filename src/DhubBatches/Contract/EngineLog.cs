using System.Threading;

namespace DhubBatches.Contract;

/// <summary>Where engine code reports progress text. Implementations must be thread-safe.</summary>
public interface IEngineLog
{
    /// <summary>False when nobody will see verbose text, so callers can skip building it.</summary>
    bool IsVerboseEnabled { get; }

    void Verbose(string message);

    void Debug(string message);

    void Warning(string message);
}

/// <summary>
/// The log of the command that started the current call. Ambient because HTTP handlers deep inside the engine
/// log each request, and threading a parameter through Refit and Polly is not possible.
/// </summary>
public static class EngineLog
{
    private static readonly AsyncLocal<IEngineLog?> s_current = new AsyncLocal<IEngineLog?>();

    public static IEngineLog? Current
    {
        get => s_current.Value;
        set => s_current.Value = value;
    }
}
