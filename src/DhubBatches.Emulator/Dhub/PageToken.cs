using System;
using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace DhubBatches.Emulator.Dhub;

/// <summary>
/// The list endpoint's opaque token: base64url of the sequence number to continue below. A cursor
/// rather than an offset, so batches created between two page requests neither shift nor repeat items.
/// </summary>
internal static class PageToken
{
    private const string Prefix = "after:";

    public static string Encode(long seq) =>
        Base64Url.EncodeToString(Encoding.UTF8.GetBytes(Prefix + seq.ToString(CultureInfo.InvariantCulture)));

    public static bool TryDecode(string token, out long seq)
    {
        seq = 0;
        try
        {
            var text = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(token));
            return text.StartsWith(Prefix, StringComparison.Ordinal)
                && long.TryParse(text.AsSpan(Prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out seq)
                && seq > 0;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
