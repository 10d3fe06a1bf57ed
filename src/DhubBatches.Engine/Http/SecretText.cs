using System;
using System.Runtime.InteropServices;
using System.Security;

namespace DhubBatches.Engine.Http;

/// <summary>A connection's secret as text, for the one header that carries it and the scrubbing of record text.</summary>
internal static class SecretText
{
    /// <summary>The plain text of <paramref name="secure"/>; the unmanaged copy is zeroed at once.</summary>
    public static string Reveal(SecureString secure)
    {
        var pointer = IntPtr.Zero;
        try
        {
            pointer = Marshal.SecureStringToGlobalAllocUnicode(secure);
            return Marshal.PtrToStringUni(pointer) ?? string.Empty;
        }
        finally
        {
            if (pointer != IntPtr.Zero)
            {
                Marshal.ZeroFreeGlobalAllocUnicode(pointer);
            }
        }
    }
}
