using System;
using System.IO;
using System.Net;
using System.Text;
using System.Threading.Tasks;
using DhubBatches.Emulator.Hosting;
using DhubBatches.Emulator.Paths;
using DhubBatches.Emulator.Requests;
using Microsoft.AspNetCore.Http;

namespace DhubBatches.Emulator.Faults;

/// <summary>
/// Applies the first matching <see cref="FaultRule"/> to any non-control request, in front of every
/// API surface. Sits after the request log so injected answers are logged with their rule id.
/// </summary>
internal sealed class FaultMiddleware
{
    private readonly RequestDelegate _next;
    private readonly EmulatorState _state;

    public FaultMiddleware(RequestDelegate next, EmulatorState state)
    {
        _next = next;
        _state = state;
    }

    public async Task InvokeAsync(HttpContext context)
    {
        var target = RawRequestTarget.Of(context);
        var rule = target.StartsWith(Control.ControlEndpoints.RootSegment)
            ? null
            : _state.FaultRules.Match(context.Request.Method, target.DecodedPath, target.RawTarget);
        if (rule is null)
        {
            await _next(context);
            return;
        }

        RequestLogMiddleware.MarkFault(context, rule.Id);
        if (rule.DelayMs > 0)
        {
            try
            {
                await Task.Delay(rule.DelayMs, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                // The client gave up while we were stalling; there is nobody left to answer.
                return;
            }
        }

        switch (rule.Mode)
        {
            case FaultMode.Delay:
                await _next(context);
                break;
            case FaultMode.Respond:
                await RespondAsync(context, rule);
                break;
            case FaultMode.Drop:
                Drop(context);
                break;
            case FaultMode.ApplyThenDrop:
                await RunBufferedAsync(context);
                Drop(context);
                break;
            case FaultMode.Truncate:
                await TruncateAsync(context);
                break;
            default:
                await DamageAsync(context, rule, target.DecodedPath);
                break;
        }
    }

    private static Task RespondAsync(HttpContext context, FaultRule rule)
    {
        var response = context.Response;
        if (rule.RetryAfter is not null)
        {
            response.Headers.RetryAfter = rule.RetryAfter;
        }

        foreach (var (name, value) in rule.Headers ?? new())
        {
            response.Headers[name] = value;
        }

        var contentType = rule.ContentType ?? JsonResponse.ContentType;
        var isHtml = contentType.Contains("html", StringComparison.OrdinalIgnoreCase);
        var body = rule.Body ?? (isHtml ? HtmlErrorPage(rule.Status) : "{\"message\":\"injected fault\"}");

        // These statuses must not carry a body.
        if (rule.Status is < 200 or 204 or 304)
        {
            response.StatusCode = rule.Status;
            return Task.CompletedTask;
        }

        return JsonResponse.WriteBytesAsync(context, rule.Status, Encoding.UTF8.GetBytes(body), contentType);
    }

    private static void Drop(HttpContext context)
    {
        RequestLogMiddleware.Complete(context, aborted: true);
        context.Abort();
    }

    /// <summary>Runs the API with the body captured in memory, so nothing reaches the client yet.</summary>
    private async Task<byte[]> RunBufferedAsync(HttpContext context)
    {
        var original = context.Response.Body;
        using var buffer = new MemoryStream();
        context.Response.Body = buffer;
        try
        {
            await _next(context);
        }
        finally
        {
            context.Response.Body = original;
        }

        return buffer.ToArray();
    }

    /// <summary>
    /// Announces the full length but sends half. Returning with fewer bytes than Content-Length makes
    /// Kestrel close the connection after flushing what was written, which reliably gives the client
    /// headers plus a short body; an immediate Abort could discard the half body still in flight.
    /// Kestrel logs this as a "Content-Length mismatch" error on stderr: expected for this fault.
    /// </summary>
    private async Task TruncateAsync(HttpContext context)
    {
        var body = await RunBufferedAsync(context);
        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body.AsMemory(0, body.Length / 2), context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);
    }

    /// <summary>Runs the API, then rewrites one record of a successful JSON answer (other answers pass unchanged).</summary>
    private async Task DamageAsync(HttpContext context, FaultRule rule, string path)
    {
        var body = await RunBufferedAsync(context);
        var json = context.Response.ContentType?.Contains("json", StringComparison.OrdinalIgnoreCase) == true
            && context.Response.StatusCode is >= 200 and < 300;
        var output = json ? RecordDamage.Apply(rule, path, body) : body;
        context.Response.ContentLength = output.Length;
        await context.Response.Body.WriteAsync(output, context.RequestAborted);
    }

    private static string HtmlErrorPage(int status)
    {
        var reason = WebUtility.HtmlEncode(ReasonPhrase(status));
        return $"<!DOCTYPE html>\n<html><head><title>{status} {reason}</title></head>\n"
            + $"<body><h1>{status} {reason}</h1><p>injected fault</p><hr><center>nginx</center></body></html>\n";
    }

    private static string ReasonPhrase(int status) =>
        Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status) is { Length: > 0 } phrase ? phrase : "Error";
}
