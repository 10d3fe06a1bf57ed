using System;
using System.Security;

namespace DhubBatches.Contract;

/// <summary>What an engine needs to talk to one API. Holds the secret; never written to any stream.</summary>
public sealed class EngineSettings
{
    public EngineSettings(Uri uri, BackendKind backend)
    {
        Uri = uri;
        Backend = backend;
    }

    public Uri Uri { get; }

    public BackendKind Backend { get; }

    public AuthenticationKind Authentication { get; set; }

    /// <summary>Bearer token / API key, or <c>user:pass</c> for Basic.</summary>
    public SecureString? Secret { get; set; }

    public string PrefectFlowName { get; set; } = "run-pipeline";

    public int MaximumRetryCount { get; set; } = 5;

    public double RetryIntervalSec { get; set; } = 1;

    public int TimeoutSec { get; set; } = 60;

    public bool SkipCertificateCheck { get; set; }

    /// <summary>Sent as <c>User-Agent</c>: <c>DhubBatches/&lt;version&gt; PowerShell/&lt;version&gt;</c>.</summary>
    public string UserAgent { get; set; } = "DhubBatches";
}
