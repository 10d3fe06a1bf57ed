using System.Collections.Generic;
using System.Collections.ObjectModel;

namespace DhubBatches;

/// <summary>
/// The steps of a batch in server order. A collection rather than an array only so that
/// <see cref="ToString"/> gives the step summary: Export-Csv writes <c>ToString()</c> of every cell, and an
/// array would print its type name there. PowerShell enumerates and indexes it like an array.
/// </summary>
public sealed class BatchStepList : ReadOnlyCollection<BatchStep>
{
    public BatchStepList(IList<BatchStep> steps)
        : base(steps)
    {
    }

    public static BatchStepList Empty { get; } = new BatchStepList(new BatchStep[0]);

    /// <summary><c>extract=success; transform=running; load=pending</c>.</summary>
    public override string ToString() => string.Join("; ", this);
}
