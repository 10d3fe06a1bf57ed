using System;

namespace DhubBatches.Connections;

/// <summary>Rules a connection must meet before any secret is sent.</summary>
internal static class ConnectionPolicy
{
    /// <summary>
    /// Same rule and switch name as Invoke-RestMethod: a secret never travels over plain http, except to this
    /// machine, unless the user says -AllowUnencryptedAuthentication.
    /// </summary>
    public static void CheckTransport(Uri uri, AuthenticationKind authentication, bool allowUnencrypted)
    {
        if (!uri.IsAbsoluteUri || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new DhubException(DhubErrorKind.DhubBadRequest, $"'{uri}' is not an http:// or https:// URL.");
        }
        if (authentication != AuthenticationKind.None && uri.Scheme == Uri.UriSchemeHttp && !uri.IsLoopback && !allowUnencrypted)
        {
            throw new DhubException(
                DhubErrorKind.DhubBadRequest,
                $"Refusing to send credentials to '{uri.Host}' over unencrypted http. Use https, or add " +
                "-AllowUnencryptedAuthentication if you accept that the secret can be read on the network.");
        }
    }
}
