using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using DhubBatches.Emulator.Hosting;
using DhubBatches.Emulator.Prefect.Flows;
using Microsoft.AspNetCore.Http;

namespace DhubBatches.Emulator.Control;

/// <summary>
/// Prefect knobs under <c>/_emulator/prefect/</c>: pipelines with flow definitions (other flows' deployments:
/// <see cref="FlowDeploymentControlEndpoints"/>), seeding, server settings (auth,
/// CSRF, default limit), the WAIT/ABORT answers to set_state, CSRF token expiry, and a look at a run's state.
/// </summary>
internal static class PrefectControlEndpoints
{
    public static Task DispatchAsync(HttpContext context, EmulatorState state, IReadOnlyList<string> s, string method)
    {
        if (FlowDeploymentControlEndpoints.TryDispatch(context, state, s, method) is { } flowRoute)
        {
            return flowRoute;
        }

        var route = string.Join('/', s.Skip(2).Select((segment, i) => i == 1 && s[2] is "pipelines" or "runs" ? "{x}" : segment));
        var prefect = state.Prefect;
        return (method, route) switch
        {
            ("PUT", "pipelines/{x}") => RegisterAsync(context, state, s[3]),
            ("GET", "pipelines/{x}") => DescribeAsync(context, state, s[3]),
            ("POST", "pipelines/{x}/seed") => SeedAsync(context, state, s[3]),
            ("GET", "runs/{x}") => RunAsync(context, state, s[3]),
            ("POST", "set-state-wait") => KnobAsync(context, k => prefect.WaitNextSetState(k.Count), "waitNext"),
            ("POST", "set-state-abort") => KnobAsync(context, k => prefect.AbortNextSetState(k.Count, k.Reason ?? "The emulator was told to abort this transition."), "abortNext"),
            ("POST", "csrf/expire") => ControlEndpoints.Ok(context, prefect.ExpireCsrfTokens),
            ("PUT", "settings") => SettingsAsync(context, state),
            ("GET", "settings") => SettingsAnswer(context, state),
            // What clients really sent (the last 1,000 bodies): tests count polls by the ids a filter names.
            ("GET", "bodies") => JsonResponse.WriteObjectAsync(context, 200, prefect.RequestBodies),
            ("GET", "stats") => JsonResponse.WriteObjectAsync(context, 200, new
            {
                version = prefect.Version,
                pipelines = state.Pipelines.ToDictionary(p => p, prefect.Counts, StringComparer.Ordinal),
                flowDeployments = prefect.OtherFlowDeployments().ToDictionary(d => d.Flow + "/" + d.Name, d => prefect.Counts(d.Flow, d.Name), StringComparer.Ordinal),
                setStateCalls = prefect.SetStateCalls.Count,
                deletedRuns = prefect.DeletedRuns,
                runsExamined = prefect.RunsExamined,
            }),
            _ => ControlEndpoints.NotFound(context, s, method),
        };
    }

    /// <summary><c>PUT /_emulator/prefect/pipelines/{p}</c> with a flow definition: registers the pipeline on both backends.</summary>
    private static async Task RegisterAsync(HttpContext context, EmulatorState state, string pipeline)
    {
        if (pipeline.Length == 0)
        {
            throw new ArgumentException("Pipeline id must not be empty.");
        }

        var text = await ControlEndpoints.ReadTextAsync(context);
        var definition = string.IsNullOrWhiteSpace(text) ? BuiltInFlows.For(pipeline, state.FailingPipelinePrefix) : FlowDefinitionJson.Parse(text, pipeline);
        state.Prefect.RegisterPipeline(pipeline, definition);
        await DescribeAsync(context, state, pipeline);
    }

    private static Task DescribeAsync(HttpContext context, EmulatorState state, string pipeline)
    {
        if (!state.IsKnownPipeline(pipeline))
        {
            throw new KeyNotFoundException($"Pipeline '{pipeline}' not found");
        }

        var body = new System.Text.Json.Nodes.JsonObject
        {
            ["pipeline"] = pipeline,
            ["deploymentId"] = state.Prefect.DeploymentId(pipeline),
            ["definition"] = FlowDefinitionJson.ToJson(state.Prefect.DefinitionOf(pipeline)),
        };
        return JsonResponse.WriteAsync(context, 200, w => body.WriteTo(w));
    }

    private static async Task SeedAsync(HttpContext context, EmulatorState state, string pipeline)
    {
        var body = await ControlEndpoints.ReadAsync<SeedRequest>(context);
        if (body.Count < 0)
        {
            throw new ArgumentException("count must not be negative.");
        }

        if (!state.IsKnownPipeline(pipeline))
        {
            throw new KeyNotFoundException($"Pipeline '{pipeline}' not found");
        }

        state.Prefect.Seed(pipeline, body.Count, body.Finished);
        await JsonResponse.WriteObjectAsync(context, 200, new { pipeline, seeded = body.Count, runs = state.Prefect.Counts(pipeline).Runs });
    }

    /// <summary>A run's state as the emulator sees it now (the same as the API would show).</summary>
    private static Task RunAsync(HttpContext context, EmulatorState state, string id) =>
        state.Prefect.RunStateType(id) is { } type
            ? JsonResponse.WriteObjectAsync(context, 200, new { id, stateType = type, stateName = state.Prefect.RunStateName(id) })
            : throw new KeyNotFoundException($"Flow run '{id}' not found");

    private static async Task KnobAsync(HttpContext context, Action<KnobRequest> arm, string name)
    {
        var body = await ControlEndpoints.ReadAsync<KnobRequest>(context);
        if (body.Count < 0)
        {
            throw new ArgumentException("count must not be negative.");
        }

        arm(body);
        await JsonResponse.WriteObjectAsync(context, 200, new Dictionary<string, object?> { [name] = body.Count, ["reason"] = body.Reason });
    }

    private static async Task SettingsAsync(HttpContext context, EmulatorState state)
    {
        var body = await ControlEndpoints.ReadAsync<PrefectSettingsRequest>(context);
        var prefect = state.Prefect;
        if (body.AuthString is not null)
        {
            prefect.AuthString = body.AuthString.Length == 0 ? null : body.AuthString;
        }

        if (body.ApiKey is not null)
        {
            prefect.ApiKey = body.ApiKey.Length == 0 ? null : body.ApiKey;
        }

        if (body.Csrf is { } csrf)
        {
            prefect.Csrf = csrf;
        }

        if (body.DefaultLimit is { } limit)
        {
            prefect.DefaultLimit = limit >= 1 ? limit : throw new ArgumentException("defaultLimit must be at least 1.");
        }

        await SettingsAnswer(context, state);
    }

    private static Task SettingsAnswer(HttpContext context, EmulatorState state)
    {
        var prefect = state.Prefect;
        return JsonResponse.WriteObjectAsync(context, 200, new
        {
            version = prefect.Version,
            basicAuth = prefect.AuthString is not null,
            apiKey = prefect.ApiKey is not null,
            csrf = prefect.Csrf,
            defaultLimit = prefect.DefaultLimit,
        });
    }
}
