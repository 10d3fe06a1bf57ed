using DhubBatches.Contract;
using System;
using System.IO;
using DhubBatches.Connections;
using Tomlyn;
using Tomlyn.Model;

namespace DhubBatches.Engine.Profiles;

/// <summary>Reads the connection settings of one profile from Prefect's profiles.toml (docs/prefect.md, Connecting).</summary>
internal static class PrefectProfileReader
{
    public static PrefectProfile? Read(string path, string? name)
    {
        TomlTable document;
        try
        {
            document = TomlSerializer.Deserialize<TomlTable>(File.ReadAllText(path)) ?? new TomlTable();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            throw new DhubException(DhubErrorKind.DhubBadRequest, $"Prefect profiles file '{path}' cannot be read: {ex.Message}", ex);
        }

        var profileName = name ?? (document.TryGetValue("active", out var active) ? active?.ToString() : null);
        if (string.IsNullOrEmpty(profileName) ||
            !document.TryGetValue("profiles", out var profilesValue) || profilesValue is not TomlTable profiles ||
            !profiles.TryGetValue(profileName!, out var profileValue) || profileValue is not TomlTable profile)
        {
            // Prefect falls back to its built-in default profile, which has no URL: nothing to connect to.
            return null;
        }
        return new PrefectProfile(profileName!, path)
        {
            ApiUrl = Value(profile, "PREFECT_API_URL"),
            ApiKey = Value(profile, "PREFECT_API_KEY"),
            AuthString = Value(profile, "PREFECT_API_AUTH_STRING"),
        };
    }

    private static string? Value(TomlTable table, string key)
    {
        var value = table.TryGetValue(key, out var raw) ? raw?.ToString()?.Trim() : null;
        return string.IsNullOrEmpty(value) ? null : value;
    }
}
