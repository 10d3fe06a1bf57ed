using System;
using DhubBatches.Engine;

namespace DhubBatches.Connections;

/// <summary>
/// A connection from the environment, in interface.md's order: DHUB_API_URL (+ DHUB_API_TOKEN), then
/// PREFECT_API_URL (+ PREFECT_API_AUTH_STRING or PREFECT_API_KEY; the auth string wins, as in Prefect's SDK,
/// prefect-rest.md §2.2), then the active profile of Prefect's profiles.toml (§2.4).
/// </summary>
internal static class EnvironmentConnection
{
    public static EngineSettings? Read(Func<string> userAgent, out string source, out string key)
    {
        source = string.Empty;
        key = string.Empty;

        var dhubUrl = Get("DHUB_API_URL");
        if (dhubUrl != null)
        {
            var token = Get("DHUB_API_TOKEN");
            source = "Environment (DHUB_API_URL)";
            key = "dhub\n" + dhubUrl + "\n" + token;
            return Create(dhubUrl, BackendKind.Dhub, token, AuthenticationKind.Bearer, "DHUB_API_URL", userAgent);
        }

        var prefectUrl = Get("PREFECT_API_URL");
        if (prefectUrl != null)
        {
            source = "Environment (PREFECT_API_URL)";
            return FromPrefectValues(prefectUrl, Get("PREFECT_API_KEY"), Get("PREFECT_API_AUTH_STRING"), "PREFECT_API_URL", userAgent, out key);
        }

        var profile = PrefectProfiles.ReadActive();
        if (profile?.ApiUrl != null)
        {
            source = $"Prefect profile '{profile.Name}' ({profile.Path})";
            var settings = FromPrefectValues(profile.ApiUrl, profile.ApiKey, profile.AuthString, source, userAgent, out key);
            key = "profile\n" + profile.Path + "\n" + profile.Name + "\n" + key;
            return settings;
        }
        return null;
    }

    private static EngineSettings FromPrefectValues(string url, string? apiKey, string? authString, string origin, Func<string> userAgent, out string key)
    {
        key = "prefect\n" + url + "\n" + apiKey + "\n" + authString;
        return authString != null
            ? Create(url, BackendKind.Prefect, authString, AuthenticationKind.Basic, origin, userAgent)
            : Create(url, BackendKind.Prefect, apiKey, AuthenticationKind.Bearer, origin, userAgent);
    }

    private static EngineSettings Create(string url, BackendKind backend, string? secret, AuthenticationKind kind, string origin, Func<string> userAgent)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            throw new DhubException(DhubErrorKind.DhubBadRequest, $"{origin} is not an absolute URL: '{url}'.");
        }
        return new EngineSettings(uri, backend)
        {
            Authentication = secret == null ? AuthenticationKind.None : kind,
            Secret = secret == null ? null : SessionConnections.ToSecureString(secret),
            UserAgent = userAgent(),
        };
    }

    private static string? Get(string name)
    {
        var value = Environment.GetEnvironmentVariable(name);
        return string.IsNullOrWhiteSpace(value) ? null : value!.Trim();
    }
}
