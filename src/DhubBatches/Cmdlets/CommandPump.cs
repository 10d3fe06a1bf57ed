using System;
using System.Collections.Concurrent;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using DhubBatches.Contract;

namespace DhubBatches.Cmdlets;

/// <summary>
/// Carries engine work back to a command's pipeline thread. Engine calls are asynchronous and log from any thread,
/// but Write* only works on the pipeline thread: <see cref="Run{T}"/> waits there and, while it waits, writes what
/// the engine logged. Ctrl+C cancels <see cref="StopToken"/>, which every call receives.
/// </summary>
internal sealed class CommandPump : IDisposable
{
    private readonly ICommandStreams _command;
    private readonly CancellationTokenSource _stopping = new CancellationTokenSource();
    private readonly ConcurrentQueue<LogEntry> _log = new ConcurrentQueue<LogEntry>();
    // Slim (spin, then Monitor) rather than a kernel event: on Linux an event handle costs tens of µs per set and wait,
    // which every command would pay once per request.
    private readonly ManualResetEventSlim _wake = new ManualResetEventSlim(false);
    private readonly QueueLog _sink;
    private bool _disposed;

    public CommandPump(ICommandStreams command, bool verbose, bool debug)
    {
        _command = command;
        _sink = new QueueLog(this, verbose, debug);
    }

    /// <summary>Cancelled when the user presses Ctrl+C or the pipeline is stopped.</summary>
    public CancellationToken StopToken => _stopping.Token;

    public bool IsVerbose => _sink.IsVerboseEnabled;

    public void Stop() => _stopping.Cancel();

    /// <summary>Begins a call whose engine log goes to this command's streams, without waiting for it.</summary>
    public TTask Start<TTask>(Func<CancellationToken, TTask> call, CancellationToken token)
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

    /// <summary>
    /// Begins a call with <see cref="StopToken"/> (or returns the task a call already began) and waits for it on the
    /// pipeline thread, writing its log meanwhile. Ctrl+C becomes a pipeline stop; a cancellation by any other
    /// token is the caller's to handle.
    /// </summary>
    public T Run<T>(Func<CancellationToken, Task<T>> call)
    {
        var task = Start(call, StopToken);
        Pump(task);
        return Result(() => task.GetAwaiter().GetResult());
    }

    public void Run(Func<CancellationToken, Task> call)
    {
        var task = Start(call, StopToken);
        Pump(task);
        Result(() =>
        {
            task.GetAwaiter().GetResult();
            return true;
        });
    }

    /// <summary>Writes what the engine logged so far. Call only on the pipeline thread.</summary>
    public void Drain()
    {
        while (_log.TryDequeue(out var entry))
        {
            switch (entry.Kind)
            {
                case LogKind.Verbose:
                    _command.WriteVerbose(entry.Text);
                    break;
                case LogKind.Debug:
                    _command.WriteDebug(entry.Text);
                    break;
                default:
                    _command.WriteWarning(entry.Text);
                    break;
            }
        }
    }

    private void Pump(Task task)
    {
        if (!task.IsCompleted)
        {
            // The task's completion wakes the same event the engine's log text does: one wait, no per-call handle.
            task.ContinueWith(static (_, owner) => ((CommandPump)owner!).Wake(), this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            while (true)
            {
                // Reset before looking: a wake after this point leaves the event set, so none is missed.
                _wake.Reset();
                Drain();
                if (task.IsCompleted)
                {
                    break;
                }
                _wake.Wait();
            }
        }
        Drain();
    }

    private void Wake()
    {
        try
        {
            _wake.Set();
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
        _wake.Dispose();
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
        private readonly CommandPump _owner;
        private readonly bool _verbose;
        private readonly bool _debug;

        public QueueLog(CommandPump owner, bool verbose, bool debug)
        {
            _owner = owner;
            _verbose = verbose;
            _debug = debug;
        }

        public bool IsVerboseEnabled => _verbose;

        // Text nobody will see is dropped here, so a quiet command does not wake its pipeline thread per request.
        public void Verbose(string message)
        {
            if (_verbose)
            {
                Enqueue(LogKind.Verbose, message);
            }
        }

        public void Debug(string message)
        {
            if (_debug)
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
