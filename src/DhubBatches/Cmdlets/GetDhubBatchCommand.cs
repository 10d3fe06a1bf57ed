using System;
using System.Management.Automation;
using DhubBatches.Completion;
using System.Threading;
using System.Threading.Tasks;
using DhubBatches.Engine;

namespace DhubBatches.Cmdlets;

/// <summary>
/// Get-DhubBatch: the latest batch of pipelines, given batches, or (-All) every batch of a pipeline, streamed
/// page by page. -First/-Skip (SupportsPaging) are applied here and fetch no more pages than they need.
/// </summary>
[Cmdlet(VerbsCommon.Get, "DhubBatch", DefaultParameterSetName = LatestSet, SupportsPaging = true)]
[OutputType(typeof(Batch))]
public sealed class GetDhubBatchCommand : BatchCommand
{
    private const string LatestSet = "Latest";
    private const string ByIdSet = "ById";
    private const string AllSet = "All";
    private const string InputObjectSet = "InputObject";

    private ulong _skipped;
    private ulong _written;

    [Parameter(ParameterSetName = LatestSet, Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = ByIdSet, Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = AllSet, Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(PipelineIdCompleter))]
    public string[] PipelineId { get; set; } = null!;

    [Parameter(ParameterSetName = ByIdSet, Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [Alias("Id")]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(BatchIdCompleter))]
    public string[] BatchId { get; set; } = null!;

    [Parameter(ParameterSetName = AllSet, Mandatory = true)]
    public SwitchParameter All { get; set; }

    /// <summary>
    /// Batches piped in, refreshed by PipelineId + Id. Bound by value so a piped Batch never falls into the Latest
    /// set (whose by-value PipelineId would otherwise win the binding and return the pipeline's latest batch).
    /// </summary>
    [Parameter(ParameterSetName = InputObjectSet, Mandatory = true, ValueFromPipeline = true, DontShow = true)]
    [ValidateNotNull]
    public Batch[] InputObject { get; set; } = null!;

    /// <summary>Batches per request with -All (the Prefect backend caps it at 200).</summary>
    [Parameter(ParameterSetName = AllSet)]
    [ValidateRange(1, 1000)]
    public int PageSize { get; set; } = 100;

    private ulong First => PagingParameters?.First ?? ulong.MaxValue;

    private ulong Skip => PagingParameters?.Skip ?? 0;

    private bool Satisfied => _written >= First;

    protected override void ProcessRecord()
    {
        switch (ParameterSetName)
        {
            case ByIdSet:
                if (PipelineId.Length != 1)
                {
                    ThrowTerminatingError(DhubErrors.Record(DhubErrorKind.DhubBadRequest, "-BatchId needs exactly one -PipelineId.", PipelineId));
                }
                foreach (var batchId in BatchId)
                {
                    ForItem(batchId, () =>
                    {
                        ValidateIds(PipelineId[0], batchId);
                        Write(Await(token => Engine.GetAsync(PipelineId[0], batchId, token)));
                    });
                }
                break;
            case InputObjectSet:
                foreach (var batch in InputObject)
                {
                    ForItem(batch, () =>
                    {
                        ValidateIds(batch.PipelineId, batch.Id);
                        Write(Await(token => Engine.GetAsync(batch.PipelineId, batch.Id, token)));
                    });
                }
                break;
            case AllSet:
                foreach (var pipelineId in PipelineId)
                {
                    ForItem(pipelineId, () => WriteAll(pipelineId));
                }
                break;
            default:
                foreach (var pipelineId in PipelineId)
                {
                    ForItem(pipelineId, () =>
                    {
                        ValidateIds(pipelineId);
                        Write(Await(token => Engine.GetLatestAsync(pipelineId, token)));
                    });
                }
                break;
        }
    }

    private void WriteAll(string pipelineId)
    {
        ValidateIds(pipelineId);
        if (PagingParameters != null && PagingParameters.IncludeTotalCount)
        {
            var total = Await(token => Engine.CountAsync(pipelineId, token));
            WriteObject(PagingParameters.NewTotalCount((ulong)(total ?? 0), total.HasValue ? 1.0 : 0.0));
        }
        if (Satisfied)
        {
            return;
        }

        // The next page is fetched while this one is written; a downstream Select-Object -First or Ctrl+C
        // cancels it in the finally block, so nothing keeps running after the command.
        using var pages = CancellationTokenSource.CreateLinkedTokenSource(StopToken);
        var request = new BatchPageRequest { Limit = NextLimit(), Skip = (long)(Skip - _skipped) };
        var pending = StartPage(pipelineId, request, pages.Token);
        try
        {
            while (pending != null)
            {
                var page = WaitFor(pending);
                _skipped += (ulong)page.Skipped;
                var remainingAfterPage = Remaining() - (ulong)page.Items.Count;
                pending = page.Continuation != null && page.Items.Count > 0 && remainingAfterPage > 0
                    ? StartPage(pipelineId, new BatchPageRequest { Continuation = page.Continuation, Limit = Limit(remainingAfterPage) }, pages.Token)
                    : null;
                foreach (var batch in page.Items)
                {
                    Write(batch);
                    if (Satisfied)
                    {
                        return;
                    }
                }
            }
        }
        finally
        {
            pages.Cancel();
        }
    }

    private Task<BatchPage> StartPage(string pipelineId, BatchPageRequest request, CancellationToken token) =>
        Start(t => Engine.GetPageAsync(pipelineId, request, t), token);

    /// <summary>Items still to read from the server: those to skip plus those to write (saturating).</summary>
    private ulong Remaining()
    {
        var toSkip = Skip > _skipped ? Skip - _skipped : 0;
        var toWrite = First > _written ? First - _written : 0;
        return toWrite > ulong.MaxValue - toSkip ? ulong.MaxValue : toSkip + toWrite;
    }

    private int NextLimit() => Limit(Remaining());

    private int Limit(ulong remaining) => remaining < (ulong)PageSize ? (int)remaining : PageSize;

    /// <summary>Applies -Skip and -First to everything the command outputs, in every parameter set.</summary>
    private void Write(Batch batch)
    {
        if (_skipped < Skip)
        {
            _skipped++;
            return;
        }
        if (Satisfied)
        {
            return;
        }
        _written++;
        WriteObject(batch);
    }
}
