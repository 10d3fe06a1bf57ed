using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using System.Threading;

namespace DhubBatches.Emulator.Faults;

/// <summary>How a matching fault rule disturbs the request.</summary>
public enum FaultMode
{
    /// <summary>Answer with the rule's status/headers/body instead of the API.</summary>
    Respond,

    /// <summary>Abort the connection without running the API.</summary>
    Drop,

    /// <summary>Run the API (side effects happen), then abort so the answer is lost.</summary>
    ApplyThenDrop,

    /// <summary>Run the API, send headers with the full Content-Length but only half the body, then close.</summary>
    Truncate,

    /// <summary>Wait <see cref="FaultRule.DelayMs"/>, then answer normally.</summary>
    Delay,

    /// <summary>
    /// Answer normally, then damage one record beyond parsing: a dhub list item's JSON string cut short, or a
    /// Prefect list element (or single object) replaced by an object whose fields have the wrong JSON types.
    /// </summary>
    CorruptItem,

    /// <summary>
    /// Answer normally, then give one record fields of the wrong types: a Prefect flow run's <c>run_count</c> "two",
    /// <c>expected_start_time</c> 12, <c>state_type</c> 7; a dhub batch's <c>state</c> a number.
    /// </summary>
    WrongType,

    /// <summary>
    /// Answer normally, then add a <c>progress</c> entry that is not a whole number to one record's offsets (dhub
    /// step offsets, Prefect offsets artifact data, inside the JSON string where data is one). <see cref="FaultRule.Variant"/>:
    /// <c>fraction</c> (0.5, default), <c>string</c> ("1000.0") or <c>object</c> ({}).
    /// </summary>
    NonIntegerOffset,

    /// <summary>
    /// Answer normally, but spell one record's whole numbers differently (offsets; Prefect run counts too):
    /// <see cref="FaultRule.Variant"/> <c>exponent</c> (1e3, default) or <c>decimal</c> (1000.0). Still valid JSON.
    /// </summary>
    NumberSpelling,

    /// <summary>
    /// Answer normally, but leave a field out of one record that still parses: <see cref="FaultRule.Variant"/>
    /// <c>id</c> (default; a dhub batch's <c>id</c>, a Prefect record's <c>id</c>) or <c>state</c> (a dhub batch's
    /// <c>state</c> object; a Prefect record's <c>state</c>, <c>state_type</c>, <c>state_name</c> and <c>state_id</c>).
    /// </summary>
    MissingField,
}

/// <summary>
/// One fault-injection rule. Works on any path (dhub, Prefect, ...), matched on method and a regex over
/// the decoded path or the raw target. JSON over the control API is camelCase.
/// </summary>
public sealed class FaultRule
{
    private int _matched;
    private int _hits;
    private Regex? _regex;

    /// <summary>Rule id; null or "auto" gets a generated id when the rule is added.</summary>
    public string? Id { get; set; } = "auto";

    /// <summary>HTTP method to match (case-insensitive); null matches any.</summary>
    public string? Method { get; set; }

    /// <summary>Regex over the decoded path or the raw target; null matches any path.</summary>
    public string? PathPattern { get; set; }

    public int Status { get; set; } = 503;

    /// <summary>Retry-After value: delta-seconds ("2") or an HTTP-date.</summary>
    public string? RetryAfter { get; set; }

    public Dictionary<string, string>? Headers { get; set; }

    /// <summary>Raw response body; null gives <c>{"message":"injected fault"}</c>, or an HTML page for text/html.</summary>
    public string? Body { get; set; }

    public string? ContentType { get; set; }

    /// <summary>Wait before applying the mode (for <see cref="FaultMode.Delay"/> the whole effect).</summary>
    public int DelayMs { get; set; }

    public FaultMode Mode { get; set; } = FaultMode.Respond;

    /// <summary>How many times the rule applies; 0 = unlimited.</summary>
    public int Times { get; set; } = 1;

    /// <summary>Damage modes: which record of a list answer to damage (0-based); default the first (offsets modes: the first offsets record).</summary>
    public int? Index { get; set; }

    /// <summary>Damage modes: the record to damage by id (a dhub batch id, a Prefect <c>id</c>); wins over <see cref="Index"/>.</summary>
    public string? TargetId { get; set; }

    /// <summary>Damage modes: which spelling of the damage (see each mode).</summary>
    public string? Variant { get; set; }

    /// <summary>Apply to every Nth matching request (after <see cref="Skip"/>); 0 or 1 = each one.</summary>
    public int Every { get; set; }

    /// <summary>Let the first N matching requests through untouched.</summary>
    public int Skip { get; set; }

    /// <summary>Requests that matched method and path while the rule still had applications left.</summary>
    [JsonInclude]
    public int Matched { get => Volatile.Read(ref _matched); private set => _matched = value; }

    /// <summary>How many times the rule was applied.</summary>
    [JsonInclude]
    public int Hits { get => Volatile.Read(ref _hits); private set => _hits = value; }

    /// <summary>Checks the settings and compiles the pattern; throws <see cref="ArgumentException"/> on bad input.</summary>
    internal void Prepare(string generatedId)
    {
        if (string.IsNullOrWhiteSpace(Id) || Id == "auto")
        {
            Id = generatedId;
        }

        if (Status is < 100 or > 599)
        {
            throw new ArgumentException($"status must be 100..599, got {Status}.");
        }

        if (Times < 0 || Every < 0 || Skip < 0 || DelayMs < 0)
        {
            throw new ArgumentException("times, every, skip and delayMs must not be negative.");
        }

        if (!Enum.IsDefined(Mode))
        {
            throw new ArgumentException($"Unknown mode {Mode}.");
        }

        if (Index < 0)
        {
            throw new ArgumentException("index must not be negative.");
        }

        if (Variant is not null && !RecordDamage.Variants(Mode).Contains(Variant))
        {
            throw new ArgumentException($"variant '{Variant}' does not apply to mode {Mode}; use one of: {string.Join(", ", RecordDamage.Variants(Mode))}.");
        }

        try
        {
            _regex = PathPattern is null ? null : new Regex(PathPattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"pathPattern is not a valid regex: {ex.Message}", ex);
        }

        _matched = 0;
        _hits = 0;
    }

    /// <summary>Counts the request and says whether the rule applies to it. Called under the rule set's lock.</summary>
    internal bool TryApply(string method, string decodedPath, string rawTarget)
    {
        if (Method is not null && !string.Equals(Method, method, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        if (_regex is not null && !_regex.IsMatch(decodedPath) && !_regex.IsMatch(rawTarget))
        {
            return false;
        }

        if (Times > 0 && _hits >= Times)
        {
            return false;
        }

        var position = ++_matched - Skip;
        if (position <= 0 || (Every > 1 && position % Every != 0))
        {
            return false;
        }

        _hits++;
        return true;
    }
}
