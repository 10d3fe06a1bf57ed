using System;
using System.Globalization;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using DhubBatches.Contract;

namespace DhubBatches.Engine.Prefect;

/// <summary>
/// The most items a Prefect list answers at once. It is the server's setting (200 unless an admin lowered it), and a
/// larger request gets 422 "Invalid limit: must be less than or equal to N." — so start at 200, learn N from that
/// answer once, and go on at that size (docs/prefect.md, "List limit").
/// </summary>
internal sealed class ServerLimit
{
    public const int Default = 200;

    private static readonly Regex s_maximum = new Regex(@"less than or equal to (\d+)", RegexOptions.CultureInvariant);

    private int _value = Default;

    public int Value => Volatile.Read(ref _value);

    /// <summary>Runs a paged call at the current limit (or at <paramref name="want"/> when fewer are wanted); once more at the server's limit when it names a lower one.</summary>
    public async Task<T> UseAsync<T>(Func<int, Task<T>> call, int want = int.MaxValue)
    {
        var limit = Math.Max(1, Math.Min(want, Value));
        try
        {
            return await call(limit).ConfigureAwait(false);
        }
        catch (DhubException ex) when (Learned(ex) is int maximum && maximum < limit)
        {
            EngineLog.Current?.Verbose($"The Prefect server lists at most {maximum} items per request; reading at that size.");
            return await call(Math.Max(1, Math.Min(want, maximum))).ConfigureAwait(false);
        }
    }

    private int? Learned(DhubException ex)
    {
        if (ex.Kind != DhubErrorKind.DhubBadRequest || ex.ServerMessage == null)
        {
            return null;
        }
        var match = s_maximum.Match(ex.ServerMessage);
        if (!match.Success || !int.TryParse(match.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var maximum) || maximum < 1)
        {
            return null;
        }
        Interlocked.Exchange(ref _value, Math.Min(maximum, Value));
        return maximum;
    }
}
