using System;
using System.Collections;
using System.Collections.Generic;
using System.Management.Automation;
using DhubBatches.Completion;
using DhubBatches.Contract;

namespace DhubBatches.Cmdlets;

/// <summary>What Start-DhubBatch does when the pipeline already has a batch that is not complete.</summary>
public enum IfActiveAction
{
    Start,
    Skip,
    Fail,
}

/// <summary>Start-DhubBatch: starts a batch of a pipeline; with -Wait, also waits for it.</summary>
[Cmdlet(VerbsLifecycle.Start, "DhubBatch", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(Batch))]
public sealed class StartDhubBatchCommand : BatchCommand
{
    private readonly List<Batch> _toWaitFor = new List<Batch>();

    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(PipelineIdCompleter))]
    public string PipelineId { get; set; } = null!;

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? PipelineVersion { get; set; }

    /// <summary>Prefect run parameters (merged over the deployment's own).</summary>
    [Parameter]
    [ValidateNotNull]
    public Hashtable? Parameter { get; set; }

    [Parameter]
    public IfActiveAction IfActive { get; set; } = IfActiveAction.Start;

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

    /// <summary>With -Wait: start in this session, then return a DhubJob that does the waiting.</summary>
    [Parameter]
    public SwitchParameter AsJob { get; set; }

    protected override void BeginProcessing() => RequireWaitForJob(AsJob, Wait, "-Wait");

    protected override void ProcessItem()
    {
        ForItem(() => PipelineId, () =>
        {
            ValidateIds(PipelineId);
            var request = new StartRequest(PipelineId)
            {
                PipelineVersion = PipelineVersion,
                Parameters = Parameter == null ? null : ParameterValues.FromHashtable(Parameter),
            };
            var connection = ConnectionFor();
            if (IfActive != IfActiveAction.Start && ActiveBatch(connection) is { } active)
            {
                var described = $"batch {active.Id} ({active.StateText})";
                if (IfActive == IfActiveAction.Skip)
                {
                    WriteVerbose($"Pipeline '{PipelineId}' already has an active {described}; not starting another (-IfActive Skip).");
                    Output(active);
                    return;
                }
                if (IsWhatIf)
                {
                    // What it would do is fail: say so, as -WhatIf does, instead of writing the error.
                    ShouldProcess($"Not starting a batch of pipeline '{PipelineId}': it already has an active {described}; -IfActive Fail would write DhubBatchActive.", "Start-DhubBatch -IfActive Fail", "Start-DhubBatch");
                    return;
                }
                var steps = active.Steps.Count > 0 ? "; " + active.StepSummary : string.Empty;
                throw new DhubException(DhubErrorKind.DhubBatchActive, $"Pipeline '{PipelineId}' already has an active {described}{steps}.");
            }

            var what = PipelineVersion == null ? "Start batch" : $"Start batch (version {PipelineVersion})";
            if (!ShouldProcess(PipelineId, what))
            {
                return;
            }
            Output(connection.ToBatch(Pump.Run(token => connection.Engine.StartAsync(request, token))));
        });
    }

    protected override void Complete()
    {
        if (!Wait || _toWaitFor.Count == 0)
        {
            return;
        }
        var rules = new WaitRules(TimeoutFromSeconds(Timeout), TimeSpan.FromSeconds(PollingInterval));
        if (AsJob)
        {
            WriteWaitJob(_toWaitFor.ToArray(), rules);
        }
        else
        {
            new BatchWaiter(this, rules).Run(_toWaitFor);
        }
    }

    private void Output(Batch batch)
    {
        if (Wait)
        {
            _toWaitFor.Add(batch); // written by the waiter as it completes
        }
        else
        {
            WriteBatch(batch);
        }
    }

    private Batch? ActiveBatch(DhubConnection connection)
    {
        try
        {
            var latest = connection.ToBatch(Pump.Run(token => connection.Engine.GetLatestAsync(PipelineId, token)));
            return latest.IsComplete ? null : latest;
        }
        catch (DhubException ex) when (ex.Kind == DhubErrorKind.DhubBatchNotFound)
        {
            return null; // the pipeline has no batches yet
        }
    }
}
