using System;
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

    protected override void ProcessItem()
    {
        ForItem(() => BatchTarget(PipelineId, BatchId), () =>
        {
            ValidateIds(PipelineId, BatchId);
            var connection = ConnectionFor();
            Require(connection, EngineFeature.Logs, "read batch logs",
                "The dhub Batches API keeps no logs; see how each step went with (Get-DhubBatch -PipelineId <id> -BatchId <id>).Steps.");
            var reader = connection.Engine.CreateLogReader(new LogRequest(PipelineId, BatchId)
            {
                Steps = Step,
                MinimumLevel = MinimumLevel.HasValue ? (int)MinimumLevel.Value : (int?)null,
                Tail = Tail > 0 ? Tail : (int?)null,
            });
            while (true)
            {
                WriteLines(reader, connection);
                if (!Follow)
                {
                    return;
                }
                if (Pump.Run(reader.IsBatchCompleteAsync))
                {
                    // Lines written just before the batch ended: print what remains, then return.
                    WriteLines(reader, connection);
                    return;
                }
                Pump.Run(token => Task.Delay(TimeSpan.FromSeconds(PollingInterval), token));
            }
        });
    }

    /// <summary>Everything the reader has now, page by page as pages arrive.</summary>
    private void WriteLines(IBatchLogReader reader, DhubConnection connection)
    {
        do
        {
            var lines = Pump.Run(reader.ReadAsync);
            foreach (var line in lines)
            {
                WriteObject(new BatchLogEntry(PipelineId, BatchId, line.Step, line.Timestamp, BatchLogEntry.LevelOf(line.Level), line.Message, connection));
            }
        }
        while (reader.HasMore);
    }
}
