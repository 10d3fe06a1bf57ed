using DhubBatches.Contract;

namespace DhubBatches.Jobs;

/// <summary>
/// The engine's text for one job, written straight into the job's Verbose, Debug and Warning collections (which take
/// writes from any thread), with the -Verbose/-Debug choice of the command that made the job. A command's own text
/// goes through its <see cref="Cmdlets.CommandPump"/> to its pipeline thread; a job has no such thread.
/// </summary>
internal sealed class JobLog : IEngineLog
{
    private readonly DhubJob _job;
    private readonly bool _debug;

    public JobLog(DhubJob job, bool verbose, bool debug)
    {
        _job = job;
        IsVerboseEnabled = verbose;
        _debug = debug;
    }

    public bool IsVerboseEnabled { get; }

    public void Verbose(string message)
    {
        if (IsVerboseEnabled)
        {
            Streams.WriteVerbose(message);
        }
    }

    public void Debug(string message)
    {
        if (_debug)
        {
            Streams.WriteDebug(message);
        }
    }

    public void Warning(string message) => Streams.WriteWarning(message);

    private Cmdlets.ICommandStreams Streams => _job;
}
