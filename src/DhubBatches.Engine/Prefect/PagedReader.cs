using System;
using System.Collections.Generic;
using System.Net.Http;
using System.Text.Json.Serialization.Metadata;
using System.Threading;
using System.Threading.Tasks;
using DhubBatches.Contract;
using DhubBatches.Engine.Http;
using Refit;

namespace DhubBatches.Engine.Prefect;

/// <summary>Reads a Prefect filter to its end, page by page at the server's limit.</summary>
internal static class PagedReader
{
    /// <summary>
    /// Every page of a filter, at the server's limit, until a page comes back short. Entries seen twice (offset paging
    /// shifts when new ones arrive) are kept once; a full page of nothing new means the server ignores the offset.
    /// </summary>
    public static async Task<ListAnswer<T>> AllAsync<T>(
        ServerLimit serverLimit,
        Func<int, int, Task<IApiResponse<HttpContent>>> page,
        JsonTypeInfo<T> itemType,
        Func<T, string?> idOf,
        CancellationToken cancellationToken)
        where T : class
    {
        var items = new List<T>();
        var unreadable = new List<UnreadableEntry>();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var offset = 0;
        while (true)
        {
            var used = 0;
            var answer = await serverLimit.UseAsync(limit =>
            {
                used = limit;
                return ListAnswer.ReadAsync(page(limit, offset), itemType, PrefectCalls.ApiNotFound, cancellationToken);
            }).ConfigureAwait(false);
            var fresh = 0;
            foreach (var item in answer.Items)
            {
                if (idOf(item) is { } id && !seen.Add(id))
                {
                    continue;
                }
                items.Add(item);
                fresh++;
            }
            unreadable.AddRange(answer.Unreadable);
            var count = answer.Items.Count + answer.Unreadable.Count;
            if (count < used)
            {
                return new ListAnswer<T>(items, unreadable);
            }
            if (fresh == 0 && answer.Unreadable.Count == 0)
            {
                throw new DhubException(DhubErrorKind.DhubInvalidResponse, $"Prefect answered the same full page again at offset {offset}: it does not page by offset.");
            }
            offset += count;
        }
    }
}
