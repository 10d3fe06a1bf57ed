using System;
using System.Collections.Generic;

namespace DhubBatches.Contract;

/// <summary>Which batches of a pipeline a listing or count is about (Get-DhubBatch -All and its filters).</summary>
public sealed class BatchQuery
{
    public static BatchQuery Default { get; } = new BatchQuery();

    /// <summary>Only batches in these states; null for all.</summary>
    public IReadOnlyCollection<BatchState>? States { get; set; }

    /// <summary>Only batches expected to start at or after this time (<see cref="EngineFeature.TimeFilters"/>).</summary>
    public DateTimeOffset? Since { get; set; }

    /// <summary>Only batches expected to start at or before this time (<see cref="EngineFeature.TimeFilters"/>).</summary>
    public DateTimeOffset? Until { get; set; }

    /// <summary>Also batches a schedule has planned for the future (listed first); otherwise only those due by now.</summary>
    public bool IncludeUpcoming { get; set; }

    /// <summary>
    /// Read the batches without their steps and offsets (-NoSteps): one request a page. A backend whose records hold
    /// their steps anyway (dhub) keeps them.
    /// </summary>
    public bool NoSteps { get; set; }
}
