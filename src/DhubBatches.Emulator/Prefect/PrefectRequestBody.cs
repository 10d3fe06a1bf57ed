using System.Collections.Generic;

namespace DhubBatches.Emulator.Prefect;

/// <summary>A Prefect request body as received, and the request model (<c>#/components/schemas/…</c>) it was validated against.</summary>
public sealed record PrefectRequestBody(string Method, string Path, string Model, string Body);

/// <summary>The last <see cref="Capacity"/> Prefect request bodies, so tests can check what a client really sent (§1.3).</summary>
internal sealed class PrefectBodyLog
{
    public const int Capacity = 1_000;

    private readonly object _lock = new();
    private readonly Queue<PrefectRequestBody> _entries = new();

    public void Add(PrefectRequestBody entry)
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

    public IReadOnlyList<PrefectRequestBody> Snapshot()
    {
        lock (_lock)
        {
            return _entries.ToArray();
        }
    }
}
