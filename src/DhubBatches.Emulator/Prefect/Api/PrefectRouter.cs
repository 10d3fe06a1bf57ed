using System;
using System.Linq;
using System.Threading.Tasks;
using DhubBatches.Emulator.Hosting;
using DhubBatches.Emulator.Paths;
using Microsoft.AspNetCore.Http;

namespace DhubBatches.Emulator.Prefect.Api;

/// <summary>
/// Prefect's REST API under <c>/prefect/api</c> (so PREFECT_API_URL = <c>http://127.0.0.1:port/prefect/api</c>), routed
/// over raw path segments like the dhub side. Anything else under <c>/prefect/</c> is the UI's HTML fallback. Routes
/// match as FastAPI's do: the first route whose path and method fit wins; a path that fits only other methods is
/// 405, nothing is 404 <c>{"detail":"Not Found"}</c>. Prefect 3 types ids <c>{id:uuid}</c> (a malformed id fits no
/// route, 404); Prefect 2 types them after matching (any segment fits, a malformed one is 422).
/// </summary>
internal sealed class PrefectRouter
{
    private static readonly Route[] Routes =
    {
        new("GET", "health", AccessEndpoints.Health, CheckVersion: false),
        new("GET", "ready", AccessEndpoints.Ready, CheckVersion: false),
        new("GET", "version", AccessEndpoints.Version),
        new("GET", "hello", AccessEndpoints.Hello),
        new("GET", "csrf-token", AccessEndpoints.CsrfToken),
        new("GET", "admin/version", AccessEndpoints.AdminVersion),
        new("GET", "deployments/name/*/*", DeploymentEndpoints.ByName),
        new("POST", "deployments/filter", DeploymentEndpoints.Filter),
        new("POST", "deployments/count", DeploymentEndpoints.Count),
        new("GET", "deployments/{id}", DeploymentEndpoints.ById),
        new("DELETE", "deployments/{id}", DeploymentEndpoints.Delete),
        new("POST", "deployments/{id}/create_flow_run", DeploymentEndpoints.CreateFlowRun),
        new("GET", "flows/name/*", FlowEndpoints.ByName),
        new("POST", "flows/filter", FlowEndpoints.Filter),
        new("POST", "flows/count", FlowEndpoints.Count),
        new("GET", "flows/{id}", FlowEndpoints.ById),
        new("POST", "flow_runs/filter", FlowRunEndpoints.Filter),
        new("POST", "flow_runs/count", FlowRunEndpoints.Count),
        new("GET", "flow_runs/{id}", FlowRunEndpoints.Read),
        new("DELETE", "flow_runs/{id}", FlowRunEndpoints.Delete),
        new("POST", "flow_runs/{id}/set_state", SetStateEndpoint.SetState),
        new("POST", "task_runs/filter", TaskRunEndpoints.Filter),
        new("POST", "task_runs/count", TaskRunEndpoints.Count),
        new("GET", "task_runs/{id}", TaskRunEndpoints.Read),
        new("POST", "artifacts/filter", ArtifactEndpoints.Filter),
        new("POST", "artifacts/count", ArtifactEndpoints.Count),
        new("GET", "artifacts/{id}", ArtifactEndpoints.Read),
        new("POST", "logs/filter", LogEndpoints.Filter),
    };

    private readonly RequestDelegate _next;
    private readonly EmulatorState _state;

    public PrefectRouter(RequestDelegate next, EmulatorState state)
    {
        _next = next;
        _state = state;
    }

    public Task InvokeAsync(HttpContext context)
    {
        var target = RawRequestTarget.Of(context);
        if (!target.StartsWith("prefect"))
        {
            return _next(context);
        }

        if (!target.StartsWith("prefect", "api"))
        {
            return UiFallback.WriteAsync(context);
        }

        var prefect = _state.Prefect;
        var segments = target.Segments.Skip(2).ToArray();
        var method = context.Request.Method;
        if (AccessEndpoints.Refuse(context, prefect, segments, method) is { } refused)
        {
            return refused;
        }

        var v2 = prefect.Dialect.IsV2;
        var fits = Routes.Where(r => r.Fits(segments, v2)).ToList();
        var route = fits.FirstOrDefault(r => string.Equals(r.Method, method, StringComparison.OrdinalIgnoreCase));
        if (route is null)
        {
            return fits.Count > 0
                ? JsonResponse.WriteDetailAsync(context, 405, "Method Not Allowed")
                : JsonResponse.WriteDetailAsync(context, 404, "Not Found");
        }

        if (route.CheckVersion && AccessEndpoints.RefuseApiVersion(context) is { } badVersion)
        {
            return badVersion;
        }

        var call = new PrefectCall(context, prefect, segments, route.IdOf(segments));
        return route.Id(segments) is { } raw && !Route.IsUuid(raw) ? call.BadUuid() : route.Handler(call);
    }

    private sealed record Route(string Method, string Path, Func<PrefectCall, Task> Handler, bool CheckVersion = true)
    {
        private readonly string[] _pattern = Path.Split('/');

        public bool Fits(string[] segments, bool anyId)
        {
            if (segments.Length != _pattern.Length)
            {
                return false;
            }

            for (var i = 0; i < segments.Length; i++)
            {
                var p = _pattern[i];
                var ok = p switch
                {
                    "*" => true,
                    "{id}" => segments[i].Length > 0 && (anyId || IsUuid(segments[i])),
                    _ => p == segments[i],
                };
                if (!ok)
                {
                    return false;
                }
            }

            return true;
        }

        public string? Id(string[] segments)
        {
            var i = Array.IndexOf(_pattern, "{id}");
            return i < 0 ? null : segments[i];
        }

        public Guid IdOf(string[] segments) => Id(segments) is { } raw && IsUuid(raw) ? Guid.Parse(raw) : Guid.Empty;

        /// <summary>Hyphenated or plain 32-digit uuids, as pydantic accepts them.</summary>
        public static bool IsUuid(string segment) => Guid.TryParse(segment, out _) && segment.Length is 32 or 36;
    }
}
