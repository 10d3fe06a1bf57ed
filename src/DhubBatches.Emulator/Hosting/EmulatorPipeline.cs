using DhubBatches.Emulator.Control;
using DhubBatches.Emulator.Dhub;
using DhubBatches.Emulator.Faults;
using DhubBatches.Emulator.Hosting;
using DhubBatches.Emulator.Paths;
using DhubBatches.Emulator.Prefect.Api;
using DhubBatches.Emulator.Requests;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace DhubBatches.Emulator.Hosting;

/// <summary>
/// The middleware order, in one place: the Date header from the emulator's clock → control (unlogged, unfaulted) → request log → faults → API
/// surfaces (dhub under /api/v1/batches, Prefect under /prefect, its API at /prefect/api) → dhub's 404.
/// </summary>
internal static class EmulatorPipeline
{
    public static void Configure(IApplicationBuilder app, EmulatorState state)
    {
        app.UseMiddleware<ServerDate>(state);
        app.UseMiddleware<ControlEndpoints>(state);
        app.UseMiddleware<RequestLogMiddleware>(state);
        app.UseMiddleware<FaultMiddleware>(state);
        app.UseMiddleware<DhubEndpoints>(state);
        app.UseMiddleware<PrefectRouter>(state);
        app.Run(context => JsonResponse.WriteMessageAsync(context, StatusCodes.Status404NotFound,
            $"No endpoint for {RawRequestTarget.Of(context).RawPath}"));
    }
}
