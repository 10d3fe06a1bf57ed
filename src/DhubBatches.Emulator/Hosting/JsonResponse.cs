using System;
using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;

namespace DhubBatches.Emulator.Hosting;

/// <summary>
/// Writes complete JSON bodies with an explicit Content-Length. Always buffering first keeps responses
/// byte-exact and lets the truncate fault know the full length it cuts in half.
/// </summary>
internal static class JsonResponse
{
    public const string ContentType = "application/json; charset=utf-8";

    /// <summary>Serializer settings of the control API: camelCase, enums as camelCase strings.</summary>
    public static readonly JsonSerializerOptions ControlJson = CreateControlJson();

    /// <summary>
    /// Escape only what JSON requires (quotes as \", non-ASCII kept), like typical API servers, so
    /// logs and the list endpoint's nested strings stay readable. These bodies are never embedded in HTML.
    /// </summary>
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Task WriteAsync(HttpContext context, int status, Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            write(writer);
        }

        return WriteBytesAsync(context, status, buffer.WrittenMemory, ContentType);
    }

    /// <summary>The dhub error shape: <c>{"message":"..."}</c>.</summary>
    public static Task WriteMessageAsync(HttpContext context, int status, string message) =>
        WriteAsync(context, status, w =>
        {
            w.WriteStartObject();
            w.WriteString("message", message);
            w.WriteEndObject();
        });

    public static Task WriteObjectAsync<T>(HttpContext context, int status, T value) =>
        WriteBytesAsync(context, status, JsonSerializer.SerializeToUtf8Bytes(value, ControlJson), ContentType);

    public static async Task WriteBytesAsync(HttpContext context, int status, ReadOnlyMemory<byte> body, string contentType)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = contentType;
        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body, context.RequestAborted);
    }

    private static JsonSerializerOptions CreateControlJson()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase));
        return options;
    }
}
