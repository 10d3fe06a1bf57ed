using System;
using System.Collections.Generic;

namespace DhubBatches.Emulator.Prefect.Store;

/// <summary>
/// Runs ordered by (expected_start_time, creation order): EXPECTED_START_TIME sorts walk it from either end and
/// time windows are found by binary search, so a page costs what it returns, however many runs are stored.
/// </summary>
internal sealed class RunList
{
    private static readonly IComparer<StoredFlowRun> Order = Comparer<StoredFlowRun>.Create(Compare);
    private readonly List<StoredFlowRun> _runs = new();

    public int Count => _runs.Count;

    public StoredFlowRun this[int index] => _runs[index];

    public void Insert(StoredFlowRun run)
    {
        if (_runs.Count == 0 || Compare(_runs[^1], run) <= 0)
        {
            _runs.Add(run);
            return;
        }

        var index = _runs.BinarySearch(run, Order);
        _runs.Insert(index < 0 ? ~index : index, run);
    }

    /// <summary>
    /// Adds a batch (seeding, the scheduler). Runs later than every stored one are appended; otherwise the batch is
    /// merged into the tail it overlaps, so seeding many deployments over the same hours stays linear.
    /// </summary>
    public void AddRange(List<StoredFlowRun> runs)
    {
        if (runs.Count == 0)
        {
            return;
        }

        if (!IsOrdered(runs))
        {
            runs.Sort(Order);
        }

        if (_runs.Count == 0 || Compare(_runs[^1], runs[0]) <= 0)
        {
            _runs.AddRange(runs);
            return;
        }

        var index = _runs.BinarySearch(runs[0], Order);
        var from = index < 0 ? ~index : index;
        var tail = _runs.GetRange(from, _runs.Count - from);
        _runs.RemoveRange(from, tail.Count);
        _runs.EnsureCapacity(_runs.Count + tail.Count + runs.Count);
        int i = 0, j = 0;
        while (i < tail.Count && j < runs.Count)
        {
            _runs.Add(Compare(tail[i], runs[j]) <= 0 ? tail[i++] : runs[j++]);
        }

        for (; i < tail.Count; i++)
        {
            _runs.Add(tail[i]);
        }

        for (; j < runs.Count; j++)
        {
            _runs.Add(runs[j]);
        }
    }

    public bool Remove(StoredFlowRun run)
    {
        var index = _runs.BinarySearch(run, Order);
        if (index >= 0 && ReferenceEquals(_runs[index], run))
        {
            _runs.RemoveAt(index);
            return true;
        }

        return _runs.Remove(run);
    }

    public void Clear() => _runs.Clear();

    /// <summary>Every run, oldest expected start first.</summary>
    public IEnumerable<StoredFlowRun> Range()
    {
        for (var i = 0; i < _runs.Count; i++)
        {
            yield return _runs[i];
        }
    }

    /// <summary>The index range [from, to) of runs expected to start after <paramref name="after"/> and before <paramref name="before"/> (inclusive bounds, as Prefect's <c>&gt;=</c>/<c>&lt;=</c>).</summary>
    public (int From, int To) Window(DateTimeOffset? after, DateTimeOffset? before)
    {
        var from = after is { } a ? FirstAtOrAfter(a) : 0;
        var to = before is { } b ? FirstAfter(b) : _runs.Count;
        return (from, Math.Max(from, to));
    }

    private int FirstAtOrAfter(DateTimeOffset t)
    {
        int lo = 0, hi = _runs.Count;
        while (lo < hi)
        {
            var mid = lo + ((hi - lo) / 2);
            if (_runs[mid].ExpectedStart < t)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    private int FirstAfter(DateTimeOffset t)
    {
        int lo = 0, hi = _runs.Count;
        while (lo < hi)
        {
            var mid = lo + ((hi - lo) / 2);
            if (_runs[mid].ExpectedStart <= t)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    private static bool IsOrdered(List<StoredFlowRun> runs)
    {
        for (var i = 1; i < runs.Count; i++)
        {
            if (Compare(runs[i - 1], runs[i]) > 0)
            {
                return false;
            }
        }

        return true;
    }

    private static int Compare(StoredFlowRun a, StoredFlowRun b)
    {
        var c = a.ExpectedStart.CompareTo(b.ExpectedStart);
        return c != 0 ? c : a.Seq.CompareTo(b.Seq);
    }
}
