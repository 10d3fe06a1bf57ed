using System;
using System.Management.Automation;
using DhubBatches.Completion;

namespace DhubBatches.Cmdlets;

/// <summary>Remove-DhubBatch: deletes a batch, stopping it first when it is still running.</summary>
[Cmdlet(VerbsCommon.Remove, "DhubBatch", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(void))]
public sealed class RemoveDhubBatchCommand : BatchCommand
{
    /// <summary>How long a running batch may take to stop before the delete gives up (Prefect: cancel, then wait).</summary>
    private static readonly TimeSpan s_stopTimeout = TimeSpan.FromSeconds(60);

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(PipelineIdCompleter))]
    public string PipelineId { get; set; } = null!;

    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [Alias("Id")]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(BatchIdCompleter))]
    public string BatchId { get; set; } = null!;

    /// <summary>Skips the confirmation prompt; -WhatIf still only reports.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        ForItem(PipelineId + "/" + BatchId, () =>
        {
            ValidateIds(PipelineId, BatchId);
            if (!ShouldRemove($"{PipelineId}/{BatchId}"))
            {
                return;
            }
            Await(token => Engine.RemoveAsync(PipelineId, BatchId, s_stopTimeout, token));
            WriteVerbose($"Removed batch {PipelineId}/{BatchId}.");
        });
    }

    /// <summary>-WhatIf always wins; otherwise -Force skips the (ConfirmImpact High) prompt.</summary>
    private bool ShouldRemove(string target)
    {
        const string action = "Remove batch (a running batch is stopped first)";
        var whatIf = MyInvocation.BoundParameters.TryGetValue("WhatIf", out var value)
            ? value is SwitchParameter s && s.IsPresent
            : SessionState.PSVariable.GetValue("WhatIfPreference") is { } preference && LanguagePrimitives.IsTrue(preference);
        if (whatIf || !Force)
        {
            return ShouldProcess(target, action);
        }
        return true;
    }
}
