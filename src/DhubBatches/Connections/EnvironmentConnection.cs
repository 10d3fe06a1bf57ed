using System;
using System.IO;
using System.Security.Cryptography;
using System.Text;
using DhubBatches.Contract;

namespace DhubBatches.Connections;

/// <summary>
/// A connection from the environment, in interface.md's order: DHUB_API_URL (+ DHUB_API_TOKEN), else Prefect. Each
/// Prefect setting comes from the highest-precedence place that sets it, as in Prefect's own SDK: the environment
/// variable, else the active profile of profiles.toml (so PREFECT_API_URL from the environment can go with the key
/// from a profile). When both an auth string and an API key are set, the auth string wins, as in the SDK
/// (docs/prefect.md, "Connecting").
/// </summary>
internal static class EnvironmentConnection
{
    /// <summary>
    /// A digest of everything <see cref="Read"/> would look at (variables, and the profiles file's path and time), so
    /// a cached connection is reused until the environment changes, without keeping any secret as text.
    /// </summary>
    public static string Fingerprint()
    {
        var text = new StringBuilder();
        foreach (var name in new[] { "DHUB_API_URL", "DHUB_API_TOKEN", "PREFECT_API_URL", "PREFECT_API_KEY", "PREFECT_API_AUTH_STRING", "PREFECT_PROFILE" })
        {
            text.Append(Get(name)).Append('\n');
        }
        var profiles = PrefectProfiles.ProfilesPath();
        text.Append(profiles).Append('\n');
        if (profiles != null && File.Exists(profiles))
        {
            text.Append(File.GetLastWriteTimeUtc(profiles).Ticks);
        }
        using var sha = SHA256.Create();
        return Convert.ToBase64String(sha.ComputeHash(Encoding.UTF8.GetBytes(text.ToString())));
    }

    public static EngineSettings? Read(Func<string> userAgent, out string source)
    {
        source = string.Empty;
        var dhubUrl = Get("DHUB_API_URL");
        if (dhubUrl != null)
        {
            source = "Environment (DHUB_API_URL)";
            return Create(dhubUrl, BackendKind.Dhub, Get("DHUB_API_TOKEN"), AuthenticationKind.Bearer, "DHUB_API_URL", userAgent);
        }

        var url = Get("PREFECT_API_URL");
        var apiKey = Get("PREFECT_API_KEY");
        var authString = Get("PREFECT_API_AUTH_STRING");
        // The profile is read only when the environment leaves a setting open; it fills only those.
        var profile = url == null || apiKey == null || authString == null ? PrefectProfiles.ReadActive() : null;
        var profileName = profile == null ? null : $"Prefect profile '{profile.Name}' ({profile.Path})";
        var from = new StringBuilder();
        if (url != null)
        {
            from.Append("Environment (PREFECT_API_URL)");
        }
        else if (profile?.ApiUrl != null)
        {
            url = profile.ApiUrl;
            from.Append(profileName);
        }
        else
        {
            return null;
        }
        if (apiKey == null && profile?.ApiKey != null)
        {
            apiKey = profile.ApiKey;
            Note(from, url == profile.ApiUrl ? null : profileName + " for PREFECT_API_KEY");
        }
        if (authString == null && profile?.AuthString != null)
        {
            authString = profile.AuthString;
            Note(from, url == profile.ApiUrl ? null : profileName + " for PREFECT_API_AUTH_STRING");
        }
        source = from.ToString();
        var origin = profile?.ApiUrl == url ? profileName! : "PREFECT_API_URL";
        return authString != null
            ? Create(url, BackendKind.Prefect, authString, AuthenticationKind.Basic, origin, userAgent)
            : Create(url, BackendKind.Prefect, apiKey, AuthenticationKind.Bearer, origin, userAgent);
    }

    private static void Note(StringBuilder from, string? what)
    {
        if (what != null)
        {
            from.Append(" + ").Append(what);
        }
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
