using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace DhubBatches.Completion;

/// <summary>
/// Tab on -PipelineId: the Prefect deployments of the connection's flow, or on dhub (which has no pipeline list)
/// the pipelines this connection has already used.
/// </summary>
internal sealed class PipelineIdCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(
        string commandName,
        string parameterName,
        string wordToComplete,
        CommandAst commandAst,
        IDictionary fakeBoundParameters) =>
        CompletionSource.Complete(
            wordToComplete,
            fakeBoundParameters,
            "pipelines",
            TimeSpan.FromSeconds(30),
            async (engine, token) =>
            {
                var names = await engine.GetPipelineNamesAsync(token).ConfigureAwait(false);
                return names.Select(n => new CompletionCandidate(n, $"Pipeline {n} ({engine.Backend})")).ToList();
            });
}
