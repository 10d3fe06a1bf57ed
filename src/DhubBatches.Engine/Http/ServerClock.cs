using System;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;

namespace DhubBatches.Engine.Http;

/// <summary>
/// "Now" for questions like "runs expected to start by now", which the server's clock answers: with this machine's
/// clock behind the server's, a run created a moment ago would look like the future. The Date header of its answers
/// tells the server's time, but only to the second (and servers refresh it about once a second), so
/// <see cref="Now"/> is the later of the two clocks plus a few seconds: a run due within them counts as due.
/// </summary>
internal sealed class ServerClock : DelegatingHandler
{
    private long _offsetTicks;

    public ServerClock(HttpMessageHandler inner)
        : base(inner)
    {
    }

    private static readonly TimeSpan s_margin = TimeSpan.FromSeconds(5);

    public DateTimeOffset Now
    {
        get
        {
            var local = DateTimeOffset.UtcNow;
            var offset = TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));
            return (offset > TimeSpan.Zero ? local + offset : local) + s_margin;
        }
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.Headers.Date is { } date)
        {
            Interlocked.Exchange(ref _offsetTicks, (date - DateTimeOffset.UtcNow).Ticks);
        }
        return response;
    }
}
