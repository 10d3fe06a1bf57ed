namespace DhubBatches.Jobs;

/// <summary>Where a -AsJob wait is in the shared loop's schedule.</summary>
internal enum WaitPhase
{
    /// <summary>Waiting for its next round (at <see cref="JobWait.DueAt"/>).</summary>
    Idle,

    /// <summary>In the round that is gathering its participants.</summary>
    Gathering,

    /// <summary>Its batches are being read; it gives up at <see cref="JobWait.BudgetEnd"/>.</summary>
    InRound,

    /// <summary>Completed, failed or stopped: nothing more is written to its job.</summary>
    Ended,
}
