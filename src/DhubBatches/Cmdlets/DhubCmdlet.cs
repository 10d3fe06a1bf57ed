using System;
using System.Management.Automation;
using System.Threading;

namespace DhubBatches.Cmdlets;

/// <summary>
/// Base of every command: engine work runs through one <see cref="CommandPump"/>, and every command treats a
/// <see cref="DhubException"/> the same way. An error about one input item is non-terminating, so the rest of the
/// input still runs; having no connection at all stops the command.
/// </summary>
public abstract class DhubCmdlet : PSCmdlet, IDisposable, ICommandStreams
{
    private CommandPump? _pump;
    private volatile bool _stopRequested;

    /// <summary>Created on first use, on the pipeline thread: it reads -Verbose/-Debug and the preference variables.</summary>
    internal CommandPump Pump
    {
        get
        {
            if (_pump == null)
            {
                _pump = new CommandPump(this, Wants("Verbose", "VerbosePreference"), Wants("Debug", "DebugPreference"));
                if (_stopRequested)
                {
                    _pump.Stop();
                }
            }
            return _pump;
        }
    }

    /// <summary>This command's -Verbose choice (the switch, else $VerbosePreference), for a job it hands work to. Read on the pipeline thread.</summary>
    internal bool WantsVerbose => Wants("Verbose", "VerbosePreference");

    /// <summary>This command's -Debug choice (the switch, else $DebugPreference), for a job it hands work to.</summary>
    internal bool WantsDebug => Wants("Debug", "DebugPreference");

    /// <summary>Cancelled when the user presses Ctrl+C or the pipeline is stopped.</summary>
    protected CancellationToken StopToken => Pump.StopToken;

    protected sealed override void StopProcessing()
    {
        _stopRequested = true;
        _pump?.Stop();
    }

    protected sealed override void ProcessRecord() => Guarded(ProcessItem);

    protected sealed override void EndProcessing() => Guarded(Complete);

    /// <summary>The command's work for one pipeline input (ProcessRecord).</summary>
    protected virtual void ProcessItem()
    {
    }

    /// <summary>The command's work after the last input (EndProcessing).</summary>
    protected virtual void Complete()
    {
    }

    /// <summary>Runs one input item's work; a <see cref="DhubException"/> becomes that item's non-terminating error.</summary>
    protected void ForItem(Func<object?> target, Action work)
    {
        try
        {
            work();
        }
        catch (DhubException ex) when (ex.Kind != DhubErrorKind.DhubNotConnected)
        {
            WriteItemError(ex, target());
        }
    }

    /// <summary>True under -WhatIf (given, or through $WhatIfPreference).</summary>
    internal bool IsWhatIf =>
        MyInvocation.BoundParameters.TryGetValue("WhatIf", out var value)
            ? value is SwitchParameter s && s.IsPresent
            : SessionState.PSVariable.GetValue("WhatIfPreference") is { } preference && LanguagePrimitives.IsTrue(preference);

    /// <summary>A non-terminating error about one item; never stops the command.</summary>
    internal void WriteItemError(DhubException ex, object? target) => WriteError(DhubErrors.Record(ex, target));

    private void Guarded(Action work)
    {
        try
        {
            work();
        }
        catch (DhubException ex) when (ex.Kind == DhubErrorKind.DhubNotConnected)
        {
            ThrowTerminatingError(DhubErrors.Record(ex, null));
        }
        catch (DhubException ex)
        {
            WriteItemError(ex, null);
        }
    }

    private bool Wants(string switchName, string preferenceName)
    {
        if (MyInvocation.BoundParameters.TryGetValue(switchName, out var bound) && bound is SwitchParameter flag)
        {
            return flag.IsPresent;
        }
        var preference = SessionState.PSVariable.GetValue(preferenceName);
        return !(preference is ActionPreference action) || (action != ActionPreference.SilentlyContinue && action != ActionPreference.Ignore);
    }

    public void Dispose()
    {
        _pump?.Dispose();
        GC.SuppressFinalize(this);
    }
}
