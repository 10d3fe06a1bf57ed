using System.Collections.Generic;

namespace DhubBatches.Emulator.Requests;

/// <summary>The last <see cref="Capacity"/> API requests, oldest first.</summary>
internal sealed class RequestLog
{
    public const int Capacity = 10_000;

    private readonly object _lock = new();
    private readonly Queue<RequestLogEntry> _entries = new();

    public void Add(RequestLogEntry entry)
    {
        lock (_lock)
        {
            if (_entries.Count >= Capacity)
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

    public IReadOnlyList<RequestLogEntry> Snapshot()
    {
        lock (_lock)
        {
            return _entries.ToArray();
        }
    }
}
