using System;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using DhubBatches.Completion;
using DhubBatches.Contract;

namespace DhubBatches.Cmdlets;

/// <summary>
/// Get-DhubBatch: the latest batch of pipelines, given batches, piped batches refreshed, or (-All) every batch of
/// pipelines streamed page by page, optionally filtered. Without -PipelineId (Prefect), -All lists every pipeline's
/// batches in one stream and -BatchId finds batches by id alone: the fleet view. -First/-Skip (SupportsPaging) read no
/// more than they output.
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

    // Optional with -BatchId and -All (the fleet view), so neither ever prompts for it.
    [Parameter(ParameterSetName = LatestSet, Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = ByIdSet, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = AllSet, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(PipelineIdCompleter))]
    public string[]? PipelineId { get; set; }

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

    /// <summary>Batches per request with -All (the Prefect backend also keeps to the server's limit).</summary>
    [Parameter(ParameterSetName = AllSet)]
    [ValidateRange(1, 1000)]
    public int PageSize { get; set; } = 100;

    /// <summary>With -All: only batches in these states.</summary>
    [Parameter(ParameterSetName = AllSet)]
    [ValidateNotNullOrEmpty]
    public BatchState[]? State { get; set; }

    /// <summary>With -All: only batches expected to start at or after this time (Prefect).</summary>
    [Parameter(ParameterSetName = AllSet)]
    public DateTime? Since { get; set; }

    /// <summary>With -All: only batches expected to start at or before this time (Prefect).</summary>
    [Parameter(ParameterSetName = AllSet)]
    public DateTime? Until { get; set; }

    /// <summary>With -All: also the runs a schedule has planned for the future, listed first (Prefect).</summary>
    [Parameter(ParameterSetName = AllSet)]
    public SwitchParameter IncludeUpcoming { get; set; }

    /// <summary>With -All: read the batches without their steps and offsets (Prefect: one request a page).</summary>
    [Parameter(ParameterSetName = AllSet)]
    public SwitchParameter NoSteps { get; set; }

    private ulong First => PagingParameters?.First ?? ulong.MaxValue;

    private ulong Skip => PagingParameters?.Skip ?? 0;

    private bool Satisfied => _written >= First;

    protected override void ProcessItem()
    {
        switch (ParameterSetName)
        {
            case ByIdSet when PipelineId == null:
                foreach (var batchId in BatchId)
                {
                    ForItem(() => batchId, () =>
                    {
                        DhubErrors.ValidateId(batchId, "BatchId");
                        var connection = ConnectionFor();
                        RequireFleet(connection, "find a batch by its id alone", "Give its pipeline too: Get-DhubBatch -PipelineId <id> -BatchId " + batchId + ".");
                        Write(connection.ToBatch(Pump.Run(token => connection.Engine.GetByIdAsync(batchId, token))));
                    });
                }
                break;
            case ByIdSet:
                if (PipelineId!.Length != 1)
                {
                    ThrowTerminatingError(DhubErrors.Record(DhubErrorKind.DhubBadRequest, "-BatchId needs exactly one -PipelineId (or none, on Prefect).", PipelineId));
                }
                var pipelineId = PipelineId[0];
                foreach (var batchId in BatchId)
                {
                    ForItem(() => BatchTarget(pipelineId, batchId), () => OfPipeline(pipelineId, () =>
                    {
                        ValidateIds(pipelineId, batchId);
                        var connection = ConnectionFor();
                        Write(connection.ToBatch(Pump.Run(token => connection.Engine.GetAsync(pipelineId, batchId, token))));
                    }));
                }
                break;
            case InputObjectSet:
                foreach (var batch in InputObject)
                {
                    ForItem(() => batch, () =>
                    {
                        ValidateIds(batch.PipelineId, batch.Id);
                        var connection = ConnectionFor(batch.Connection);
                        Write(connection.ToBatch(Pump.Run(token => connection.Engine.GetAsync(batch.PipelineId, batch.Id, token))));
                    });
                }
                break;
            case AllSet when PipelineId == null:
                ForItem(() => null, WriteFleet);
                break;
            case AllSet:
                ForItem(() => string.Join(", ", PipelineId!), () => WriteTotal(PipelineId!));
                foreach (var id in PipelineId!)
                {
                    ForItem(() => id, () => OfPipeline(id, () => WriteAll(id)));
                }
                break;
            default:
                foreach (var id in PipelineId!)
                {
                    ForItem(() => id, () => OfPipeline(id, () =>
                    {
                        ValidateIds(id);
                        var connection = ConnectionFor();
                        Write(connection.ToBatch(Pump.Run(token => connection.Engine.GetLatestAsync(id, token))));
                    }));
                }
                break;
        }
    }

    /// <summary>
    /// A pipeline id is a name, not a pattern. One with <c>*</c> is refused before any request; one with <c>?</c> or
    /// <c>[ ]</c> (which a real id may hold) is tried, and pointed to Get-DhubPipeline only when no such pipeline exists.
    /// </summary>
    private void OfPipeline(string pipelineId, Action work)
    {
        if (pipelineId.IndexOf('*') >= 0)
        {
            throw NotAPattern(pipelineId);
        }
        try
        {
            work();
        }
        catch (DhubException ex) when (ex.Kind == DhubErrorKind.DhubPipelineNotFound && WildcardPattern.ContainsWildcardCharacters(pipelineId))
        {
            throw NotAPattern(pipelineId, ex);
        }
    }

    private DhubException NotAPattern(string pipelineId, Exception? inner = null)
    {
        var all = ParameterSetName == AllSet ? " -All" : string.Empty;
        var message = ConnectionFor().Engine.Supports(EngineFeature.Fleet)
            ? $"-PipelineId takes pipeline ids, not wildcards: '{pipelineId}' names no pipeline. To read the batches of the pipelines a pattern matches, pipe them in: Get-DhubPipeline '{pipelineId}' | Get-DhubBatch{all}"
            : $"-PipelineId takes pipeline ids, not wildcards: '{pipelineId}' names no pipeline, and the dhub Batches API cannot list pipelines to match it.";
        return new DhubException(DhubErrorKind.DhubBadRequest, message, inner);
    }

    private void RequireFleet(DhubConnection connection, string what, string instead) =>
        Require(connection, EngineFeature.Fleet, what, "The dhub Batches API addresses every batch under its pipeline. " + instead);

    /// <summary>-IncludeTotalCount over several pipelines: one total, of those that could be counted.</summary>
    private void WriteTotal(string[] pipelineIds)
    {
        if (PagingParameters == null || !PagingParameters.IncludeTotalCount)
        {
            return;
        }
        var connection = ConnectionFor();
        var query = Query(connection);
        long total = 0;
        var exact = true;
        foreach (var id in pipelineIds)
        {
            try
            {
                ValidateIds(id);
                var count = id.IndexOf('*') >= 0 ? null : Pump.Run(token => connection.Engine.CountAsync(id, query, token));
                total += count ?? 0;
                exact &= count.HasValue;
            }
            catch (DhubException)
            {
                exact = false; // its listing reports the error
            }
        }
        WriteObject(PagingParameters.NewTotalCount((ulong)total, exact ? 1.0 : 0.0));
    }

    private void WriteFleet()
    {
        var connection = ConnectionFor();
        RequireFleet(connection, "list the batches of every pipeline at once", "Give the pipelines: Get-DhubBatch -PipelineId <id>[, <id>…] -All.");
        var query = Query(connection);
        if (PagingParameters != null && PagingParameters.IncludeTotalCount)
        {
            var total = Pump.Run(token => connection.Engine.CountFleetAsync(query, token));
            WriteObject(PagingParameters.NewTotalCount((ulong)(total ?? 0), total.HasValue ? 1.0 : 0.0));
        }
        WritePages(connection, (request, token) => connection.Engine.GetFleetPageAsync(query, request, token));
    }

    private void WriteAll(string pipelineId)
    {
        ValidateIds(pipelineId);
        var connection = ConnectionFor();
        var query = Query(connection);
        WritePages(connection, (request, token) => connection.Engine.GetPageAsync(pipelineId, query, request, token));
    }

    /// <summary>
    /// Every page of a listing, streamed; the next page is read while this one is written. Once a listing has had two
    /// full pages of a backend that says where the page after next starts (offset paging), it is long, and the page
    /// after next is asked for too: the server works on one while this side reads the other. That costs at most one
    /// request past the end, answered with an empty page.
    /// </summary>
    private void WritePages(DhubConnection connection, Func<PageRequest, CancellationToken, Task<BatchPage>> read)
    {
        if (Satisfied)
        {
            return;
        }

        // A downstream Select-Object -First or Ctrl+C cancels the pages in flight in the finally block, so nothing keeps
        // running after the command.
        using var pages = CancellationTokenSource.CreateLinkedTokenSource(StopToken);
        var pending = StartPage(read, continuation: null, skip: (long)(Skip - _skipped), want: ToWrite(), pages.Token);
        Task<BatchPage>? ahead = null;
        string? aheadAt = null;
        var fullPages = 0;
        try
        {
            while (pending != null)
            {
                var started = pending;
                var page = Pump.Run(_ => started);
                _skipped += (ulong)page.Skipped;
                WriteProblems(page, connection);
                var skipLeft = Skip > _skipped ? Skip - _skipped : 0;
                var writable = (ulong)page.Items.Count > skipLeft ? (ulong)page.Items.Count - skipLeft : 0;
                var wantAfter = ToWrite() > writable ? ToWrite() - writable : 0;
                var next = page.Continuation != null && wantAfter > 0 ? page.Continuation : null;
                if (next == null)
                {
                    pending = null;
                }
                else if (ahead != null && aheadAt == next)
                {
                    pending = ahead;
                    ahead = null;
                }
                else
                {
                    Abandon(ahead);
                    ahead = null;
                    pending = StartPage(read, next, (long)(skipLeft > (ulong)page.Items.Count ? skipLeft - (ulong)page.Items.Count : 0), wantAfter, pages.Token);
                }
                fullPages = page.Following != null ? fullPages + 1 : 0;
                // The page after next only when the next one cannot hold all that is still wanted.
                if (pending != null && ahead == null && fullPages >= 2 && skipLeft == 0 && wantAfter > (ulong)page.Items.Count)
                {
                    aheadAt = page.Following;
                    ahead = StartPage(read, aheadAt, 0, wantAfter - (ulong)page.Items.Count, pages.Token);
                }
                foreach (var batch in page.Items)
                {
                    Write(connection.ToBatch(batch));
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
            Abandon(ahead);
        }
    }

    /// <summary>A page read ahead that is not wanted after all: its outcome, even a failure, is nobody's.</summary>
    private static void Abandon(Task<BatchPage>? page) =>
        page?.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    private BatchQuery Query(DhubConnection connection)
    {
        if (State == null && Since == null && Until == null && !IncludeUpcoming && !NoSteps)
        {
            return BatchQuery.Default;
        }
        if (Since != null || Until != null)
        {
            Require(connection, EngineFeature.TimeFilters, "filter batches by start time (-Since/-Until)",
                "The dhub Batches API reports no start times; list with Get-DhubBatch -All and filter by state instead.");
        }
        return new BatchQuery
        {
            States = State,
            Since = Since.HasValue ? ToUniversal(Since.Value) : (DateTimeOffset?)null,
            Until = Until.HasValue ? ToUniversal(Until.Value) : (DateTimeOffset?)null,
            IncludeUpcoming = IncludeUpcoming,
            NoSteps = NoSteps,
        };
    }

    /// <summary>Get-Date gives local times; an unspecified kind is taken as local too, as PowerShell users mean it.</summary>
    private static DateTimeOffset ToUniversal(DateTime value) =>
        (value.Kind == DateTimeKind.Utc ? new DateTimeOffset(value) : new DateTimeOffset(DateTime.SpecifyKind(value, DateTimeKind.Local))).ToUniversalTime();

    private Task<BatchPage> StartPage(Func<PageRequest, CancellationToken, Task<BatchPage>> read, string? continuation, long skip, ulong want, CancellationToken token)
    {
        var request = new PageRequest
        {
            Continuation = continuation,
            Skip = skip,
            Want = want > int.MaxValue ? int.MaxValue : (int)want,
            PageSize = PageSize,
        };
        return Pump.Start(t => Task.Run(() => read(request, t), t), token);
    }

    /// <summary>Items still to write (saturating).</summary>
    private ulong ToWrite() => First > _written ? First - _written : 0;

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
        WriteBatch(batch);
    }
}
