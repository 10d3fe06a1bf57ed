using System;
using System.IO;
using DhubBatches.Hosting;

namespace DhubBatches.Connections;

/// <summary>A Prefect profile's connection settings (docs/prefect.md, Connecting).</summary>
public sealed class PrefectProfile
{
    public PrefectProfile(string name, string path)
    {
        Name = name;
        Path = path;
    }

    public string Name { get; }

    public string Path { get; }

    public string? ApiUrl { get; set; }

    public string? ApiKey { get; set; }

    public string? AuthString { get; set; }
}

/// <summary>Finds Prefect's profiles.toml the way Prefect does; the engine parses it (Tomlyn lives there).</summary>
internal static class PrefectProfiles
{
    /// <summary>
    /// PREFECT_PROFILES_PATH, else $PREFECT_HOME/profiles.toml, else ~/.prefect/profiles.toml; the profile named
    /// by PREFECT_PROFILE, else the file's <c>active</c>. Null when there is no file or no such profile.
    /// </summary>
    public static PrefectProfile? ReadActive()
    {
        var path = ProfilesPath();
        if (path == null || !File.Exists(path))
        {
            return null;
        }
        var requested = Environment.GetEnvironmentVariable("PREFECT_PROFILE");
        return EngineLoader.ReadPrefectProfile(path, string.IsNullOrWhiteSpace(requested) ? null : requested!.Trim());
    }

    public static string? ProfilesPath()
    {
        var explicitPath = Environment.GetEnvironmentVariable("PREFECT_PROFILES_PATH");
        if (!string.IsNullOrWhiteSpace(explicitPath))
        {
            return ExpandHome(explicitPath!.Trim());
        }
        var home = Environment.GetEnvironmentVariable("PREFECT_HOME");
        if (string.IsNullOrWhiteSpace(home))
        {
            var user = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            if (string.IsNullOrEmpty(user))
            {
                return null;
            }
            home = Path.Combine(user, ".prefect");
        }
        return Path.Combine(ExpandHome(home!.Trim()), "profiles.toml");
    }

    private static string ExpandHome(string path) =>
        path.StartsWith("~", StringComparison.Ordinal)
            ? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile) + path.Substring(1)
            : path;
}
