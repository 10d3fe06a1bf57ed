using System;
using System.Collections.Generic;
using System.Collections.Specialized;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.Json;
using DhubBatches.Contract;

namespace DhubBatches.Engine.Prefect;

/// <summary>
/// A deployment → <see cref="PipelineSnapshot"/>: its declared parameters and the values a run gets without any, its
/// schedules as one line, paused, tags and description (docs/prefect.md, "Deployments, flows and schedules").
/// </summary>
internal static class PipelineReader
{
    public static PipelineSnapshot From(PrefectDeployment deployment, string flowName)
    {
        var properties = Properties(deployment.ParameterOpenApiSchema);
        var defaults = new List<KeyValuePair<string, object?>>();
        foreach (var (name, schema) in properties)
        {
            if (schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("default", out var value))
            {
                defaults.Add(new KeyValuePair<string, object?>(name, ToValue(value)));
            }
        }
        // The deployment's own values win over the flow's defaults (Prefect merges them into every run it creates).
        if (deployment.Parameters.ValueKind == JsonValueKind.Object)
        {
            foreach (var member in deployment.Parameters.EnumerateObject())
            {
                var at = defaults.FindIndex(d => d.Key == member.Name);
                var pair = new KeyValuePair<string, object?>(member.Name, ToValue(member.Value));
                if (at >= 0)
                {
                    defaults[at] = pair;
                }
                else
                {
                    defaults.Add(pair);
                }
            }
        }
        return new PipelineSnapshot(deployment.Name!)
        {
            DeploymentId = deployment.Id,
            Deployment = flowName + "/" + deployment.Name,
            Parameters = properties.Select(p => new KeyValuePair<string, string>(p.Name, TypeOf(p.Schema))).ToList(),
            Defaults = defaults,
            // Before Prefect 2.16 a deployment had no 'paused': an inactive schedule was the way to stop it.
            Paused = deployment.Paused ?? deployment.IsScheduleActive == false,
            Schedule = ScheduleText(deployment),
            Tags = (deployment.Tags ?? new List<string?>()).Where(t => !string.IsNullOrEmpty(t)).Select(t => t!).ToList(),
            Description = string.IsNullOrWhiteSpace(deployment.Description) ? null : deployment.Description,
        };
    }

    /// <summary>The schema's properties in the flow signature's order (<c>position</c>), else as written.</summary>
    private static List<(string Name, JsonElement Schema)> Properties(JsonElement schema)
    {
        var list = new List<(string Name, JsonElement Schema, int Position)>();
        if (schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("properties", out var properties) && properties.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in properties.EnumerateObject())
            {
                var position = property.Value.ValueKind == JsonValueKind.Object && property.Value.TryGetProperty("position", out var p) && p.TryGetInt32(out var at)
                    ? at
                    : int.MaxValue;
                list.Add((property.Name, property.Value, position));
            }
        }
        return list.Select((p, i) => (p, i)).OrderBy(x => x.p.Position).ThenBy(x => x.i).Select(x => (x.p.Name, x.p.Schema)).ToList();
    }

    /// <summary><c>integer</c>, <c>string|null</c> (a union), a model's name for a <c>$ref</c>, or <c>any</c>.</summary>
    private static string TypeOf(JsonElement schema)
    {
        if (schema.ValueKind != JsonValueKind.Object)
        {
            return "any";
        }
        if (schema.TryGetProperty("type", out var type))
        {
            if (type.ValueKind == JsonValueKind.String)
            {
                return type.GetString()!;
            }
            if (type.ValueKind == JsonValueKind.Array)
            {
                return string.Join("|", type.EnumerateArray().Where(t => t.ValueKind == JsonValueKind.String).Select(t => t.GetString()));
            }
        }
        if (schema.TryGetProperty("$ref", out var reference) && reference.ValueKind == JsonValueKind.String)
        {
            var text = reference.GetString()!;
            return text.Substring(text.LastIndexOf('/') + 1);
        }
        foreach (var union in new[] { "anyOf", "oneOf", "allOf" })
        {
            if (schema.TryGetProperty(union, out var members) && members.ValueKind == JsonValueKind.Array)
            {
                return string.Join("|", members.EnumerateArray().Select(TypeOf).Distinct(StringComparer.Ordinal));
            }
        }
        return schema.TryGetProperty("enum", out _) ? "enum" : "any";
    }

    /// <summary>A JSON value as PowerShell shows it best: text, a whole or real number, a bool, an array or an ordered dictionary.</summary>
    private static object? ToValue(JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                return value.GetString();
            case JsonValueKind.Number:
                return value.TryGetInt64(out var whole) ? (object)whole : value.GetDouble(); // boxed apart: a ?: of long and double is a double
            case JsonValueKind.True:
                return true;
            case JsonValueKind.False:
                return false;
            case JsonValueKind.Array:
                return value.EnumerateArray().Select(ToValue).ToArray();
            case JsonValueKind.Object:
                var map = new OrderedDictionary(StringComparer.Ordinal);
                foreach (var member in value.EnumerateObject())
                {
                    map[member.Name] = ToValue(member.Value);
                }
                return map;
            default:
                return null;
        }
    }

    /// <summary>
    /// Every schedule, <c>; </c>-separated: <c>cron 0 2 * * * (UTC)</c>, <c>every 1h</c>, <c>rrule FREQ=DAILY (UTC)</c>,
    /// with <c>, inactive</c> on one that is switched off. Prefect 2 also has the older single <c>schedule</c>, read
    /// when the list is empty.
    /// </summary>
    private static string? ScheduleText(PrefectDeployment deployment)
    {
        var parts = new List<string>();
        foreach (var schedule in deployment.Schedules ?? new List<PrefectDeploymentSchedule?>())
        {
            if (schedule != null && OneSchedule(schedule.Schedule) is { } text)
            {
                parts.Add(schedule.Active == false ? text + ", inactive" : text);
            }
        }
        if (parts.Count == 0 && OneSchedule(deployment.Schedule) is { } legacy)
        {
            parts.Add(deployment.IsScheduleActive == false ? legacy + ", inactive" : legacy);
        }
        return parts.Count == 0 ? null : string.Join("; ", parts);
    }

    private static string? OneSchedule(JsonElement schedule)
    {
        if (schedule.ValueKind != JsonValueKind.Object)
        {
            return null;
        }
        var zone = schedule.TryGetProperty("timezone", out var tz) && tz.ValueKind == JsonValueKind.String ? " (" + tz.GetString() + ")" : string.Empty;
        if (schedule.TryGetProperty("cron", out var cron) && cron.ValueKind == JsonValueKind.String)
        {
            return "cron " + cron.GetString() + zone;
        }
        if (schedule.TryGetProperty("interval", out var interval) && interval.ValueKind == JsonValueKind.Number)
        {
            return "every " + Interval(TimeSpan.FromSeconds(interval.GetDouble())) + zone;
        }
        if (schedule.TryGetProperty("rrule", out var rrule) && rrule.ValueKind == JsonValueKind.String)
        {
            // An rrule may hold a DTSTART line before its RRULE one: one line reads them both.
            return "rrule " + string.Join(" ", rrule.GetString()!.Split(new[] { '\r', '\n' }, StringSplitOptions.RemoveEmptyEntries)) + zone;
        }
        return "schedule " + schedule.GetRawText();
    }

    /// <summary><c>1d</c>, <c>1h30m</c>, <c>45s</c>, <c>0.5s</c>.</summary>
    private static string Interval(TimeSpan span)
    {
        var text = new StringBuilder();
        if (span.Days > 0)
        {
            text.Append(span.Days.ToString(CultureInfo.InvariantCulture)).Append('d');
        }
        if (span.Hours > 0)
        {
            text.Append(span.Hours.ToString(CultureInfo.InvariantCulture)).Append('h');
        }
        if (span.Minutes > 0)
        {
            text.Append(span.Minutes.ToString(CultureInfo.InvariantCulture)).Append('m');
        }
        var seconds = span.TotalSeconds - Math.Floor(span.TotalMinutes) * 60;
        if (seconds > 0 || text.Length == 0)
        {
            text.Append(seconds.ToString("0.###", CultureInfo.InvariantCulture)).Append('s');
        }
        return text.ToString();
    }
}
