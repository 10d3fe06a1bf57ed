using DhubBatches.Contract;
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net.Http;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Polly.Timeout;
using Refit;

namespace DhubBatches.Engine.Http;

/// <summary>What a 404 means for the call that got it.</summary>
internal delegate DhubErrorKind NotFoundMeaning(string? serverMessage);

/// <summary>
/// Awaits a Refit call and turns every way it can fail into a <see cref="DhubException"/> with the ErrorIds of
/// interface.md: HTTP status, transport failure, timeout, or an answer that is not the expected JSON.
/// </summary>
internal static class ApiCall
{
    public static async Task<T> ContentAsync<T>(Task<IApiResponse<T>> call, NotFoundMeaning notFound, CancellationToken cancellationToken)
        where T : class
    {
        using var response = await ResponseAsync(call, notFound, cancellationToken).ConfigureAwait(false);
        return response.Content ?? throw Invalid(response.RequestMessage, (int)(response.StatusCode ?? 0), "the answer had no JSON body");
    }

    /// <summary>
    /// The successful response; throws for everything else. With <paramref name="keepUnreadableBody"/>, a 2xx whose
    /// body did not deserialize is returned too (its Error holds the text), for callers that salvage what they can.
    /// </summary>
    public static async Task<TResponse> ResponseAsync<TResponse>(Task<TResponse> call, NotFoundMeaning notFound, CancellationToken cancellationToken, bool keepUnreadableBody = false)
        where TResponse : IApiResponse
    {
        TResponse response;
        try
        {
            response = await call.ConfigureAwait(false);
        }
        catch (ApiRequestException ex)
        {
            throw Transport(ex.RequestMessage, ex.InnerException ?? ex, cancellationToken);
        }
        catch (ApiException ex)
        {
            throw FromStatus(ex.RequestMessage, (int)ex.StatusCode, ex.ReasonPhrase, ex.Content, notFound, ex);
        }
        catch (Exception ex) when (ex is HttpRequestException || ex is TimeoutRejectedException || ex is System.IO.IOException)
        {
            throw Transport(null, ex, cancellationToken);
        }

        if (cancellationToken.IsCancellationRequested)
        {
            // Cancelled while Refit read the body: a cancellation, not an invalid answer.
            response.Dispose();
            throw new OperationCanceledException(cancellationToken);
        }
        if (response.HasRequestError(out var requestError))
        {
            response.Dispose();
            throw Transport(requestError!.RequestMessage, requestError.InnerException ?? requestError, cancellationToken);
        }
        if (!response.IsSuccessStatusCode)
        {
            var content = response.Error is ApiException apiError ? apiError.Content : null;
            response.Dispose();
            throw FromStatus(response.RequestMessage, (int)(response.StatusCode ?? 0), response.ReasonPhrase, content, notFound, response.Error);
        }
        if (response.Error != null && !keepUnreadableBody)
        {
            // A 2xx whose body did not deserialize: HTML, a body cut short, or JSON of the wrong shape.
            var error = response.Error;
            response.Dispose();
            throw Invalid(response.RequestMessage, (int)(response.StatusCode ?? 0), Describe(error), error);
        }
        return response;
    }

    public static DhubException Invalid(HttpRequestMessage? request, int status, string reason, Exception? inner = null) =>
        new DhubException(
            DhubErrorKind.DhubInvalidResponse,
            $"{Describe(request)} -> {status}: the answer is not the expected JSON ({reason}).",
            inner)
        {
            StatusCode = status,
        };

    public static DhubException FromStatus(HttpRequestMessage? request, int status, string? reason, string? body, NotFoundMeaning notFound, Exception? inner)
    {
        var serverMessage = ServerMessage(body);
        var kind = status switch
        {
            400 or 422 => DhubErrorKind.DhubBadRequest,
            401 => DhubErrorKind.DhubUnauthorized,
            403 => DhubErrorKind.DhubForbidden,
            404 => notFound(serverMessage),
            409 => DhubErrorKind.DhubConflict,
            408 or 429 or >= 500 => DhubErrorKind.DhubServiceUnavailable,
            >= 400 => DhubErrorKind.DhubBadRequest,
            _ => DhubErrorKind.DhubInvalidResponse,
        };
        var text = serverMessage ?? (LooksLikeHtml(body) ? "the server answered with an HTML page" : null);
        var message = $"{Describe(request)} -> {status} {reason}".TrimEnd();
        if (kind == DhubErrorKind.DhubServiceUnavailable)
        {
            message += RetriesNote(request);
        }
        return new DhubException(kind, text == null ? message + "." : message + ": " + text, inner)
        {
            StatusCode = status,
            ServerMessage = serverMessage,
            MayHaveBeenApplied = request != null && !RequestOptions.IsIdempotent(request) && status >= 500,
        };
    }

    public static DhubException Transport(HttpRequestMessage? request, Exception ex, CancellationToken cancellationToken)
    {
        if (ex is OperationCanceledException && cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }
        if (ex is ResponseBodyException cut && cut.StatusCode >= 200 && cut.StatusCode < 300)
        {
            // interface.md: a truncated body is DhubInvalidResponse; a non-idempotent request was applied.
            var invalid = Invalid(request, cut.StatusCode, cut.Message + RetriesNote(request), ex);
            invalid.MayHaveBeenApplied = request != null && !RequestOptions.IsIdempotent(request);
            return invalid;
        }
        var neverSent = ex is HttpRequestException http && RetryPolicy.NeverSent(http);
        var what = ex switch
        {
            TimeoutRejectedException timeout => $"no answer within {timeout.Timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s",
            OperationCanceledException => "the request timed out",
            _ => ex.InnerException != null && ex.InnerException.Message != ex.Message
                ? ex.Message + " " + ex.InnerException.Message
                : ex.Message,
        };
        var applied = request != null && !RequestOptions.IsIdempotent(request) && !neverSent;
        var message = $"{Describe(request)} failed: {what}" + RetriesNote(request);
        if (applied)
        {
            message += " The server may have applied the request although no answer arrived.";
        }
        return new DhubException(DhubErrorKind.DhubServiceUnavailable, message, ex) { MayHaveBeenApplied = applied };
    }

    /// <summary>The server's own message: dhub <c>message</c>, Prefect <c>detail</c> (string or list) or <c>exception_message</c>.</summary>
    public static string? ServerMessage(string? body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return null;
        }
        try
        {
            using var document = JsonDocument.Parse(body!);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return null;
            }
            foreach (var name in new[] { "detail", "message", "exception_message" })
            {
                if (root.TryGetProperty(name, out var value) && Text(value) is { Length: > 0 } text)
                {
                    if (name == "exception_message" && root.TryGetProperty("exception_detail", out var details) && Text(details) is { Length: > 0 } detailText)
                    {
                        return text + " " + detailText;
                    }
                    return text;
                }
            }
        }
        catch (JsonException)
        {
            // not JSON: the caller describes the body instead.
        }
        return null;
    }

    private static string? Text(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString(),
        JsonValueKind.Array => string.Join("; ", value.EnumerateArray().Select(Text).Where(t => !string.IsNullOrEmpty(t))),
        // Prefect validation items: {"loc":["body","foo"],"msg":"Extra inputs are not permitted"}
        JsonValueKind.Object when value.TryGetProperty("msg", out var msg) =>
            (value.TryGetProperty("loc", out var loc) && loc.ValueKind == JsonValueKind.Array
                ? string.Join(".", loc.EnumerateArray().Select(l => l.ToString())) + ": "
                : string.Empty) + msg.GetString(),
        _ => null,
    };

    private static bool LooksLikeHtml(string? body) =>
        body != null && body.TrimStart().StartsWith("<", StringComparison.Ordinal);

    private static string Describe(Exception error) => error.InnerException switch
    {
        JsonException json => json.Message,
        null => error.Message,
        var inner => inner.Message,
    };

    public static string Describe(HttpRequestMessage? request) =>
        request == null ? "The request" : $"{request.Method} {request.RequestUri?.AbsolutePath}";

    private static string RetriesNote(HttpRequestMessage? request) =>
        request != null && RequestOptions.IsIdempotent(request) ? " (after retries)" : string.Empty;
}
