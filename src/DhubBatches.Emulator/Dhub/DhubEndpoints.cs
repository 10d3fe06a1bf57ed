using System;
using System.Globalization;
using System.Threading.Tasks;
using DhubBatches.Emulator.Hosting;
using DhubBatches.Emulator.Paths;
using Microsoft.AspNetCore.Http;

namespace DhubBatches.Emulator.Dhub;

/// <summary>
/// The dhub Batches API under <c>/api/v1/batches</c>, routed over raw path segments (see
/// <see cref="RawRequestTarget"/>) so an escaped id is always exactly one segment.
/// </summary>
internal sealed class DhubEndpoints
{
    private static readonly string[] Root = { "api", "v1", "batches" };
    private const int DefaultLimit = 100;

    private readonly RequestDelegate _next;
    private readonly EmulatorState _state;

    public DhubEndpoints(RequestDelegate next, EmulatorState state)
    {
        _next = next;
        _state = state;
    }

    public Task InvokeAsync(HttpContext context)
    {
        var target = RawRequestTarget.Of(context);
        if (!target.StartsWith(Root))
        {
            return _next(context);
        }

        if (!RequestCredentials.HasBearer(context.Request, _state.Dhub.Token))
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            return JsonResponse.WriteMessageAsync(context, StatusCodes.Status401Unauthorized, "Unauthorized: missing or invalid bearer token");
        }

        var s = target.Segments;
        var method = context.Request.Method;
        var pipeline = s.Count > 3 ? s[3] : string.Empty;
        if (pipeline.Length == 0)
        {
            return NotFound(context, target);
        }

        switch (s.Count)
        {
            case 4 when HttpMethods.IsPost(method):
                return CreateAsync(context, pipeline, target.Query("pipeline_version"));
            case 4 when HttpMethods.IsGet(method):
                return LatestAsync(context, pipeline);
            case 4:
                return MethodNotAllowed(context, "GET, POST");
            case 5 when s[4].Length == 0:
                return HttpMethods.IsGet(method) ? ListAsync(context, pipeline, target) : MethodNotAllowed(context, "GET");
            case 5 when HttpMethods.IsGet(method):
                return GetAsync(context, pipeline, s[4]);
            case 5 when HttpMethods.IsDelete(method):
                return DeleteAsync(context, pipeline, s[4]);
            case 5:
                return MethodNotAllowed(context, "GET, DELETE");
            case 6 when s[4].Length > 0 && s[5] == "stop":
                return HttpMethods.IsPut(method) ? StopAsync(context, pipeline, s[4]) : MethodNotAllowed(context, "PUT");
            default:
                return NotFound(context, target);
        }
    }

    private Task CreateAsync(HttpContext context, string pipeline, string? version)
    {
        var batch = _state.Dhub.Batches.Create(pipeline, string.IsNullOrEmpty(version) ? null : version, _state.UtcNow, _state.Dhub.Defaults);
        if (batch is null)
        {
            return Error(context, StoreResult.PipelineNotFound, pipeline, null);
        }

        return JsonResponse.WriteAsync(context, StatusCodes.Status200OK, w =>
        {
            w.WriteStartObject();
            w.WriteString("item", batch.Id);
            w.WriteEndObject();
        });
    }

    private Task LatestAsync(HttpContext context, string pipeline)
    {
        var result = _state.Dhub.Batches.TryGetLatest(pipeline, out var batch);
        return result == StoreResult.Ok ? WriteBatchAsync(context, batch!) : Error(context, result, pipeline, null);
    }

    private Task GetAsync(HttpContext context, string pipeline, string batchId)
    {
        var result = _state.Dhub.Batches.TryGet(pipeline, batchId, out var batch);
        return result == StoreResult.Ok ? WriteBatchAsync(context, batch!) : Error(context, result, pipeline, batchId);
    }

    private Task ListAsync(HttpContext context, string pipeline, RawRequestTarget target)
    {
        var limit = DefaultLimit;
        var limitText = target.Query("limit");
        if (!string.IsNullOrEmpty(limitText)
            && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > _state.Dhub.MaxPageSize))
        {
            return JsonResponse.WriteMessageAsync(context, StatusCodes.Status400BadRequest,
                $"Invalid limit '{limitText}': must be an integer between 1 and {_state.Dhub.MaxPageSize}");
        }

        long? before = null;
        var token = target.Query("token");
        if (!string.IsNullOrEmpty(token))
        {
            if (!PageToken.TryDecode(token, out var seq))
            {
                return JsonResponse.WriteMessageAsync(context, StatusCodes.Status400BadRequest, "Invalid pagination token");
            }

            before = seq;
        }

        var result = _state.Dhub.Batches.Page(pipeline, before, limit, out var items, out var next);
        if (result != StoreResult.Ok)
        {
            return Error(context, result, pipeline, null);
        }

        var now = _state.UtcNow;
        return JsonResponse.WriteAsync(context, StatusCodes.Status200OK, w =>
        {
            w.WriteStartObject();
            w.WriteStartObject("items");
            foreach (var batch in items)
            {
                // The quirk of the real API: each value is the batch document serialized as a string.
                w.WriteString(batch.Id, BatchJson.ToJsonString(batch, BatchLifecycle.Compute(batch, now)));
            }

            w.WriteEndObject();
            if (next is { } seq)
            {
                w.WriteString("token", PageToken.Encode(seq));
            }
            else
            {
                w.WriteNull("token");
            }

            w.WriteEndObject();
        });
    }

    /// <summary>Stopping an already finished or stopped batch answers 200 too: stop is idempotent here.</summary>
    private Task StopAsync(HttpContext context, string pipeline, string batchId)
    {
        var result = _state.Dhub.Batches.Stop(pipeline, batchId, _state.UtcNow);
        return result == StoreResult.Ok
            ? JsonResponse.WriteMessageAsync(context, StatusCodes.Status200OK, "Batch stopped successfully")
            : Error(context, result, pipeline, batchId);
    }

    private Task DeleteAsync(HttpContext context, string pipeline, string batchId)
    {
        var result = _state.Dhub.Batches.Delete(pipeline, batchId, _state.UtcNow);
        return result == StoreResult.Ok
            ? JsonResponse.WriteMessageAsync(context, StatusCodes.Status200OK, "Batch deleted successfully")
            : Error(context, result, pipeline, batchId);
    }

    private Task WriteBatchAsync(HttpContext context, StoredBatch batch)
    {
        var view = BatchLifecycle.Compute(batch, _state.UtcNow);
        return JsonResponse.WriteAsync(context, StatusCodes.Status200OK, w => BatchJson.Write(w, batch, view));
    }

    private static Task Error(HttpContext context, StoreResult result, string pipeline, string? batchId) =>
        JsonResponse.WriteMessageAsync(context, StatusCodes.Status404NotFound, result switch
        {
            StoreResult.PipelineNotFound => $"Pipeline '{pipeline}' not found",
            StoreResult.NoBatches => $"No batches found for pipeline '{pipeline}'",
            _ => $"Batch '{batchId}' not found in pipeline '{pipeline}'",
        });

    private static Task NotFound(HttpContext context, RawRequestTarget target) =>
        JsonResponse.WriteMessageAsync(context, StatusCodes.Status404NotFound, $"No endpoint for {target.RawPath}");

    private static Task MethodNotAllowed(HttpContext context, string allow)
    {
        context.Response.Headers.Allow = allow;
        return JsonResponse.WriteMessageAsync(context, StatusCodes.Status405MethodNotAllowed, "Method not allowed");
    }
}
