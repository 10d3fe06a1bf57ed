using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Text.Json.Nodes;

namespace DhubBatches.Engine.Prefect;

/// <summary>Run parameters (the JSON-ready values StartRequest promises) → the <c>parameters</c> object Prefect receives.</summary>
internal static class ParameterJson
{
    public static JsonObject Object(IDictionary<string, object?> values)
    {
        var result = new JsonObject();
        foreach (var pair in values)
        {
            result[pair.Key] = Node(pair.Value);
        }
        return result;
    }

    private static JsonNode? Node(object? value) => value switch
    {
        null => null,
        string s => JsonValue.Create(s),
        bool b => JsonValue.Create(b),
        long l => JsonValue.Create(l),
        ulong u => JsonValue.Create(u),
        int i => JsonValue.Create(i),
        double d => JsonValue.Create(d),
        decimal m => JsonValue.Create(m),
        IDictionary<string, object?> dictionary => Object(dictionary),
        IEnumerable sequence => Array(sequence),
        _ => JsonValue.Create(string.Format(CultureInfo.InvariantCulture, "{0}", value)),
    };

    private static JsonArray Array(IEnumerable values)
    {
        var result = new JsonArray();
        foreach (var value in values)
        {
            result.Add(Node(value));
        }
        return result;
    }
}
