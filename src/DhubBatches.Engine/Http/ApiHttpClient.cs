using DhubBatches.Contract;
using System;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Security;

namespace DhubBatches.Engine.Http;

/// <summary>Builds the one HttpClient of an engine: pooled connections, resilience, per-attempt logging.</summary>
internal static class ApiHttpClient
{
    public static HttpClient Create(EngineSettings settings, Uri? baseAddress = null, Func<HttpMessageHandler, HttpMessageHandler>? wrapAttempt = null) =>
        Create(settings, out _, baseAddress, wrapAttempt);

    /// <summary>The same, and the clock its answers' Date headers keep.</summary>
    public static HttpClient Create(EngineSettings settings, out ServerClock clock, Uri? baseAddress = null, Func<HttpMessageHandler, HttpMessageHandler>? wrapAttempt = null)
    {
        var sockets = new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
            ConnectTimeout = TimeSpan.FromSeconds(Math.Min(30, settings.TimeoutSec > 0 ? settings.TimeoutSec : 30)),
            // The redirect handler drops Authorization on every redirect, so a secret never follows one to another host.
            AllowAutoRedirect = true,
            MaxAutomaticRedirections = 5,
            AutomaticDecompression = System.Net.DecompressionMethods.GZip | System.Net.DecompressionMethods.Deflate,
        };
        if (settings.SkipCertificateCheck)
        {
            sockets.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        }

        clock = new ServerClock(sockets);
        HttpMessageHandler attempt = new RequestLogHandler(clock);
        if (wrapAttempt != null)
        {
            attempt = wrapAttempt(attempt);
        }
        var gate = new RequestGate();
        var handler = new ResilienceHandler(RetryPolicy.Create(settings, gate), gate, attempt);

        var client = new HttpClient(handler)
        {
            BaseAddress = baseAddress ?? settings.Uri,
            Timeout = System.Threading.Timeout.InfiniteTimeSpan, // per attempt, in the resilience pipeline
        };
        client.DefaultRequestHeaders.UserAgent.Clear();
        client.DefaultRequestHeaders.TryAddWithoutValidation("User-Agent", settings.UserAgent);
        client.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        var authorization = Authorization(settings);
        if (authorization != null)
        {
            client.DefaultRequestHeaders.Authorization = authorization;
        }
        return client;
    }

    private static AuthenticationHeaderValue? Authorization(EngineSettings settings)
    {
        if (settings.Authentication == AuthenticationKind.None || settings.Secret == null)
        {
            return null;
        }
        var secret = SecretText.Reveal(settings.Secret);
        return settings.Authentication == AuthenticationKind.Basic
            ? new AuthenticationHeaderValue("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(secret)))
            : new AuthenticationHeaderValue("Bearer", secret);
    }
}
