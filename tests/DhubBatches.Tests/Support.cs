using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Security;
using System.Threading;
using System.Threading.Tasks;
using DhubBatches.Emulator;
using DhubBatches.Emulator.Requests;
using DhubBatches.Contract;
using Xunit;

namespace DhubBatches.Tests;

/// <summary>One in-process emulator per test class; tests call <see cref="Reset"/> (via <see cref="EmulatorTestBase"/>).</summary>
public sealed class EmulatorFixture : IAsyncLifetime
{
    public const string Token = "test-token-6d1f";

    public EmulatorServer Server { get; private set; } = null!;

    public EmulatorState State => Server.State;

    public Uri BaseUri => Server.BaseUri;

    public async Task InitializeAsync()
    {
        Server = await EmulatorServer.StartAsync(new EmulatorOptions
        {
            Token = Token,
            StepDuration = TimeSpan.FromMilliseconds(100),
        });
    }

    public async Task DisposeAsync() => await Server.DisposeAsync();

    public void Reset() => State.Reset();
}

/// <summary>Resets the shared emulator before each test and creates engines for it.</summary>
public abstract class EmulatorTestBase : IClassFixture<EmulatorFixture>, IDisposable
{
    private readonly List<IDisposable> _owned = new();

    protected EmulatorTestBase(EmulatorFixture fixture)
    {
        Fixture = fixture;
        fixture.Reset();
    }

    protected EmulatorFixture Fixture { get; }

    protected EmulatorState State => Fixture.State;

    protected IBatchEngine NewEngine(Action<EngineSettings>? configure = null, string token = EmulatorFixture.Token)
    {
        var settings = new EngineSettings(Fixture.BaseUri, BackendKind.Dhub)
        {
            Authentication = AuthenticationKind.Bearer,
            Secret = Secure(token),
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

    /// <summary>Requests to the dhub API, optionally only one method.</summary>
    protected IReadOnlyList<RequestLogEntry> Requests(string? method = null) =>
        State.Requests.Where(r => method == null || r.Method == method).ToList();

    public static SecureString Secure(string value)
    {
        var secure = new SecureString();
        foreach (var c in value)
        {
            secure.AppendChar(c);
        }
        secure.MakeReadOnly();
        return secure;
    }

    public virtual void Dispose()
    {
        foreach (var d in _owned)
        {
            d.Dispose();
        }
    }
}

/// <summary>Collects engine log text (thread-safe).</summary>
public sealed class CollectingLog : IEngineLog
{
    private readonly ConcurrentQueue<(string Kind, string Text)> _lines = new();

    public IReadOnlyList<string> Verbose => _lines.Where(l => l.Kind == "V").Select(l => l.Text).ToList();

    public IReadOnlyList<string> All => _lines.Select(l => l.Text).ToList();

    bool IEngineLog.IsVerboseEnabled => true;

    void IEngineLog.Verbose(string message) => _lines.Enqueue(("V", message));

    void IEngineLog.Debug(string message) => _lines.Enqueue(("D", message));

    void IEngineLog.Warning(string message) => _lines.Enqueue(("W", message));
}

public static class Eventually
{
    /// <summary>Polls until <paramref name="condition"/> holds or the timeout passes; returns whether it held.</summary>
    public static async Task<bool> TrueAsync(Func<bool> condition, TimeSpan? timeout = null)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < (timeout ?? TimeSpan.FromSeconds(5)))
        {
            if (condition())
            {
                return true;
            }
            await Task.Delay(20);
        }
        return condition();
    }
}
