using DhubBatches.Contract;
using System;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;

namespace DhubBatches.Engine.Http;

/// <summary>
/// One -Verbose line per attempt: method, URL, status, elapsed ms. Headers are never logged (they carry the
/// secret), nor are bodies.
/// </summary>
internal sealed class RequestLogHandler : DelegatingHandler
{
    public RequestLogHandler(HttpMessageHandler inner)
        : base(inner)
    {
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var log = EngineLog.Current;
        if (log != null && !log.IsVerboseEnabled)
        {
            log = null; // nobody reads it: do not build the text
        }
        var started = Stopwatch.GetTimestamp();
        try
        {
            var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (log != null)
            {
                log.Verbose(string.Format(
                    CultureInfo.InvariantCulture,
                    "{0} {1} -> {2} {3} ({4} ms)",
                    request.Method,
                    request.RequestUri,
                    (int)response.StatusCode,
                    response.ReasonPhrase,
                    Elapsed(started)));
            }
            return response;
        }
        catch (Exception ex) when (log != null)
        {
            log.Verbose(string.Format(
                CultureInfo.InvariantCulture,
                "{0} {1} -> {2} ({3} ms)",
                request.Method,
                request.RequestUri,
                ex is OperationCanceledException ? "cancelled" : "failed: " + ex.Message,
                Elapsed(started)));
            throw;
        }
    }

    private static long Elapsed(long started) =>
        (long)((Stopwatch.GetTimestamp() - started) * 1000.0 / Stopwatch.Frequency);
}
