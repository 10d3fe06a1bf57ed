using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using DhubBatches.Cmdlets;

namespace DhubBatches;

/// <summary>
/// A wait handed off with -AsJob (PSJobTypeName DhubBatchJob). The command checks its input and sends its first
/// request itself, then gives the rest of its work to this job, which runs it on a background thread of the module's
/// own, in the same runspace (nothing is imported again) and writes to the job's collections instead of the pipeline.
/// Stop-Job cancels the wait and its in-flight requests; the batches keep running.
/// </summary>
public sealed class DhubJob : Job, ICommandStreams
{
    /// <summary>The job type Get-Job shows.</summary>
    public const string JobTypeName = "DhubBatchJob";

    /// <summary>A wait's thread mostly sleeps in the pump; a small stack keeps a thousand jobs cheap.</summary>
    private const int StackBytes = 256 * 1024;

    /// <summary>
    /// Progress records kept for Receive-Job: a wait writes a few every round for hours, and only the latest say
    /// anything, so the oldest go first (the Completed records at the end are always kept).
    /// </summary>
    private const int MaxProgressRecords = 200;

    /// <summary>Running jobs and the runspace that started each, so Remove-Module stops that runspace's jobs.</summary>
    private static readonly ConcurrentDictionary<DhubJob, Guid> s_running = new ConcurrentDictionary<DhubJob, Guid>();

    private CommandPump? _pump;
    private Thread? _thread;
    private volatile bool _stopRequested;

    internal DhubJob(string command)
        : base(command)
    {
        PSJobTypeName = JobTypeName;
    }

    public override string StatusMessage => string.Empty;

    public override bool HasMoreData =>
        Output.Count > 0 || Error.Count > 0 || Warning.Count > 0 || Verbose.Count > 0 || Debug.Count > 0 || Progress.Count > 0 || Information.Count > 0;

    public override string Location => "localhost";

    /// <summary>Runs <paramref name="work"/> on the job's thread, writing through <paramref name="pump"/> (made by the calling command).</summary>
    internal void Start(CommandPump pump, Guid runspace, Action<CommandPump> work)
    {
        _pump = pump;
        s_running[this] = runspace;
        SetJobState(JobState.Running);
        _thread = new Thread(() => Run(work), StackBytes)
        {
            IsBackground = true, // a job never keeps the process alive
            Name = "DhubJob " + Id,
        };
        _thread.Start();
    }

    /// <summary>Stop-Job, Remove-Job -Force: ends the wait (within a second: it cancels the current request or sleep), never the batches.</summary>
    public override void StopJob()
    {
        if (IsFinished(JobStateInfo.State))
        {
            return;
        }
        _stopRequested = true;
        _pump?.Stop();
        _thread?.Join(TimeSpan.FromSeconds(5));
    }

    /// <summary>Remove-Module: stop every job this runspace started, and wait for their threads.</summary>
    internal static void StopAll(Guid runspace)
    {
        var jobs = s_running.Where(j => j.Value == runspace).Select(j => j.Key).ToList();
        foreach (var job in jobs)
        {
            job._stopRequested = true;
            job._pump?.Stop();
        }
        var clock = Stopwatch.StartNew();
        foreach (var job in jobs)
        {
            var left = TimeSpan.FromSeconds(5) - clock.Elapsed;
            job._thread?.Join(left > TimeSpan.Zero ? left : TimeSpan.Zero);
        }
    }

    private void Run(Action<CommandPump> work)
    {
        var end = JobState.Completed;
        try
        {
            work(_pump!);
            if (_stopRequested)
            {
                end = JobState.Stopped;
            }
        }
        catch (Exception ex) when (_stopRequested && (ex is PipelineStoppedException || ex is OperationCanceledException))
        {
            end = JobState.Stopped;
        }
        catch (DhubException ex)
        {
            // Where the command would have ended with a terminating error, the job fails with it.
            Error.Add(DhubErrors.Record(ex, null));
            end = JobState.Failed;
        }
        catch (Exception ex)
        {
            Error.Add(new ErrorRecord(ex, "DhubJobFailed", ErrorCategory.NotSpecified, null));
            end = JobState.Failed;
        }
        finally
        {
            _pump!.Dispose();
            s_running.TryRemove(this, out _);
        }
        SetJobState(end);
    }

    private static bool IsFinished(JobState state) =>
        state == JobState.Completed || state == JobState.Failed || state == JobState.Stopped;

    void ICommandStreams.WriteObject(object sendToPipeline) => Output.Add(PSObject.AsPSObject(sendToPipeline));

    void ICommandStreams.WriteError(ErrorRecord errorRecord) => Error.Add(errorRecord);

    void ICommandStreams.WriteWarning(string text) => Warning.Add(new WarningRecord(text));

    void ICommandStreams.WriteVerbose(string text) => Verbose.Add(new VerboseRecord(text));

    void ICommandStreams.WriteDebug(string text) => Debug.Add(new DebugRecord(text));

    void ICommandStreams.WriteProgress(ProgressRecord progressRecord)
    {
        // Only the job's own thread writes, so the count cannot change under us except by Receive-Job taking records.
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
