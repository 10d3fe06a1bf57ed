using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace DhubBatches.Emulator.Faults;

/// <summary>
/// Damages one record of an otherwise good JSON answer, so a client's handling of one bad record among good ones
/// can be tested: dhub list pages (<c>items</c> values are JSON strings) and batches, Prefect arrays and objects.
/// </summary>
internal static partial class RecordDamage
{
    // Numbers in spellings JsonNode cannot hold travel as marked strings and are put back raw after writing.
    private const char Mark = '\u0001';

    public static IReadOnlyList<string> Variants(FaultMode mode) => mode switch
    {
        FaultMode.NonIntegerOffset => new[] { "fraction", "string", "object" },
        FaultMode.NumberSpelling => new[] { "exponent", "decimal" },
        FaultMode.MissingField => new[] { "id", "state" },
        _ => Array.Empty<string>(),
    };

    public static byte[] Apply(FaultRule rule, string path, byte[] body)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(body);
        }
        catch (JsonException)
        {
            return body;
        }

        if (root is null)
        {
            return body;
        }

        var prefect = path.StartsWith("/prefect/", StringComparison.Ordinal);
        root = prefect ? Prefect(rule, root) : Dhub(rule, root);
        return Encoding.UTF8.GetBytes(Unmark(root.ToJsonString(Hosting.JsonResponse.ControlJson)));
    }

    private static JsonNode Dhub(FaultRule rule, JsonNode root)
    {
        if (root is JsonObject page && page["items"] is JsonObject items)
        {
            var keys = items.Select(p => p.Key).ToList();
            var key = rule.TargetId is { } id ? keys.FirstOrDefault(k => k == id) : keys.ElementAtOrDefault(rule.Index ?? 0);
            if (key is null || items[key]?.GetValueKind() != JsonValueKind.String)
            {
                return root;
            }

            var text = items[key]!.GetValue<string>();
            // The quirk of the real list: each batch is a JSON string, so damage happens inside it.
            items[key] = rule.Mode == FaultMode.CorruptItem
                ? text[..(text.Length / 2)]
                : Unmark(DamageBatch(rule, JsonNode.Parse(text)!).ToJsonString());
            return root;
        }

        // A single batch has no embedded JSON string to cut; the other modes damage it in place.
        return rule.Mode == FaultMode.CorruptItem ? root : DamageBatch(rule, root);
    }

    private static JsonNode DamageBatch(FaultRule rule, JsonNode batch)
    {
        if (batch["state"] is not JsonObject state)
        {
            return batch;
        }

        switch (rule.Mode)
        {
            case FaultMode.WrongType:
                state["state"] = 7;
                break;
            case FaultMode.MissingField:
                ((JsonObject)batch).Remove(rule.Variant == "state" ? "state" : "id");
                break;
            case FaultMode.NonIntegerOffset or FaultMode.NumberSpelling when state["steps"] is JsonObject steps:
                foreach (var (_, step) in steps)
                {
                    if (step?["offsets"] is JsonObject offsets)
                    {
                        DamageOffsets(rule, offsets);
                    }
                }

                break;
        }

        return batch;
    }

    private static JsonNode Prefect(FaultRule rule, JsonNode root)
    {
        if (root is not JsonArray list)
        {
            return rule.Mode == FaultMode.CorruptItem ? Unparseable() : DamageRecord(rule, (JsonObject)root);
        }

        var index = rule.TargetId is { } id
            ? list.Select((e, i) => (e, i)).FirstOrDefault(x => x.e?["id"]?.GetValueKind() == JsonValueKind.String && x.e["id"]!.GetValue<string>() == id, (null, -1)).i
            : rule.Index ?? (rule.Mode is FaultMode.NonIntegerOffset or FaultMode.NumberSpelling ? FirstOffsets(list) : 0);
        if (index < 0 || index >= list.Count || list[index] is not JsonObject record)
        {
            return root;
        }

        if (rule.Mode == FaultMode.CorruptItem)
        {
            list[index] = Unparseable();
        }
        else
        {
            // Damaged in place: the element stays where it is in the list.
            DamageRecord(rule, record);
        }

        return root;
    }

    /// <summary>An object no Prefect model accepts: the fields it shares with every model have the wrong JSON types.</summary>
    private static JsonObject Unparseable() => new() { ["id"] = 42, ["created"] = false, ["name"] = new JsonObject(), ["state_type"] = new JsonArray("RUNNING") };

    private static JsonObject DamageRecord(FaultRule rule, JsonObject record)
    {
        switch (rule.Mode)
        {
            case FaultMode.MissingField:
                foreach (var name in rule.Variant == "state" ? new[] { "state", "state_type", "state_name", "state_id" } : new[] { "id" })
                {
                    record.Remove(name);
                }

                break;
            case FaultMode.WrongType:
                record["run_count"] = "two";
                record["expected_start_time"] = 12;
                record["state_type"] = 7;
                break;
            case FaultMode.NonIntegerOffset or FaultMode.NumberSpelling when record.ContainsKey("data"):
                record["data"] = DamageData(rule, record["data"]);
                break;
            case FaultMode.NumberSpelling:
                foreach (var name in new[] { "run_count", "flow_run_run_count" })
                {
                    if (record[name]?.GetValueKind() == JsonValueKind.Number)
                    {
                        record[name] = Spelled(rule, record[name]!.GetValue<long>());
                    }
                }

                break;
        }

        return record;
    }

    /// <summary>Offsets artifact data: an object, a JSON string holding one, or a table (a list of rows).</summary>
    private static JsonNode? DamageData(FaultRule rule, JsonNode? data)
    {
        if (data?.GetValueKind() == JsonValueKind.String)
        {
            JsonNode? inner;
            try
            {
                inner = JsonNode.Parse(data.GetValue<string>());
            }
            catch (JsonException)
            {
                return data;
            }

            // Written back the way json.dumps spaces it, so only the damage differs from the original string.
            return JsonValue.Create(Unmark(PythonDumps(DamageData(rule, inner) ?? inner)));
        }

        var target = data switch
        {
            JsonObject o => o,
            JsonArray { Count: > 0 } rows when rows[0] is JsonObject first => first,
            _ => null,
        };
        if (target is not null)
        {
            DamageOffsets(rule, target);
        }

        return data;
    }

    /// <summary><c>json.dumps</c>' layout: <c>", "</c> between items and <c>": "</c> after keys.</summary>
    private static string PythonDumps(JsonNode? node) => node switch
    {
        JsonObject o => "{" + string.Join(", ", o.Select(p => JsonSerializer.Serialize(p.Key) + ": " + PythonDumps(p.Value))) + "}",
        JsonArray a => "[" + string.Join(", ", a.Select(PythonDumps)) + "]",
        null => "null",
        _ => node.ToJsonString(),
    };

    private static void DamageOffsets(FaultRule rule, JsonObject offsets)
    {
        if (rule.Mode == FaultMode.NonIntegerOffset)
        {
            offsets["progress"] = rule.Variant switch
            {
                "string" => JsonValue.Create("1000.0"),
                "object" => new JsonObject(),
                _ => JsonValue.Create(0.5),
            };
            return;
        }

        foreach (var key in offsets.Select(p => p.Key).ToList())
        {
            if (offsets[key]?.GetValueKind() == JsonValueKind.Number && offsets[key]!.AsValue().TryGetValue<long>(out var whole))
            {
                offsets[key] = Spelled(rule, whole);
            }
        }
    }

    /// <summary>A whole number as <c>1e3</c> (exponent, trailing zeros folded) or <c>1000.0</c> (decimal).</summary>
    private static JsonNode Spelled(FaultRule rule, long value)
    {
        string text;
        if (rule.Variant == "decimal")
        {
            text = value.ToString(CultureInfo.InvariantCulture) + ".0";
        }
        else
        {
            var (mantissa, exponent) = (value, 0);
            while (mantissa != 0 && mantissa % 10 == 0)
            {
                mantissa /= 10;
                exponent++;
            }

            text = mantissa.ToString(CultureInfo.InvariantCulture) + "e" + exponent.ToString(CultureInfo.InvariantCulture);
        }

        return JsonValue.Create(Mark + text + Mark)!;
    }

    private static int FirstOffsets(JsonArray list)
    {
        for (var i = 0; i < list.Count; i++)
        {
            var key = list[i]?["key"];
            var type = list[i]?["type"]?.GetValue<string>();
            if (type == "offsets" || (key?.GetValueKind() == JsonValueKind.String && key.GetValue<string>().EndsWith("offsets", StringComparison.Ordinal)))
            {
                return i;
            }
        }

        return 0;
    }

    /// <summary>Turns marked strings back into raw number tokens.</summary>
    private static string Unmark(string json) => MarkedNumber().Replace(json, m => m.Groups[1].Value);

    [GeneratedRegex("\"\\\\u0001([^\"\\\\]*)\\\\u0001\"")]
    private static partial Regex MarkedNumber();
}
