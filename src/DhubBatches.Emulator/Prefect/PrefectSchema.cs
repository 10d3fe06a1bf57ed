using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;

namespace DhubBatches.Emulator.Prefect;

/// <summary>One entry of Prefect's validation error list (pydantic's shape: type, loc, msg, input, ctx).</summary>
internal sealed record ValidationIssue(string Type, JsonArray Loc, string Msg, JsonNode? Input, JsonObject? Ctx = null)
{
    public JsonObject ToJson()
    {
        var o = new JsonObject
        {
            ["type"] = Type,
            ["loc"] = Loc.DeepClone(),
            ["msg"] = Msg,
            ["input"] = Input?.DeepClone(),
        };
        if (Ctx is not null)
        {
            o["ctx"] = Ctx.DeepClone();
        }

        return o;
    }
}

/// <summary>
/// Prefect's own OpenAPI document (embedded) used to judge request bodies exactly as Prefect's pydantic
/// models do (request models forbid extra properties, so an unknown member is a 422). The verdict comes from JsonSchema.Net over <c>#/components/schemas/&lt;model&gt;</c>; the
/// error list is built by a small pydantic-like walk over the same schema so the 422 body reads like Prefect's.
/// </summary>
internal sealed class PrefectSchema
{
    public const string ResourceName = "DhubBatches.Emulator.Prefect.prefect-openapi.json";
    private static readonly Uri DocumentUri = new("urn:prefect:openapi");
    private static readonly Lazy<PrefectSchema> LazyInstance = new(() => new PrefectSchema());

    private readonly JsonDocument _document;
    private readonly JsonElement _schemas;
    private readonly BuildOptions _build;
    private readonly EvaluationOptions _evaluate = new() { RequireFormatValidation = true, OutputFormat = OutputFormat.Flag };
    private readonly ConcurrentDictionary<string, JsonSchema> _compiled = new(StringComparer.Ordinal);

    private PrefectSchema()
    {
        using var stream = typeof(PrefectSchema).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"Embedded resource {ResourceName} is missing.");
        _document = JsonDocument.Parse(stream);
        _schemas = _document.RootElement.GetProperty("components").GetProperty("schemas");
        var registry = new SchemaRegistry();
        registry.Register(DocumentUri, new JsonElementBaseDocument(_document.RootElement, DocumentUri));
        _build = new BuildOptions { SchemaRegistry = registry };
    }

    public static PrefectSchema Instance => LazyInstance.Value;

    /// <summary>True when <paramref name="instance"/> is valid for <c>#/components/schemas/{component}</c>.</summary>
    public bool IsValid(string component, JsonElement instance) =>
        _compiled.GetOrAdd(component, c => JsonSchema.FromText(
                "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\",\"$ref\":\"" + DocumentUri + "#/components/schemas/" + c + "\"}",
                _build))
            .Evaluate(instance, _evaluate).IsValid;

    /// <summary>
    /// Validates a request body against a request model. <paramref name="embedded"/> marks FastAPI bodies made of
    /// several <c>Body(embed)</c> parameters (the <c>Body_*</c> models): the emulator is strict about their
    /// top-level keys too, as the brief asks (FastAPI itself would ignore an unknown top-level key there).
    /// </summary>
    public List<ValidationIssue> Validate(string component, JsonElement body, bool embedded)
    {
        var issues = new List<ValidationIssue>();
        var schema = _schemas.GetProperty(component);
        Walk(schema, body, new List<object> { "body" }, issues);
        if (embedded && body.ValueKind == JsonValueKind.Object && schema.TryGetProperty("properties", out var props))
        {
            foreach (var p in body.EnumerateObject())
            {
                if (!props.TryGetProperty(p.Name, out _))
                {
                    issues.Add(new ValidationIssue("extra_forbidden", Loc(new List<object> { "body" }, p.Name), "Extra inputs are not permitted", Node(p.Value)));
                }
            }
        }

        if (issues.Count == 0 && !IsValid(component, body))
        {
            issues.Add(new ValidationIssue("value_error", Loc(new List<object> { "body" }), "Value error, the body does not match " + component, Node(body)));
        }

        return issues;
    }

    private JsonElement Resolve(JsonElement schema)
    {
        for (var i = 0; i < 32 && schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("$ref", out var r); i++)
        {
            var name = r.GetString()!;
            const string prefix = "#/components/schemas/";
            if (!name.StartsWith(prefix, StringComparison.Ordinal) || !_schemas.TryGetProperty(name[prefix.Length..], out var target))
            {
                break;
            }

            schema = target;
        }

        return schema;
    }

    private void Walk(JsonElement schema, JsonElement value, List<object> loc, List<ValidationIssue> issues)
    {
        schema = Resolve(schema);
        if (schema.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        if (schema.TryGetProperty("anyOf", out var anyOf))
        {
            List<ValidationIssue>? first = null;
            foreach (var branch in anyOf.EnumerateArray())
            {
                var attempt = new List<ValidationIssue>();
                Walk(branch, value, loc, attempt);
                if (attempt.Count == 0)
                {
                    return;
                }

                var resolved = Resolve(branch);
                var isNull = resolved.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String && t.GetString() == "null";
                if (!isNull && (first is null || MatchesKind(resolved, value)))
                {
                    first = attempt;
                    if (MatchesKind(resolved, value))
                    {
                        break;
                    }
                }
            }

            issues.AddRange(first ?? new List<ValidationIssue> { new("union_tag_invalid", Loc(loc), "Input does not match any allowed type", Node(value)) });
            return;
        }

        if (schema.TryGetProperty("enum", out var enumValues))
        {
            var allowed = enumValues.EnumerateArray().Select(e => e.ToString()).ToList();
            if (value.ValueKind != JsonValueKind.String || !allowed.Contains(value.GetString()!))
            {
                var expected = allowed.Count == 1 ? $"'{allowed[0]}'"
                    : string.Join(", ", allowed.Take(allowed.Count - 1).Select(a => $"'{a}'")) + $" or '{allowed[^1]}'";
                issues.Add(new ValidationIssue("enum", Loc(loc), $"Input should be {expected}", Node(value), new JsonObject { ["expected"] = expected }));
            }

            return;
        }

        var type = schema.TryGetProperty("type", out var typeElement) && typeElement.ValueKind == JsonValueKind.String ? typeElement.GetString() : null;
        if (type is null && schema.TryGetProperty("properties", out _))
        {
            type = "object";
        }

        switch (type)
        {
            case "object":
                WalkObject(schema, value, loc, issues);
                break;
            case "array":
                if (value.ValueKind != JsonValueKind.Array)
                {
                    issues.Add(new ValidationIssue("list_type", Loc(loc), "Input should be a valid list", Node(value)));
                    break;
                }

                if (schema.TryGetProperty("items", out var items))
                {
                    var i = 0;
                    foreach (var item in value.EnumerateArray())
                    {
                        Walk(items, item, Append(loc, i++), issues);
                    }
                }

                break;
            case "string":
                if (value.ValueKind != JsonValueKind.String)
                {
                    issues.Add(new ValidationIssue("string_type", Loc(loc), "Input should be a valid string", Node(value)));
                }
                else if (schema.TryGetProperty("format", out var format))
                {
                    var s = value.GetString()!;
                    if (format.GetString() == "uuid" && !Guid.TryParse(s, out _))
                    {
                        issues.Add(new ValidationIssue("uuid_parsing", Loc(loc), "Input should be a valid UUID", Node(value)));
                    }
                    else if (format.GetString() == "date-time"
                             && !DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out _))
                    {
                        issues.Add(new ValidationIssue("datetime_from_date_parsing", Loc(loc), "Input should be a valid datetime or date", Node(value)));
                    }
                }

                break;
            case "integer":
                if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var n))
                {
                    issues.Add(new ValidationIssue("int_type", Loc(loc), "Input should be a valid integer", Node(value)));
                }
                else if (schema.TryGetProperty("minimum", out var min) && n < min.GetDouble())
                {
                    var limit = min.GetDouble().ToString(CultureInfo.InvariantCulture);
                    issues.Add(new ValidationIssue("greater_than_equal", Loc(loc), $"Input should be greater than or equal to {limit}", Node(value),
                        new JsonObject { ["ge"] = (long)min.GetDouble() }));
                }

                break;
            case "number":
                if (value.ValueKind != JsonValueKind.Number)
                {
                    issues.Add(new ValidationIssue("float_type", Loc(loc), "Input should be a valid number", Node(value)));
                }

                break;
            case "boolean":
                if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                {
                    issues.Add(new ValidationIssue("bool_type", Loc(loc), "Input should be a valid boolean", Node(value)));
                }

                break;
            case "null":
                if (value.ValueKind != JsonValueKind.Null)
                {
                    issues.Add(new ValidationIssue("none_required", Loc(loc), "Input should be None", Node(value)));
                }

                break;
        }
    }

    private void WalkObject(JsonElement schema, JsonElement value, List<object> loc, List<ValidationIssue> issues)
    {
        var hasProperties = schema.TryGetProperty("properties", out var props);
        if (value.ValueKind != JsonValueKind.Object)
        {
            var title = schema.TryGetProperty("title", out var t) ? t.GetString() : null;
            issues.Add(hasProperties && title is not null
                ? new ValidationIssue("model_type", Loc(loc), $"Input should be a valid dictionary or instance of {title}", Node(value),
                    new JsonObject { ["class_name"] = title })
                : new ValidationIssue("dict_type", Loc(loc), "Input should be a valid dictionary", Node(value)));
            return;
        }

        schema.TryGetProperty("additionalProperties", out var additional);
        foreach (var p in value.EnumerateObject())
        {
            if (hasProperties && props.TryGetProperty(p.Name, out var propSchema))
            {
                Walk(propSchema, p.Value, Append(loc, p.Name), issues);
            }
            else if (additional.ValueKind == JsonValueKind.False)
            {
                issues.Add(new ValidationIssue("extra_forbidden", Loc(loc, p.Name), "Extra inputs are not permitted", Node(p.Value)));
            }
            else if (additional.ValueKind == JsonValueKind.Object)
            {
                Walk(additional, p.Value, Append(loc, p.Name), issues);
            }
        }

        if (schema.TryGetProperty("required", out var required))
        {
            foreach (var name in required.EnumerateArray().Select(r => r.GetString()!))
            {
                if (!value.TryGetProperty(name, out _))
                {
                    issues.Add(new ValidationIssue("missing", Loc(loc, name), "Field required", Node(value)));
                }
            }
        }
    }

    private bool MatchesKind(JsonElement schema, JsonElement value)
    {
        schema = Resolve(schema);
        var type = schema.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()
            : schema.TryGetProperty("properties", out _) ? "object" : null;
        return type switch
        {
            "object" => value.ValueKind == JsonValueKind.Object,
            "array" => value.ValueKind == JsonValueKind.Array,
            "string" => value.ValueKind == JsonValueKind.String,
            "integer" or "number" => value.ValueKind == JsonValueKind.Number,
            "boolean" => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
            "null" => value.ValueKind == JsonValueKind.Null,
            _ => true,
        };
    }

    private static List<object> Append(List<object> loc, object item) => new(loc) { item };

    private static JsonArray Loc(List<object> loc, object? extra = null)
    {
        var array = new JsonArray();
        foreach (var item in extra is null ? loc : Append(loc, extra))
        {
            array.Add(item is int i ? JsonValue.Create(i) : JsonValue.Create((string)item));
        }

        return array;
    }

    internal static JsonNode? Node(JsonElement element) => JsonNode.Parse(element.GetRawText());

    /// <summary>For tests and diagnostics: the embedded document's text.</summary>
    internal static string ReadEmbeddedText()
    {
        using var stream = typeof(PrefectSchema).Assembly.GetManifestResourceStream(ResourceName)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
