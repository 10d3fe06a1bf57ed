using System;
using System.Management.Automation;
using DhubBatches.Completion;
using DhubBatches.Contract;

namespace DhubBatches.Cmdlets;

/// <summary>Remove-DhubBatch: deletes a batch, stopping it first when it is still running.</summary>
[Cmdlet(VerbsCommon.Remove, "DhubBatch", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(void))]
public sealed class RemoveDhubBatchCommand : BatchCommand
{
    private const string Action = "Remove batch (a running batch is stopped first)";

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(PipelineIdCompleter))]
    public string PipelineId { get; set; } = null!;

    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [Alias("Id")]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(BatchIdCompleter))]
    public string BatchId { get; set; } = null!;

    /// <summary>
    /// Skips the confirmation prompt (an explicit -Confirm still asks; -WhatIf still only reports), and deletes a
    /// batch whose stop does not finish within 10 s (or -Timeout, if shorter) by marking it stopped first, with a warning.
    /// </summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Seconds a running batch may take to stop before the delete gives up (with -Force: at most 10, then it goes ahead).</summary>
    [Parameter]
    [ValidateRange(0, 86400)]
    public int Timeout { get; set; } = 60;

    protected override void ProcessItem()
    {
        ForItem(() => BatchTarget(PipelineId, BatchId), () =>
        {
            ValidateIds(PipelineId, BatchId);
            var connection = ConnectionFor();
            var target = $"{PipelineId}/{BatchId}";
            if (!ShouldRemove(target))
            {
                return;
            }
            var options = new RemoveOptions { StopTimeout = TimeSpan.FromSeconds(Timeout), Force = Force };
            Pump.Run(token => connection.Engine.RemoveAsync(PipelineId, BatchId, options, token));
            WriteVerbose($"Removed batch {target}.");
        });
    }

    /// <summary>-WhatIf always wins and an explicit -Confirm always asks; otherwise -Force skips the (ConfirmImpact High) prompt.</summary>
    private bool ShouldRemove(string target)
    {
        var confirm = MyInvocation.BoundParameters.TryGetValue("Confirm", out var value) && value is SwitchParameter s && s.IsPresent;
        if (IsWhatIf || confirm || !Force)
        {
            return ShouldProcess(target, Action);
        }
        // The line ShouldProcess writes under -Verbose, which -Force must not lose.
        WriteVerbose($"Performing the operation \"{Action}\" on target \"{target}\".");
        return true;
    }
}
