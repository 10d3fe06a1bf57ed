using DhubBatches.Contract;
using System;
using System.Threading;
using System.Threading.Tasks;

namespace DhubBatches.Engine.Http;

/// <summary>
/// One engine's "not before" time. A 429 or 503 tells the whole server to slow down, not one request: while one
/// request backs off, every other request of the engine (the rest of a polling round) waits as long before its next
/// attempt, instead of piling on.
/// </summary>
internal sealed class RequestGate
{
    private long _notBeforeTicks;

    /// <summary>Holds every later attempt until at least <paramref name="delay"/> from now (never shortens a hold).</summary>
    public void Hold(TimeSpan delay)
    {
        var until = DateTimeOffset.UtcNow.UtcTicks + delay.Ticks;
        long current;
        while ((current = Interlocked.Read(ref _notBeforeTicks)) < until)
        {
            if (Interlocked.CompareExchange(ref _notBeforeTicks, until, current) == current)
            {
                return;
            }
        }
    }

    /// <summary>How long the current hold lasts from now (zero when there is none).</summary>
    public TimeSpan Remaining
    {
        get
        {
            var wait = Interlocked.Read(ref _notBeforeTicks) - DateTimeOffset.UtcNow.UtcTicks;
            return wait > 0 ? TimeSpan.FromTicks(wait) : TimeSpan.Zero;
        }
    }

    public Task WaitAsync(CancellationToken cancellationToken)
    {
        var wait = Interlocked.Read(ref _notBeforeTicks) - DateTimeOffset.UtcNow.UtcTicks;
        return wait > 0 ? Task.Delay(TimeSpan.FromTicks(wait), cancellationToken) : Task.CompletedTask;
    }
}
