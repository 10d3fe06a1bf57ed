using System;
using System.Threading;

namespace DhubBatches.TestSupport;

/// <summary>A clock that only moves when the test says so, so run lifecycles need no sleeping.</summary>
public sealed class ManualClock : TimeProvider
{
    private long _ticks;

    public ManualClock()
        : this(new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero))
    {
    }

    public ManualClock(DateTimeOffset start) => _ticks = start.UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}
