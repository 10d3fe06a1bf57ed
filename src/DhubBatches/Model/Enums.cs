namespace DhubBatches;

// Enum member names are the wire values (case-insensitive in PowerShell), so
// `Where-Object State -eq 'running'` works without a lookup table.

/// <summary>The state of a batch as the dhub API reports it.</summary>
public enum BatchState
{
    Unknown = 0,
    Scheduled,
    Pending,
    Running,
    Stop,
}

/// <summary>The state of one step of a batch.</summary>
public enum StepState
{
    Unknown = 0,
    None,
    Pending,
    Running,
    Success,
    Failed,
}

/// <summary>How a batch ended, or that it has not ended yet.</summary>
public enum BatchOutcome
{
    InProgress = 0,
    Succeeded,
    Failed,
    Stopped,
}

/// <summary>Which API a connection talks to.</summary>
public enum BackendKind
{
    Dhub = 0,
    Prefect,
}

/// <summary>How a connection authenticates; never the secret itself.</summary>
public enum AuthenticationKind
{
    None = 0,
    Bearer,
    Basic,
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
}
