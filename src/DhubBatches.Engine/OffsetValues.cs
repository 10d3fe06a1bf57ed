using System;
using System.Collections.Generic;
using System.Text.Json;

namespace DhubBatches.Engine;

/// <summary>
/// What counts as an offset on either backend: a whole number in any JSON spelling (<c>1000</c>, <c>1e3</c>,
/// <c>1000.0</c>). Anything else leaves that one partition out, and the batch says so in one warning.
/// </summary>
internal static class OffsetValues
{
    public static long? WholeNumber(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Number)
        {
            return null;
        }
        if (value.TryGetInt64(out var whole))
        {
            return whole;
        }
        var number = value.GetDouble();
        return !double.IsInfinity(number) && Math.Floor(number) == number && number >= long.MinValue && number <= long.MaxValue
            ? (long)number
            : (long?)null;
    }

    /// <summary>Why a value is not an offset, e.g. <c>0.5 is not a whole number</c>.</summary>
    public static string WhyNot(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Number => value.GetRawText() + " is not a whole number",
        JsonValueKind.String => "a string, not a number",
        JsonValueKind.Object => "an object, not a number",
        JsonValueKind.Array => "a list, not a number",
        JsonValueKind.Null => "null",
        _ => value.ValueKind.ToString().ToLowerInvariant() + ", not a number",
    };

    /// <summary>The one warning a batch read gives for the partitions it left out (each as <c>step.partition (why)</c>).</summary>
    public static string Warning(string pipelineId, string batchId, IEnumerable<string> skipped) =>
        $"Batch {pipelineId}/{batchId}: offsets left out because they are not whole numbers: {string.Join(", ", skipped)}.";
}
