using System.Globalization;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;

namespace DhubBatches.Emulator.Hosting;

/// <summary>
/// The Date header of every answer, from the emulator's own clock rather than the machine's: a real server's Date is
/// the clock its runs are stamped with, and clients read the server's "now" from it. With a clock that tests move,
/// the two would otherwise disagree.
/// </summary>
internal sealed class ServerDate
{
    private readonly RequestDelegate _next;
    private readonly EmulatorState _state;

    public ServerDate(RequestDelegate next, EmulatorState state)
    {
        _next = next;
        _state = state;
    }

    public Task InvokeAsync(HttpContext context)
    {
        context.Response.OnStarting(static s =>
        {
            var (ctx, state) = ((HttpContext, EmulatorState))s;
            ctx.Response.Headers.Date = state.UtcNow.ToString("r", CultureInfo.InvariantCulture);
            return Task.CompletedTask;
        }, (context, _state));
        return _next(context);
    }
}
