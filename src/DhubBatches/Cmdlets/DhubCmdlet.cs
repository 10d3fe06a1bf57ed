using System;
using System.Collections.Concurrent;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using DhubBatches.Engine;

namespace DhubBatches.Cmdlets
{
    /// <summary>
    /// Base of every command. Engine calls are asynchronous; the pipeline thread waits for them here and, while it
    /// waits, writes the engine's verbose/debug/warning text (Write* only works on the pipeline thread).
    /// Ctrl+C cancels the token every call receives, so in-flight HTTP calls and back-off delays end at once.
    /// </summary>
    public abstract class DhubCmdlet : PSCmdlet, IDisposable
    {
        private readonly CancellationTokenSource _stopping = new CancellationTokenSource();
        private readonly ConcurrentQueue<LogEntry> _log = new ConcurrentQueue<LogEntry>();
        private readonly AutoResetEvent _logged = new AutoResetEvent(false);
        private readonly QueueLog _sink;
        private bool _disposed;

        protected DhubCmdlet()
        {
            _sink = new QueueLog(this);
        }

        /// <summary>Cancelled when the user presses Ctrl+C or the pipeline is stopped.</summary>
        protected internal CancellationToken StopToken => _stopping.Token;

        protected override void StopProcessing() => _stopping.Cancel();

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
            var handles = new WaitHandle[] { ((IAsyncResult)task).AsyncWaitHandle, _logged };
            while (!task.IsCompleted)
            {
                WaitHandle.WaitAny(handles);
                DrainLog();
            }
            DrainLog();
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

            public void Verbose(string message) => Enqueue(LogKind.Verbose, message);

            public void Debug(string message) => Enqueue(LogKind.Debug, message);

            public void Warning(string message) => Enqueue(LogKind.Warning, message);

            private void Enqueue(LogKind kind, string message)
            {
                if (_owner._disposed)
                {
                    return;
                }
                _owner._log.Enqueue(new LogEntry(kind, message));
                try
                {
                    _owner._logged.Set();
                }
                catch (ObjectDisposedException)
                {
                    // the command ended while a late call was still logging; nothing is listening any more.
                }
            }
        }
    }
}
