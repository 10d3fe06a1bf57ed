using System;
using System.Management.Automation;
using System.Security;
using DhubBatches.Connections;
using DhubBatches.Contract;

namespace DhubBatches.Cmdlets;

/// <summary>Connect-Dhub: sets the session's default connection after one authenticated call proves it.</summary>
[Cmdlet(VerbsCommunications.Connect, "Dhub")]
[OutputType(typeof(DhubConnection))]
public sealed class ConnectDhubCommand : DhubCmdlet
{
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNull]
    public Uri Uri { get; set; } = null!;

    [Parameter]
    public BackendKind Backend { get; set; } = BackendKind.Dhub;

    /// <summary>dhub access token, or Prefect Cloud API key (both sent as Bearer).</summary>
    [Parameter]
    [ValidateNotNull]
    public SecureString? Token { get; set; }

    /// <summary>Self-hosted Prefect basic auth (PREFECT_API_AUTH_STRING's user:pass).</summary>
    [Parameter]
    [Credential]
    [ValidateNotNull]
    public PSCredential? Credential { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string PrefectFlowName { get; set; } = "run-pipeline";

    [Parameter]
    [ValidateRange(0, 100)]
    public int MaximumRetryCount { get; set; } = 5;

    [Parameter]
    [ValidateRange(0, 600)]
    public int RetryIntervalSec { get; set; } = 1;

    /// <summary>Per-request timeout in seconds; 0 waits indefinitely.</summary>
    [Parameter]
    [ValidateRange(0, 86400)]
    public int TimeoutSec { get; set; } = 60;

    [Parameter]
    public SwitchParameter AllowUnencryptedAuthentication { get; set; }

    [Parameter]
    public SwitchParameter SkipCertificateCheck { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void Complete()
    {
        DhubConnection? connection = null;
        try
        {
            var settings = Settings();
            ConnectionPolicy.CheckTransport(settings.Uri, settings.Authentication, AllowUnencryptedAuthentication);
            connection = new DhubConnection(settings, "Connect-Dhub");
            var engine = connection.Engine;
            WriteVerbose($"Checking {Backend} API at {settings.Uri} ({settings.Authentication})");
            Pump.Run(engine.VerifyAsync);
        }
        catch (DhubException ex)
        {
            connection?.Dispose();
            ThrowTerminatingError(DhubErrors.Record(ex, Uri));
        }
        catch
        {
            connection?.Dispose();
            throw;
        }

        SessionConnections.Current.SetDefault(connection);
        if (PassThru)
        {
            WriteObject(connection);
        }
    }

    private EngineSettings Settings()
    {
        if (Token != null && Credential != null)
        {
            throw new DhubException(DhubErrorKind.DhubBadRequest, "Give either -Token or -Credential, not both.");
        }
        if (Credential != null && Backend != BackendKind.Prefect)
        {
            throw new DhubException(DhubErrorKind.DhubBadRequest, "-Credential (basic auth) is for a self-hosted Prefect server; the dhub API takes a bearer -Token.");
        }

        var settings = new EngineSettings(Uri, Backend)
        {
            PrefectFlowName = PrefectFlowName,
            MaximumRetryCount = MaximumRetryCount,
            RetryIntervalSec = RetryIntervalSec,
            TimeoutSec = TimeoutSec,
            SkipCertificateCheck = SkipCertificateCheck,
            UserAgent = SessionConnections.UserAgent(),
        };
        if (Token != null)
        {
            settings.Authentication = AuthenticationKind.Bearer;
            settings.Secret = Token.Copy();
            settings.Secret.MakeReadOnly();
        }
        else if (Credential != null)
        {
            settings.Authentication = AuthenticationKind.Basic;
            var secret = new SecureString();
            foreach (var c in Credential.UserName + ":")
            {
                secret.AppendChar(c);
            }
            var password = Credential.GetNetworkCredential().Password;
            foreach (var c in password)
            {
                secret.AppendChar(c);
            }
            secret.MakeReadOnly();
            settings.Secret = secret;
        }
        return settings;
    }
}
