using System;

namespace DhubBatches;

/// <summary>
/// The one exception type the engine raises. It lives in the cmdlet assembly so both load contexts share
/// its identity; its message names method, path, status and the server's own message, never a secret.
/// </summary>
public sealed class DhubException : Exception
{
    public DhubException(DhubErrorKind kind, string message, Exception? inner = null)
        : base(message, inner)
    {
        Kind = kind;
    }

    public DhubErrorKind Kind { get; }

    /// <summary>HTTP status code of the failed answer, when there was one.</summary>
    public int? StatusCode { get; set; }

    /// <summary>The server's own message (<c>message</c>, Prefect <c>detail</c> / <c>exception_message</c>).</summary>
    public string? ServerMessage { get; set; }

    /// <summary>True when a non-idempotent request may have been applied although no answer arrived.</summary>
    public bool MayHaveBeenApplied { get; set; }
}
