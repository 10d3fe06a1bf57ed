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
/// them), with their state in the tooltip; with no pipeline chosen, the newest of every pipeline (Prefect).
/// </summary>
internal sealed class BatchIdCompleter : IArgumentCompleter
{
    private const int RecentBatches = 25;

    private static readonly BatchQuery s_withoutSteps = new BatchQuery { NoSteps = true };

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
            // No pipeline yet (Get-DhubBatch -BatchId <Tab>): the newest runs of every pipeline, where the backend can list them.
            return CompletionSource.Complete(
                wordToComplete,
                fakeBoundParameters,
                "batches\n",
                TimeSpan.FromSeconds(10),
                async (engine, token) =>
                {
                    if (!engine.Supports(EngineFeature.Fleet))
                    {
                        return Array.Empty<CompletionCandidate>();
                    }
                    var page = await engine.GetFleetPageAsync(s_withoutSteps, new PageRequest { Want = RecentBatches, PageSize = RecentBatches }, token).ConfigureAwait(false);
                    return page.Items
                        .Select(b => new CompletionCandidate(b.Id, b.PipelineId + "; " + (b.EngineState ?? b.State.ToString().ToLowerInvariant())))
                        .ToList();
                });
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
