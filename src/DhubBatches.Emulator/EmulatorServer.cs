using System;
using System.Linq;
using System.Security.Cryptography.X509Certificates;
using System.Threading;
using System.Threading.Tasks;
using DhubBatches.Emulator.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DhubBatches.Emulator;

/// <summary>A running emulator on real Kestrel; start one per test, dispose to stop it.</summary>
public sealed class EmulatorServer : IAsyncDisposable
{
    /// <summary>Loopback only, OS-chosen port: tests run in parallel and nothing is exposed to the network.</summary>
    public const string DefaultUrls = "http://127.0.0.1:0";

    private readonly WebApplication _app;
    private int _disposed;

    private EmulatorServer(WebApplication app, EmulatorState state, Uri baseUri)
    {
        _app = app;
        State = state;
        BaseUri = baseUri;
    }

    /// <summary>Root of the server with a trailing slash, e.g. <c>http://127.0.0.1:5123/</c>.</summary>
    public Uri BaseUri { get; }

    /// <summary>The Prefect API URL of this server (a client's PREFECT_API_URL), e.g. <c>http://127.0.0.1:5123/prefect/api/</c>.</summary>
    public Uri PrefectBaseUri => new(BaseUri, "prefect/api/");

    public EmulatorState State { get; }

    /// <summary>The in-memory self-signed certificate when started with <see cref="EmulatorOptions.UseHttps"/>; else null.</summary>
    public X509Certificate2? Certificate { get; private init; }

    public static Task<EmulatorServer> StartAsync(EmulatorOptions options, CancellationToken ct = default) =>
        StartAsync(options, DefaultUrls, ownsConsole: false, ct);

    /// <summary>Waits until the host is asked to stop (Ctrl+C / SIGTERM when run as a process).</summary>
    public Task WaitForShutdownAsync(CancellationToken ct = default) => _app.WaitForShutdownAsync(ct);

    internal static async Task<EmulatorServer> StartAsync(EmulatorOptions options, string urls, bool ownsConsole, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(options);
        var state = new EmulatorState(options);

        // The empty builder reads no appsettings or environment, so a developer's ASPNETCORE_* settings
        // cannot change what the tests talk to, and no file watchers are created per instance.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        X509Certificate2? certificate = null;
        if (options.UseHttps)
        {
            // http://host:port → https://host:port; the certificate lives only in memory (see SelfSignedCertificate).
            urls = string.Join(';', urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(u => u.StartsWith("http://", StringComparison.OrdinalIgnoreCase) ? "https://" + u["http://".Length..] : u));
            certificate = SelfSignedCertificate.Create();
            var serverCertificate = certificate;
            builder.WebHost.UseKestrelCore().UseKestrelHttpsConfiguration()
                .ConfigureKestrel(k => k.ConfigureHttpsDefaults(h => h.ServerCertificate = serverCertificate));
        }
        else
        {
            builder.WebHost.UseKestrelCore();
        }

        builder.WebHost.UseUrls(urls);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);

        // Everything to stderr: stdout carries only the DHUB_EMULATOR_URL line scripts parse.
        builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        if (!ownsConsole)
        {
            builder.Services.AddSingleton<IHostLifetime, NoConsoleLifetime>();
        }

        var app = builder.Build();
        try
        {
            EmulatorPipeline.Configure(app, state);
            await app.StartAsync(ct);
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
                ?? throw new InvalidOperationException("Kestrel reported no listening address.");
            return new EmulatorServer(app, state, new Uri(address.TrimEnd('/') + "/")) { Certificate = certificate };
        }
        catch
        {
            // e.g. the port is taken: release what was started rather than leak a half-built host.
            await app.DisposeAsync();
            certificate?.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await _app.StopAsync(timeout.Token);
        }
        finally
        {
            await _app.DisposeAsync();
            Certificate?.Dispose();
        }
    }

    /// <summary>In-process hosts must not hook Ctrl+C/SIGTERM of the test runner.</summary>
    private sealed class NoConsoleLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
