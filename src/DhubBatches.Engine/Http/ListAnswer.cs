using DhubBatches.Contract;
using System.Collections.Generic;
using System.IO;
using System.Net.Http;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Threading;
using System.Threading.Tasks;
using Refit;

namespace DhubBatches.Engine.Http;

/// <summary>A list the server sent, and the entries of it that could not be read.</summary>
internal sealed class ListAnswer<T>
    where T : class
{
    public ListAnswer(List<T> items, List<UnreadableEntry> unreadable)
    {
        Items = items;
        Unreadable = unreadable;
    }

    public List<T> Items { get; }

    public List<UnreadableEntry> Unreadable { get; }
}

/// <summary>One entry of a list answer that is not the expected shape; what could still be told about it.</summary>
internal sealed class UnreadableEntry
{
    public UnreadableEntry(int index, string? id, string? flowRunId, string? taskRunId, string reason, string rawText)
    {
        Index = index;
        Id = id;
        FlowRunId = flowRunId;
        TaskRunId = taskRunId;
        Reason = reason;
        RawText = rawText;
    }

    public int Index { get; }

    public string? Id { get; }

    public string? FlowRunId { get; }

    public string? TaskRunId { get; }

    public string Reason { get; }

    public string RawText { get; }
}

/// <summary>
/// Reads a JSON list answer so that one bad entry costs only itself: the whole list is deserialized at once (the
/// fast path every healthy answer takes), and only when that fails is it read again entry by entry. An answer that
/// is not a JSON list at all is still DhubInvalidResponse. The body is read here rather than by Refit, which would
/// copy each page into a new large-object buffer first (a page of flow runs is about 400 KB).
/// </summary>
internal static class ListAnswer
{
    public static async Task<ListAnswer<T>> ReadAsync<T>(Task<IApiResponse<HttpContent>> call, JsonTypeInfo<T> itemType, NotFoundMeaning notFound, CancellationToken cancellationToken)
        where T : class
    {
        using var response = await ApiCall.ResponseAsync(call, notFound, cancellationToken).ConfigureAwait(false);
        var status = (int)(response.StatusCode ?? 0);
        var content = response.Content;
        // An empty body, or the JSON literal null: there is no list to read.
        DhubException NoList() => ApiCall.Invalid(response.RequestMessage, status, "the answer had no JSON body");
        if (content == null || content.Headers.ContentLength == 0)
        {
            throw NoList();
        }
        var listType = (JsonTypeInfo<List<T>>)itemType.Options.GetTypeInfo(typeof(List<T>));
        List<T>? items;
        try
        {
            using var stream = await OpenAsync(content).ConfigureAwait(false);
            items = JsonSerializer.Deserialize(stream, listType);
        }
        catch (JsonException)
        {
            return await EntryByEntryAsync(response.RequestMessage, status, content, itemType).ConfigureAwait(false);
        }
        if (items == null)
        {
            throw NoList();
        }
        return items.Contains(null!) ? WithoutNulls(items) : new ListAnswer<T>(items, new List<UnreadableEntry>());
    }

    private static async Task<ListAnswer<T>> EntryByEntryAsync<T>(HttpRequestMessage? request, int status, HttpContent content, JsonTypeInfo<T> itemType)
        where T : class
    {
        JsonDocument document;
        try
        {
            using var stream = await OpenAsync(content).ConfigureAwait(false);
            document = JsonDocument.Parse(stream);
        }
        catch (JsonException ex)
        {
            throw ApiCall.Invalid(request, status, ex.Message, ex);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Array)
            {
                throw ApiCall.Invalid(request, status, $"a {document.RootElement.ValueKind} where a list was expected");
            }
            var items = new List<T>();
            var unreadable = new List<UnreadableEntry>();
            var index = 0;
            foreach (var element in document.RootElement.EnumerateArray())
            {
                try
                {
                    var item = element.Deserialize(itemType);
                    if (item == null)
                    {
                        unreadable.Add(Entry(index, element, "it is null"));
                    }
                    else
                    {
                        items.Add(item);
                    }
                }
                catch (JsonException ex)
                {
                    unreadable.Add(Entry(index, element, ex.Message));
                }
                index++;
            }
            return new ListAnswer<T>(items, unreadable);
        }
    }

    /// <summary>A fresh read of the whole body each time (the fallback reads it twice).</summary>
    private static async Task<Stream> OpenAsync(HttpContent content)
    {
        if (content is PooledBody body)
        {
            return body.OpenRead();
        }
        await content.LoadIntoBufferAsync().ConfigureAwait(false);
        return await content.ReadAsStreamAsync().ConfigureAwait(false);
    }

    private static ListAnswer<T> WithoutNulls<T>(List<T> items)
        where T : class
    {
        var kept = new List<T>(items.Count);
        var unreadable = new List<UnreadableEntry>();
        for (var i = 0; i < items.Count; i++)
        {
            if (items[i] == null)
            {
                unreadable.Add(new UnreadableEntry(i, null, null, null, "it is null", "null"));
            }
            else
            {
                kept.Add(items[i]);
            }
        }
        return new ListAnswer<T>(kept, unreadable);
    }

    private static UnreadableEntry Entry(int index, JsonElement element, string reason) =>
        new UnreadableEntry(index, Text(element, "id"), Text(element, "flow_run_id"), Text(element, "task_run_id"), reason, element.GetRawText());

    private static string? Text(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;
}
