using System;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace DhubBatches.Emulator.Hosting;

/// <summary>Checks <c>Authorization: Bearer &lt;token&gt;</c>; shared by every API surface of the emulator.</summary>
internal static class BearerToken
{
    public static bool IsAuthorized(HttpRequest request, string? expected)
    {
        if (expected is null)
        {
            return true;
        }

        string? header = request.Headers.Authorization;
        const string scheme = "Bearer ";
        if (header is null || !header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        // Fixed-time compare: the emulator is a test double, but it should not model a timing leak either.
        var given = Encoding.UTF8.GetBytes(header[scheme.Length..].Trim());
        return CryptographicOperations.FixedTimeEquals(given, Encoding.UTF8.GetBytes(expected));
    }
}
