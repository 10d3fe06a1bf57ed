using System;
using System.Collections.Concurrent;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using DhubBatches.Engine;

namespace DhubBatches.Cmdlets;

/// <summary>
/// Base of every command. Engine calls are asynchronous; the pipeline thread waits for them here and, while it
/// waits, writes the engine's verbose/debug/warning text (Write* only works on the pipeline thread).
/// Ctrl+C cancels the token every call receives, so in-flight HTTP calls and back-off delays end at once.
/// </summary>
public abstract class DhubCmdlet : PSCmdlet, IDisposable
{
    private readonly CancellationTokenSource _stopping = new CancellationTokenSource();
    private readonly ConcurrentQueue<LogEntry> _log = new ConcurrentQueue<LogEntry>();
    // Slim (spin, then Monitor) rather than a kernel event: on Linux an event handle costs tens of µs per set and wait,
    // which every command would pay once per request.
    private readonly ManualResetEventSlim _logged = new ManualResetEventSlim(false);
    private readonly QueueLog _sink;
    private bool _disposed;
    private bool _verbose = true;
    private bool _debug = true;

    protected DhubCmdlet()
    {
        _sink = new QueueLog(this);
    }

    /// <summary>Cancelled when the user presses Ctrl+C or the pipeline is stopped.</summary>
    protected internal CancellationToken StopToken => _stopping.Token;

    protected override void StopProcessing() => _stopping.Cancel();

    /// <summary>Reads -Verbose/-Debug and the preference variables once, on the pipeline thread.</summary>
    protected override void BeginProcessing()
    {
        _verbose = Wants("Verbose", "VerbosePreference");
        _debug = Wants("Debug", "DebugPreference");
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

    /// <summary>Starts an engine call with this command's log, then waits for it as <see cref="WaitFor{T}"/>.</summary>
    protected T Await<T>(Func<CancellationToken, Task<T>> call) => WaitFor(Start(call, StopToken));

    protected void Await(Func<CancellationToken, Task> call) => WaitFor(Start(call, StopToken));

    /// <summary>Starts a call whose engine log goes to this command's streams, without waiting for it.</summary>
    protected internal TTask Start<TTask>(Func<CancellationToken, TTask> call, CancellationToken token)
        where TTask : Task
    {
        var previous = EngineLog.Current;
        EngineLog.Current = _sink; // captured by the call's continuations
        try
        {
            return call(token);
        }
        finally
        {
            EngineLog.Current = previous;
        }
    }

    /// <summary>Waits on the pipeline thread, writing queued log text meanwhile; Ctrl+C becomes a pipeline stop.</summary>
    protected internal T WaitFor<T>(Task<T> task)
    {
        Pump(task);
        return Result(() => task.GetAwaiter().GetResult());
    }

    protected internal void WaitFor(Task task)
    {
        Pump(task);
        Result(() =>
        {
            task.GetAwaiter().GetResult();
            return true;
        });
    }

    /// <summary>Writes what the engine logged so far. Call only on the pipeline thread.</summary>
    protected void DrainLog()
    {
        while (_log.TryDequeue(out var entry))
        {
            switch (entry.Kind)
            {
                case LogKind.Verbose:
                    WriteVerbose(entry.Text);
                    break;
                case LogKind.Debug:
                    WriteDebug(entry.Text);
                    break;
                default:
                    WriteWarning(entry.Text);
                    break;
            }
        }
    }

    /// <summary>Per-item failure: a non-terminating error, so the rest of the pipeline input still runs.</summary>
    protected void WriteDhubError(DhubException ex, object? target)
    {
        if (ex.Kind == DhubErrorKind.DhubNotConnected)
        {
            ThrowTerminatingError(DhubErrors.Record(ex, target));
        }
        WriteError(DhubErrors.Record(ex, target));
    }

    /// <summary>Runs one item's work; a <see cref="DhubException"/> becomes that item's error record.</summary>
    protected void ForItem(object? target, Action work)
    {
        try
        {
            work();
        }
        catch (DhubException ex)
        {
            WriteDhubError(ex, target);
        }
    }

    private void Pump(Task task)
    {
        if (!task.IsCompleted)
        {
            // The task's completion wakes the same event the engine's log text does: one wait, no per-call handle.
            task.ContinueWith(static (_, owner) => ((DhubCmdlet)owner!).Wake(), this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            while (true)
            {
                // Reset before looking: a wake after this point leaves the event set, so none is missed.
                _logged.Reset();
                DrainLog();
                if (task.IsCompleted)
                {
                    break;
                }
                _logged.Wait();
            }
        }
        DrainLog();
    }

    private void Wake()
    {
        try
        {
            _logged.Set();
        }
        catch (ObjectDisposedException)
        {
            // the command ended while a late call was still finishing; nothing is listening any more.
        }
    }

    private T Result<T>(Func<T> get)
    {
        try
        {
            return get();
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        _stopping.Cancel(); // EndProcessing is skipped on a stop: make sure nothing keeps polling.
        _stopping.Dispose();
        _logged.Dispose();
        GC.SuppressFinalize(this);
    }

    private enum LogKind
    {
        Verbose,
        Debug,
        Warning,
    }

    private readonly struct LogEntry
    {
        public LogEntry(LogKind kind, string text)
        {
            Kind = kind;
            Text = text;
        }

        public LogKind Kind { get; }

        public string Text { get; }
    }

    private sealed class QueueLog : IEngineLog
    {
        private readonly DhubCmdlet _owner;

        public QueueLog(DhubCmdlet owner) => _owner = owner;

        public bool IsVerboseEnabled => _owner._verbose;

        // Text nobody will see is dropped here, so a quiet command does not wake its pipeline thread per request.
        public void Verbose(string message)
        {
            if (_owner._verbose)
            {
                Enqueue(LogKind.Verbose, message);
            }
        }

        public void Debug(string message)
        {
            if (_owner._debug)
            {
                Enqueue(LogKind.Debug, message);
            }
        }

        public void Warning(string message) => Enqueue(LogKind.Warning, message);

        private void Enqueue(LogKind kind, string message)
        {
            if (_owner._disposed)
            {
                return;
            }
            _owner._log.Enqueue(new LogEntry(kind, message));
            _owner.Wake();
        }
    }
}
