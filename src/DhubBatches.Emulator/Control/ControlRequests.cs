namespace DhubBatches.Emulator.Control;

/// <summary>Body of <c>POST /_emulator/pipelines/{pipeline}</c>.</summary>
internal sealed class PipelineRequest
{
    public double? StepSeconds { get; set; }
}

/// <summary>Body of <c>PUT /_emulator/settings</c>; an empty token string disables authentication.</summary>
internal sealed class SettingsRequest
{
    public double? StepSeconds { get; set; }

    public string? Token { get; set; }
}

/// <summary>Body of <c>POST /_emulator/pipelines/{pipeline}/seed</c>.</summary>
internal sealed class SeedRequest
{
    public int Count { get; set; }

    public bool Finished { get; set; } = true;
}

/// <summary>Body of <c>POST /_emulator/prefect/set-state-wait</c>: the next N set_state calls answer WAIT.</summary>
internal sealed class CountRequest
{
    public int Count { get; set; } = 1;
}

/// <summary>Body of <c>PUT /_emulator/prefect/settings</c>; an empty string disables that authentication.</summary>
internal sealed class PrefectSettingsRequest
{
    public string? AuthString { get; set; }

    public string? ApiKey { get; set; }

    public bool? Csrf { get; set; }
}
