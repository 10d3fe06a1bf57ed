using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace DhubBatches.Emulator.Prefect.Flows;

/// <summary>
/// The control API's JSON form of a <see cref="FlowDefinition"/> (camelCase, every member optional except
/// <c>tasks</c>; <c>parameters</c> left out means the standard four):
/// <code>
/// {"tasks":[{"name":"extract"},{"name":"transform","map":3,"failsOnAttempts":[1]},{"name":"publish","subflow":["upload"]}],
///  "retries":1, "schedule":{"intervalSeconds":3600,"futureRuns":3,"pastRuns":3,"timezone":null,"active":true},
///  "parameters":[{"name":"pipeline_id","type":"string","default":"orders"}], "acceptsKwargs":false, "openSchema":false,
///  "offsets":{"form":"markdown|table|object","key":"offsets"}, "reportLink":false, "worker":"polls|absent",
///  "concurrencyLimit":1, "pause":{"afterTask":"extract","steps":2,"suspend":false},
///  "enforceParameterSchema":null, "persistsResults":false, "callsInOrder":false, "cancelStaysCancelling":false,
///  "description":null, "paused":false, "tags":["pipeline"], "deploymentParameters":{"pipeline_id":"orders"}}
/// </code>
/// A schedule is an interval (<c>intervalSeconds</c>), a cron (<c>{"cron":"0 2 * * *","timezone":"UTC","dayOr":true}</c>)
/// or an rrule (<c>{"rrule":"FREQ=DAILY;BYHOUR=2"}</c>); <c>"active":false</c> makes it inactive. The deployment
/// members (<c>description</c>, <c>paused</c>, <c>tags</c>, <c>deploymentParameters</c>) left out take the defaults above
/// (deployment parameters: <c>pipeline_id</c> = the deployment's name).
/// Task members: <c>runName</c> (a custom <c>task_run_name</c>), <c>fails</c> (every attempt), <c>failsOnAttempts</c>,
/// <c>failsWhen</c> (a boolean parameter's name), <c>crashes</c>, <c>hangs</c>.
/// </summary>
public static class FlowDefinitionJson
{
    /// <summary>Reads and validates a definition; throws <see cref="ArgumentException"/> naming what is wrong.</summary>
    public static FlowDefinition Parse(string json, string pipeline)
    {
        JsonObject root;
        try
        {
            root = JsonNode.Parse(json) as JsonObject ?? throw new ArgumentException("A flow definition must be a JSON object.");
        }
        catch (JsonException ex)
        {
            throw new ArgumentException("The flow definition is not valid JSON: " + ex.Message, ex);
        }

        Known(root, "definition", "tasks", "retries", "schedule", "parameters", "acceptsKwargs", "openSchema", "offsets", "reportLink", "worker",
            "concurrencyLimit", "pause", "enforceParameterSchema", "persistsResults", "callsInOrder", "cancelStaysCancelling",
            "description", "paused", "tags", "deploymentParameters");
        var tasks = root["tasks"] as JsonArray ?? throw new ArgumentException("tasks must be an array of task objects.");
        var definition = new FlowDefinition
        {
            Tasks = tasks.Select(ReadTask).ToArray(),
            Retries = Int(root, "retries") ?? 0,
            Schedule = root["schedule"] is JsonObject s ? ReadSchedule(s) : null,
            Parameters = root["parameters"] is JsonArray p ? p.Select(ReadParameter).ToArray() : BuiltInFlows.StandardParameters(pipeline),
            AcceptsKwargs = Bool(root, "acceptsKwargs") ?? false,
            OpenSchema = Bool(root, "openSchema") ?? false,
            Offsets = root["offsets"] is JsonObject o ? ReadOffsets(o) : new OffsetsArtifact(),
            ReportLink = Bool(root, "reportLink") ?? false,
            Worker = Text(root, "worker") switch
            {
                null or "polls" => WorkerBehaviour.Polls,
                "absent" => WorkerBehaviour.Absent,
                var other => throw new ArgumentException($"worker must be 'polls' or 'absent', not '{other}'."),
            },
            ConcurrencyLimit = Int(root, "concurrencyLimit"),
            Pause = root["pause"] is JsonObject pause
                ? new PauseDefinition(Text(pause, "afterTask") ?? throw new ArgumentException("pause.afterTask is required."),
                    Int(pause, "steps") ?? 2, Bool(pause, "suspend") ?? false)
                : null,
            EnforceParameterSchema = Bool(root, "enforceParameterSchema"),
            PersistsResults = Bool(root, "persistsResults") ?? false,
            CallsInOrder = Bool(root, "callsInOrder") ?? false,
            CancelStaysCancelling = Bool(root, "cancelStaysCancelling") ?? false,
            Description = Text(root, "description"),
            Paused = Bool(root, "paused") ?? false,
            Tags = root["tags"] switch
            {
                null => null,
                JsonArray a => a.Select(n => n?.GetValueKind() == JsonValueKind.String ? n.GetValue<string>() : throw new ArgumentException("tags lists strings.")).ToArray(),
                _ => throw new ArgumentException("tags must be an array of strings."),
            },
            DeploymentParameters = root["deploymentParameters"] switch
            {
                null => null,
                JsonObject o2 => (JsonObject)o2.DeepClone(),
                _ => throw new ArgumentException("deploymentParameters must be an object."),
            },
        };
        definition.Validate();
        return definition;
    }

    /// <summary>The definition in the same JSON form <see cref="Parse"/> reads.</summary>
    public static JsonObject ToJson(FlowDefinition d) => new()
    {
        ["tasks"] = new JsonArray(d.Tasks.Select(t => (JsonNode)TaskJson(t)).ToArray()),
        ["retries"] = d.Retries,
        ["schedule"] = d.Schedule is { } s ? ScheduleJson(s) : null,
        ["parameters"] = new JsonArray(d.Parameters
            .Select(p => (JsonNode)new JsonObject { ["name"] = p.Name, ["type"] = p.Type, ["default"] = p.Default?.DeepClone() }).ToArray()),
        ["acceptsKwargs"] = d.AcceptsKwargs,
        ["openSchema"] = d.OpenSchema,
        ["offsets"] = new JsonObject { ["form"] = d.Offsets.Form.ToString().ToLowerInvariant(), ["key"] = d.Offsets.Key },
        ["reportLink"] = d.ReportLink,
        ["worker"] = d.Worker == WorkerBehaviour.Absent ? "absent" : "polls",
        ["concurrencyLimit"] = d.ConcurrencyLimit,
        ["pause"] = d.Pause is { } p2 ? new JsonObject { ["afterTask"] = p2.AfterTask, ["steps"] = p2.Steps, ["suspend"] = p2.Suspend } : null,
        ["enforceParameterSchema"] = d.EnforceParameterSchema,
        ["persistsResults"] = d.PersistsResults,
        ["callsInOrder"] = d.CallsInOrder,
        ["cancelStaysCancelling"] = d.CancelStaysCancelling,
        ["description"] = d.Description,
        ["paused"] = d.Paused,
        ["tags"] = d.Tags is { } tags ? new JsonArray(tags.Select(t => (JsonNode)JsonValue.Create(t)!).ToArray()) : null,
        ["deploymentParameters"] = d.DeploymentParameters?.DeepClone(),
    };

    private static JsonObject ScheduleJson(ScheduleDefinition s)
    {
        var o = s.Kind switch
        {
            ScheduleKind.Cron => new JsonObject { ["cron"] = s.Cron, ["dayOr"] = s.DayOr },
            ScheduleKind.RRule => new JsonObject { ["rrule"] = s.RRule },
            _ => new JsonObject { ["intervalSeconds"] = s.Interval.TotalSeconds, ["futureRuns"] = s.FutureRuns, ["pastRuns"] = s.PastRuns },
        };
        o["timezone"] = s.Timezone;
        o["active"] = s.Active;
        return o;
    }

    private static JsonObject TaskJson(TaskDefinition t)
    {
        var o = new JsonObject { ["name"] = t.Name };
        if (t.RunName is { } runName)
        {
            o["runName"] = runName;
        }

        if (t.Map > 0)
        {
            o["map"] = t.Map;
        }

        if (t.Subflow is { } sub)
        {
            o["subflow"] = new JsonArray(sub.Select(n => (JsonNode)JsonValue.Create(n)!).ToArray());
        }

        if (t.FailsAlways)
        {
            o["fails"] = true;
        }

        if (t.FailsOnAttempts.Count > 0)
        {
            o["failsOnAttempts"] = new JsonArray(t.FailsOnAttempts.Select(a => (JsonNode)JsonValue.Create(a)).ToArray());
        }

        if (t.FailsWhen is { } flag)
        {
            o["failsWhen"] = flag;
        }

        if (t.Crashes)
        {
            o["crashes"] = true;
        }

        if (t.Hangs)
        {
            o["hangs"] = true;
        }

        return o;
    }

    private static TaskDefinition ReadTask(JsonNode? node)
    {
        var o = node as JsonObject ?? throw new ArgumentException("Every task must be an object with a name.");
        Known(o, "task", "name", "runName", "map", "subflow", "fails", "failsOnAttempts", "failsWhen", "crashes", "hangs");
        return new TaskDefinition
        {
            Name = Text(o, "name") ?? throw new ArgumentException("Every task needs a name."),
            RunName = Text(o, "runName"),
            Map = Int(o, "map") ?? 0,
            Subflow = o["subflow"] switch
            {
                null => null,
                JsonArray a => a.Select(n => n?.GetValueKind() == JsonValueKind.String ? n.GetValue<string>() : throw new ArgumentException("subflow lists task names.")).ToArray(),
                _ => throw new ArgumentException("subflow must be an array of task names."),
            },
            FailsAlways = Bool(o, "fails") ?? false,
            FailsOnAttempts = o["failsOnAttempts"] is JsonArray f ? f.Select(n => n!.GetValue<int>()).ToArray() : Array.Empty<int>(),
            FailsWhen = Text(o, "failsWhen"),
            Crashes = Bool(o, "crashes") ?? false,
            Hangs = Bool(o, "hangs") ?? false,
        };
    }

    private static ScheduleDefinition ReadSchedule(JsonObject o)
    {
        Known(o, "schedule", "intervalSeconds", "futureRuns", "pastRuns", "cron", "dayOr", "rrule", "timezone", "active");
        var cron = Text(o, "cron");
        var rrule = Text(o, "rrule");
        var seconds = o["intervalSeconds"] is { } n
            ? n.GetValueKind() == JsonValueKind.Number ? n.GetValue<double>() : throw new ArgumentException("intervalSeconds must be a number.")
            : (double?)null;
        if ((seconds is not null ? 1 : 0) + (cron is not null ? 1 : 0) + (rrule is not null ? 1 : 0) != 1)
        {
            throw new ArgumentException("schedule needs exactly one of intervalSeconds, cron and rrule.");
        }

        if (seconds is null && (o["futureRuns"] is not null || o["pastRuns"] is not null))
        {
            throw new ArgumentException("futureRuns and pastRuns belong to an interval schedule (the emulator makes no runs for cron or rrule).");
        }

        if (cron is null && o["dayOr"] is not null)
        {
            throw new ArgumentException("dayOr belongs to a cron schedule.");
        }

        return new ScheduleDefinition(TimeSpan.FromSeconds(seconds ?? 0), Int(o, "futureRuns") ?? 3, Int(o, "pastRuns") ?? 3)
        {
            Cron = cron,
            DayOr = Bool(o, "dayOr") ?? true,
            RRule = rrule,
            Timezone = Text(o, "timezone"),
            Active = Bool(o, "active") ?? true,
        };
    }

    private static ParameterDefinition ReadParameter(JsonNode? node)
    {
        var o = node as JsonObject ?? throw new ArgumentException("Every parameter must be an object.");
        Known(o, "parameter", "name", "type", "default");
        var type = Text(o, "type") ?? "string";
        if (type is not ("string" or "integer" or "number" or "boolean" or "object" or "array"))
        {
            throw new ArgumentException($"Parameter type '{type}' is not a JSON schema type.");
        }

        return new ParameterDefinition(Text(o, "name") ?? throw new ArgumentException("Every parameter needs a name."), type, o["default"]?.DeepClone());
    }

    private static OffsetsArtifact ReadOffsets(JsonObject o)
    {
        Known(o, "offsets", "form", "key");
        return new OffsetsArtifact
        {
            Form = Text(o, "form") switch
            {
                null or "markdown" => OffsetsForm.Markdown,
                "table" => OffsetsForm.Table,
                "object" => OffsetsForm.Object,
                var other => throw new ArgumentException($"offsets.form must be markdown, table or object, not '{other}'."),
            },
            Key = Text(o, "key") ?? "offsets",
        };
    }

    /// <summary>Unknown members are refused, so a typo cannot silently register a different flow.</summary>
    private static void Known(JsonObject o, string what, params string[] names)
    {
        foreach (var (name, _) in o)
        {
            if (!names.Contains(name, StringComparer.Ordinal))
            {
                throw new ArgumentException($"Unknown {what} member '{name}'.");
            }
        }
    }

    private static string? Text(JsonObject o, string name) =>
        o[name] is { } n ? n.GetValueKind() == JsonValueKind.String ? n.GetValue<string>() : throw new ArgumentException($"{name} must be a string.") : null;

    private static int? Int(JsonObject o, string name) =>
        o[name] is { } n ? n.GetValueKind() == JsonValueKind.Number ? n.GetValue<int>() : throw new ArgumentException($"{name} must be a number.") : null;

    private static bool? Bool(JsonObject o, string name) =>
        o[name] is { } n ? n.GetValueKind() is JsonValueKind.True or JsonValueKind.False ? n.GetValue<bool>() : throw new ArgumentException($"{name} must be true or false.") : null;
}
