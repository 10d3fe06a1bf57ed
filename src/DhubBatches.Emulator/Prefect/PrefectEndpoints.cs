using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using DhubBatches.Emulator.Hosting;
using DhubBatches.Emulator.Paths;
using Microsoft.AspNetCore.Http;

namespace DhubBatches.Emulator.Prefect;

/// <summary>
/// Prefect's REST API under <c>/prefect/api</c> (so PREFECT_API_URL = <c>http://127.0.0.1:port/prefect/api</c>, §1.1),
/// routed over raw path segments like the dhub side. Order as in Prefect's app: CSRF (§2.5, outermost) → auth
/// (§2.1/§2.2) → routing → X-PREFECT-API-VERSION (§1.2) → body validation against Prefect's OpenAPI models (§1.3).
/// </summary>
internal sealed partial class PrefectEndpoints
{
    public const string ApiVersion = "0.8.4";
    public const string ServerVersion = "3.8.3";
    public const string WorkPoolName = "emulator-pool";
    private const int DefaultLimit = 200;

    private readonly RequestDelegate _next;
    private readonly EmulatorState _state;

    public PrefectEndpoints(RequestDelegate next, EmulatorState state)
    {
        _next = next;
        _state = state;
    }

    private PrefectStore Store => _state.Prefect;

    public Task InvokeAsync(HttpContext context)
    {
        var target = RawRequestTarget.Of(context);
        if (!target.StartsWith("prefect", "api"))
        {
            return _next(context);
        }

        var s = target.Segments.Skip(2).ToArray();
        var route = s.Length == 0 ? string.Empty : string.Join('/', s);
        var method = context.Request.Method;

        // §2.5: CsrfMiddleware guards every POST/PUT/PATCH/DELETE, whoever sends it, before auth.
        if (_state.PrefectCsrf && (HttpMethods.IsPost(method) || HttpMethods.IsPut(method) || HttpMethods.IsPatch(method) || HttpMethods.IsDelete(method)))
        {
            string? token = context.Request.Headers["Prefect-Csrf-Token"];
            string? client = context.Request.Headers["Prefect-Csrf-Client"];
            if (string.IsNullOrEmpty(token))
            {
                return Detail(context, 403, "Missing CSRF token.");
            }

            if (string.IsNullOrEmpty(client))
            {
                return Detail(context, 403, "Missing client identifier.");
            }

            if (!_state.CsrfTokens.IsValid(token, client, _state.UtcNow))
            {
                return Detail(context, 403, "Invalid CSRF token or client identifier.");
            }
        }

        // §2.1/§2.2: basic auth exempts exactly /health and /ready; a Cloud-style key is needed everywhere.
        var exempt = HttpMethods.IsGet(method) && route is "health" or "ready";
        if (!IsAuthorized(context.Request, exempt))
        {
            return Write(context, 401, w => Prop(w, "exception_message", "Unauthorized"));
        }

        return Route(context, s, method, route);
    }

    private Task Route(HttpContext context, string[] s, string method, string route)
    {
        bool Get() => HttpMethods.IsGet(method);
        bool Post() => HttpMethods.IsPost(method);

        switch (route)
        {
            case "health":
                return Get() ? Raw(context, 200, "true") : MethodNotAllowed(context);
            case "ready":
                return Get() ? Write(context, 200, w => Prop(w, "message", "OK")) : MethodNotAllowed(context);
        }

        // §1.2: the header is optional, but when present it must be int.int.int and at least 0.8.0.
        string? version = context.Request.Headers["X-PREFECT-API-VERSION"];
        if (version is not null && KnownRoute(s))
        {
            var m = VersionPattern().Match(version);
            if (!m.Success)
            {
                return Detail(context, 400, $"Invalid X-PREFECT-API-VERSION header format.Expected header in format 'x.y.z' but received {version}");
            }

            var parsed = new Version(int.Parse(m.Groups[1].Value), int.Parse(m.Groups[2].Value), int.Parse(m.Groups[3].Value));
            if (parsed < new Version(0, 8, 0))
            {
                return Detail(context, 400, $"The request specified API version {version} but this server requires version 0.8.0 or higher.");
            }
        }

        switch (s.Length)
        {
            case 1 when s[0] == "version":
                return Get() ? Raw(context, 200, "\"" + ApiVersion + "\"") : MethodNotAllowed(context);
            case 1 when s[0] == "hello":
                return Get() ? Raw(context, 200, "\"👋\"") : MethodNotAllowed(context);
            case 1 when s[0] == "csrf-token":
                return Get() ? CsrfTokenAsync(context) : MethodNotAllowed(context);
            case 2 when s[0] == "admin" && s[1] == "version":
                return Get() ? Raw(context, 200, "\"" + ServerVersion + "\"") : MethodNotAllowed(context);
            case 4 when s[0] == "deployments" && s[1] == "name":
                return Get() ? DeploymentByNameAsync(context, s[2], s[3]) : MethodNotAllowed(context);
            case 2 when s[0] == "deployments" && s[1] == "filter":
                return Post() ? WithBody(context, "Body_read_deployments_deployments_filter_post", true, b => DeploymentsFilterAsync(context, b)) : MethodNotAllowed(context);
            case 2 when s[0] == "deployments" && s[1] == "count":
                return Post() ? WithBody(context, "Body_count_deployments_deployments_count_post", true, b => DeploymentsCountAsync(context, b)) : MethodNotAllowed(context);
            case 2 when s[0] == "deployments" && IsUuid(s[1], out var deploymentId):
                return Get() ? DeploymentByIdAsync(context, deploymentId) : MethodNotAllowed(context);
            case 3 when s[0] == "deployments" && s[2] == "create_flow_run" && IsUuid(s[1], out var deploymentId):
                return Post() ? WithBody(context, "DeploymentFlowRunCreate", false, b => CreateFlowRunAsync(context, deploymentId, b), requireBody: true) : MethodNotAllowed(context);
            case 2 when s[0] == "flow_runs" && s[1] == "filter":
                return Post() ? WithBody(context, "Body_read_flow_runs_flow_runs_filter_post", true, b => FlowRunsFilterAsync(context, b)) : MethodNotAllowed(context);
            case 2 when s[0] == "flow_runs" && s[1] == "count":
                return Post() ? WithBody(context, "Body_count_flow_runs_flow_runs_count_post", true, b => FlowRunsCountAsync(context, b)) : MethodNotAllowed(context);
            case 2 when s[0] == "flow_runs" && IsUuid(s[1], out var runId):
                return Get() ? ReadFlowRunAsync(context, runId)
                    : HttpMethods.IsDelete(method) ? DeleteFlowRunAsync(context, runId)
                    : MethodNotAllowed(context);
            case 3 when s[0] == "flow_runs" && s[2] == "set_state" && IsUuid(s[1], out var runId):
                return Post() ? WithBody(context, "Body_set_flow_run_state_flow_runs__id__set_state_post", true, b => SetStateAsync(context, runId, b), requireBody: true)
                    : MethodNotAllowed(context);
            case 2 when s[0] == "task_runs" && s[1] == "filter":
                return Post() ? WithBody(context, "Body_read_task_runs_task_runs_filter_post", true, b => TaskRunsFilterAsync(context, b)) : MethodNotAllowed(context);
            case 2 when s[0] == "task_runs" && IsUuid(s[1], out var taskRunId):
                return Get() ? ReadTaskRunAsync(context, taskRunId) : MethodNotAllowed(context);
            case 2 when s[0] == "artifacts" && s[1] == "filter":
                return Post() ? WithBody(context, "Body_read_artifacts_artifacts_filter_post", true, b => ArtifactsFilterAsync(context, b)) : MethodNotAllowed(context);
            default:
                // §1.5/§7: unknown route, or a malformed {id:uuid} (3.5.0+), is Starlette's 404.
                return Detail(context, 404, "Not Found");
        }
    }

    private static bool KnownRoute(string[] s) =>
        s.Length > 0 && s[0] is "version" or "hello" or "csrf-token" or "admin" or "deployments" or "flow_runs" or "task_runs" or "artifacts";

    [GeneratedRegex(@"^(\d+)\.(\d+)\.(\d+)$")]
    private static partial Regex VersionPattern();

    private bool IsAuthorized(HttpRequest request, bool exempt)
    {
        var authString = _state.PrefectAuthString;
        var apiKey = _state.PrefectApiKey;
        if (authString is null && apiKey is null)
        {
            return true;
        }

        if (exempt && apiKey is null)
        {
            return true;
        }

        string? header = request.Headers.Authorization;
        if (header is null)
        {
            return false;
        }

        if (authString is not null && header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                var decoded = Convert.FromBase64String(header[6..].Trim());
                return CryptographicOperations.FixedTimeEquals(decoded, Encoding.UTF8.GetBytes(authString));
            }
            catch (FormatException)
            {
                return false;
            }
        }

        return apiKey is not null && BearerToken.IsAuthorized(request, apiKey);
    }

    // ---- §2.5 CSRF token -------------------------------------------------------------------------------

    private Task CsrfTokenAsync(HttpContext context)
    {
        var client = RawRequestTarget.Of(context).Query("client");
        if (string.IsNullOrEmpty(client))
        {
            var issue = new ValidationIssue("missing", new JsonArray("query", "client"), "Field required", null);
            return ValidationError(context, new List<ValidationIssue> { issue }, null);
        }

        if (!_state.PrefectCsrf)
        {
            return Detail(context, 422, "CSRF protection is disabled.");
        }

        var token = _state.CsrfTokens.Issue(client, _state.UtcNow);
        return Write(context, 200, w =>
        {
            w.WriteString("id", token.Id);
            PrefectJson.WriteTime(w, "created", token.Created);
            PrefectJson.WriteTime(w, "updated", token.Created);
            w.WriteString("token", token.Token);
            w.WriteString("client", token.Client);
            PrefectJson.WriteTime(w, "expiration", token.Expiration);
        });
    }

    // ---- §4 deployments --------------------------------------------------------------------------------

    private IReadOnlyList<PrefectDeployment> AllDeployments() => Store.Deployments(_state.Pipelines, _state.UtcNow);

    private Task DeploymentByNameAsync(HttpContext context, string flow, string name)
    {
        if (flow != _state.PrefectFlowName || !_state.IsKnownPipeline(name))
        {
            return Detail(context, 404, "Deployment not found");
        }

        var deployment = AllDeployments().First(d => d.Name == name);
        return Write(context, 200, null, w => PrefectJson.WriteDeployment(w, deployment, Store.FlowId, WorkPoolName, _state.UtcNow));
    }

    private Task DeploymentByIdAsync(HttpContext context, Guid id)
    {
        var deployment = AllDeployments().FirstOrDefault(d => d.Id == id);
        return deployment is null
            ? Detail(context, 404, "Deployment not found")
            : Write(context, 200, null, w => PrefectJson.WriteDeployment(w, deployment, Store.FlowId, WorkPoolName, _state.UtcNow));
    }

    private List<PrefectDeployment> FilterDeployments(JsonElement body) =>
        AllDeployments().Where(d => RunCriteria.From(body).MatchesDeployment(_state.PrefectFlowName, d)).ToList();

    private Task DeploymentsFilterAsync(HttpContext context, JsonElement body)
    {
        if (!Paging(context, body, out var limit, out var offset, out var error))
        {
            return error!;
        }

        var sort = SortOf(body, "NAME_ASC");
        var list = FilterDeployments(body);
        IEnumerable<PrefectDeployment> ordered = sort switch
        {
            "NAME_DESC" => list.OrderByDescending(d => d.Name, StringComparer.Ordinal),
            "CREATED_DESC" or "UPDATED_DESC" => list.OrderByDescending(d => d.Created).ThenBy(d => d.Name, StringComparer.Ordinal),
            _ => list.OrderBy(d => d.Name, StringComparer.Ordinal),
        };
        var page = ordered.Skip(offset).Take(limit).ToList();
        var now = _state.UtcNow;
        return WriteArray(context, page, (w, d) => PrefectJson.WriteDeployment(w, d, Store.FlowId, WorkPoolName, now));
    }

    private Task DeploymentsCountAsync(HttpContext context, JsonElement body) => Raw(context, 200, FilterDeployments(body).Count.ToString(System.Globalization.CultureInfo.InvariantCulture));

    // ---- §5 create_flow_run ----------------------------------------------------------------------------

    private Task CreateFlowRunAsync(HttpContext context, Guid deploymentId, JsonElement body)
    {
        var deployment = AllDeployments().FirstOrDefault(d => d.Id == deploymentId);
        if (deployment is null)
        {
            return Detail(context, 404, "Deployment not found");
        }

        // §5: parameters are shallow-merged over the deployment's ({}); tags are the union with ["pipeline"].
        var parameters = new JsonObject();
        if (body.TryGetProperty("parameters", out var p) && p.ValueKind == JsonValueKind.Object)
        {
            foreach (var prop in p.EnumerateObject())
            {
                parameters[prop.Name] = PrefectSchema.Node(prop.Value);
            }
        }

        // §5: enforce_parameter_schema (deployment default true): pipeline_version must be a string → 409.
        var enforce = !(body.TryGetProperty("enforce_parameter_schema", out var e) && e.ValueKind == JsonValueKind.False);
        if (enforce && parameters.TryGetPropertyValue("pipeline_version", out var pv) && pv?.GetValueKind() != JsonValueKind.String)
        {
            return Detail(context, 409,
                $"Error creating flow run: Validation failed for field 'pipeline_version'. Failure reason: {pv?.ToJsonString() ?? "None"} is not of type 'string'");
        }

        var tags = new List<string> { "pipeline" };
        if (body.TryGetProperty("tags", out var t) && t.ValueKind == JsonValueKind.Array)
        {
            tags.AddRange(t.EnumerateArray().Select(x => x.GetString()!).Where(x => !tags.Contains(x)).Distinct());
        }

        var name = body.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
        var key = body.TryGetProperty("idempotency_key", out var k) && k.ValueKind == JsonValueKind.String ? k.GetString() : null;
        var pipeline = deployment.Name;
        var now = _state.UtcNow;
        var (run, created) = Store.Create(deployment, name, parameters, tags, key, now, _state.PrefectStepDuration(pipeline),
            _state.FailsAtTransform(pipeline), pipeline.StartsWith(PrefectArtifacts.ObjectDataPrefix, StringComparison.Ordinal));

        // §5.2: 201 for a new run, 200 with the existing run unchanged for a repeated (flow, idempotency_key).
        return WriteFlowRun(context, created ? 201 : 200, run);
    }

    // ---- §6 flow run lists -----------------------------------------------------------------------------

    private List<StoredFlowRun> Matching(RunCriteria criteria, DateTimeOffset now, bool descending, int skip, int take)
    {
        var result = new List<StoredFlowRun>();
        var runs = Store.Snapshot();
        var flow = _state.PrefectFlowName;
        for (var i = 0; i < runs.Length && result.Count < take; i++)
        {
            var r = runs[descending ? runs.Length - 1 - i : i];
            if (criteria.Matches(flow, r, () => FlowRunLifecycle.Compute(r, now)))
            {
                if (skip > 0)
                {
                    skip--;
                }
                else
                {
                    result.Add(r);
                }
            }
        }

        return result;
    }

    private Task FlowRunsFilterAsync(HttpContext context, JsonElement body)
    {
        if (!Paging(context, body, out var limit, out var offset, out var error))
        {
            return error!;
        }

        var criteria = RunCriteria.From(body);
        NoteIgnored(context, criteria);
        var now = _state.UtcNow;
        var sort = SortOf(body, "ID_DESC");
        List<StoredFlowRun> page;
        if (sort is "EXPECTED_START_TIME_DESC" or "EXPECTED_START_TIME_ASC")
        {
            page = Matching(criteria, now, sort.EndsWith("DESC", StringComparison.Ordinal), offset, limit);
        }
        else
        {
            var all = Matching(criteria, now, false, 0, int.MaxValue);
            var views = new Dictionary<Guid, FlowRunView>();
            FlowRunView V(StoredFlowRun r) => views.TryGetValue(r.Id, out var v) ? v : views[r.Id] = FlowRunLifecycle.Compute(r, now);
            IEnumerable<StoredFlowRun> ordered = sort switch
            {
                "START_TIME_ASC" => all.OrderBy(r => V(r).StartTime ?? r.Created),
                "START_TIME_DESC" => all.OrderByDescending(r => V(r).StartTime ?? r.Created),
                "NAME_ASC" => all.OrderBy(r => r.Name, StringComparer.Ordinal),
                "NAME_DESC" => all.OrderByDescending(r => r.Name, StringComparer.Ordinal),
                // Postgres: NULLS FIRST for DESC, NULLS LAST for ASC.
                "END_TIME_DESC" => all.OrderByDescending(r => V(r).EndTime ?? DateTimeOffset.MaxValue),
                "NEXT_SCHEDULED_START_TIME_ASC" => all.OrderBy(r => V(r).State.Type == StateTypes.Scheduled ? r.Created : DateTimeOffset.MaxValue),
                // §6.1: ID_DESC orders by the random UUID, so it is not chronological.
                _ => all.OrderByDescending(r => r.Id.ToString(), StringComparer.Ordinal),
            };
            page = ordered.Skip(offset).Take(limit).ToList();
        }

        return WriteArray(context, page, (w, r) => PrefectJson.WriteFlowRun(w, r, FlowRunLifecycle.Compute(r, now), Store.FlowId, Store.WorkPoolId, WorkPoolName, now));
    }

    /// <summary>§6.2: a bare JSON integer.</summary>
    private Task FlowRunsCountAsync(HttpContext context, JsonElement body)
    {
        var criteria = RunCriteria.From(body);
        NoteIgnored(context, criteria);
        return Raw(context, 200, Matching(criteria, _state.UtcNow, false, 0, int.MaxValue).Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    // ---- §7 read one run, §10 delete -------------------------------------------------------------------

    private Task ReadFlowRunAsync(HttpContext context, Guid id)
    {
        var run = Store.Get(id);
        return run is null ? Detail(context, 404, "Flow run not found") : WriteFlowRun(context, 200, run);
    }

    private Task DeleteFlowRunAsync(HttpContext context, Guid id)
    {
        if (!Store.Delete(id, _state.UtcNow))
        {
            return Detail(context, 404, "Flow run not found");
        }

        context.Response.StatusCode = 204;
        context.Response.ContentLength = 0;
        return Task.CompletedTask;
    }

    // ---- §8.1 task runs --------------------------------------------------------------------------------

    private Task TaskRunsFilterAsync(HttpContext context, JsonElement body)
    {
        if (!Paging(context, body, out var limit, out var offset, out var error))
        {
            return error!;
        }

        var now = _state.UtcNow;
        var runIds = RunCriteria.Obj(body, "task_runs") is { } tr && RunCriteria.Obj(tr, "flow_run_id") is { } fr ? RunCriteria.Guids(fr, "any_") : null;
        var taskIds = RunCriteria.Obj(body, "task_runs") is { } tr2 && RunCriteria.Obj(tr2, "id") is { } tid ? RunCriteria.Guids(tid, "any_") : null;
        var criteria = RunCriteria.From(body);
        if (RunCriteria.Obj(body, "task_runs") is { } trs)
        {
            foreach (var p in trs.EnumerateObject().Where(p => p.Value.ValueKind != JsonValueKind.Null && p.Name is not ("flow_run_id" or "id" or "operator")))
            {
                criteria.Ignored.Add("task_runs." + p.Name);
            }
        }

        criteria.Ignored.Remove("task_runs");
        NoteIgnored(context, criteria);
        var runs = runIds is not null
            ? runIds.Select(Store.Get).Where(r => r is not null).Select(r => r!)
            : Store.Snapshot();
        var items = new List<(StoredFlowRun Run, FlowRunView View, TaskRunView Task)>();
        foreach (var run in runs)
        {
            if (!criteria.Matches(_state.PrefectFlowName, run, () => FlowRunLifecycle.Compute(run, now)))
            {
                continue;
            }

            var view = FlowRunLifecycle.Compute(run, now);
            items.AddRange(view.Tasks.Where(t => taskIds is null || taskIds.Contains(t.Id)).Select(t => (run, view, t)));
        }

        var sort = SortOf(body, "ID_DESC");
        IEnumerable<(StoredFlowRun Run, FlowRunView View, TaskRunView Task)> ordered = sort switch
        {
            "EXPECTED_START_TIME_ASC" => items.OrderBy(i => i.Task.Start).ThenBy(i => i.Task.Index),
            "EXPECTED_START_TIME_DESC" => items.OrderByDescending(i => i.Task.Start).ThenByDescending(i => i.Task.Index),
            "NAME_ASC" => items.OrderBy(i => i.Task.Task, StringComparer.Ordinal),
            "NAME_DESC" => items.OrderByDescending(i => i.Task.Task, StringComparer.Ordinal),
            "END_TIME_DESC" => items.OrderByDescending(i => i.Task.End ?? DateTimeOffset.MaxValue),
            "NEXT_SCHEDULED_START_TIME_ASC" => items,
            _ => items.OrderByDescending(i => i.Task.Id.ToString(), StringComparer.Ordinal),
        };
        var page = ordered.Skip(offset).Take(limit).ToList();
        return WriteArray(context, page, (w, i) => PrefectJson.WriteTaskRun(w, i.Run, i.View, i.Task, now));
    }

    private Task ReadTaskRunAsync(HttpContext context, Guid id)
    {
        var now = _state.UtcNow;
        foreach (var run in Store.Snapshot())
        {
            if (Enumerable.Range(1000, FlowRunLifecycle.Tasks.Length).Any(slot => FlowRunLifecycle.Derive(run.Id, slot) == id))
            {
                var view = FlowRunLifecycle.Compute(run, now);
                var task = view.Tasks.FirstOrDefault(t => t.Id == id);
                if (task is not null)
                {
                    return Write(context, 200, null, w => PrefectJson.WriteTaskRun(w, run, view, task, now));
                }
            }
        }

        return Detail(context, 404, "Task not found");
    }

    // ---- §8.2 artifacts --------------------------------------------------------------------------------

    private Task ArtifactsFilterAsync(HttpContext context, JsonElement body)
    {
        if (!Paging(context, body, out var limit, out var offset, out var error))
        {
            return error!;
        }

        var now = _state.UtcNow;
        var a = RunCriteria.Obj(body, "artifacts");
        HashSet<Guid>? runIds = a is { } a1 && RunCriteria.Obj(a1, "flow_run_id") is { } f ? RunCriteria.Guids(f, "any_") : null;
        if (RunCriteria.Obj(body, "flow_runs") is { } frs && RunCriteria.Obj(frs, "id") is { } fid && RunCriteria.Guids(fid, "any_") is { } more)
        {
            runIds = runIds is null ? more : runIds.Intersect(more).ToHashSet();
        }

        var taskIds = a is { } a2 && RunCriteria.Obj(a2, "task_run_id") is { } t ? RunCriteria.Guids(t, "any_") : null;
        var ids = a is { } a3 && RunCriteria.Obj(a3, "id") is { } i ? RunCriteria.Guids(i, "any_") : null;
        var types = a is { } a4 && RunCriteria.Obj(a4, "type") is { } ty ? RunCriteria.Strings(ty, "any_") : null;
        var typesNot = a is { } a5 && RunCriteria.Obj(a5, "type") is { } ty2 ? RunCriteria.Strings(ty2, "not_any_") : null;
        var keyObj = a is { } a6 ? RunCriteria.Obj(a6, "key") : null;
        var keys = keyObj is { } ko ? RunCriteria.Strings(ko, "any_") : null;
        var keyLike = keyObj is { } kl && kl.TryGetProperty("like_", out var like) && like.ValueKind == JsonValueKind.String ? like.GetString() : null;
        var keyExists = keyObj is { } ke ? RunCriteria.Bool(ke, "exists_") : null;

        // §10: artifacts outlive a deleted run; they are evaluated as of the deletion.
        var runs = runIds is not null
            ? runIds.Select(Store.GetIncludingDeleted).Where(r => r is not null).Select(r => r!)
            : Store.SnapshotIncludingDeleted();
        var items = new List<ArtifactView>();
        foreach (var run in runs)
        {
            var at = run.DeletedAt is { } deleted && deleted < now ? deleted : now;
            foreach (var art in PrefectArtifacts.For(run, FlowRunLifecycle.Compute(run, at)))
            {
                if ((taskIds is null || taskIds.Contains(art.TaskRunId))
                    && (ids is null || ids.Contains(art.Id))
                    && (types is null || types.Contains(art.Type))
                    && (typesNot is null || !typesNot.Contains(art.Type))
                    && (keys is null || (art.Key is not null && keys.Contains(art.Key)))
                    && (keyLike is null || (art.Key is not null && art.Key.Contains(keyLike, StringComparison.OrdinalIgnoreCase)))
                    && (keyExists is null || keyExists == (art.Key is not null)))
                {
                    items.Add(art);
                }
            }
        }

        IEnumerable<ArtifactView> ordered = SortOf(body, "ID_DESC") switch
        {
            "CREATED_DESC" or "UPDATED_DESC" => items.OrderByDescending(x => x.Created),
            "KEY_DESC" => items.OrderByDescending(x => x.Key, StringComparer.Ordinal),
            "KEY_ASC" => items.OrderBy(x => x.Key, StringComparer.Ordinal),
            _ => items.OrderByDescending(x => x.Id.ToString(), StringComparer.Ordinal),
        };
        return WriteArray(context, ordered.Skip(offset).Take(limit).ToList(), PrefectArtifacts.Write);
    }

    // ---- §9 set_state ----------------------------------------------------------------------------------

    private Task SetStateAsync(HttpContext context, Guid id, JsonElement body)
    {
        var state = body.GetProperty("state");
        var proposed = state.GetProperty("type").GetString()!;
        var message = state.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
        var transitionId = state.TryGetProperty("state_details", out var sd) && sd.ValueKind == JsonValueKind.Object
            && sd.TryGetProperty("transition_id", out var tid) && tid.ValueKind == JsonValueKind.String ? tid.GetString() : null;
        var now = _state.UtcNow;

        string status;
        string detailsType;
        string? reason = null;
        bool written;
        StoredFlowRun? run;
        FlowRunView view;
        lock (Store.Lock)
        {
            run = Store.Get(id);
            if (run is null)
            {
                // §9/§1.5: ObjectNotFoundError from the model layer uses exception_message, not detail.
                return Write(context, 404, w => Prop(w, "exception_message", $"Flow run with id {id} not found"));
            }

            view = FlowRunLifecycle.Compute(run, now);
            var current = view.State;
            if (Store.TakeWait())
            {
                (status, detailsType, reason, written) = ("WAIT", "wait_details", "The emulator was told to delay this transition.", false);
            }
            else if (transitionId is not null && transitionId == current.TransitionId)
            {
                // PreventDuplicateTransitions: a retried proposal is rejected and the current state returned.
                (status, detailsType, reason, written) = ("REJECT", "reject_details", "This run has already made this state transition.", false);
            }
            else if (StateTypes.IsTerminal(current.Type))
            {
                // HandleFlowTerminalStateTransitions.
                (status, detailsType, reason, written) = ("ABORT", "abort_details", $"Run is already in terminal state {current.Type}.", false);
            }
            else if (current.Type == StateTypes.Cancelling && proposed != StateTypes.Cancelled)
            {
                // EnforceCancellingToCancelledTransition.
                (status, detailsType, reason, written) = ("REJECT", "reject_details", "Cannot transition flows that are cancelling to a state other than Cancelled.", false);
            }
            else if (proposed == StateTypes.Cancelling && current.Type == StateTypes.Scheduled && view.InfrastructurePid is null)
            {
                // BypassCancellingFlowRunsWithNoInfra: REJECT with the substitute state CANCELLED (final).
                run.CancelledAt = now;
                run.CancelledMessage = null;
                (status, detailsType, reason, written) = ("REJECT", "reject_details", "Scheduled flow run has no infrastructure to terminate.", true);
            }
            else if (proposed == StateTypes.Cancelling)
            {
                // PENDING/RUNNING: ACCEPT; the simulated worker turns CANCELLING into CANCELLED one step later.
                run.CancelRequestedAt = now;
                run.CancellingTransitionId = transitionId;
                run.CancellingMessage = message;
                (status, detailsType, written) = ("ACCEPT", "accept_details", true);
            }
            else if (proposed == StateTypes.Cancelled)
            {
                // CANCELLING → CANCELLED is allowed; other active states are accepted too (§9, inferred in the spec).
                run.CancelledAt = now;
                run.CancelledMessage = message;
                run.CancelledTransitionId = transitionId;
                (status, detailsType, written) = ("ACCEPT", "accept_details", true);
            }
            else
            {
                (status, detailsType, reason, written) = ("REJECT", "reject_details",
                    $"The emulator only orchestrates cancellation; a proposed {proposed} state is not simulated.", false);
            }

            if (written)
            {
                view = FlowRunLifecycle.Compute(run, now);
            }
        }

        Store.RecordSetState(new PrefectSetStateCall(id.ToString(), proposed, transitionId, status, now));
        var result = view.State;
        var r = run;
        return Write(context, written ? 201 : 200, w =>
        {
            w.WritePropertyName("state");
            PrefectJson.WriteState(w, result, r.Id, null, r.Created);
            w.WriteString("status", status);
            w.WriteStartObject("details");
            w.WriteString("type", detailsType);
            if (status == "WAIT")
            {
                w.WriteNumber("delay_seconds", 1);
            }

            if (reason is not null)
            {
                w.WriteString("reason", reason);
            }

            w.WriteEndObject();
        });
    }

    // ---- helpers ---------------------------------------------------------------------------------------

    /// <summary>Reads and validates the body against the request model, answering 422 like Prefect (§1.5) when it does not fit.</summary>
    private async Task WithBody(HttpContext context, string model, bool embedded, Func<JsonElement, Task> handle, bool requireBody = false)
    {
        string text;
        using (var reader = new StreamReader(context.Request.Body, Encoding.UTF8))
        {
            text = await reader.ReadToEndAsync(context.RequestAborted);
        }

        _state.PrefectBodies.Add(new PrefectRequestBody(context.Request.Method, RawRequestTarget.Of(context).DecodedPath, model, text));
        JsonElement body;
        if (string.IsNullOrWhiteSpace(text))
        {
            if (requireBody && model != "DeploymentFlowRunCreate")
            {
                await ValidationError(context, new List<ValidationIssue> { new("missing", new JsonArray("body", "state"), "Field required", null) }, null);
                return;
            }

            // FastAPI: a missing body means every embedded parameter takes its default; create_flow_run accepts {}.
            body = JsonDocument.Parse("{}").RootElement.Clone();
        }
        else
        {
            try
            {
                using var doc = JsonDocument.Parse(text);
                body = doc.RootElement.Clone();
            }
            catch (JsonException ex)
            {
                var issue = new ValidationIssue("json_invalid", new JsonArray("body", (int)(ex.BytePositionInLine ?? 0)), "JSON decode error", new JsonObject(),
                    new JsonObject { ["error"] = ex.Message });
                await ValidationError(context, new List<ValidationIssue> { issue }, JsonValue.Create(text));
                return;
            }
        }

        var issues = PrefectSchema.Instance.Validate(model, body, embedded);
        if (issues.Count > 0)
        {
            await ValidationError(context, issues, PrefectSchema.Node(body));
            return;
        }

        await handle(body);
    }

    /// <summary>§6.1 LimitBody: default and maximum 200, negative rejected, both as HTTPException 422 with detail.</summary>
    private static bool Paging(HttpContext context, JsonElement body, out int limit, out int offset, out Task? error)
    {
        limit = DefaultLimit;
        offset = 0;
        error = null;
        if (body.TryGetProperty("limit", out var l) && l.ValueKind == JsonValueKind.Number)
        {
            var value = l.GetInt64();
            if (value > DefaultLimit)
            {
                error = Detail(context, 422, $"Invalid limit: must be less than or equal to {DefaultLimit}.");
                return false;
            }

            if (value < 0)
            {
                error = Detail(context, 422, "Invalid limit: must be greater than or equal to 0.");
                return false;
            }

            limit = (int)value;
        }

        if (body.TryGetProperty("offset", out var o) && o.ValueKind == JsonValueKind.Number)
        {
            offset = (int)Math.Min(o.GetInt64(), int.MaxValue);
        }

        return true;
    }

    private static string SortOf(JsonElement body, string fallback) =>
        body.TryGetProperty("sort", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString()! : fallback;

    private static void NoteIgnored(HttpContext context, RunCriteria criteria)
    {
        if (criteria.Ignored.Count > 0)
        {
            context.Response.Headers["X-Emulator-Ignored-Filters"] = string.Join(",", criteria.Ignored.Distinct());
        }
    }

    private static bool IsUuid(string segment, out Guid id) => Guid.TryParse(segment, out id) && segment.Length is 32 or 36;

    private Task WriteFlowRun(HttpContext context, int status, StoredFlowRun run)
    {
        var now = _state.UtcNow;
        var view = FlowRunLifecycle.Compute(run, now);
        return Write(context, status, null, w => PrefectJson.WriteFlowRun(w, run, view, Store.FlowId, Store.WorkPoolId, WorkPoolName, now));
    }

    private static Task WriteArray<T>(HttpContext context, IReadOnlyList<T> items, Action<Utf8JsonWriter, T> write) =>
        JsonResponse.WriteAsync(context, 200, w =>
        {
            w.WriteStartArray();
            foreach (var item in items)
            {
                write(w, item);
            }

            w.WriteEndArray();
        });

    /// <summary>Writes an object whose members <paramref name="members"/> writes (or a whole value via <paramref name="value"/>).</summary>
    private static Task Write(HttpContext context, int status, Action<Utf8JsonWriter>? members, Action<Utf8JsonWriter>? value = null) =>
        JsonResponse.WriteAsync(context, status, w =>
        {
            if (value is not null)
            {
                value(w);
                return;
            }

            w.WriteStartObject();
            members?.Invoke(w);
            w.WriteEndObject();
        });

    private static Task Write(HttpContext context, int status, Action<Utf8JsonWriter> members) => Write(context, status, members, null);

    private static void Prop(Utf8JsonWriter w, string name, string value) => w.WriteString(name, value);

    private static Task Detail(HttpContext context, int status, string detail) => Write(context, status, w => Prop(w, "detail", detail));

    private static Task Raw(HttpContext context, int status, string json) =>
        JsonResponse.WriteBytesAsync(context, status, Encoding.UTF8.GetBytes(json), JsonResponse.ContentType);

    /// <summary>§1.5: Prefect's validation_exception_handler body.</summary>
    private static Task ValidationError(HttpContext context, List<ValidationIssue> issues, JsonNode? requestBody) =>
        JsonResponse.WriteAsync(context, 422, w =>
        {
            var o = new JsonObject
            {
                ["exception_message"] = "Invalid request received.",
                ["exception_detail"] = new JsonArray(issues.Select(i => (JsonNode)i.ToJson()).ToArray()),
                ["request_body"] = requestBody,
            };
            o.WriteTo(w);
        });

    private static Task MethodNotAllowed(HttpContext context) => Detail(context, 405, "Method Not Allowed");
}
