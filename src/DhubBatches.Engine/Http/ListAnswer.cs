using DhubBatches.Contract;
using System.Collections.Generic;
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
/// is not a JSON list at all is still DhubInvalidResponse.
/// </summary>
internal static class ListAnswer
{
    public static async Task<ListAnswer<T>> ReadAsync<T>(Task<IApiResponse<List<T>>> call, JsonTypeInfo<T> itemType, NotFoundMeaning notFound, CancellationToken cancellationToken)
        where T : class
    {
        using var response = await ApiCall.ResponseAsync(call, notFound, cancellationToken, keepUnreadableBody: true).ConfigureAwait(false);
        if (response.Error == null)
        {
            var items = response.Content ?? throw ApiCall.Invalid(response.RequestMessage, (int)(response.StatusCode ?? 0), "the answer had no JSON body");
            return items.Contains(null!) ? WithoutNulls(items) : new ListAnswer<T>(items, new List<UnreadableEntry>());
        }
        var text = (response.Error as ApiException)?.Content;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text ?? string.Empty);
        }
        catch (JsonException ex)
        {
            throw ApiCall.Invalid(response.RequestMessage, (int)(response.StatusCode ?? 0), ex.Message, ex);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Array)
            {
                throw ApiCall.Invalid(response.RequestMessage, (int)(response.StatusCode ?? 0), $"a {document.RootElement.ValueKind} where a list was expected");
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
