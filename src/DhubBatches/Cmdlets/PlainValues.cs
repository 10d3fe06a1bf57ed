using System.Collections;
using System.Collections.Generic;
using System.Management.Automation;

namespace DhubBatches.Cmdlets;

/// <summary>
/// Unwraps PowerShell values (PSObject, hashtables, arrays) into plain .NET values the engine can serialize
/// without referencing PowerShell.
/// </summary>
internal static class PlainValues
{
    public static IDictionary<string, object?> FromHashtable(IDictionary table)
    {
        var result = new Dictionary<string, object?>();
        foreach (DictionaryEntry entry in table)
        {
            result[entry.Key?.ToString() ?? string.Empty] = Convert(entry.Value);
        }
        return result;
    }

    private static object? Convert(object? value)
    {
        if (value is PSObject pso)
        {
            value = pso.BaseObject;
        }
        switch (value)
        {
            case null:
                return null;
            case string or bool or int or long or double or decimal or float or short or byte or uint or ulong or System.DateTime or System.DateTimeOffset or System.Guid:
                return value;
            case IDictionary dictionary:
                return FromHashtable(dictionary);
            case IEnumerable sequence:
                var list = new List<object?>();
                foreach (var item in sequence)
                {
                    list.Add(Convert(item));
                }
                return list;
            default:
                return value.ToString();
        }
    }
}
