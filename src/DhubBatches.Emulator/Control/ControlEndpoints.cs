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
/// Test-control API under <c>/_emulator/</c>: not part of any real server, unauthenticated, never logged and
/// never faulted. Mirrors <see cref="EmulatorState"/>; the Prefect knobs live under <c>/_emulator/prefect/</c>
/// (<see cref="PrefectControlEndpoints"/>). Errors answer 400/404 with <c>{"message"}</c>.
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
        catch (KeyNotFoundException ex)
        {
            await JsonResponse.WriteMessageAsync(context, StatusCodes.Status404NotFound, ex.Message);
        }
    }

    private Task DispatchAsync(HttpContext context, IReadOnlyList<string> s, string method)
    {
        if (s.Count > 1 && s[1] == "prefect")
        {
            return PrefectControlEndpoints.DispatchAsync(context, _state, s, method);
        }

        var route = string.Join('/', s.Skip(1).Select((segment, i) => i == 1 && s[1] == "pipelines" ? "{p}" : segment));
        return (method, route) switch
        {
            ("POST", "reset") => Ok(context, _state.Reset),
            ("PUT", "settings") => SettingsAsync(context),
            ("POST", "pipelines/{p}") => AddPipelineAsync(context, s[2]),
            ("POST", "pipelines/{p}/seed") => SeedAsync(context, s[2]),
            ("GET", "faults") => JsonResponse.WriteObjectAsync(context, 200, _state.Faults),
            ("POST", "faults") => AddFaultAsync(context),
            ("DELETE", "faults") => Ok(context, _state.ClearFaults),
            ("GET", "requests") => JsonResponse.WriteObjectAsync(context, 200, _state.Requests),
            ("DELETE", "requests") => Ok(context, _state.ClearRequests),
            ("GET", "requests/summary") => JsonResponse.WriteObjectAsync(context, 200, _state.RequestSummary),
            ("GET", "stats") => StatsAsync(context),
            ("GET", "clock") => ClockAsync(context),
            ("POST", "clock/advance") => AdvanceAsync(context),
            _ => NotFound(context, s, method),
        };
    }

    internal static Task NotFound(HttpContext context, IReadOnlyList<string> s, string method) =>
        JsonResponse.WriteMessageAsync(context, StatusCodes.Status404NotFound, $"No control endpoint {method} /{string.Join('/', s)}");

    private async Task SettingsAsync(HttpContext context)
    {
        var body = await ReadAsync<SettingsRequest>(context);
        if (body.StepSeconds is { } seconds)
        {
            _state.StepDuration = ToDuration(seconds);
        }

        if (body.Token is not null)
        {
            _state.Dhub.Token = body.Token.Length == 0 ? null : body.Token;
        }

        await JsonResponse.WriteObjectAsync(context, 200, new
        {
            stepSeconds = _state.StepDuration.TotalSeconds,
            authentication = _state.Dhub.Token is null ? "disabled" : "bearer",
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

    /// <summary>Seeds a pipeline's dhub history (Prefect runs: <c>/_emulator/prefect/pipelines/{p}/seed</c>).</summary>
    private async Task SeedAsync(HttpContext context, string pipeline)
    {
        var body = await ReadAsync<SeedRequest>(context);
        if (body.Count < 0)
        {
            throw new ArgumentException("count must not be negative.");
        }

        if (!_state.IsKnownPipeline(pipeline))
        {
            throw new KeyNotFoundException($"Pipeline '{pipeline}' not found");
        }

        _state.Dhub.Seed(pipeline, body.Count, body.Finished);
        await JsonResponse.WriteObjectAsync(context, 200, new { pipeline, seeded = body.Count, batches = _state.Dhub.BatchCount(pipeline) });
    }

    private async Task AddFaultAsync(HttpContext context)
    {
        var rule = await ReadAsync<FaultRule>(context);
        await JsonResponse.WriteObjectAsync(context, 200, _state.AddFault(rule));
    }

    private Task StatsAsync(HttpContext context)
    {
        var pipelines = _state.Dhub.Batches.AllCounts()
            .ToDictionary(p => p.Key, p => new { batches = p.Value.Batches, created = p.Value.Created }, StringComparer.Ordinal);
        return JsonResponse.WriteObjectAsync(context, 200, new { pipelines });
    }

    private Task ClockAsync(HttpContext context) => JsonResponse.WriteObjectAsync(context, 200, new { now = _state.UtcNow });

    /// <summary>Moves the clock forward, so a test against an emulator process can skip ahead (to a Late run, a schedule slot).</summary>
    private async Task AdvanceAsync(HttpContext context)
    {
        var body = await ReadAsync<AdvanceRequest>(context);
        _state.Advance(ToDuration(body.Seconds));
        await ClockAsync(context);
    }

    internal static Task Ok(HttpContext context, Action action)
    {
        action();
        return JsonResponse.WriteMessageAsync(context, 200, "ok");
    }

    internal static TimeSpan ToDuration(double seconds) =>
        seconds >= 0 && double.IsFinite(seconds)
            ? TimeSpan.FromSeconds(seconds)
            : throw new ArgumentException("seconds must be a non-negative number.");

    /// <summary>Reads an optional JSON body; an empty body means all defaults.</summary>
    internal static async Task<T> ReadAsync<T>(HttpContext context)
        where T : new()
    {
        var text = await ReadTextAsync(context);
        return string.IsNullOrWhiteSpace(text)
            ? new T()
            : JsonSerializer.Deserialize<T>(text, JsonResponse.ControlJson) ?? new T();
    }

    internal static async Task<string> ReadTextAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body);
        return await reader.ReadToEndAsync(context.RequestAborted);
    }
}
