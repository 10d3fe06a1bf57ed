using System.Collections.Generic;

namespace DhubBatches.Contract;

/// <summary>Which page of a listing to read.</summary>
public sealed class PageRequest
{
    /// <summary>Opaque continuation from the previous page; null for the first page.</summary>
    public string? Continuation { get; set; }

    /// <summary>Items the caller still wants after skipping (so the backend can ask for no more).</summary>
    public int Want { get; set; } = 100;

    /// <summary>Items to skip before the first one wanted; a backend that can skip on the server does so.</summary>
    public long Skip { get; set; }

    /// <summary>The caller's -PageSize: the most items per request.</summary>
    public int PageSize { get; set; } = 100;
}

/// <summary>One page of a listing.</summary>
public sealed class BatchPage
{
    private static readonly RecordProblem[] s_noProblems = new RecordProblem[0];

    public BatchPage(IReadOnlyList<BatchSnapshot> items, string? continuation, long skipped, IReadOnlyList<RecordProblem>? problems = null)
    {
        Items = items;
        Continuation = continuation;
        Skipped = skipped;
        Problems = problems ?? s_noProblems;
    }

    public IReadOnlyList<BatchSnapshot> Items { get; }

    /// <summary>Null when this was the last page.</summary>
    public string? Continuation { get; }

    /// <summary>
    /// Where the page after the next one starts, should the next one come back full; set by a backend whose pages are
    /// offsets, so a long listing can ask for two pages at once. Null when that cannot be told.
    /// </summary>
    public string? Following { get; set; }

    /// <summary>How much of the requested skip the server applied (the caller discards the rest itself).</summary>
    public long Skipped { get; }

    /// <summary>Records of this page that could not be read; the readable ones are in <see cref="Items"/>.</summary>
    public IReadOnlyList<RecordProblem> Problems { get; }
}

/// <summary>A record the server sent that could not be read, so it was left out.</summary>
public sealed class RecordProblem
{
    public RecordProblem(string pipelineId, string? batchId, string message, string? rawText)
    {
        PipelineId = pipelineId;
        BatchId = batchId;
        Message = message;
        RawText = rawText;
    }

    public string PipelineId { get; }

    /// <summary>The record's id where it could be told; null when even that was unreadable.</summary>
    public string? BatchId { get; }

    /// <summary>Names what was skipped and why.</summary>
    public string Message { get; }

    /// <summary>The record as the server sent it, shortened; for -Verbose only.</summary>
    public string? RawText { get; }
}
