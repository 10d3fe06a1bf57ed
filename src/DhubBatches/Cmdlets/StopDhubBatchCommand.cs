using System;
using System.Collections.Generic;
using System.Management.Automation;
using DhubBatches.Completion;

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

    protected override void ProcessRecord()
    {
        ForItem(PipelineId + "/" + BatchId, () =>
        {
            ValidateIds(PipelineId, BatchId);
            if (!ShouldProcess($"{PipelineId}/{BatchId}", "Stop batch"))
            {
                return;
            }
            var outcome = Await(token => Engine.StopAsync(PipelineId, BatchId, token));
            if (outcome == StopOutcome.AlreadyFinished)
            {
                WriteWarning($"Batch {PipelineId}/{BatchId} had already finished; nothing was stopped.");
            }
            else
            {
                WriteVerbose($"Stop requested for batch {PipelineId}/{BatchId} ({outcome}).");
            }
            if (Wait)
            {
                _stopped.Add(new Batch(PipelineId, BatchId, ResolvedConnection.Backend));
            }
            else if (PassThru)
            {
                WriteObject(Await(token => Engine.GetAsync(PipelineId, BatchId, token)));
            }
        });
    }

    protected override void EndProcessing()
    {
        if (_stopped.Count == 0)
        {
            return;
        }
        // A stopped batch is expected to end unfinished, so that is no failure here; only a timeout is reported.
        new BatchWaiter(this, Engine, TimeoutFromSeconds(Timeout), s_pollInterval)
        {
            WriteBatches = PassThru,
            ReportFailures = false,
        }.Run(_stopped);
    }
}
