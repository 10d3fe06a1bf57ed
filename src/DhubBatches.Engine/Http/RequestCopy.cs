using DhubBatches.Contract;
using System;
using System.Net.Http;

namespace DhubBatches.Engine.Http;

/// <summary>A request message can be sent only once; retries and CSRF renewals send copies.</summary>
internal static class RequestCopy
{
    public static HttpRequestMessage Of(HttpRequestMessage request, byte[]? body)
    {
        var copy = new HttpRequestMessage(request.Method, request.RequestUri) { Version = request.Version };
        foreach (var header in request.Headers)
        {
            copy.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }
        foreach (var option in request.Options)
        {
            copy.Options.Set(new HttpRequestOptionsKey<object?>(option.Key), option.Value);
        }
        if (body != null)
        {
            // A byte array gives the body a Content-Length, which Prefect Cloud requires (docs/prefect.md, Connecting).
            copy.Content = new ByteArrayContent(body);
            if (request.Content != null)
            {
                foreach (var header in request.Content.Headers)
                {
                    if (!string.Equals(header.Key, "Content-Length", StringComparison.OrdinalIgnoreCase))
                    {
                        copy.Content.Headers.TryAddWithoutValidation(header.Key, header.Value);
                    }
                }
            }
        }
        return copy;
    }
}
