using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using DhubBatches.Emulator.Faults;
using DhubBatches.Emulator.Hosting;
using DhubBatches.Emulator.Paths;
using Microsoft.AspNetCore.Http;

namespace DhubBatches.Emulator.Control;

/// <summary>
/// Test-control API under <c>/_emulator/</c>: not part of any real server, unauthenticated, never
/// logged and never faulted. Mirrors the methods of <see cref="EmulatorState"/>.
/// </summary>
internal sealed class ControlEndpoints
{
    public const string RootSegment = "_emulator";

    private readonly RequestDelegate _next;
    private readonly EmulatorState _state;

    public ControlEndpoints(RequestDelegate next, EmulatorState state)
    {
        _next = next;
        _state = state;
    }

    public async Task InvokeAsync(HttpContext context)
    {
        var target = RawRequestTarget.Of(context);
        if (!target.StartsWith(RootSegment))
        {
            await _next(context);
            return;
        }

        try
        {
            await DispatchAsync(context, target.Segments, context.Request.Method);
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException)
        {
            await JsonResponse.WriteMessageAsync(context, StatusCodes.Status400BadRequest, ex.Message);
        }
    }

    private Task DispatchAsync(HttpContext context, IReadOnlyList<string> s, string method)
    {
        if (s.Count > 1 && s[1] == "prefect")
        {
            return DispatchPrefectAsync(context, s, method);
        }

        var route = string.Join('/', s.Skip(1).Select((segment, i) => i == 1 && s[1] == "pipelines" ? "{p}" : segment));
        return (method, route) switch
        {
            ("POST", "reset") => ResetAsync(context),
            ("PUT", "settings") => SettingsAsync(context),
            ("POST", "pipelines/{p}") => AddPipelineAsync(context, s[2]),
            ("POST", "pipelines/{p}/seed") => SeedAsync(context, s[2], prefect: false),
            ("GET", "faults") => JsonResponse.WriteObjectAsync(context, 200, _state.Faults),
            ("POST", "faults") => AddFaultAsync(context),
            ("DELETE", "faults") => Ok(context, _state.ClearFaults),
            ("GET", "requests") => JsonResponse.WriteObjectAsync(context, 200, _state.Requests),
            ("DELETE", "requests") => Ok(context, _state.ClearRequests),
            ("GET", "stats") => StatsAsync(context),
            _ => JsonResponse.WriteMessageAsync(context, StatusCodes.Status404NotFound, $"No control endpoint {method} /{string.Join('/', s)}"),
        };
    }

    /// <summary>Prefect knobs under <c>/_emulator/prefect/...</c>.</summary>
    private Task DispatchPrefectAsync(HttpContext context, IReadOnlyList<string> s, string method)
    {
        var route = string.Join('/', s.Skip(2).Select((segment, i) => i == 1 && s[2] == "pipelines" ? "{p}" : segment));
        return (method, route) switch
        {
            ("POST", "pipelines/{p}/seed") => SeedAsync(context, s[3], prefect: true),
            ("POST", "set-state-wait") => SetStateWaitAsync(context),
            ("POST", "csrf/expire") => Ok(context, _state.ExpirePrefectCsrfTokens),
            ("PUT", "settings") => PrefectSettingsAsync(context),
            ("GET", "stats") => JsonResponse.WriteObjectAsync(context, 200, new
            {
                pipelines = _state.Pipelines.ToDictionary(p => p, p => _state.PrefectCounts(p), StringComparer.Ordinal),
                setStateCalls = _state.PrefectSetStateCalls.Count,
                deletedRuns = _state.PrefectDeletedRuns,
            }),
            _ => JsonResponse.WriteMessageAsync(context, StatusCodes.Status404NotFound, $"No control endpoint {method} /{string.Join('/', s)}"),
        };
    }

    private async Task SetStateWaitAsync(HttpContext context)
    {
        var body = await ReadAsync<CountRequest>(context);
        _state.PrefectWaitNextSetState(body.Count);
        await JsonResponse.WriteObjectAsync(context, 200, new { waitNext = body.Count });
    }

    private async Task PrefectSettingsAsync(HttpContext context)
    {
        var body = await ReadAsync<PrefectSettingsRequest>(context);
        if (body.AuthString is not null)
        {
            _state.PrefectAuthString = body.AuthString.Length == 0 ? null : body.AuthString;
        }

        if (body.ApiKey is not null)
        {
            _state.PrefectApiKey = body.ApiKey.Length == 0 ? null : body.ApiKey;
        }

        if (body.Csrf is { } csrf)
        {
            _state.PrefectCsrf = csrf;
        }

        await JsonResponse.WriteObjectAsync(context, 200, new
        {
            basicAuth = _state.PrefectAuthString is not null,
            apiKey = _state.PrefectApiKey is not null,
            csrf = _state.PrefectCsrf,
        });
    }

    private Task ResetAsync(HttpContext context) => Ok(context, _state.Reset);

    private async Task SettingsAsync(HttpContext context)
    {
        var body = await ReadAsync<SettingsRequest>(context);
        if (body.StepSeconds is { } seconds)
        {
            _state.StepDuration = ToDuration(seconds);
        }

        if (body.Token is not null)
        {
            _state.Token = body.Token.Length == 0 ? null : body.Token;
        }

        await JsonResponse.WriteObjectAsync(context, 200, new
        {
            stepSeconds = _state.StepDuration.TotalSeconds,
            authentication = _state.Token is null ? "disabled" : "bearer",
        });
    }

    private async Task AddPipelineAsync(HttpContext context, string pipeline)
    {
        if (pipeline.Length == 0)
        {
            throw new ArgumentException("Pipeline id must not be empty.");
        }

        var body = await ReadAsync<PipelineRequest>(context);
        _state.AddPipeline(pipeline, body.StepSeconds is { } seconds ? ToDuration(seconds) : null);
        await JsonResponse.WriteObjectAsync(context, 200, new { pipeline });
    }

    /// <summary>Seeds a pipeline's history on one backend: dhub batches, or Prefect flow runs.</summary>
    private async Task SeedAsync(HttpContext context, string pipeline, bool prefect)
    {
        var body = await ReadAsync<SeedRequest>(context);
        if (body.Count < 0)
        {
            throw new ArgumentException("count must not be negative.");
        }

        if (!_state.IsKnownPipeline(pipeline))
        {
            await JsonResponse.WriteMessageAsync(context, StatusCodes.Status404NotFound, $"Pipeline '{pipeline}' not found");
            return;
        }

        if (prefect)
        {
            _state.SeedPrefect(pipeline, body.Count, body.Finished);
            await JsonResponse.WriteObjectAsync(context, 200, new { pipeline, seeded = body.Count, runs = _state.PrefectCounts(pipeline).Runs });
        }
        else
        {
            _state.Seed(pipeline, body.Count, body.Finished);
            await JsonResponse.WriteObjectAsync(context, 200, new { pipeline, seeded = body.Count, batches = _state.BatchCount(pipeline) });
        }
    }

    private async Task AddFaultAsync(HttpContext context)
    {
        var rule = await ReadAsync<FaultRule>(context);
        await JsonResponse.WriteObjectAsync(context, 200, _state.AddFault(rule));
    }

    private Task StatsAsync(HttpContext context)
    {
        var pipelines = _state.Batches.AllCounts()
            .ToDictionary(p => p.Key, p => new { batches = p.Value.Batches, created = p.Value.Created }, StringComparer.Ordinal);
        return JsonResponse.WriteObjectAsync(context, 200, new { pipelines });
    }

    private static Task Ok(HttpContext context, Action action)
    {
        action();
        return JsonResponse.WriteMessageAsync(context, 200, "ok");
    }

    private static TimeSpan ToDuration(double seconds) =>
        seconds >= 0 && double.IsFinite(seconds)
            ? TimeSpan.FromSeconds(seconds)
            : throw new ArgumentException("stepSeconds must be a non-negative number.");

    /// <summary>Reads an optional JSON body; an empty body means all defaults.</summary>
    private static async Task<T> ReadAsync<T>(HttpContext context)
        where T : new()
    {
        using var reader = new StreamReader(context.Request.Body);
        var text = await reader.ReadToEndAsync(context.RequestAborted);
        return string.IsNullOrWhiteSpace(text)
            ? new T()
            : JsonSerializer.Deserialize<T>(text, JsonResponse.ControlJson) ?? new T();
    }
}
