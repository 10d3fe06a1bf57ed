using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace DhubBatches;

/// <summary>
/// The values a pipeline's runs get for parameters not given (shows as <c>pipeline_id=sales; partitions=2</c>); a value
/// is a string, a whole (<see cref="long"/>) or real number, a bool, null, an array or an ordered dictionary.
/// </summary>
public sealed class ParameterDefaults : OrderedMap<object?>
{
    internal ParameterDefaults(IReadOnlyList<KeyValuePair<string, object?>> defaults)
        : base(defaults)
    {
    }

    /// <summary>As JSON spells scalars (<c>true</c>, <c>null</c>), with lists in brackets and objects in braces.</summary>
    private protected override string Format(object? value) => value switch
    {
        null => "null",
        string text => text,
        bool flag => flag ? "true" : "false",
        IDictionary map => "{" + string.Join("; ", map.Keys.Cast<object>().Select(k => k + "=" + Format(map[k]))) + "}",
        IEnumerable list => "[" + string.Join(", ", list.Cast<object?>().Select(Format)) + "]",
        IFormattable number => number.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? string.Empty,
    };
}
