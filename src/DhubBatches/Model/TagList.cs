using System.Collections.Generic;
using System.Collections.ObjectModel;

namespace DhubBatches;

/// <summary>
/// A pipeline's tags. A collection rather than an array only so that <see cref="ToString"/> gives <c>nightly, sales</c>:
/// Export-Csv writes <c>ToString()</c> of every cell, and an array would print its type name there.
/// </summary>
public sealed class TagList : ReadOnlyCollection<string>
{
    internal TagList(IList<string> tags)
        : base(tags)
    {
    }

    public override string ToString() => string.Join(", ", this);
}
