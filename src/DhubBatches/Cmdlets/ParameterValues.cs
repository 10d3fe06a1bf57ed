using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Management.Automation;
using System.Numerics;

namespace DhubBatches.Cmdlets;

/// <summary>
/// Turns the values of Start-DhubBatch -Parameter into the JSON values the user means, before any request: every
/// integer type, float/double/decimal, bool, string, DateTime/DateTimeOffset (ISO 8601), hashtables and
/// [pscustomobject] (objects), arrays (lists). Anything else is DhubBadRequest naming where it is, rather than a
/// type name sent as text.
/// </summary>
internal static class ParameterValues
{
    public static IDictionary<string, object?> FromHashtable(IDictionary table) => Object(table, path: null);

    private static Dictionary<string, object?> Object(IDictionary table, string? path)
    {
        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in table)
        {
            var key = entry.Key is PSObject pso ? pso.BaseObject?.ToString() : entry.Key?.ToString();
            if (string.IsNullOrEmpty(key))
            {
                throw Unsendable(path ?? "-Parameter", "an empty key");
            }
            result[key!] = Value(entry.Value, path == null ? key! : path + "." + key);
        }
        return result;
    }

    private static object? Value(object? value, string path)
    {
        var wrapped = value as PSObject;
        if (wrapped != null)
        {
            if (wrapped.BaseObject is PSCustomObject)
            {
                return CustomObject(wrapped, path);
            }
            value = wrapped.BaseObject;
        }
        switch (value)
        {
            case null:
                return null;
            case string or bool:
                return value;
            case char c:
                return c.ToString();
            case sbyte or byte or short or ushort or int or uint or long:
                return Convert.ToInt64(value, CultureInfo.InvariantCulture);
            case ulong u:
                return u <= long.MaxValue ? (object)(long)u : u;
            case BigInteger big when big >= long.MinValue && big <= long.MaxValue:
                return (long)big;
            case float f when !float.IsNaN(f) && !float.IsInfinity(f):
                // The digits the user wrote ([float]1.1 is 1.1, not 1.100000023841858).
                return double.Parse(f.ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
            case double d when !double.IsNaN(d) && !double.IsInfinity(d):
                return d;
            case decimal:
                return value;
            case DateTime dt:
                return dt.ToString("o", CultureInfo.InvariantCulture);
            case DateTimeOffset dto:
                return dto.ToString("o", CultureInfo.InvariantCulture);
            case Guid g:
                return g.ToString();
            case Enum e:
                return e.ToString();
            case IDictionary dictionary:
                return Object(dictionary, path);
            case IEnumerable sequence when !(value is ScriptBlock):
                var list = new List<object?>();
                var index = 0;
                foreach (var item in sequence)
                {
                    list.Add(Value(item, path + "[" + index.ToString(CultureInfo.InvariantCulture) + "]"));
                    index++;
                }
                return list;
            case float or double:
                throw Unsendable(path, "a number JSON cannot hold (NaN or infinity)");
            default:
                throw Unsendable(path, "a value of type [" + value.GetType().FullName + "]");
        }
    }

    private static Dictionary<string, object?> CustomObject(PSObject value, string path)
    {
        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var property in value.Properties)
        {
            result[property.Name] = Value(property.Value, path + "." + property.Name);
        }
        return result;
    }

    private static DhubException Unsendable(string path, string what) => new DhubException(
        DhubErrorKind.DhubBadRequest,
        $"-Parameter '{path}' is {what}, which cannot be sent as JSON. Use a string, number, bool, date, hashtable, [pscustomobject] or array.");
}
