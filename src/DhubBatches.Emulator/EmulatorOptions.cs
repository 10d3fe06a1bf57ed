using System;
using System.Collections.Generic;
using System.Linq;
using DhubBatches.Emulator.Prefect.Flows;

namespace DhubBatches.Emulator;

/// <summary>Start-up settings of an emulator instance. <see cref="EmulatorState.Reset"/> returns to these.</summary>
public sealed class EmulatorOptions
{
    /// <summary>Bearer token the dhub API requires; null disables authentication.</summary>
    public string? Token { get; set; } = "emulator-token";

    /// <summary>Length of one step of a batch's or flow run's life: each phase and each task takes one.</summary>
    public TimeSpan StepDuration { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Pipelines known at start (both backends); any other id is answered with 404. By default the four classic ones
    /// plus one per built-in Prefect behaviour (<see cref="BuiltInFlows.SamplePipelines"/>).
    /// </summary>
    public IList<string> Pipelines { get; set; } =
        new[] { "sales-pipeline", "orders", "inventory", "failing-pipeline" }.Concat(BuiltInFlows.SamplePipelines).ToList();

    /// <summary>Pipelines whose id starts with this fail at the transform step.</summary>
    public string FailingPipelinePrefix { get; set; } = "failing";

    /// <summary>Largest accepted <c>limit</c> on the list endpoint.</summary>
    public int MaxPageSize { get; set; } = 1000;

    /// <summary>Clock for batch lifecycles; tests can pass a manual one to step time deterministically.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Prefect self-hosted basic auth <c>user:pass</c>; null (default) disables it.</summary>
    public string? PrefectAuthString { get; set; }

    /// <summary>Prefect Cloud style API key, required as Bearer on every Prefect request; null (default) disables it.</summary>
    public string? PrefectApiKey { get; set; }

    /// <summary>Prefect CSRF protection, off by default like Prefect's own setting.</summary>
    public bool PrefectCsrf { get; set; }

    /// <summary>Flow whose deployments are the pipelines.</summary>
    public string PrefectFlowName { get; set; } = "run-pipeline";

    /// <summary>The Prefect major version to imitate: 3 (default) or 2 (the recorded 2.16.8 server's shapes and behaviour).</summary>
    public int PrefectVersion { get; set; } = 3;

    /// <summary><c>PREFECT_SERVER_API_DEFAULT_LIMIT</c>: the default and the maximum <c>limit</c> of every filter.</summary>
    public int PrefectDefaultLimit { get; set; } = 200;

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
        PrefectVersion = PrefectVersion,
        PrefectDefaultLimit = PrefectDefaultLimit,
        Token = Token,
        StepDuration = StepDuration,
        Pipelines = new List<string>(Pipelines ?? new List<string>()),
        FailingPipelinePrefix = FailingPipelinePrefix,
        MaxPageSize = MaxPageSize,
        TimeProvider = TimeProvider,
    };
}
