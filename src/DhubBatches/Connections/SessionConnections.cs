using System;
using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Security;
using DhubBatches.Contract;

namespace DhubBatches.Connections;

/// <summary>
/// The connections of one runspace: the default set by Connect-Dhub, and the one resolved from the
/// environment (kept while the environment is unchanged, so its HTTP connections are reused).
/// Per runspace, so thread jobs and hosted runspaces do not see each other's default.
/// </summary>
internal sealed class SessionConnections
{
    private static readonly ConditionalWeakTable<Runspace, SessionConnections> s_byRunspace =
        new ConditionalWeakTable<Runspace, SessionConnections>();
    private static readonly SessionConnections s_noRunspace = new SessionConnections();

    private readonly object _gate = new object();
    private DhubConnection? _default;
    private DhubConnection? _fromEnvironment;
    private string? _environmentKey;

    public static SessionConnections Current
    {
        get
        {
            var runspace = Runspace.DefaultRunspace;
            return runspace == null ? s_noRunspace : s_byRunspace.GetValue(runspace, _ => new SessionConnections());
        }
    }

    public DhubConnection? Default
    {
        get
        {
            lock (_gate)
            {
                return _default;
            }
        }
    }

    public void SetDefault(DhubConnection? connection)
    {
        DhubConnection? previous;
        lock (_gate)
        {
            previous = _default;
            _default = connection;
        }
        if (previous != null && !ReferenceEquals(previous, connection))
        {
            previous.Dispose();
        }
    }

    /// <summary>The explicit connection, else the default, else one from the environment; or DhubNotConnected.</summary>
    /// <param name="userAgent">Computed only when a connection is made from the environment.</param>
    public DhubConnection Resolve(DhubConnection? explicitConnection, Func<string> userAgent)
    {
        if (explicitConnection != null)
        {
            return explicitConnection;
        }
        lock (_gate)
        {
            if (_default != null)
            {
                return _default;
            }
            var fingerprint = EnvironmentConnection.Fingerprint();
            if (_fromEnvironment != null && _environmentKey == fingerprint)
            {
                return _fromEnvironment;
            }
            var settings = EnvironmentConnection.Read(userAgent, out var source);
            if (settings == null)
            {
                throw DhubErrors.NotConnected();
            }
            ConnectionPolicy.CheckTransport(settings.Uri, settings.Authentication, allowUnencrypted: false);
            _fromEnvironment?.Dispose();
            _fromEnvironment = new DhubConnection(settings, source);
            _environmentKey = fingerprint;
            return _fromEnvironment;
        }
    }

    /// <summary>Forgets this runspace's connections and closes their pooled HTTP connections (Remove-Module).</summary>
    public void Release()
    {
        DhubConnection? byDefault;
        DhubConnection? fromEnvironment;
        lock (_gate)
        {
            byDefault = _default;
            fromEnvironment = _fromEnvironment;
            _default = null;
            _fromEnvironment = null;
            _environmentKey = null;
        }
        byDefault?.Dispose();
        fromEnvironment?.Dispose();
    }

    /// <summary>
    /// <c>DhubBatches/&lt;module version&gt; PowerShell/&lt;PowerShell version&gt;</c>. The module version is the
    /// assembly's (both come from Directory.Build.props); PowerShell's is $PSVersionTable's, read on the
    /// pipeline thread of the current runspace.
    /// </summary>
    public static string UserAgent()
    {
        var moduleVersion = typeof(SessionConnections).Assembly.GetName().Version?.ToString(3);
        // PSVersionInfo.PSVersion is what $PSVersionTable.PSVersion shows (the assembly version is only x.y.0); it is
        // not public in PowerShellStandard.Library, hence reflection. Reading $PSVersionTable through
        // SessionStateProxy fails while a pipeline runs, so it is only the second choice.
        var psVersion = typeof(PSObject).Assembly.GetType("System.Management.Automation.PSVersionInfo")
            ?.GetProperty("PSVersion", BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)
            ?.GetValue(null)?.ToString();
        try
        {
            psVersion ??= (Runspace.DefaultRunspace?.SessionStateProxy.PSVariable.GetValue("PSVersionTable") as Hashtable)?["PSVersion"]?.ToString();
        }
        catch (PSInvalidOperationException)
        {
            // not on the runspace's thread: fall back to the engine assembly's version below
        }
        psVersion ??= typeof(PSObject).Assembly.GetName().Version?.ToString(3);
        return $"DhubBatches/{moduleVersion} PowerShell/{psVersion}";
    }

    public static SecureString ToSecureString(string value)
    {
        var secure = new SecureString();
        foreach (var c in value)
        {
            secure.AppendChar(c);
        }
        secure.MakeReadOnly();
        return secure;
    }
}
