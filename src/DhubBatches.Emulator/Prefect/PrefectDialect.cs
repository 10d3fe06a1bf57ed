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
        var utc = t.ToUniversalTime();
        var micros = utc.Ticks % TimeSpan.TicksPerSecond / 10;
        var whole = utc.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);
        var fraction = micros == 0 ? string.Empty : "." + micros.ToString("D6", CultureInfo.InvariantCulture);
        return whole + fraction + (IsV2 ? "+00:00" : "Z");
    }

    /// <summary>Python's <c>str(datetime)</c>, used inside scheduler idempotency keys.</summary>
    public static string PythonDateTime(DateTimeOffset t) =>
        t.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + "+00:00";
}
