using System;
using System.Collections.Generic;
using System.Management.Automation;
using DhubBatches.Completion;
using DhubBatches.Contract;

namespace DhubBatches.Cmdlets;

/// <summary>
/// Restart-DhubBatch: runs a finished batch again in place, as <c>prefect flow-run retry</c> does (the same batch id,
/// a new attempt); -Wait follows the new attempt to its end.
/// </summary>
[Cmdlet(VerbsLifecycle.Restart, "DhubBatch", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(Batch))]
public sealed class RestartDhubBatchCommand : BatchCommand
{
    private readonly List<Batch> _restarted = new List<Batch>();

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

    /// <summary>With -Wait: seconds between polls (fractions allowed).</summary>
    [Parameter]
    [ValidateRange(0.05, 3600.0)]
    public double PollingInterval { get; set; } = 5;

    /// <summary>Without -Wait: output the restarted batch.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>With -Wait: restart in this session, then return a DhubJob that does the waiting.</summary>
    [Parameter]
    public SwitchParameter AsJob { get; set; }

    protected override void BeginProcessing() => RequireWaitForJob(AsJob, Wait, "-Wait");

    protected override void ProcessItem()
    {
        ForItem(() => BatchTarget(PipelineId, BatchId), () =>
        {
            ValidateIds(PipelineId, BatchId);
            var connection = ConnectionFor();
            Require(connection, EngineFeature.Restart, "run a batch again",
                $"Start a new batch instead: Start-DhubBatch -PipelineId {PipelineId}");
            if (!ShouldProcess($"{PipelineId}/{BatchId}", "Restart batch"))
            {
                return;
            }
            var batch = connection.ToBatch(Pump.Run(token => connection.Engine.RestartAsync(PipelineId, BatchId, token)));
            WriteVerbose($"Restarted batch {PipelineId}/{BatchId} ({batch.StateText}).");
            if (Wait)
            {
                _restarted.Add(batch);
            }
            else if (PassThru)
            {
                WriteBatch(batch);
            }
        });
    }

    protected override void Complete()
    {
        if (_restarted.Count == 0)
        {
            return;
        }
        var rules = new WaitRules(TimeoutFromSeconds(Timeout), TimeSpan.FromSeconds(PollingInterval));
        if (AsJob)
        {
            WriteWaitJob(_restarted.ToArray(), rules);
        }
        else
        {
            new BatchWaiter(this, rules).Run(_restarted);
        }
    }
}
