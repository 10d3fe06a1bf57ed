using System;
using System.Globalization;

namespace DhubBatches.Emulator.Prefect;

/// <summary>
/// What differs between the Prefect 2 and Prefect 3 servers the emulator imitates: the product version, how
/// datetimes are written, which response fields exist, and the defaults that changed between the majors.
/// </summary>
internal sealed class PrefectDialect
{
    public static readonly PrefectDialect V2 = new(2);
    public static readonly PrefectDialect V3 = new(3);

    private PrefectDialect(int major) => Major = major;

    public int Major { get; }

    public bool IsV2 => Major == 2;

    /// <summary><c>GET /admin/version</c>: the release the recorded samples came from (2) or the one the notes were read at (3).</summary>
    public string ServerVersion => IsV2 ? "2.16.8" : "3.8.3";

    /// <summary>New deployments enforce their parameter schema from Prefect 3 on.</summary>
    public bool EnforcesParameterSchemaByDefault => !IsV2;

    public static PrefectDialect For(int major) => major switch
    {
        2 => V2,
        3 => V3,
        _ => throw new ArgumentOutOfRangeException(nameof(major), major, "The Prefect version must be 2 or 3."),
    };

    /// <summary>
    /// UTC datetimes. Prefect 3 (pydantic 2) writes <c>Z</c> and drops a zero fraction; Prefect 2 (pendulum)
    /// writes <c>+00:00</c> with six fraction digits, as the recorded samples show.
    /// </summary>
    public string Time(DateTimeOffset t)
    {
        Span<char> chars = stackalloc char[MaxTimeLength];
        return new string(chars[..FormatTime(t, chars)]);
    }

    /// <summary>The longest <see cref="Time"/> text: date, time, six fraction digits and <c>+00:00</c>.</summary>
    public const int MaxTimeLength = 32;

    /// <summary><see cref="Time"/> into a buffer: response writers format thousands of datetimes per page, without allocating.</summary>
    public int FormatTime(DateTimeOffset t, Span<char> destination)
    {
        var utc = t.UtcDateTime;
        utc.TryFormat(destination, out var n, "yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);
        var micros = utc.Ticks % TimeSpan.TicksPerSecond / 10;
        if (micros != 0)
        {
            destination[n++] = '.';
            micros.TryFormat(destination[n..], out var digits, "D6", CultureInfo.InvariantCulture);
            n += digits;
        }

        var zone = IsV2 ? "+00:00" : "Z";
        zone.CopyTo(destination[n..]);
        return n + zone.Length;
    }

    /// <summary>Python's <c>str(datetime)</c>, used inside scheduler idempotency keys.</summary>
    public static string PythonDateTime(DateTimeOffset t) =>
        t.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + "+00:00";
}
