using System;
using System.Collections.Generic;

namespace DhubBatches.Emulator;

/// <summary>Start-up settings of an emulator instance. <see cref="EmulatorState.Reset"/> returns to these.</summary>
public sealed class EmulatorOptions
{
    /// <summary>Bearer token the dhub API requires; null disables authentication.</summary>
    public string? Token { get; set; } = "emulator-token";

    /// <summary>Duration of each lifecycle phase (scheduled, pending, extract, transform, load).</summary>
    public TimeSpan StepDuration { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Pipelines known at start; any other id is answered with 404.</summary>
    public IList<string> Pipelines { get; set; } = new List<string> { "sales-pipeline", "orders", "inventory", "failing-pipeline" };

    /// <summary>Pipelines whose id starts with this fail at the transform step.</summary>
    public string FailingPipelinePrefix { get; set; } = "failing";

    /// <summary>Largest accepted <c>limit</c> on the list endpoint.</summary>
    public int MaxPageSize { get; set; } = 1000;

    /// <summary>Clock for batch lifecycles; tests can pass a manual one to step time deterministically.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Prefect self-hosted basic auth <c>user:pass</c> (§2.2); null (default) disables it.</summary>
    public string? PrefectAuthString { get; set; }

    /// <summary>Prefect Cloud style API key, required as Bearer on every Prefect request (§2.1); null (default) disables it.</summary>
    public string? PrefectApiKey { get; set; }

    /// <summary>Prefect CSRF protection (§2.5), off by default like Prefect's own setting.</summary>
    public bool PrefectCsrf { get; set; }

    /// <summary>Flow whose deployments are the pipelines (§4).</summary>
    public string PrefectFlowName { get; set; } = "run-pipeline";

    /// <summary>
    /// Listen on https with an in-memory self-signed certificate (CN=localhost, SAN 127.0.0.1) instead of http;
    /// no file or trust store is touched, so clients must skip certificate validation. Off by default.
    /// </summary>
    public bool UseHttps { get; set; }

    internal EmulatorOptions Clone() => new()
    {
        UseHttps = UseHttps,
        PrefectAuthString = PrefectAuthString,
        PrefectApiKey = PrefectApiKey,
        PrefectCsrf = PrefectCsrf,
        PrefectFlowName = PrefectFlowName,
        Token = Token,
        StepDuration = StepDuration,
        Pipelines = new List<string>(Pipelines ?? new List<string>()),
        FailingPipelinePrefix = FailingPipelinePrefix,
        MaxPageSize = MaxPageSize,
        TimeProvider = TimeProvider,
    };
}
