using System;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace DhubBatches.Emulator.Hosting;

/// <summary>
/// Checks the <c>Authorization</c> header for both API surfaces: a bearer token (dhub, Prefect Cloud's API key) or
/// basic auth (self-hosted Prefect's <c>user:pass</c>). Compares in fixed time: the emulator is a test double, but it
/// should not model a timing leak either.
/// </summary>
internal static class RequestCredentials
{
    /// <summary>True when <paramref name="expected"/> is null (auth off) or the request carries it as a bearer token.</summary>
    public static bool HasBearer(HttpRequest request, string? expected)
    {
        if (expected is null)
        {
            return true;
        }

        return Scheme(request, "Bearer ") is { } given && Same(Encoding.UTF8.GetBytes(given), expected);
    }

    /// <summary>True when the request carries <c>Basic base64(<paramref name="expected"/>)</c>.</summary>
    public static bool HasBasic(HttpRequest request, string expected)
    {
        if (Scheme(request, "Basic ") is not { } encoded)
        {
            return false;
        }

        try
        {
            return Same(Convert.FromBase64String(encoded), expected);
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static string? Scheme(HttpRequest request, string scheme)
    {
        string? header = request.Headers.Authorization;
        return header is not null && header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) ? header[scheme.Length..].Trim() : null;
    }

    private static bool Same(byte[] given, string expected) => CryptographicOperations.FixedTimeEquals(given, Encoding.UTF8.GetBytes(expected));
}
