using DhubBatches.Contract;
using System;
using System.Security;

namespace DhubBatches.Engine.Http;

/// <summary>
/// The text of a record the server sent that could not be read, fit for -Verbose: shortened, and with the
/// connection's secret blanked out should the server have echoed it back.
/// </summary>
internal sealed class RecordText
{
    /// <summary>Enough to recognise a record; long ones are cut, saying how long they were.</summary>
    public const int MaxLength = 300;

    private readonly string? _secret;

    public RecordText(SecureString? secret)
    {
        _secret = secret == null || secret.Length == 0 ? null : SecretText.Reveal(secret);
    }

    public string Of(string raw)
    {
        var text = _secret == null ? raw : raw.Replace(_secret, "***");
        return text.Length <= MaxLength ? text : text.Substring(0, MaxLength) + $"… ({text.Length} characters)";
    }
}
