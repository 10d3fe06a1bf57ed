using DhubBatches.Contract;
using System;
using System.Net;
using System.Net.Http;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;

namespace DhubBatches.Engine.Prefect;

/// <summary>
/// Prefect's CSRF protection (docs/prefect.md, Connecting), lazily: before the first change request ask <c>/csrf-token</c> once; a 422
/// or 404 there means the server has none and no header is ever sent again. The token is renewed when it
/// expires or when the server answers 403 about it (once per request; a second 403 is reported as forbidden).
/// Runs per attempt, inside the retry pipeline, so a retried request carries a current token.
/// </summary>
internal sealed class CsrfHandler : DelegatingHandler
{
    private readonly Uri _apiRoot;
    private readonly string _clientId = Guid.NewGuid().ToString();
    private readonly SemaphoreSlim _gate = new SemaphoreSlim(1, 1);
    private bool? _enabled;
    private string? _token;
    private DateTimeOffset _expires;

    public CsrfHandler(Uri apiRoot, bool enabled, HttpMessageHandler inner)
        : base(inner)
    {
        _apiRoot = apiRoot;
        _enabled = enabled ? (bool?)null : false; // Prefect Cloud has no CSRF protection: never ask.
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (!IsChange(request.Method) || _enabled == false)
        {
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }

        var token = await TokenAsync(request, renew: false, cancellationToken).ConfigureAwait(false);
        var body = request.Content == null ? null : await request.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        var response = await base.SendAsync(WithToken(request, body, token), cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.Forbidden || !await IsCsrfRejectionAsync(response, cancellationToken).ConfigureAwait(false))
        {
            return response;
        }

        response.Dispose();
        EngineLog.Current?.Verbose("Prefect refused the CSRF token; fetching a new one.");
        token = await TokenAsync(request, renew: true, cancellationToken).ConfigureAwait(false);
        return await base.SendAsync(WithToken(request, body, token), cancellationToken).ConfigureAwait(false);
    }

    private static bool IsChange(HttpMethod method) =>
        method == HttpMethod.Post || method == HttpMethod.Put || method == HttpMethod.Delete || method.Method == "PATCH";

    private HttpRequestMessage WithToken(HttpRequestMessage request, byte[]? body, string? token)
    {
        var copy = Http.RequestCopy.Of(request, body);
        if (token != null)
        {
            copy.Headers.TryAddWithoutValidation("Prefect-Csrf-Token", token);
            copy.Headers.TryAddWithoutValidation("Prefect-Csrf-Client", _clientId);
        }
        return copy;
    }

    private async Task<string?> TokenAsync(HttpRequestMessage request, bool renew, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_enabled == false)
            {
                return null;
            }
            if (!renew && _token != null && DateTimeOffset.UtcNow < _expires)
            {
                return _token;
            }
            var ask = new HttpRequestMessage(HttpMethod.Get, new Uri(_apiRoot, "csrf-token?client=" + Uri.EscapeDataString(_clientId)));
            foreach (var header in request.Headers)
            {
                if (!header.Key.StartsWith("Prefect-Csrf", StringComparison.OrdinalIgnoreCase))
                {
                    ask.Headers.TryAddWithoutValidation(header.Key, header.Value);
                }
            }
            using var response = await base.SendAsync(ask, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.NotFound || (int)response.StatusCode == 422)
            {
                _enabled = false; // an old server, or CSRF protection switched off
                _token = null;
                return null;
            }
            if (!response.IsSuccessStatusCode)
            {
                return null; // let the change request itself report what is wrong (401, 5xx, …)
            }
            var csrf = JsonSerializer.Deserialize(
                await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false),
                PrefectJsonContext.Default.PrefectCsrfToken);
            _enabled = true;
            _token = csrf?.Token;
            // Renew a minute early so a token never expires in flight.
            _expires = (csrf?.Expiration ?? DateTimeOffset.UtcNow.AddMinutes(10)) - TimeSpan.FromMinutes(1);
            return _token;
        }
        catch (JsonException)
        {
            return null;
        }
        finally
        {
            _gate.Release();
        }
    }

    private static async Task<bool> IsCsrfRejectionAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        // Buffers the body (the caller may still read it) and honours Ctrl+C and the attempt's timeout while it comes.
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        return text.IndexOf("CSRF", StringComparison.OrdinalIgnoreCase) >= 0;
    }
}
