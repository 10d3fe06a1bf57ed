using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Threading.Tasks;
using DhubBatches.Completion;
using DhubBatches.Contract;

namespace DhubBatches.Cmdlets;

/// <summary>
/// Get-DhubBatchLog: a batch's log lines, oldest first, streamed page by page; -Tail starts with the newest lines
/// only, and -Follow keeps reading new lines until the batch is complete.
/// </summary>
[Cmdlet(VerbsCommon.Get, "DhubBatchLog")]
[OutputType(typeof(BatchLogEntry))]
public sealed class GetDhubBatchLogCommand : BatchCommand
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(PipelineIdCompleter))]
    public string PipelineId { get; set; } = null!;

    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [Alias("Id")]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(BatchIdCompleter))]
    public string BatchId { get; set; } = null!;

    /// <summary>Only the lines of these steps (step names as in the batch's Steps).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(StepCompleter))]
    public string[]? Step { get; set; }

    /// <summary>Only the newest N lines (then, with -Follow, the new ones).</summary>
    [Parameter]
    [ValidateRange(1, 100000)]
    public int Tail { get; set; }

    /// <summary>Keep reading new lines until the batch is complete.</summary>
    [Parameter]
    public SwitchParameter Follow { get; set; }

    /// <summary>Only lines at this level or above.</summary>
    [Parameter]
    public BatchLogLevel? MinimumLevel { get; set; }

    /// <summary>With -Follow: seconds between reads (fractions allowed).</summary>
    [Parameter]
    [ValidateRange(0.05, 3600.0)]
    public double PollingInterval { get; set; } = 2;

    /// <summary>With -Follow: check in this session, then return a DhubJob that does the following.</summary>
    [Parameter]
    public SwitchParameter AsJob { get; set; }

    /// <summary>-AsJob: the batches to follow, in input order, as the command would have followed them.</summary>
    private readonly List<LogFollow> _toFollow = new List<LogFollow>();

    protected override void BeginProcessing() => RequireWaitForJob(AsJob, Follow, "-Follow");

    protected override void ProcessItem()
    {
        ForItem(() => BatchTarget(PipelineId, BatchId), () =>
        {
            ValidateIds(PipelineId, BatchId);
            var connection = ConnectionFor();
            Require(connection, EngineFeature.Logs, "read batch logs",
                "The dhub Batches API keeps no logs; see how each step went with (Get-DhubBatch -PipelineId <id> -BatchId <id>).Steps.");
            var engine = connection.Engine;
            var reader = engine.CreateLogReader(new LogRequest(PipelineId, BatchId)
            {
                Steps = Step,
                MinimumLevel = MinimumLevel.HasValue ? (int)MinimumLevel.Value : (int?)null,
                Tail = Tail > 0 ? Tail : (int?)null,
            });
            var follow = new LogFollow(PipelineId, BatchId, connection, engine, reader, Follow, TimeSpan.FromSeconds(PollingInterval));
            if (AsJob)
            {
                _toFollow.Add(follow);
                return;
            }
            follow.Run(Pump, this);
        });
    }

    protected override void Complete()
    {
        if (_toFollow.Count == 0)
        {
            return;
        }
        var follows = _toFollow.ToArray();
        WriteJob(async (job, token) =>
        {
            ICommandStreams output = job;
            foreach (var follow in follows)
            {
                try
                {
                    await follow.RunAsync(output, token).ConfigureAwait(false);
                }
                catch (DhubException ex) when (ex.Kind != DhubErrorKind.DhubNotConnected)
                {
                    // As without -AsJob: one batch's error costs only that batch.
                    output.WriteError(DhubErrors.Record(ex, Batch.Placeholder(follow.PipelineId, follow.BatchId, follow.Connection)));
                }
            }
        });
    }
}
