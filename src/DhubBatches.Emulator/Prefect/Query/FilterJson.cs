using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json;

namespace DhubBatches.Emulator.Prefect.Query;

/// <summary>
/// Reading Prefect filter bodies. They were already validated against the request model, so types are right;
/// a member set to null means "not given", as in Prefect's models.
/// </summary>
internal static class FilterJson
{
    public static JsonElement? Obj(JsonElement? e, string name) =>
        e is { ValueKind: JsonValueKind.Object } o && o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Object ? v : null;

    public static HashSet<string>? Strings(JsonElement? e, string name) =>
        e is { ValueKind: JsonValueKind.Object } o && o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array
            ? v.EnumerateArray().Select(x => x.GetString()!).ToHashSet(StringComparer.Ordinal)
            : null;

    public static HashSet<Guid>? Guids(JsonElement? e, string name) =>
        e is { ValueKind: JsonValueKind.Object } o && o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array
            ? v.EnumerateArray().Select(x => Guid.Parse(x.GetString()!)).ToHashSet()
            : null;

    public static string? String(JsonElement? e, string name) =>
        e is { ValueKind: JsonValueKind.Object } o && o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public static bool? Bool(JsonElement? e, string name) =>
        e is { ValueKind: JsonValueKind.Object } o && o.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? v.GetBoolean()
            : null;

    public static long? Long(JsonElement? e, string name) =>
        e is { ValueKind: JsonValueKind.Object } o && o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt64() : null;

    public static DateTimeOffset? Time(JsonElement? e, string name) =>
        String(e, name) is { } text ? DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal) : null;

    /// <summary>True when the filter object combines its members with <c>or_</c> (the default is <c>and_</c>).</summary>
    public static bool IsOr(JsonElement? e) => String(e, "operator") == "or_";

    /// <summary>The members set (non-null) in a filter object, <c>operator</c> excluded.</summary>
    public static IEnumerable<JsonProperty> Members(JsonElement? e) =>
        e is { ValueKind: JsonValueKind.Object } o
            ? o.EnumerateObject().Where(p => p.Value.ValueKind != JsonValueKind.Null && p.Name != "operator")
            : Enumerable.Empty<JsonProperty>();

    /// <summary>Prefect's <c>like_</c>: a case-insensitive "contains" (the server wraps the value in <c>%...%</c>).</summary>
    public static bool Like(string? value, string pattern) => value is not null && value.Contains(pattern, StringComparison.OrdinalIgnoreCase);

    /// <summary>Combines sub-filter results with the filter's operator; no members means "match".</summary>
    public static bool Combine(bool or, IReadOnlyList<bool> results) => results.Count == 0 || (or ? results.Any(r => r) : results.All(r => r));

    /// <summary><see cref="Combine"/> over clauses tested one by one: filters run for every candidate item, so no lists on the way.</summary>
    public static bool Matches<T>(bool or, List<Func<T, bool>> clauses, T item)
    {
        foreach (var clause in clauses)
        {
            if (clause(item) == or)
            {
                return or;
            }
        }

        return clauses.Count == 0 || !or;
    }

    /// <inheritdoc cref="Matches{T}(bool, List{Func{T, bool}}, T)"/>
    public static bool Matches<T1, T2>(bool or, List<Func<T1, T2, bool>> clauses, T1 first, T2 second)
    {
        foreach (var clause in clauses)
        {
            if (clause(first, second) == or)
            {
                return or;
            }
        }

        return clauses.Count == 0 || !or;
    }
}
