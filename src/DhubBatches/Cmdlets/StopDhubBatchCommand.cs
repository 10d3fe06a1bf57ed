using System;
using System.Collections.Generic;
using System.Management.Automation;
using DhubBatches.Completion;
using DhubBatches.Contract;

namespace DhubBatches.Cmdlets;

/// <summary>Stop-DhubBatch: asks the server to stop a batch; -Wait waits until it is complete.</summary>
[Cmdlet(VerbsLifecycle.Stop, "DhubBatch", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(Batch))]
public sealed class StopDhubBatchCommand : BatchCommand
{
    /// <summary>A stop usually lands within seconds; poll faster than Wait-DhubBatch's default.</summary>
    private static readonly TimeSpan s_pollInterval = TimeSpan.FromSeconds(1);

    private readonly List<Batch> _stopped = new List<Batch>();

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(PipelineIdCompleter))]
    public string PipelineId { get; set; } = null!;

    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [Alias("Id")]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(BatchIdCompleter))]
    public string BatchId { get; set; } = null!;

    [Parameter]
    public SwitchParameter Wait { get; set; }

    /// <summary>With -Wait: seconds to wait in all; -1 waits without limit.</summary>
    [Parameter]
    [ValidateRange(-1, int.MaxValue)]
    public int Timeout { get; set; } = -1;

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>
    /// For a batch that is already stopping and that nothing acts on (Prefect: stuck in CANCELLING because its worker
    /// is gone), mark it stopped directly. Infrastructure that may still be running is not stopped.
    /// </summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>With -Wait: stop in this session, then return a DhubJob that does the waiting.</summary>
    [Parameter]
    public SwitchParameter AsJob { get; set; }

    protected override void BeginProcessing() => RequireWaitForJob(AsJob, Wait, "-Wait");

    protected override void ProcessItem()
    {
        ForItem(() => BatchTarget(PipelineId, BatchId), () =>
        {
            ValidateIds(PipelineId, BatchId);
            var connection = ConnectionFor();
            var what = Force ? "Stop batch (marking it stopped if a stop is stuck)" : "Stop batch";
            if (!ShouldProcess($"{PipelineId}/{BatchId}", what))
            {
                return;
            }
            var options = new StopOptions { Force = Force };
            var outcome = Pump.Run(token => connection.Engine.StopAsync(PipelineId, BatchId, options, token));
            switch (outcome)
            {
                case StopOutcome.AlreadyFinished:
                    WriteWarning($"Batch {PipelineId}/{BatchId} had already finished; nothing was stopped.");
                    break;
                case StopOutcome.AlreadyStopping:
                    WriteWarning($"Batch {PipelineId}/{BatchId} was already stopping; nothing new was asked. If nothing acts on the stop " +
                        "(for example its worker is gone), Stop-DhubBatch -Force marks it stopped.");
                    break;
                default:
                    WriteVerbose($"Stop requested for batch {PipelineId}/{BatchId} ({outcome}).");
                    break;
            }
            if (Wait)
            {
                _stopped.Add(Batch.Placeholder(PipelineId, BatchId, connection));
            }
            else if (PassThru)
            {
                WriteBatch(connection.ToBatch(Pump.Run(token => connection.Engine.GetAsync(PipelineId, BatchId, token))));
            }
        });
    }

    protected override void Complete()
    {
        if (_stopped.Count == 0)
        {
            return;
        }
        // A stopped batch is expected to end unfinished, so that is no failure here; only a timeout is reported.
        var rules = new WaitRules(TimeoutFromSeconds(Timeout), s_pollInterval)
        {
            WriteBatches = PassThru,
            ReportFailures = false,
            WarnStuckStops = true,
        };
        if (AsJob)
        {
            WriteWaitJob(_stopped.ToArray(), rules);
        }
        else
        {
            new BatchWaiter(this, rules).Run(_stopped);
        }
    }
}
