using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using DhubBatches.Completion;
using DhubBatches.Contract;

namespace DhubBatches.Cmdlets;

/// <summary>
/// Get-DhubPipeline: the pipelines the server has, sorted by id, optionally chosen by name or wildcard. Names alone are
/// asked for on the server; a wildcard reads the whole list (every page) and matches here.
/// </summary>
[Cmdlet(VerbsCommon.Get, "DhubPipeline")]
[OutputType(typeof(Pipeline))]
public sealed class GetDhubPipelineCommand : BatchCommand
{
    /// <summary>Pipeline ids or wildcard patterns (case-insensitive); none for every pipeline.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(PipelineIdCompleter))]
    public string[]? PipelineId { get; set; }

    protected override void ProcessItem()
    {
        ForItem(() => PipelineId == null ? null : string.Join(", ", PipelineId), () =>
        {
            var connection = ConnectionFor();
            Require(connection, EngineFeature.Fleet, "list pipelines",
                "The dhub Batches API has no list of pipelines; name the pipeline in the batch commands (Get-DhubBatch -PipelineId).");
            var patterns = (PipelineId ?? Array.Empty<string>()).Distinct(StringComparer.Ordinal).ToList();
            var exact = patterns.Where(p => !WildcardPattern.ContainsWildcardCharacters(p)).ToList();
            var wildcards = patterns.Where(WildcardPattern.ContainsWildcardCharacters).Select(p => WildcardPattern.Get(p, WildcardOptions.IgnoreCase)).ToList();
            // Only names: the server finds them. Any wildcard (or none given): the whole list, matched here.
            IReadOnlyCollection<string>? byName = patterns.Count > 0 && wildcards.Count == 0 ? exact : null;
            var pipelines = Pump.Run(token => connection.Engine.GetPipelinesAsync(byName, token));
            var written = new HashSet<string>(StringComparer.Ordinal);
            foreach (var pipeline in pipelines)
            {
                var wanted = patterns.Count == 0
                    || exact.Contains(pipeline.PipelineId, StringComparer.Ordinal)
                    || wildcards.Any(w => w.IsMatch(pipeline.PipelineId));
                if (wanted && written.Add(pipeline.PipelineId))
                {
                    var item = connection.ToPipeline(pipeline);
                    foreach (var warning in item.Warnings)
                    {
                        WriteWarning(warning);
                    }
                    WriteObject(item);
                }
            }
            foreach (var name in exact.Where(n => !written.Contains(n)))
            {
                WriteItemError(
                    new DhubException(DhubErrorKind.DhubPipelineNotFound, $"Pipeline '{name}' was not found: flow '{FlowOf(connection)}' has no deployment of that name (names are case-sensitive)."),
                    name);
            }
        });
    }

    private static string FlowOf(DhubConnection connection) => connection.PrefectFlowName ?? "run-pipeline";
}
