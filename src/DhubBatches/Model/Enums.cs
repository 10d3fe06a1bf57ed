using Newtonsoft.Json;
using Newtonsoft.Json.Converters;

namespace DhubBatches;

// Enum member names are the wire values (case-insensitive in PowerShell), so `Where-Object State -eq 'running'`
// works without a lookup table. [JsonConverter] makes ConvertTo-Json write the names, not numbers: PowerShell 7.4-7.6
// serialize with Newtonsoft.Json and honour it (the attribute is referenced at compile time only; PowerShell ships the
// assembly).

/// <summary>The state of a batch as the dhub API reports it.</summary>
[JsonConverter(typeof(StringEnumConverter))]
public enum BatchState
{
    Unknown = 0,
    Scheduled,
    Pending,
    Running,
    Stop,
}

/// <summary>The state of one step of a batch.</summary>
[JsonConverter(typeof(StringEnumConverter))]
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
[JsonConverter(typeof(StringEnumConverter))]
public enum BatchOutcome
{
    InProgress = 0,
    Succeeded,
    Failed,
    Stopped,
}

/// <summary>Which API a connection talks to.</summary>
[JsonConverter(typeof(StringEnumConverter))]
public enum BackendKind
{
    Dhub = 0,
    Prefect,
}

/// <summary>How a connection authenticates; never the secret itself.</summary>
[JsonConverter(typeof(StringEnumConverter))]
public enum AuthenticationKind
{
    None = 0,
    Bearer,
    Basic,
}

/// <summary>The level of a log line, by the names of Python's logging levels that Prefect stores (10 … 50).</summary>
[JsonConverter(typeof(StringEnumConverter))]
public enum BatchLogLevel
{
    Debug = 10,
    Info = 20,
    Warning = 30,
    Error = 40,
    Critical = 50,
}
