using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using System.Threading;
using DhubBatches.Emulator;
using DhubBatches.Emulator.Prefect;
using DhubBatches.Emulator.Requests;
using DhubBatches.Contract;
using Xunit;
using DhubBatches.TestSupport;

namespace DhubBatches.Tests;

/// <summary>One emulator per test class on a <see cref="ManualClock"/>; Prefect lifecycle steps last <see cref="Step"/>.</summary>
public sealed class ManualClockEmulatorFixture : IAsyncLifetime
{
    public static readonly TimeSpan Step = TimeSpan.FromSeconds(10);

    public ManualClock Clock { get; } = new(DateTimeOffset.UtcNow);

    public EmulatorServer Server { get; private set; } = null!;

    public EmulatorState State => Server.State;

    public async Task InitializeAsync()
    {
        Server = await EmulatorServer.StartAsync(new EmulatorOptions { Token = EmulatorFixture.Token, StepDuration = Step, TimeProvider = Clock });
    }

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>Prefect engines against the manual-clock emulator; the emulator is reset before each test.</summary>
public abstract class PrefectTestBase : IClassFixture<ManualClockEmulatorFixture>, IDisposable
{
    private readonly List<IDisposable> _owned = new();

    protected PrefectTestBase(ManualClockEmulatorFixture fixture)
    {
        Fixture = fixture;
        fixture.State.Reset();
    }

    protected ManualClockEmulatorFixture Fixture { get; }

    protected EmulatorState State => Fixture.State;

    protected ManualClock Clock => Fixture.Clock;

    protected static TimeSpan Step => ManualClockEmulatorFixture.Step;

    protected IBatchEngine NewEngine(Action<EngineSettings>? configure = null)
    {
        var settings = new EngineSettings(Fixture.Server.PrefectBaseUri, BackendKind.Prefect)
        {
            RetryIntervalSec = 0,
            MaximumRetryCount = 2,
            TimeoutSec = 10,
            UserAgent = "DhubBatches/9.8.7 PowerShell/7.6.9",
        };
        configure?.Invoke(settings);
        var engine = global::DhubBatches.Engine.BatchEngineFactory.Create(settings);
        _owned.Add(engine);
        return engine;
    }

    /// <summary>Requests to the Prefect API (relative route, e.g. <c>flow_runs/filter</c>), optionally one method.</summary>
    protected IReadOnlyList<RequestLogEntry> Prefect(string? method = null, string? route = null) =>
        State.Requests
            .Where(r => r.PathSegments.Count >= 2 && r.PathSegments[0] == "prefect" && r.PathSegments[1] == "api")
            .Where(r => method == null || r.Method == method)
            .Where(r => route == null || Route(r) == route)
            .ToList();

    protected static string Route(RequestLogEntry r) => string.Join("/", r.PathSegments.Skip(2));

    /// <summary>Parsed bodies the emulator received for one model (e.g. <c>DeploymentFlowRunCreate</c>).</summary>
    protected IReadOnlyList<JsonElement> Bodies(string pathSuffix) =>
        State.Prefect.RequestBodies.Where(b => b.Path.EndsWith(pathSuffix, StringComparison.Ordinal))
            .Select(b => JsonDocument.Parse(b.Body).RootElement.Clone()).ToList();

    public virtual void Dispose()
    {
        foreach (var d in _owned)
        {
            d.Dispose();
        }
    }
}
