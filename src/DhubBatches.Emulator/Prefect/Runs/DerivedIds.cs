using System;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace DhubBatches.Emulator.Prefect.Runs;

/// <summary>
/// Ids of everything a flow run produces (states, task runs, artifacts, logs, subflow runs). They are computed,
/// not stored, so the same thing reads back with the same id on every request. They look like random uuid4s, but
/// the last six bytes carry the run's sequence number (masked, with a check byte), so a task run or artifact id
/// leads back to its run without an index of every derived id.
/// </summary>
internal static class DerivedIds
{
    private const long Mask = 0x5A3C_96E1_7B2DL;

    public static Guid For(Guid runId, long seq, string key)
    {
        Span<byte> bytes = stackalloc byte[16];
        var keyBytes = Encoding.UTF8.GetBytes(key);
        var input = new byte[16 + keyBytes.Length];
        runId.TryWriteBytes(input);
        keyBytes.CopyTo(input, 16);
        MD5.HashData(input, bytes);

        // Big-endian layout as printed: byte 6 holds the version, byte 8 the variant.
        bytes[6] = (byte)((bytes[6] & 0x0F) | 0x40);
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
        var masked = (seq ^ Mask) & 0xFFFF_FFFF_FFFFL;
        for (var i = 0; i < 6; i++)
        {
            bytes[15 - i] = (byte)(masked >> (8 * i));
        }

        bytes[9] = Check(masked);
        return new Guid(bytes, bigEndian: true);
    }

    /// <summary>The run sequence number a derived id carries, or false for an id that was not derived here.</summary>
    public static bool TryReadSeq(Guid id, out long seq)
    {
        Span<byte> bytes = stackalloc byte[16];
        id.TryWriteBytes(bytes, bigEndian: true, out _);
        long masked = 0;
        for (var i = 0; i < 6; i++)
        {
            masked |= (long)bytes[15 - i] << (8 * i);
        }

        seq = (masked ^ Mask) & 0xFFFF_FFFF_FFFFL;
        return bytes[9] == Check(masked);
    }

    private static byte Check(long masked)
    {
        Span<byte> buffer = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(buffer, unchecked((ulong)masked * 0x9E3779B97F4A7C15UL));
        return (byte)(buffer[7] ^ buffer[3] ^ 0xA5);
    }
}
