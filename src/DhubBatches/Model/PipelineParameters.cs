using System.Collections.Generic;

namespace DhubBatches;

/// <summary>A pipeline's declared parameters → their JSON schema type, in the flow's order (shows as <c>partitions=integer; …</c>).</summary>
public sealed class PipelineParameters : OrderedMap<string>
{
    internal PipelineParameters(IReadOnlyList<KeyValuePair<string, string>> parameters)
        : base(parameters)
    {
    }
}
