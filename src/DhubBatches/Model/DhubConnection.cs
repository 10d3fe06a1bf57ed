using System;
using DhubBatches.Contract;
using DhubBatches.Hosting;

namespace DhubBatches;

/// <summary>
/// Where and how to reach one API. Public members never include the secret, so Format-List *,
/// ConvertTo-Json and ToString() are safe to log. The engine (and its pooled HTTP connections) lives as long
/// as the connection, so consecutive commands reuse TCP/TLS sessions.
/// </summary>
public sealed class DhubConnection : IDisposable
{
    private readonly object _gate = new object();
    private IBatchEngine? _engine;

    internal DhubConnection(EngineSettings settings, string source)
    {
        Settings = settings;
        Source = source;
        BackendName = settings.Backend.ToString();
    }

    public Uri Uri => Settings.Uri;

    public BackendKind Backend => Settings.Backend;

    public AuthenticationKind Authentication => Settings.Authentication;

    /// <summary>The Prefect flow whose deployments are the pipelines; null on dhub.</summary>
    public string? PrefectFlowName => Settings.Backend == BackendKind.Prefect ? Settings.PrefectFlowName : null;

    public int MaximumRetryCount => Settings.MaximumRetryCount;

    public double RetryIntervalSec => Settings.RetryIntervalSec;

    public int TimeoutSec => Settings.TimeoutSec;

    public bool SkipCertificateCheck => Settings.SkipCertificateCheck;

    /// <summary>Where the connection came from: Connect-Dhub, an environment variable or a Prefect profile.</summary>
    public string Source { get; }

    internal EngineSettings Settings { get; }

    /// <summary>What every Batch's Backend says, made once rather than per batch of a long listing.</summary>
    internal string BackendName { get; }

    internal IBatchEngine Engine
    {
        get
        {
            lock (_gate)
            {
                if (_engine == null)
                {
                    _engine = EngineLoader.Create(Settings);
                }
                return _engine;
            }
        }
    }

    /// <summary>
    /// Whether <paramref name="engine"/> is still this connection's engine: false once Disconnect-Dhub or Connect-Dhub
    /// closed it (the next <see cref="Engine"/> makes a new one). Never makes an engine itself.
    /// </summary>
    internal bool IsCurrent(IBatchEngine engine)
    {
        lock (_gate)
        {
            return ReferenceEquals(_engine, engine);
        }
    }

    /// <summary><c>&lt;Backend&gt; &lt;Uri&gt;</c>: what a Batch's Connection cell shows in Export-Csv; never the secret.</summary>
    public override string ToString() => Backend + " " + Uri;

    /// <summary>The Batch users see for what this connection's engine read.</summary>
    internal Batch ToBatch(BatchSnapshot snapshot) => new Batch(snapshot, this);

    internal Pipeline ToPipeline(PipelineSnapshot snapshot) => new Pipeline(snapshot, this);

    public void Dispose()
    {
        lock (_gate)
        {
            _engine?.Dispose();
            _engine = null;
        }
    }
}
