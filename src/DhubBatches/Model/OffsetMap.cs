using System.Collections.Generic;

namespace DhubBatches;

/// <summary>Ordered partition → offset map of a step (<c>$step.Offsets.partition_0</c>; shows as <c>partition_0=1000; …</c>).</summary>
public sealed class OffsetMap : OrderedMap<long>
{
    internal OffsetMap(IReadOnlyList<KeyValuePair<string, long>> offsets)
        : base(offsets)
    {
    }
}
