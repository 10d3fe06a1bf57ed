using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace DhubBatches.Emulator.Prefect.Flows;

/// <summary>
/// Python's <c>repr()</c> of the values Prefect puts into messages (state messages, log lines, validation
/// errors), so the emulator's wording matches what a real flow process writes.
/// </summary>
internal static class PythonText
{
    /// <summary><c>repr(str)</c>: single quotes unless the text holds a single quote and no double quote.</summary>
    public static string Repr(string text)
    {
        var quote = text.Contains('\'') && !text.Contains('"') ? '"' : '\'';
        var b = new StringBuilder(text.Length + 2).Append(quote);
        foreach (var c in text)
        {
            switch (c)
            {
                case '\\':
                    b.Append("\\\\");
                    break;
                case '\n':
                    b.Append("\\n");
                    break;
                case '\t':
                    b.Append("\\t");
                    break;
                case '\r':
                    b.Append("\\r");
                    break;
                default:
                    if (c == quote)
                    {
                        b.Append('\\');
                    }

                    b.Append(c);
                    break;
            }
        }

        return b.Append(quote).ToString();
    }

    /// <summary><c>repr(list_of_str)</c>, e.g. <c>['pipeline_id', 'partitions']</c>.</summary>
    public static string ReprList(IEnumerable<string> items) => "[" + string.Join(", ", items.Select(Repr)) + "]";

    /// <summary><c>repr(dict)</c> of partition offsets, e.g. <c>{'partition_0': 1000, 'partition_1': 500}</c>.</summary>
    public static string ReprOffsets(IEnumerable<(string Partition, long Offset)> offsets) =>
        "{" + string.Join(", ", offsets.Select(o => Repr(o.Partition) + ": " + o.Offset.ToString(CultureInfo.InvariantCulture))) + "}";

    /// <summary><c>json.dumps</c> of partition offsets (Python's separators: <c>", "</c> and <c>": "</c>).</summary>
    public static string JsonDumps(IEnumerable<(string Partition, long Offset)> offsets) =>
        "{" + string.Join(", ", offsets.Select(o => "\"" + o.Partition + "\": " + o.Offset.ToString(CultureInfo.InvariantCulture))) + "}";

    /// <summary><c>repr()</c> of a JSON value as Python sees it after <c>json.loads</c> (True, None, 'text', {'a': 1}).</summary>
    public static string Repr(JsonNode? node)
    {
        if (node is null)
        {
            return "None";
        }

        switch (node.GetValueKind())
        {
            case JsonValueKind.String:
                return Repr(node.GetValue<string>());
            case JsonValueKind.True:
                return "True";
            case JsonValueKind.False:
                return "False";
            case JsonValueKind.Number:
                return node.ToJsonString();
            case JsonValueKind.Array:
                return "[" + string.Join(", ", node.AsArray().Select(Repr)) + "]";
            case JsonValueKind.Object:
                return "{" + string.Join(", ", node.AsObject().Select(p => Repr(p.Key) + ": " + Repr(p.Value))) + "}";
            default:
                return "None";
        }
    }
}
