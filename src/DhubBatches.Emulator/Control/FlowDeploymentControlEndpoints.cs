using System;
using System.Collections.Generic;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using DhubBatches.Emulator.Hosting;
using DhubBatches.Emulator.Prefect.Flows;
using Microsoft.AspNetCore.Http;

namespace DhubBatches.Emulator.Control;

/// <summary>
/// Deployments of any flow under <c>/_emulator/prefect/flows/{flow}/deployments/{name}</c>: register (PUT, with a
/// flow definition or empty for the built-in its name picks), describe (GET) and seed (POST <c>.../seed</c>). A
/// deployment of the pipelines' flow is the pipeline itself (registered on both backends); any other flow's
/// exists on the Prefect side only and is never a pipeline.
/// </summary>
internal static class FlowDeploymentControlEndpoints
{
    /// <summary>Handles the route when it is one of these (s = every path segment), else returns null.</summary>
    public static Task? TryDispatch(HttpContext context, EmulatorState state, IReadOnlyList<string> s, string method)
    {
        if (s.Count is not (6 or 7) || s[2] != "flows" || s[4] != "deployments" || (s.Count == 7 && s[6] != "seed"))
        {
            return null;
        }

        var (flow, name) = (s[3], s[5]);
        return (method, s.Count) switch
        {
            ("PUT", 6) => RegisterAsync(context, state, flow, name),
            ("GET", 6) => DescribeAsync(context, state, flow, name),
            ("POST", 7) => SeedAsync(context, state, flow, name),
            _ => null,
        };
    }

    private static async Task RegisterAsync(HttpContext context, EmulatorState state, string flow, string name)
    {
        if (flow.Length == 0 || name.Length == 0)
        {
            throw new ArgumentException("Flow and deployment names must not be empty.");
        }

        var text = await ControlEndpoints.ReadTextAsync(context);
        var definition = string.IsNullOrWhiteSpace(text) ? BuiltInFlows.For(name, state.FailingPipelinePrefix) : FlowDefinitionJson.Parse(text, name);
        state.Prefect.RegisterFlowDeployment(flow, name, definition);
        await DescribeAsync(context, state, flow, name);
    }

    /// <summary><c>{"flow","flowId","deployment","pipeline","deploymentId","definition"}</c>; <c>pipeline</c> is null for another flow's deployment.</summary>
    private static Task DescribeAsync(HttpContext context, EmulatorState state, string flow, string name)
    {
        var prefect = state.Prefect;
        var isPipeline = flow == prefect.FlowName;
        var definition = isPipeline && state.IsKnownPipeline(name) ? prefect.DefinitionOf(name) : prefect.DefinitionOf(flow, name);
        var id = prefect.DeploymentId(flow, name);
        if (definition is null || id is null)
        {
            throw new KeyNotFoundException($"Deployment '{flow}/{name}' not found");
        }

        var body = new JsonObject
        {
            ["flow"] = flow,
            ["flowId"] = prefect.FlowId(flow),
            ["deployment"] = name,
            ["pipeline"] = isPipeline ? name : null,
            ["deploymentId"] = id,
            ["definition"] = FlowDefinitionJson.ToJson(definition),
        };
        return JsonResponse.WriteAsync(context, 200, w => body.WriteTo(w));
    }

    /// <summary><c>{"flow","deployment","seeded","runs"}</c>, runs being how many the deployment now has.</summary>
    private static async Task SeedAsync(HttpContext context, EmulatorState state, string flow, string name)
    {
        var body = await ControlEndpoints.ReadAsync<SeedRequest>(context);
        if (body.Count < 0)
        {
            throw new ArgumentException("count must not be negative.");
        }

        state.Prefect.Seed(flow, name, body.Count, body.Finished);
        await JsonResponse.WriteObjectAsync(context, 200, new { flow, deployment = name, seeded = body.Count, runs = state.Prefect.Counts(flow, name).Runs });
    }
}
