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

/// <summary>Body of the seed endpoints.</summary>
internal sealed class SeedRequest
{
    public int Count { get; set; }

    public bool Finished { get; set; } = true;
}

/// <summary>Body of <c>POST /_emulator/clock/advance</c>.</summary>
internal sealed class AdvanceRequest
{
    public double Seconds { get; set; }
}

/// <summary>Body of the WAIT/ABORT knobs: the next <see cref="Count"/> set_state calls get that answer.</summary>
internal sealed class KnobRequest
{
    public int Count { get; set; } = 1;

    public string? Reason { get; set; }
}

/// <summary>Body of <c>PUT /_emulator/prefect/settings</c>; an empty string disables that authentication.</summary>
internal sealed class PrefectSettingsRequest
{
    public string? AuthString { get; set; }

    public string? ApiKey { get; set; }

    public bool? Csrf { get; set; }

    public int? DefaultLimit { get; set; }
}
