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
