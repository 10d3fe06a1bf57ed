using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using DhubBatches.Emulator.Hosting;
using DhubBatches.Emulator.Paths;
using Microsoft.AspNetCore.Http;

namespace DhubBatches.Emulator.Prefect.Api;

/// <summary>One Prefect API request on its way through a handler: the route's id, the body, and the answer helpers.</summary>
internal sealed class PrefectCall
{
    public PrefectCall(HttpContext http, PrefectState prefect, IReadOnlyList<string> segments, Guid id)
    {
        Http = http;
        Prefect = prefect;
        Segments = segments;
        Id = id;
    }

    public HttpContext Http { get; }

    public PrefectState Prefect { get; }

    /// <summary>Path segments after <c>/prefect/api/</c>.</summary>
    public IReadOnlyList<string> Segments { get; }

    /// <summary>The route's <c>{id}</c>, when it has one.</summary>
    public Guid Id { get; }

    public PrefectDialect Dialect => Prefect.Dialect;

    public Task Detail(int status, string detail) => JsonResponse.WriteDetailAsync(Http, status, detail);

    public Task Json(int status, ReadOnlyMemory<byte> body) => JsonResponse.WriteJsonAsync(Http, status, body);

    /// <summary>Criteria the emulator does not evaluate are named in a response header rather than silently matching everything.</summary>
    public void NoteIgnored(IEnumerable<string> ignored)
    {
        var list = ignored.Distinct().ToList();
        if (list.Count > 0)
        {
            Http.Response.Headers["X-Emulator-Ignored-Filters"] = string.Join(",", list);
        }
    }

    /// <summary>
    /// Reads the body and validates it against the request model, answering 422 with Prefect's validation body
    /// when it does not fit; null then. <paramref name="embedded"/> marks FastAPI's multi-parameter <c>Body_*</c> models.
    /// </summary>
    public async Task<JsonElement?> Body(string model, bool embedded, string? required = null)
    {
        string text;
        using (var reader = new StreamReader(Http.Request.Body, Encoding.UTF8))
        {
            text = await reader.ReadToEndAsync(Http.RequestAborted);
        }

        Prefect.Bodies.Add(new PrefectRequestBody(Http.Request.Method, RawRequestTarget.Of(Http).DecodedPath, model, text));
        JsonElement body;
        if (string.IsNullOrWhiteSpace(text))
        {
            if (required is not null)
            {
                await ValidationError(new List<ValidationIssue> { new("missing", new JsonArray("body", required), "Field required", null) }, null);
                return null;
            }

            // FastAPI: a missing body means every embedded parameter takes its default.
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
                await ValidationError(new List<ValidationIssue> { issue }, JsonValue.Create(text));
                return null;
            }
        }

        var issues = PrefectSchema.Instance.Validate(model, body, embedded);
        if (issues.Count > 0)
        {
            await ValidationError(issues, PrefectSchema.Node(body));
            return null;
        }

        return body;
    }

    /// <summary>
    /// <c>LimitBody</c>: the server's default limit is both default and maximum; a larger or negative one is 422 with
    /// <c>detail</c>. Null (not given) takes the default.
    /// </summary>
    public bool Paging(JsonElement body, out int limit, out int offset, out Task? error)
    {
        var max = Prefect.DefaultLimit;
        limit = max;
        offset = 0;
        error = null;
        if (body.TryGetProperty("limit", out var l) && l.ValueKind == JsonValueKind.Number)
        {
            var value = l.GetInt64();
            if (value > max)
            {
                error = Detail(422, $"Invalid limit: must be less than or equal to {max}.");
                return false;
            }

            if (value < 0)
            {
                error = Detail(422, "Invalid limit: must be greater than or equal to 0.");
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

    /// <summary>
    /// What every <c>/{things}/filter</c> does around its query: the body checked against its model, the limit and
    /// offset checked, the page chosen and written as a JSON array under the store's lock (the views it writes are
    /// computed from the store), and criteria the emulator does not evaluate named in a header.
    /// <paramref name="page"/> gets the body, offset, limit and the list of ignored criteria to add to, and returns the
    /// page's items with the way to write one.
    /// </summary>
    public async Task FilterAsync<T>(
        string model,
        Func<JsonElement, int, int, List<string>, (IReadOnlyList<T> Items, Action<Utf8JsonWriter, T> Write)> page)
    {
        if (await Body(model, true) is not { } body)
        {
            return;
        }

        if (!Paging(body, out var limit, out var offset, out var error))
        {
            await error!;
            return;
        }

        var ignored = new List<string>();
        ReadOnlyMemory<byte> json;
        lock (Prefect.Store.Lock)
        {
            var (items, write) = page(body, offset, limit, ignored);
            json = JsonResponse.Serialize(w =>
            {
                w.WriteStartArray();
                foreach (var item in items)
                {
                    write(w, item);
                }

                w.WriteEndArray();
            });
        }

        NoteIgnored(ignored);
        await Json(200, json);
    }

    /// <summary>What every <c>/{things}/count</c> does around its query: the body checked, the count taken under the store's lock.</summary>
    public async Task CountAsync(string model, Func<JsonElement, List<string>, int> count)
    {
        if (await Body(model, true) is not { } body)
        {
            return;
        }

        var ignored = new List<string>();
        int counted;
        lock (Prefect.Store.Lock)
        {
            counted = count(body, ignored);
        }

        NoteIgnored(ignored);
        await JsonResponse.WriteRawAsync(Http, 200, counted.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    public static string Sort(JsonElement body, string fallback) =>
        body.TryGetProperty("sort", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString()! : fallback;

    /// <summary>Prefect's <c>validation_exception_handler</c> body.</summary>
    public Task ValidationError(List<ValidationIssue> issues, JsonNode? requestBody) =>
        JsonResponse.WriteAsync(Http, 422, w => new JsonObject
        {
            ["exception_message"] = "Invalid request received.",
            ["exception_detail"] = new JsonArray(issues.Select(i => (JsonNode)i.ToJson()).ToArray()),
            ["request_body"] = requestBody,
        }.WriteTo(w));

    /// <summary>Prefect 2's answer to a path id that is not a uuid (pydantic 1 wording, as recorded on 2.16.8).</summary>
    public Task BadUuid() =>
        JsonResponse.WriteAsync(Http, 422, w => new JsonObject
        {
            ["exception_message"] = "Invalid request received.",
            ["exception_detail"] = new JsonArray(new JsonObject
            {
                ["loc"] = new JsonArray("path", "id"),
                ["msg"] = "value is not a valid uuid",
                ["type"] = "type_error.uuid",
            }),
            ["request_body"] = null,
        }.WriteTo(w));
}
