using DhubBatches.Contract;
using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Threading.Tasks;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace DhubBatches.Engine.Http;

/// <summary>
/// The one resilience pipeline of every request: bounded exponential retries with jitter around a per-attempt
/// timeout. Only requests that cannot duplicate work are retried after they may have reached the server; a
/// non-idempotent POST is retried only when the connection was never made.
/// </summary>
internal static class RetryPolicy
{
    public static readonly ResiliencePropertyKey<HttpRequestMessage> Request = new ResiliencePropertyKey<HttpRequestMessage>("DhubBatches.Request");
    private static readonly ResiliencePropertyKey<int> s_countedRetries = new ResiliencePropertyKey<int>("DhubBatches.CountedRetries");

    /// <summary>Longest server-requested wait honoured (Retry-After); a longer one is shortened to this.</summary>
    public static readonly TimeSpan MaxRetryAfter = TimeSpan.FromMinutes(5);

    /// <summary>Retries on Prefect-Maintenance answers do not use up attempts (as Prefect's SDK), but are bounded too.</summary>
    private const int MaxMaintenanceRetries = 30;

    private static readonly int[] s_transientStatus = { 408, 429, 500, 502, 503, 504 };

    public static ResiliencePipeline<HttpResponseMessage> Create(EngineSettings settings, RequestGate gate)
    {
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage>();
        if (settings.MaximumRetryCount > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = settings.MaximumRetryCount + MaxMaintenanceRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromSeconds(Math.Max(0, settings.RetryIntervalSec)),
                MaxDelay = TimeSpan.FromSeconds(Math.Max(30, settings.RetryIntervalSec)),
                ShouldHandle = args => new ValueTask<bool>(ShouldRetry(args.Outcome, args.Context, settings.MaximumRetryCount)),
                DelayGenerator = args => new ValueTask<TimeSpan?>(Later(ServerRequestedDelay(args.Outcome.Result), gate.Remaining)),
                OnRetry = args =>
                {
                    if (args.Outcome.Result is { } response && ((int)response.StatusCode == 429 || (int)response.StatusCode == 503))
                    {
                        gate.Hold(args.RetryDelay); // the server is overloaded: the other requests wait too.
                    }
                    LogRetry(args.Context, args.Outcome, args.RetryDelay, args.AttemptNumber + 1);
                    return default;
                },
            });
        }
        if (settings.TimeoutSec > 0)
        {
            builder.AddTimeout(TimeSpan.FromSeconds(settings.TimeoutSec));
        }
        return builder.Build();
    }

    private static bool ShouldRetry(Outcome<HttpResponseMessage> outcome, ResilienceContext context, int maximumRetryCount)
    {
        if (context.CancellationToken.IsCancellationRequested || !context.Properties.TryGetValue(Request, out var request))
        {
            return false;
        }
        if (!IsTransient(outcome, RequestOptions.IsIdempotent(request)))
        {
            return false;
        }
        if (IsMaintenance(outcome.Result))
        {
            return true; // bounded by MaxRetryAttempts, which adds MaxMaintenanceRetries.
        }
        var counted = context.Properties.GetValue(s_countedRetries, 0);
        if (counted >= maximumRetryCount)
        {
            return false;
        }
        context.Properties.Set(s_countedRetries, counted + 1);
        return true;
    }

    /// <summary>The server's own delay, but no earlier than a hold another request of the engine was given.</summary>
    private static TimeSpan? Later(TimeSpan? requested, TimeSpan held) =>
        held > TimeSpan.Zero && (requested == null || requested.Value < held) ? held : requested;

    /// <summary>Could sending the same request again succeed without risking duplicate work?</summary>
    internal static bool IsTransient(Outcome<HttpResponseMessage> outcome, bool idempotent)
    {
        if (outcome.Result is { } response)
        {
            return idempotent && s_transientStatus.Contains((int)response.StatusCode);
        }
        return outcome.Exception switch
        {
            null => false,
            TimeoutRejectedException => idempotent,
            OperationCanceledException => false, // the caller's cancellation; timeouts arrive as TimeoutRejectedException
            HttpRequestException http when NeverSent(http) => true,
            HttpRequestException => idempotent,
            IOException => idempotent,
            _ => false,
        };
    }

    /// <summary>True only when the connection was never made, so the server cannot have seen the request.</summary>
    internal static bool NeverSent(HttpRequestException ex)
    {
        if (ex.HttpRequestError == HttpRequestError.NameResolutionError)
        {
            return true;
        }
        return ex.HttpRequestError == HttpRequestError.ConnectionError &&
            ex.InnerException is SocketException socket &&
            (socket.SocketErrorCode == SocketError.ConnectionRefused ||
             socket.SocketErrorCode == SocketError.HostNotFound ||
             socket.SocketErrorCode == SocketError.HostUnreachable ||
             socket.SocketErrorCode == SocketError.NetworkUnreachable ||
             socket.SocketErrorCode == SocketError.TryAgain ||
             socket.SocketErrorCode == SocketError.NoData);
    }

    /// <summary>Retry-After as seconds (integer or, as Prefect sends, a float) or an HTTP date; capped.</summary>
    internal static TimeSpan? ServerRequestedDelay(HttpResponseMessage? response)
    {
        if (response == null || !response.Headers.TryGetValues("Retry-After", out var values))
        {
            return null;
        }
        var raw = values.FirstOrDefault()?.Trim();
        if (string.IsNullOrEmpty(raw))
        {
            return null;
        }
        TimeSpan delay;
        if (double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
        {
            delay = TimeSpan.FromSeconds(Math.Max(0, seconds));
        }
        else if (DateTimeOffset.TryParse(raw, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date))
        {
            var now = response.Headers.Date ?? DateTimeOffset.UtcNow;
            delay = date - now;
            if (delay < TimeSpan.Zero)
            {
                delay = TimeSpan.Zero;
            }
        }
        else
        {
            return null;
        }
        return delay > MaxRetryAfter ? MaxRetryAfter : delay;
    }

    private static bool IsMaintenance(HttpResponseMessage? response) =>
        response != null && response.Headers.TryGetValues("Prefect-Maintenance", out var values) &&
        values.Any(v => string.Equals(v.Trim(), "true", StringComparison.OrdinalIgnoreCase));

    private static void LogRetry(ResilienceContext context, Outcome<HttpResponseMessage> outcome, TimeSpan delay, int nextAttempt)
    {
        var log = EngineLog.Current;
        if (log == null || !context.Properties.TryGetValue(Request, out var request))
        {
            return;
        }
        var reason = outcome.Result is { } response
            ? ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture) + " " + response.ReasonPhrase
            : outcome.Exception is TimeoutRejectedException
                ? "timed out"
                : outcome.Exception?.Message;
        log.Verbose(string.Format(
            CultureInfo.InvariantCulture,
            "Retrying {0} {1} in {2:0.0} s (attempt {3}) after: {4}",
            request.Method,
            request.RequestUri?.AbsolutePath,
            delay.TotalSeconds,
            nextAttempt,
            reason));
    }
}
