using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using DhubBatches.Cmdlets;
using DhubBatches.Contract;
using DhubBatches.Jobs;

namespace DhubBatches;

/// <summary>
/// A wait handed off with -AsJob (PSJobTypeName DhubBatchJob). The command checks its input and sends its first
/// request itself, then gives the rest of its work to this job. The job has no thread of its own: it is state and
/// streams that the module's one loop of -AsJob waits (<see cref="WaitScheduler"/>) writes into after each shared
/// round, or that a log follow's asynchronous reads write into as their answers come. Stop-Job ends the job's part of
/// that work and its in-flight requests; the batches keep running.
/// </summary>
public sealed class DhubJob : Job, ICommandStreams
{
    /// <summary>The job type Get-Job shows.</summary>
    public const string JobTypeName = "DhubBatchJob";

    /// <summary>
    /// Progress records kept for Receive-Job: a wait writes one whenever a bar changes, for hours, and only the latest
    /// say anything, so the oldest go first (the Completed records at the end are always kept).
    /// </summary>
    private const int MaxProgressRecords = 200;

    /// <summary>Stop-Job and Remove-Module give a job's work this long to end.</summary>
    private static readonly TimeSpan s_stopBudget = TimeSpan.FromSeconds(5);

    /// <summary>Running jobs and the runspace that started each, so Remove-Module stops that runspace's jobs.</summary>
    private static readonly ConcurrentDictionary<DhubJob, Guid> s_running = new ConcurrentDictionary<DhubJob, Guid>();

    private Func<Task>? _stop;
    private int _finished;

    internal DhubJob(string command, bool verbose, bool debug)
        : base(command)
    {
        PSJobTypeName = JobTypeName;
        Log = new JobLog(this, verbose, debug);
    }

    public override string StatusMessage => string.Empty;

    public override bool HasMoreData =>
        Output.Count > 0 || Error.Count > 0 || Warning.Count > 0 || Verbose.Count > 0 || Debug.Count > 0 || Progress.Count > 0 || Information.Count > 0;

    public override string Location => "localhost";

    /// <summary>Where the engine's text for this job goes (its -Verbose/-Debug choice).</summary>
    internal JobLog Log { get; }

    /// <summary>
    /// The job's work runs elsewhere and finishes the job itself (<see cref="Finish"/>, <see cref="Fail"/>).
    /// <paramref name="stop"/> ends it and returns what completes once the job is finished.
    /// </summary>
    internal void Start(Guid runspace, Func<Task> stop)
    {
        _stop = stop;
        s_running[this] = runspace;
        SetJobState(JobState.Running);
    }

    /// <summary>
    /// The job's work is an asynchronous flow of its own (a log follow): it holds a thread only while an answer is
    /// being handled, and its end (Completed, Stopped by <paramref name="work"/>'s token, or Failed) finishes the job.
    /// </summary>
    internal void Start(Guid runspace, Func<CancellationToken, Task> work)
    {
        // Never disposed: a late Stop-Job may still cancel it, and it holds no timer.
        var stopping = new CancellationTokenSource();
        Task? running = null;
        Start(runspace, () =>
        {
            stopping.Cancel();
            return Volatile.Read(ref running) ?? Task.CompletedTask;
        });
        Volatile.Write(ref running, Task.Run(async () =>
        {
            EngineLog.Current = Log; // flows into every call of the work
            try
            {
                await work(stopping.Token).ConfigureAwait(false);
                Finish(stopping.IsCancellationRequested ? JobState.Stopped : JobState.Completed);
            }
            catch (Exception ex) when (stopping.IsCancellationRequested && (ex is OperationCanceledException || ex is PipelineStoppedException))
            {
                Finish(JobState.Stopped);
            }
            catch (Exception ex)
            {
                Fail(ex);
            }
        }));
    }

    /// <summary>Stop-Job, Remove-Job -Force: ends the job's work (within a second: it cancels the current request), never the batches.</summary>
    public override void StopJob()
    {
        if (Volatile.Read(ref _finished) != 0)
        {
            return;
        }
        WaitQuietly(BeginStop(), s_stopBudget);
    }

    /// <summary>Remove-Module: stop every job this runspace started, and wait for their work to end.</summary>
    internal static void StopAll(Guid runspace)
    {
        var stopping = s_running.Where(j => j.Value == runspace).Select(j => j.Key.BeginStop()).ToList();
        var clock = Stopwatch.StartNew();
        foreach (var stopped in stopping)
        {
            var left = s_stopBudget - clock.Elapsed;
            WaitQuietly(stopped, left > TimeSpan.Zero ? left : TimeSpan.Zero);
        }
    }

    /// <summary>The work ended: the job takes <paramref name="end"/> (only the first end counts).</summary>
    internal void Finish(JobState end)
    {
        if (Interlocked.Exchange(ref _finished, 1) != 0)
        {
            return;
        }
        s_running.TryRemove(this, out _);
        SetJobState(end);
    }

    /// <summary>The work ended with an exception: where the command would have ended with a terminating error, the job fails with it.</summary>
    internal void Fail(Exception ex)
    {
        if (Interlocked.Exchange(ref _finished, 1) != 0)
        {
            return;
        }
        Error.Add(ex is DhubException dhub
            ? DhubErrors.Record(dhub, null)
            : new ErrorRecord(ex, "DhubJobFailed", ErrorCategory.NotSpecified, null));
        s_running.TryRemove(this, out _);
        SetJobState(JobState.Failed);
    }

    private Task BeginStop() => _stop?.Invoke() ?? Task.CompletedTask;

    private static void WaitQuietly(Task task, TimeSpan budget)
    {
        try
        {
            task.Wait(budget);
        }
        catch (AggregateException)
        {
            // the work's own failure is the job's (Fail); stopping only waits for it to end
        }
    }

    void ICommandStreams.WriteObject(object sendToPipeline) => Output.Add(PSObject.AsPSObject(sendToPipeline));

    void ICommandStreams.WriteError(ErrorRecord errorRecord) => Error.Add(errorRecord);

    void ICommandStreams.WriteWarning(string text) => Warning.Add(new WarningRecord(text));

    void ICommandStreams.WriteVerbose(string text) => Verbose.Add(new VerboseRecord(text));

    void ICommandStreams.WriteDebug(string text) => Debug.Add(new DebugRecord(text));

    void ICommandStreams.WriteProgress(ProgressRecord progressRecord)
    {
        // One writer at a time (a wait writes under its own lock), so the count cannot change under us except by
        // Receive-Job taking records.
        Progress.Add(progressRecord);
        while (Progress.Count > MaxProgressRecords)
        {
            try
            {
                Progress.RemoveAt(0);
            }
            catch (ArgumentOutOfRangeException)
            {
                break; // Receive-Job emptied it meanwhile
            }
        }
    }
}
