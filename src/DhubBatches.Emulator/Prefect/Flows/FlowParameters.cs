using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace DhubBatches.Emulator.Prefect.Flows;

/// <summary>
/// A flow's parameters as Prefect exposes and checks them: the deployment's <c>parameter_openapi_schema</c>
/// (<c>src/prefect/utilities/callables.py</c> <c>parameter_schema</c>), the server's schema enforcement at
/// create_flow_run (<c>src/prefect/utilities/schema_tools/validation.py</c>), and the engine's signature check at
/// start (<c>parameters_to_args_kwargs</c> raising <c>SignatureMismatchError</c>).
/// </summary>
internal static class FlowParameters
{
    /// <summary>
    /// The schema Prefect generates from the flow's signature: a parameter without a default is listed in
    /// <c>required</c>. A <c>**kwargs</c> parameter gets no special
    /// treatment there: it becomes a property named <c>kwargs</c> with only title and position (type Any) and, having
    /// no default, it is listed in <c>required</c>. Prefect 3 (pydantic 2) adds an empty <c>definitions</c>.
    /// </summary>
    public static JsonObject Schema(FlowDefinition definition, bool prefect3)
    {
        var properties = new JsonObject();
        var position = 0;
        foreach (var p in definition.Parameters)
        {
            var property = new JsonObject { ["title"] = p.Name };
            if (p.Default is not null)
            {
                property["default"] = p.Default.DeepClone();
            }

            property["position"] = position++;
            property["type"] = p.Type;
            properties[p.Name] = property;
        }

        var schema = new JsonObject { ["title"] = "Parameters", ["type"] = "object", ["properties"] = properties };
        // A parameter without a default is required; an empty list is left out (ParameterSchema.model_dump).
        var required = definition.Parameters.Where(p => p.Default is null).Select(p => (JsonNode)JsonValue.Create(p.Name)!).ToList();
        if (definition.AcceptsKwargs)
        {
            properties["kwargs"] = new JsonObject { ["title"] = "kwargs", ["position"] = position };
            required.Add(JsonValue.Create("kwargs")!);
        }

        if (required.Count > 0)
        {
            schema["required"] = new JsonArray(required.ToArray());
        }

        if (definition.OpenSchema)
        {
            schema["additionalProperties"] = true;
        }

        if (prefect3)
        {
            schema["definitions"] = new JsonObject();
        }

        return schema;
    }

    /// <summary>
    /// The first enforcement failure as the 409 <c>detail</c> Prefect writes ("Error creating flow run: Validation
    /// failed for field 'x'. Failure reason: ..."), or null when the parameters pass. Properties with a default do
    /// not accept null (Prefect only widens defaultless optional ones to <c>null</c>).
    /// </summary>
    public static string? EnforcementError(JsonObject schema, JsonObject parameters)
    {
        if (schema["properties"] is JsonObject properties)
        {
            foreach (var (name, spec) in properties)
            {
                if (spec?["type"]?.GetValue<string>() is not { } type || !parameters.TryGetPropertyValue(name, out var value))
                {
                    continue;
                }

                if (!IsOfType(value, type))
                {
                    return $"Error creating flow run: Validation failed for field '{name}'. Failure reason: {PythonText.Repr(value)} is not of type {PythonText.Repr(type)}";
                }
            }
        }

        if (schema["required"] is JsonArray required)
        {
            foreach (var name in required.Select(r => r!.GetValue<string>()))
            {
                if (!parameters.ContainsKey(name))
                {
                    return $"Error creating flow run: Validation failed. Failure reason: {PythonText.Repr(name)} is a required property";
                }
            }
        }

        return null;
    }

    /// <summary>
    /// The parameter names the flow function is called with, in Python's dict order: declared defaults first
    /// (<c>{**get_parameter_defaults(fn), **flow_run.parameters}</c>), then the run's own keys.
    /// </summary>
    public static IReadOnlyList<string> CallOrder(FlowDefinition definition, IEnumerable<string> runParameterNames) =>
        definition.Parameters.Where(p => p.Default is not null).Select(p => p.Name).Concat(runParameterNames).Distinct().ToList();

    /// <summary>The state message of a run whose parameters the flow does not declare (Prefect 2 and 3 word it alike).</summary>
    public static string SignatureMismatch(FlowDefinition definition, IReadOnlyList<string> provided) =>
        "Validation of flow parameters failed with error: SignatureMismatchError: " + SignatureMismatchText(definition, provided);

    /// <summary><c>str(SignatureMismatchError.from_bad_params(expected, provided))</c>.</summary>
    public static string SignatureMismatchText(FlowDefinition definition, IReadOnlyList<string> provided) =>
        $"Function expects parameters {PythonText.ReprList(definition.Parameters.Select(p => p.Name))} but was provided with parameters {PythonText.ReprList(provided)}";

    private static bool IsOfType(JsonNode? value, string type)
    {
        var kind = value?.GetValueKind() ?? JsonValueKind.Null;
        return type switch
        {
            "string" => kind == JsonValueKind.String,
            "number" => kind == JsonValueKind.Number,
            // JSON Schema counts 3.0 as an integer too.
            "integer" => kind == JsonValueKind.Number && value!.GetValue<double>() is var d && d == System.Math.Floor(d),
            "boolean" => kind is JsonValueKind.True or JsonValueKind.False,
            "object" => kind == JsonValueKind.Object,
            "array" => kind == JsonValueKind.Array,
            _ => true,
        };
    }
}
