using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;

namespace DhubBatches.Emulator.Requests;

/// <summary>
/// Count and server time per route, unbounded by the log's size: what a benchmark of 100,000 runs needs to say how
/// much of its time the server took. A route is the method and path with ids written <c>{id}</c> (Prefect's uuids, and
/// on dhub the pipeline and batch segments of <c>/api/v1/batches/{p}/{id}</c>), so the table stays a table of routes.
/// </summary>
internal sealed class RequestTotals
{
    private readonly ConcurrentDictionary<string, Total> _routes = new(StringComparer.Ordinal);

    public void Add(string method, IReadOnlyList<string> segments, double elapsedMs)
    {
        var dhub = segments.Count > 3 && segments[0] == "api" && segments[1] == "v1" && segments[2] == "batches";
        var route = method + " /" + string.Join('/', segments.Select((s, i) =>
            dhub && i == 3 ? "{p}" : dhub && i == 4 && s.Length > 0 ? "{id}" : Guid.TryParse(s, out _) ? "{id}" : s));
        var total = _routes.GetOrAdd(route, _ => new Total());
        lock (total)
        {
            total.Count++;
            total.Milliseconds += elapsedMs;
        }
    }

    public void Clear() => _routes.Clear();

    public IReadOnlyList<RouteTotal> Snapshot() => _routes
        .Select(p =>
        {
            lock (p.Value)
            {
                return new RouteTotal(p.Key, p.Value.Count, Math.Round(p.Value.Milliseconds, 1));
            }
        })
        .OrderByDescending(r => r.TotalMs)
        .ToList();

    private sealed class Total
    {
        public long Count;
        public double Milliseconds;
    }
}

/// <summary>One route's requests and the server time they took (until each answer started).</summary>
public sealed record RouteTotal(string Route, long Count, double TotalMs);
