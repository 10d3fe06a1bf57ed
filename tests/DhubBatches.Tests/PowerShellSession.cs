using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using DhubBatches.Cmdlets;

namespace DhubBatches.Tests;

/// <summary>A runspace with the DhubBatches module imported from the built cmdlet assembly.</summary>
public sealed class PowerShellSession : IDisposable
{
    public PowerShellSession()
    {
        var iss = InitialSessionState.CreateDefault2();
        iss.ImportPSModule(new[] { typeof(GetDhubBatchCommand).Assembly.Location });
        Runspace = RunspaceFactory.CreateRunspace(iss);
        Runspace.Open();
    }

    public Runspace Runspace { get; }

    public void Set(string name, object? value) => Runspace.SessionStateProxy.SetVariable(name, value);

    /// <summary>A PowerShell instance bound to this runspace with the script added (not yet invoked).</summary>
    public PowerShell Prepare(string script)
    {
        var ps = PowerShell.Create();
        ps.Runspace = Runspace;
        ps.AddScript(script);
        return ps;
    }

    /// <summary>Runs a script; the caller inspects <c>ps.Streams</c> and disposes.</summary>
    public (PowerShell Ps, IReadOnlyList<PSObject> Output) Run(string script)
    {
        var ps = Prepare(script);
        var output = ps.Invoke();
        return (ps, output.ToList());
    }

    public void Dispose() => Runspace.Dispose();

    /// <summary>Every piece of text any stream of <paramref name="ps"/> (and the output) could show a user.</summary>
    public static IEnumerable<string> AllText(PowerShell ps, IEnumerable<PSObject> output)
    {
        foreach (var o in output)
        {
            yield return o?.ToString() ?? string.Empty;
            if (o?.BaseObject is { } b)
            {
                yield return b.ToString() ?? string.Empty;
            }
        }
        foreach (var v in ps.Streams.Verbose)
        {
            yield return v.Message;
        }
        foreach (var d in ps.Streams.Debug)
        {
            yield return d.Message;
        }
        foreach (var w in ps.Streams.Warning)
        {
            yield return w.Message;
        }
        foreach (var i in ps.Streams.Information)
        {
            yield return i.MessageData?.ToString() ?? string.Empty;
        }
        foreach (var p in ps.Streams.Progress)
        {
            yield return p.Activity + " " + p.StatusDescription + " " + p.CurrentOperation;
        }
        foreach (var e in ps.Streams.Error)
        {
            yield return e.ToString();
            yield return e.Exception?.ToString() ?? string.Empty;
            yield return e.ErrorDetails?.Message ?? string.Empty;
            yield return e.ErrorDetails?.RecommendedAction ?? string.Empty;
            yield return e.TargetObject?.ToString() ?? string.Empty;
            yield return e.CategoryInfo.ToString();
            yield return e.FullyQualifiedErrorId;
            yield return e.ScriptStackTrace ?? string.Empty;
        }
    }
}
