using System;
using System.Collections.Generic;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using DhubBatches.Emulator.Hosting;
using DhubBatches.Emulator.Paths;
using Microsoft.AspNetCore.Http;

namespace DhubBatches.Emulator.Prefect.Api;

/// <summary>
/// What stands in front of every Prefect route, in the order Prefect's app applies it: CSRF (outermost,
/// <c>src/prefect/server/api/middleware.py</c>), then basic auth or an API key (<c>server.py</c>
/// <c>token_validation</c>), then the <c>X-PREFECT-API-VERSION</c> check (<c>dependencies.py</c>). Also the small
/// endpoints that tell a client what it is talking to: health, ready, version, hello, admin/version, csrf-token.
/// </summary>
internal static partial class AccessEndpoints
{
    public const string ApiVersion = "0.8.4";

    /// <summary>A 403/401 answer when the request may not pass, else null.</summary>
    public static Task? Refuse(HttpContext context, PrefectState prefect, IReadOnlyList<string> s, string method)
    {
        if (prefect.Csrf && (HttpMethods.IsPost(method) || HttpMethods.IsPut(method) || HttpMethods.IsPatch(method) || HttpMethods.IsDelete(method)))
        {
            string? token = context.Request.Headers["Prefect-Csrf-Token"];
            string? client = context.Request.Headers["Prefect-Csrf-Client"];
            if (string.IsNullOrEmpty(token))
            {
                return JsonResponse.WriteDetailAsync(context, 403, "Missing CSRF token.");
            }

            if (string.IsNullOrEmpty(client))
            {
                return JsonResponse.WriteDetailAsync(context, 403, "Missing client identifier.");
            }

            if (!prefect.CsrfTokens.IsValid(token, client, prefect.UtcNow))
            {
                return JsonResponse.WriteDetailAsync(context, 403, "Invalid CSRF token or client identifier.");
            }
        }

        // Basic auth exempts exactly GET /health and /ready; a Cloud-style key is needed everywhere.
        var exempt = HttpMethods.IsGet(method) && s.Count == 1 && s[0] is "health" or "ready";
        return IsAuthorized(context.Request, prefect, exempt) ? null : JsonResponse.WriteExceptionMessageAsync(context, 401, "Unauthorized");
    }

    /// <summary>The header is optional, but when present it must be int.int.int and at least 0.8.0 (400 otherwise).</summary>
    public static Task? RefuseApiVersion(HttpContext context)
    {
        string? version = context.Request.Headers["X-PREFECT-API-VERSION"];
        if (version is null)
        {
            return null;
        }

        var m = VersionPattern().Match(version);
        if (!m.Success)
        {
            return JsonResponse.WriteDetailAsync(context, 400,
                $"Invalid X-PREFECT-API-VERSION header format.Expected header in format 'x.y.z' but received {version}");
        }

        var parsed = new Version(int.Parse(m.Groups[1].Value), int.Parse(m.Groups[2].Value), int.Parse(m.Groups[3].Value));
        return parsed < new Version(0, 8, 0)
            ? JsonResponse.WriteDetailAsync(context, 400, $"The request specified API version {version} but this server requires version 0.8.0 or higher.")
            : null;
    }

    public static Task Health(PrefectCall call) => JsonResponse.WriteRawAsync(call.Http, 200, "true");

    public static Task Ready(PrefectCall call) => JsonResponse.WriteMessageAsync(call.Http, 200, "OK");

    /// <summary>The API version (<c>SERVER_API_VERSION</c>), the same in 2.x and 3.x.</summary>
    public static Task Version(PrefectCall call) => JsonResponse.WriteRawAsync(call.Http, 200, "\"" + ApiVersion + "\"");

    public static Task Hello(PrefectCall call) => JsonResponse.WriteRawAsync(call.Http, 200, "\"👋\"");

    /// <summary>The product version; the 3.x SDK refuses a server of another major version.</summary>
    public static Task AdminVersion(PrefectCall call) => JsonResponse.WriteRawAsync(call.Http, 200, "\"" + call.Dialect.ServerVersion + "\"");

    /// <summary><c>GET /csrf-token?client=...</c>: 422 "CSRF protection is disabled." when off, a fresh token when on.</summary>
    public static Task CsrfToken(PrefectCall call)
    {
        var client = RawRequestTarget.Of(call.Http).Query("client");
        if (string.IsNullOrEmpty(client))
        {
            return call.ValidationError(new List<ValidationIssue> { new("missing", new JsonArray("query", "client"), "Field required", null) }, null);
        }

        if (!call.Prefect.Csrf)
        {
            return call.Detail(422, "CSRF protection is disabled.");
        }

        var token = call.Prefect.CsrfTokens.Issue(client, call.Prefect.UtcNow);
        return JsonResponse.WriteAsync(call.Http, 200, w =>
        {
            w.WriteStartObject();
            w.WriteString("id", token.Id);
            w.WriteString("created", call.Dialect.Time(token.Created));
            w.WriteString("updated", call.Dialect.Time(token.Created));
            w.WriteString("token", token.Token);
            w.WriteString("client", token.Client);
            w.WriteString("expiration", call.Dialect.Time(token.Expiration));
            w.WriteEndObject();
        });
    }

    private static bool IsAuthorized(HttpRequest request, PrefectState prefect, bool exempt)
    {
        var authString = prefect.AuthString;
        var apiKey = prefect.ApiKey;
        if (authString is null && apiKey is null)
        {
            return true;
        }

        if (exempt && apiKey is null)
        {
            return true;
        }

        return (authString is not null && RequestCredentials.HasBasic(request, authString))
            || (apiKey is not null && RequestCredentials.HasBearer(request, apiKey));
    }

    [GeneratedRegex(@"^(\d+)\.(\d+)\.(\d+)$")]
    private static partial Regex VersionPattern();
}
