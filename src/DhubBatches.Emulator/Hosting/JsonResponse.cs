using System;
using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;

namespace DhubBatches.Emulator.Hosting;

/// <summary>
/// The one way both API surfaces answer: complete JSON bodies with an explicit Content-Length (buffering first
/// keeps responses byte-exact and lets the damage and truncate faults work on whole answers), and each
/// backend's error shape: dhub's <c>{"message"}</c>, Prefect's <c>{"detail"}</c> and <c>{"exception_message"}</c>.
/// </summary>
internal static class JsonResponse
{
    public const string ContentType = "application/json; charset=utf-8";

    /// <summary>Serializer settings of the control API: camelCase, enums as camelCase strings.</summary>
    public static readonly JsonSerializerOptions ControlJson = CreateControlJson();

    /// <summary>
    /// Escape only what JSON requires (quotes as \", non-ASCII kept), like typical API servers, so logs and the list
    /// endpoint's nested strings stay readable. These bodies are never embedded in HTML.
    /// </summary>
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Writes a JSON value into memory (under whatever lock the caller holds) for a later <see cref="WriteBytesAsync"/>.</summary>
    public static ReadOnlyMemory<byte> Serialize(Action<Utf8JsonWriter> write)
    {
        // A page of runs is hundreds of kilobytes: writing into a per-thread scratch buffer and copying out once
        // allocates the answer's size, where a growing buffer would allocate about twice that on every request.
        // Taken out while in use, so a writer that serializes something else on the way gets its own.
        var buffer = _scratch ?? new ArrayBufferWriter<byte>(64 * 1024);
        _scratch = null;
        buffer.ResetWrittenCount();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            write(writer);
        }

        var bytes = buffer.WrittenSpan.ToArray();
        if (buffer.Capacity <= 4 * 1024 * 1024)
        {
            // One huge answer should not pin its buffer for the life of the thread.
            _scratch = buffer;
        }

        return bytes;
    }

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? _scratch;

    public static Task WriteAsync(HttpContext context, int status, Action<Utf8JsonWriter> write) =>
        WriteBytesAsync(context, status, Serialize(write), ContentType);

    public static Task WriteJsonAsync(HttpContext context, int status, ReadOnlyMemory<byte> json) => WriteBytesAsync(context, status, json, ContentType);

    /// <summary>A bare JSON value given as text (<c>true</c>, <c>"0.8.4"</c>, <c>42</c>).</summary>
    public static Task WriteRawAsync(HttpContext context, int status, string json) =>
        WriteBytesAsync(context, status, Encoding.UTF8.GetBytes(json), ContentType);

    /// <summary>The dhub error shape: <c>{"message":"..."}</c>.</summary>
    public static Task WriteMessageAsync(HttpContext context, int status, string message) => WriteMember(context, status, "message", message);

    /// <summary>FastAPI's <c>HTTPException</c> shape: <c>{"detail":"..."}</c>.</summary>
    public static Task WriteDetailAsync(HttpContext context, int status, string detail) => WriteMember(context, status, "detail", detail);

    /// <summary>Prefect's exception handlers' shape: <c>{"exception_message":"..."}</c>.</summary>
    public static Task WriteExceptionMessageAsync(HttpContext context, int status, string message) => WriteMember(context, status, "exception_message", message);

    public static Task WriteObjectAsync<T>(HttpContext context, int status, T value) =>
        WriteBytesAsync(context, status, JsonSerializer.SerializeToUtf8Bytes(value, ControlJson), ContentType);

    public static async Task WriteBytesAsync(HttpContext context, int status, ReadOnlyMemory<byte> body, string contentType)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = contentType;
        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body, context.RequestAborted);
    }

    private static Task WriteMember(HttpContext context, int status, string name, string value) =>
        WriteAsync(context, status, w =>
        {
            w.WriteStartObject();
            w.WriteString(name, value);
            w.WriteEndObject();
        });

    private static JsonSerializerOptions CreateControlJson()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase));
        return options;
    }
}
