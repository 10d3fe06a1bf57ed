using System;
using System.Buffers.Binary;

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

    public static Guid For(Guid runId, long seq, string key) => For(runId, seq, key, default);

    /// <summary>
    /// The id of the thing keyed by the parts joined together (the same id as for the joined string), so callers
    /// need not build key strings: a script has hundreds of ids and is rebuilt whenever it leaves the cache.
    /// </summary>
    public static Guid For(Guid runId, long seq, ReadOnlySpan<char> a, ReadOnlySpan<char> b, ReadOnlySpan<char> c = default, ReadOnlySpan<char> d = default)
    {
        Span<byte> bytes = stackalloc byte[16];
        runId.TryWriteBytes(bytes);
        var hash = new KeyHash(BinaryPrimitives.ReadUInt64LittleEndian(bytes), BinaryPrimitives.ReadUInt64LittleEndian(bytes[8..]));
        hash.Add(a);
        hash.Add(b);
        hash.Add(c);
        hash.Add(d);
        var (h1, h2) = hash.Finish();
        BinaryPrimitives.WriteUInt64BigEndian(bytes, h1);
        BinaryPrimitives.WriteUInt64BigEndian(bytes[8..], h2);

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

    /// <summary>
    /// A fast non-cryptographic 128-bit hash (SplitMix64 steps) over the key's UTF-16 code units, four at a time:
    /// these ids only need to look random and be stable.
    /// </summary>
    private struct KeyHash
    {
        private ulong _h1;
        private ulong _h2;
        private ulong _word;
        private int _chars;

        public KeyHash(ulong seed1, ulong seed2)
        {
            _h1 = seed1 ^ 0x9E3779B97F4A7C15UL;
            _h2 = seed2 ^ 0xC2B2AE3D27D4EB4FUL;
            _word = 0;
            _chars = 0;
        }

        public void Add(ReadOnlySpan<char> text)
        {
            foreach (var ch in text)
            {
                _word |= (ulong)ch << (16 * _chars);
                if (++_chars == 4)
                {
                    Step(_word);
                    _word = 0;
                    _chars = 0;
                }
            }
        }

        public (ulong, ulong) Finish()
        {
            // The last one to three code units go in byte by byte.
            for (var i = 0; i < _chars; i++)
            {
                var ch = (ushort)(_word >> (16 * i));
                Step((byte)ch);
                Step((byte)(ch >> 8));
            }

            _h2 = Mix(_h2 ^ _h1);
            _h1 = Mix(_h1 + _h2);
            return (_h1, _h2);
        }

        private void Step(ulong value)
        {
            _h1 = Mix(_h1 ^ value);
            _h2 = (_h2 ^ value) * 0x100000001B3UL;
        }
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
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
