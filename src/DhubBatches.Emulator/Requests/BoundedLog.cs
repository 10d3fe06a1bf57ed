using System.Collections.Generic;

namespace DhubBatches.Emulator.Requests;

/// <summary>The last <c>capacity</c> entries, oldest first; thread-safe, so a long test run cannot grow it without bound.</summary>
internal sealed class BoundedLog<T>
{
    private readonly object _lock = new();
    private readonly Queue<T> _entries = new();
    private readonly int _capacity;

    public BoundedLog(int capacity) => _capacity = capacity;

    public void Add(T entry)
    {
        lock (_lock)
        {
            if (_entries.Count >= _capacity)
            {
                _entries.Dequeue();
            }

            _entries.Enqueue(entry);
        }
    }

    public void Clear()
    {
        lock (_lock)
        {
            _entries.Clear();
        }
    }

    public IReadOnlyList<T> Snapshot()
    {
        lock (_lock)
        {
            return _entries.ToArray();
        }
    }
}
