using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using Json.Pointer;
using Json.Schema;

namespace DhubBatches.TestSupport;

/// <summary>
/// Prefect's own OpenAPI document (the repository's copy) as JSON Schema, via JsonSchema.Net: what the module sends
/// and what the emulator answers are both judged by it, so neither can drift from the real Prefect.
/// </summary>
public static class PrefectOpenApi
{
    public const string DeploymentFlowRunCreate = "DeploymentFlowRunCreate";
    public const string FlowRunsFilter = "Body_read_flow_runs_flow_runs_filter_post";
    public const string FlowRunsCount = "Body_count_flow_runs_flow_runs_count_post";
    public const string TaskRunsFilter = "Body_read_task_runs_task_runs_filter_post";
    public const string ArtifactsFilter = "Body_read_artifacts_artifacts_filter_post";
    public const string DeploymentsFilter = "Body_read_deployments_deployments_filter_post";
    public const string LogsFilter = "Body_read_logs_logs_filter_post";
    public const string SetState = "Body_set_flow_run_state_flow_runs__id__set_state_post";

    private static readonly Uri DocumentUri = new("urn:test:prefect-openapi");
    private static readonly ConcurrentDictionary<string, JsonSchema> Compiled = new(StringComparer.Ordinal);
    private static readonly Lazy<(JsonDocument Doc, BuildOptions Build)> Loaded = new(() =>
    {
        var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "prefect-openapi.json")));
        var registry = new SchemaRegistry();
        registry.Register(DocumentUri, new JsonElementBaseDocument(doc.RootElement, DocumentUri));
        return (doc, new BuildOptions { SchemaRegistry = registry });
    });

    public static JsonElement Root => Loaded.Value.Doc.RootElement;

    /// <summary>The schema at a JSON pointer inside the document; <c>$ref</c>s resolve to <c>#/components/schemas/...</c>.</summary>
    public static JsonSchema At(string pointer) =>
        JsonSchema.FromText("{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\",\"$ref\":\"" + DocumentUri + "#" + pointer + "\"}", Loaded.Value.Build);

    public static JsonSchema Component(string name) => Compiled.GetOrAdd(name, n => At("/components/schemas/" + n));

    /// <summary>The declared response schema of an operation (201 answers use the declared 200 model, as FastAPI documents them).</summary>
    public static JsonSchema? Response(string path, string method, int status)
    {
        var responses = Root.GetProperty("paths").GetProperty(path).GetProperty(method).GetProperty("responses");
        var code = status == 201 && !responses.TryGetProperty("201", out _) ? "200" : status.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (!responses.TryGetProperty(code, out var r) || !r.TryGetProperty("content", out _))
        {
            return null;
        }

        var pointer = JsonPointer.Create("paths", path, method, "responses", code, "content", "application/json", "schema").ToString();
        return At(pointer);
    }

    public static EvaluationResults Evaluate(JsonSchema schema, JsonElement instance) =>
        schema.Evaluate(instance, new EvaluationOptions { OutputFormat = OutputFormat.List, RequireFormatValidation = true });

    public static string Errors(EvaluationResults results) =>
        string.Join("; ", (results.Details ?? []).Where(d => d.Errors is { Count: > 0 }).SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Value}")));

    /// <summary>
    /// Every reason a request body is not a valid <paramref name="model"/>, judged as strictly as Prefect's server does:
    /// the schema, no top-level key the model does not declare (FastAPI's embedded bodies leave that open in the
    /// document), and no <c>null</c> anywhere (the module never needs to send one). Empty when it is valid.
    /// </summary>
    public static List<string> RequestProblems(string model, JsonElement body)
    {
        var problems = new List<string>();
        var schemaElement = Root.GetProperty("components").GetProperty("schemas").GetProperty(model);
        if (body.ValueKind == JsonValueKind.Object && schemaElement.TryGetProperty("properties", out var properties))
        {
            problems.AddRange(body.EnumerateObject().Where(p => !properties.TryGetProperty(p.Name, out _)).Select(p => $"unknown top-level field '{p.Name}'"));
        }
        NoNulls(body, "$", problems);
        var result = Evaluate(Component(model), body);
        if (!result.IsValid)
        {
            var details = Errors(result);
            problems.Add("schema: " + (details.Length == 0 ? "invalid" : details));
        }
        return problems;
    }

    private static void NoNulls(JsonElement value, string path, List<string> problems)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Null:
                problems.Add($"null at {path}");
                break;
            case JsonValueKind.Object:
                foreach (var p in value.EnumerateObject())
                {
                    NoNulls(p.Value, path + "." + p.Name, problems);
                }
                break;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var item in value.EnumerateArray())
                {
                    NoNulls(item, $"{path}[{i++}]", problems);
                }
                break;
        }
    }
}
