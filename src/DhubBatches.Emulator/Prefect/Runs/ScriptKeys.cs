using System.Collections.Concurrent;
using System.Globalization;

namespace DhubBatches.Emulator.Prefect.Runs;

/// <summary>
/// The keys a script derives its ids from ("running/a2", "a1/0/extract", ...) recur in every script of a
/// deployment; they are made once and shared, so building a script (done for every run a page lists) does not
/// format them again.
/// </summary>
internal static class ScriptKeys
{
    // Bounded so that an endless variety of keys (thousands of restarts) cannot grow it for ever.
    private const int Capacity = 50_000;
    private static readonly ConcurrentDictionary<(string, string, string), string> Joined = new();
    private static readonly ConcurrentDictionary<(string, int), string> Numbered = new();

    /// <summary><paramref name="a"/>, <paramref name="b"/> and <paramref name="c"/> joined.</summary>
    public static string Join(string a, string b, string c = "")
    {
        if (Joined.TryGetValue((a, b, c), out var known))
        {
            return known;
        }

        var joined = string.Concat(a, b, c);
        if (Joined.Count < Capacity)
        {
            Joined.TryAdd((a, b, c), joined);
        }

        return joined;
    }

    /// <summary><paramref name="prefix"/> followed by the number, e.g. ("running/a", 2) gives "running/a2".</summary>
    public static string Of(string prefix, int n)
    {
        if (Numbered.TryGetValue((prefix, n), out var known))
        {
            return known;
        }

        var joined = prefix + n.ToString(CultureInfo.InvariantCulture);
        if (Numbered.Count < Capacity)
        {
            Numbered.TryAdd((prefix, n), joined);
        }

        return joined;
    }
}
