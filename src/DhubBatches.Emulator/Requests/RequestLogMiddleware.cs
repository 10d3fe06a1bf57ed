using System;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using DhubBatches.Emulator.Paths;
using Microsoft.AspNetCore.Http;

namespace DhubBatches.Emulator.Requests;

/// <summary>
/// Records every non-control request. The entry is written when the response starts (or, for answers
/// that never start, when the request ends or a fault calls <see cref="Complete"/> before dropping
/// the connection), so by the time a client sees any outcome its request is already in the log.
/// </summary>
internal sealed class RequestLogMiddleware
{
    private static readonly object ItemsKey = new();
    private readonly RequestDelegate _next;
    private readonly EmulatorState _state;

    public RequestLogMiddleware(RequestDelegate next, EmulatorState state)
    {
        _next = next;
        _state = state;
    }

    /// <summary>Names the fault rule applied to the current request in its log entry.</summary>
    public static void MarkFault(HttpContext context, string? ruleId)
    {
        if (context.Items[ItemsKey] is Scope scope)
        {
            scope.Fault = ruleId;
        }
    }

    /// <summary>Writes the current request's entry now (idempotent); used before aborting a connection.</summary>
    public static void Complete(HttpContext context, bool aborted)
    {
        if (context.Items[ItemsKey] is Scope scope)
        {
            scope.Complete(aborted);
        }
    }

    public async Task InvokeAsync(HttpContext context)
    {
        var target = RawRequestTarget.Of(context);
        if (target.StartsWith(Control.ControlEndpoints.RootSegment))
        {
            await _next(context);
            return;
        }

        var scope = new Scope(context, target, _state.RequestLog, _state.RequestTotals);
        context.Items[ItemsKey] = scope;
        context.Response.OnStarting(() =>
        {
            scope.Complete(aborted: false);
            return Task.CompletedTask;
        });

        try
        {
            await _next(context);
        }
        finally
        {
            scope.Complete(context.RequestAborted.IsCancellationRequested);
        }
    }

    private sealed class Scope
    {
        private readonly HttpContext _context;
        private readonly RawRequestTarget _target;
        private readonly BoundedLog<RequestLogEntry> _log;
        private readonly RequestTotals _totals;
        private readonly Stopwatch _stopwatch = Stopwatch.StartNew();
        private readonly DateTimeOffset _timestamp = DateTimeOffset.UtcNow;
        private int _completed;

        public Scope(HttpContext context, RawRequestTarget target, BoundedLog<RequestLogEntry> log, RequestTotals totals)
        {
            _context = context;
            _target = target;
            _log = log;
            _totals = totals;
        }

        public string? Fault { get; set; }

        public void Complete(bool aborted)
        {
            if (Interlocked.Exchange(ref _completed, 1) != 0)
            {
                return;
            }

            var request = _context.Request;
            var elapsed = _stopwatch.Elapsed.TotalMilliseconds;
            _totals.Add(request.Method, _target.Segments, elapsed);
            _log.Add(new RequestLogEntry(
                _timestamp,
                request.Method,
                _target.RawTarget,
                _target.Segments,
                _context.Response.StatusCode,
                request.Headers.ContainsKey("Authorization") ? "present" : "absent",
                request.Headers.UserAgent.ToString() is { Length: > 0 } ua ? ua : null,
                Math.Round(elapsed, 1),
                Fault,
                aborted,
                request.Headers["X-PREFECT-API-VERSION"].ToString() is { Length: > 0 } version ? version : null));
        }
    }
}
