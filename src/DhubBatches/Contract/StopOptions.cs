using System;

namespace DhubBatches.Contract;

/// <summary>How Stop-DhubBatch asks for a stop.</summary>
public sealed class StopOptions
{
    /// <summary>
    /// When the batch is already stopping and nothing acts on it (Prefect: stuck in CANCELLING because its
    /// worker is gone), mark it stopped directly. Infrastructure still running is not touched.
    /// </summary>
    public bool Force { get; set; }
}

/// <summary>How Remove-DhubBatch deletes.</summary>
public sealed class RemoveOptions
{
    /// <summary>How long a running batch may take to stop before the delete gives up.</summary>
    public TimeSpan StopTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Delete whatever happens: a batch not stopped within <see cref="ForceGrace"/> (or <see cref="StopTimeout"/>, if
    /// shorter) is marked stopped, with a warning, and deleted.
    /// </summary>
    public bool Force { get; set; }

    /// <summary>
    /// How long -Force waits for a stop to finish by itself: a worker's cancel normally lands within seconds, while a run
    /// whose runner has gone (Prefect: stuck in CANCELLING) never finishes.
    /// </summary>
    public static TimeSpan ForceGrace { get; } = TimeSpan.FromSeconds(10);
}

/// <summary>What a stop request achieved.</summary>
public enum StopOutcome
{
    /// <summary>The server accepted the request; the batch is stopping.</summary>
    Requested = 0,

    /// <summary>The batch is stopped now.</summary>
    Stopped,

    /// <summary>The batch had already finished; nothing was changed.</summary>
    AlreadyFinished,

    /// <summary>A stop was already under way before this request; nothing new was asked.</summary>
    AlreadyStopping,
}
