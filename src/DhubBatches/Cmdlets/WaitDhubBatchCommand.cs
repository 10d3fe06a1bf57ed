using System;
using System.Collections.Generic;
using System.Management.Automation;
using DhubBatches.Completion;

namespace DhubBatches.Cmdlets;

/// <summary>
/// Wait-DhubBatch: waits for batches to complete, like Wait-Job: all piped batches in one poll loop, each output as
/// it completes. Ctrl+C stops waiting, never the batches.
/// </summary>
[Cmdlet(VerbsLifecycle.Wait, "DhubBatch", DefaultParameterSetName = InputObjectSet)]
[OutputType(typeof(Batch))]
public sealed class WaitDhubBatchCommand : BatchCommand
{
    private const string InputObjectSet = "InputObject";
    private const string ByIdSet = "ById";

    private readonly List<Batch> _batches = new List<Batch>();

    [Parameter(ParameterSetName = InputObjectSet, Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [ValidateNotNull]
    public Batch[] InputObject { get; set; } = null!;

    [Parameter(ParameterSetName = ByIdSet, Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(PipelineIdCompleter))]
    public string PipelineId { get; set; } = null!;

    [Parameter(ParameterSetName = ByIdSet, Mandatory = true, Position = 1)]
    [Alias("Id")]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(BatchIdCompleter))]
    public string[] BatchId { get; set; } = null!;

    /// <summary>Seconds to wait for all batches; -1 (default) waits without limit.</summary>
    [Parameter]
    [ValidateRange(-1, int.MaxValue)]
    public int Timeout { get; set; } = -1;

    /// <summary>Seconds between polls of each batch (fractions allowed).</summary>
    [Parameter]
    [ValidateRange(0.05, 3600.0)]
    public double PollingInterval { get; set; } = 5;

    /// <summary>Return as soon as any one batch completes.</summary>
    [Parameter]
    public SwitchParameter Any { get; set; }

    /// <summary>Return at once a DhubJob that does the waiting.</summary>
    [Parameter]
    public SwitchParameter AsJob { get; set; }

    protected override void ProcessItem()
    {
        if (ParameterSetName == ByIdSet)
        {
            foreach (var batchId in BatchId)
            {
                ForItem(() => BatchTarget(PipelineId, batchId), () =>
                {
                    ValidateIds(PipelineId, batchId);
                    _batches.Add(Batch.Placeholder(PipelineId, batchId, ConnectionFor()));
                });
            }
            return;
        }
        foreach (var batch in InputObject)
        {
            ForItem(() => batch, () =>
            {
                ValidateIds(batch.PipelineId, batch.Id);
                var connection = ConnectionFor(batch.Connection);
                // An explicit -Connection wins over the one the batch came from.
                _batches.Add(ReferenceEquals(connection, batch.Connection) ? batch : Batch.Placeholder(batch.PipelineId, batch.Id, connection));
            });
        }
    }

    protected override void Complete()
    {
        if (_batches.Count == 0)
        {
            return;
        }
        var rules = new WaitRules(TimeoutFromSeconds(Timeout), TimeSpan.FromSeconds(PollingInterval), Any);
        if (AsJob)
        {
            WriteWaitJob(_batches.ToArray(), rules);
        }
        else
        {
            new BatchWaiter(this, rules).Run(_batches);
        }
    }
}
