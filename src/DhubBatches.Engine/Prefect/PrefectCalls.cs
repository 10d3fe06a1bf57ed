using System;
using System.Globalization;
using System.Threading.Tasks;
using DhubBatches.Contract;

namespace DhubBatches.Engine.Prefect;

/// <summary>Small rules every Prefect call shares: what a 404 means where, and how times are written.</summary>
internal static class PrefectCalls
{
    public static DhubErrorKind DeploymentNotFound(string? message) => DhubErrorKind.DhubPipelineNotFound;

    public static DhubErrorKind FlowRunNotFound(string? message) => DhubErrorKind.DhubBatchNotFound;

    /// <summary>A 404 on a collection endpoint: the URL is not a Prefect API.</summary>
    public static DhubErrorKind ApiNotFound(string? message) => DhubErrorKind.DhubInvalidResponse;

    /// <summary>ISO 8601 in UTC with microseconds, which every Prefect version parses.</summary>
    public static string Time(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    /// <summary>Awaits both; when both fail, the first one's error is the one reported (e.g. pipeline before batch).</summary>
    public static async Task WhenAllPreferring(Task first, Task second)
    {
        try
        {
            await Task.WhenAll(first, second).ConfigureAwait(false);
        }
        catch
        {
            if (first.IsFaulted || first.IsCanceled)
            {
                await first.ConfigureAwait(false);
            }
            await second.ConfigureAwait(false);
            throw;
        }
    }
}
