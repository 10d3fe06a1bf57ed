using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using DhubBatches.Contract;

namespace DhubBatches.Completion;

/// <summary>
/// Tab on -BatchId: recent batches of the chosen pipeline, newest first (those due by now, as Get-DhubBatch -All lists
/// them), with their state in the tooltip.
/// </summary>
internal sealed class BatchIdCompleter : IArgumentCompleter
{
    private const int RecentBatches = 25;

    public IEnumerable<CompletionResult> CompleteArgument(
        string commandName,
        string parameterName,
        string wordToComplete,
        CommandAst commandAst,
        IDictionary fakeBoundParameters)
    {
        var pipelineId = CompletionSource.FirstString(fakeBoundParameters, "PipelineId");
        if (string.IsNullOrEmpty(pipelineId))
        {
            return Array.Empty<CompletionResult>();
        }
        return CompletionSource.Complete(
            wordToComplete,
            fakeBoundParameters,
            "batches\n" + pipelineId,
            TimeSpan.FromSeconds(10),
            async (engine, token) =>
            {
                var page = await engine.GetPageAsync(pipelineId!, BatchQuery.Default, new PageRequest { Want = RecentBatches, PageSize = RecentBatches }, token).ConfigureAwait(false);
                return page.Items
                    .Select(b => new CompletionCandidate(
                        b.Id,
                        (b.EngineState ?? b.State.ToString().ToLowerInvariant()) + "; " + string.Join("; ", b.Steps.Select(s => s.Name + "=" + s.State.ToString().ToLowerInvariant()))))
                    .ToList();
            });
    }
}
