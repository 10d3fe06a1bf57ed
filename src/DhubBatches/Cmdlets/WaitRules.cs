using System;

namespace DhubBatches.Cmdlets;

/// <summary>
/// How a command waits: the same for the wait on its pipeline thread (<see cref="BatchWaiter"/>) and for the one it
/// hands to a job with -AsJob, so both write the same output and errors.
/// </summary>
internal sealed class WaitRules
{
    public WaitRules(TimeSpan? timeout, TimeSpan interval, bool any = false)
    {
        Timeout = timeout;
        Interval = interval;
        Any = any;
    }

    /// <summary>How long to wait for all batches; null waits without limit.</summary>
    public TimeSpan? Timeout { get; }

    /// <summary>Time between rounds, counted from each round's answer.</summary>
    public TimeSpan Interval { get; }

    /// <summary>End the wait as soon as any one batch completes.</summary>
    public bool Any { get; }

    /// <summary>Write each completed batch (off for Stop-DhubBatch -Wait without -PassThru).</summary>
    public bool WriteBatches { get; set; } = true;

    /// <summary>Write DhubBatchFailed for a batch that completes Failed (Wait-DhubBatch, Start and Restart -Wait).</summary>
    public bool ReportFailures { get; set; } = true;

    /// <summary>Warn once about a batch that stays stopping with nothing running (Stop-DhubBatch -Wait).</summary>
    public bool WarnStuckStops { get; set; }
}
