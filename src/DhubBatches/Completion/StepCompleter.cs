using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace DhubBatches.Completion;

/// <summary>Tab on -Step: the step names of the chosen batch, with their state in the tooltip.</summary>
internal sealed class StepCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(
        string commandName,
        string parameterName,
        string wordToComplete,
        CommandAst commandAst,
        IDictionary fakeBoundParameters)
    {
        var pipelineId = CompletionSource.FirstString(fakeBoundParameters, "PipelineId");
        var batchId = CompletionSource.FirstString(fakeBoundParameters, "BatchId") ?? CompletionSource.FirstString(fakeBoundParameters, "Id");
        if (string.IsNullOrEmpty(pipelineId) || string.IsNullOrEmpty(batchId))
        {
            return Array.Empty<CompletionResult>();
        }
        return CompletionSource.Complete(
            wordToComplete,
            fakeBoundParameters,
            "steps\n" + pipelineId + "\n" + batchId,
            TimeSpan.FromSeconds(10),
            async (engine, token) =>
            {
                var batch = await engine.GetAsync(pipelineId!, batchId!, token).ConfigureAwait(false);
                return batch.Steps
                    .Select(s => new CompletionCandidate(s.Name, $"{s.State.ToString().ToLowerInvariant()}"))
                    .ToList();
            });
    }
}
