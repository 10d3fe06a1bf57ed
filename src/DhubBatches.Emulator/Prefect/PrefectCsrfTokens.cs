using System;
using System.Collections.Generic;
using System.Security.Cryptography;
using System.Text;

namespace DhubBatches.Emulator.Prefect;

/// <summary>A CSRF token as <c>GET /csrf-token</c> returns it (<c>CsrfToken</c>).</summary>
internal sealed record CsrfToken(Guid Id, DateTimeOffset Created, string Token, string Client, DateTimeOffset Expiration);

/// <summary>One token per client id, valid for an hour (<c>PREFECT_SERVER_CSRF_TOKEN_EXPIRATION</c>'s default).</summary>
internal sealed class PrefectCsrfTokens
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(1);

    private readonly object _lock = new();
    private readonly Dictionary<string, CsrfToken> _byClient = new(StringComparer.Ordinal);

    public CsrfToken Issue(string client, DateTimeOffset now)
    {
        var token = new CsrfToken(Guid.NewGuid(), now, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)), client, now + Lifetime);
        lock (_lock)
        {
            _byClient[client] = token;
        }

        return token;
    }

    public bool IsValid(string token, string client, DateTimeOffset now)
    {
        CsrfToken? stored;
        lock (_lock)
        {
            _byClient.TryGetValue(client, out stored);
        }

        return stored is not null
            && stored.Expiration > now
            && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(stored.Token), Encoding.UTF8.GetBytes(token));
    }

    public void ExpireAll()
    {
        lock (_lock)
        {
            foreach (var key in new List<string>(_byClient.Keys))
            {
                _byClient[key] = _byClient[key] with { Expiration = DateTimeOffset.MinValue };
            }
        }
    }

    public void Clear()
    {
        lock (_lock)
        {
            _byClient.Clear();
        }
    }
}
