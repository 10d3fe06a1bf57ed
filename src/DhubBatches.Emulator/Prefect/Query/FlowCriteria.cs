using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using static DhubBatches.Emulator.Prefect.Query.FilterJson;

namespace DhubBatches.Emulator.Prefect.Query;

/// <summary>
/// A <c>flows</c> filter (<c>FlowFilter</c> in <c>src/prefect/server/schemas/filters.py</c>): <c>id</c> (any_, not_any_),
/// <c>name</c> (any_, like_), <c>tags</c> (all_, is_null_; the emulator's flows have no tags) and <c>deployment</c>
/// (is_null_), combined with the filter's operator. The <c>any_</c> lists of an <c>and_</c> filter are also offered
/// as an index (<see cref="IndexNames"/>, <see cref="IndexIds"/>), so flow runs of one flow are a list to slice.
/// </summary>
internal sealed class FlowCriteria
{
    private readonly List<Func<string, Guid, bool>> _clauses = new();
    private bool _or;

    /// <summary>Flows every match must be named (an <c>and_</c> filter's <c>name.any_</c>).</summary>
    public HashSet<string>? IndexNames { get; private set; }

    /// <summary>Flow ids every match must have (an <c>and_</c> filter's <c>id.any_</c>).</summary>
    public HashSet<Guid>? IndexIds { get; private set; }

    /// <summary>True when the index lists say everything: no member needs checking flow by flow.</summary>
    public bool OnlyIndexed { get; private set; } = true;

    public bool IsEmpty => _clauses.Count == 0;

    /// <param name="flows">The <c>flows</c> member of a body (null: none).</param>
    /// <param name="ignored">Gets the members the emulator does not evaluate.</param>
    /// <param name="hasDeployments">Whether a flow has a deployment (for <c>deployment.is_null_</c>); asked once per flow.</param>
    public static FlowCriteria From(JsonElement? flows, List<string> ignored, Func<Guid, bool> hasDeployments)
    {
        var c = new FlowCriteria { _or = IsOr(flows) };
        var members = Members(flows).ToList();
        var indexable = !c._or || members.Count == 1;
        foreach (var p in members)
        {
            var v = p.Value;
            switch (p.Name)
            {
                case "name":
                    var names = Strings(v, "any_");
                    var like = String(v, "like_");
                    c.Note(indexable && like is null, names, null);
                    c._clauses.Add((name, _) => (names is null || names.Contains(name)) && (like is null || Like(name, like)));
                    break;
                case "id":
                    var ids = Guids(v, "any_");
                    var notIds = Guids(v, "not_any_");
                    c.Note(indexable && notIds is null, null, ids);
                    c._clauses.Add((_, id) => (ids is null || ids.Contains(id)) && (notIds is null || !notIds.Contains(id)));
                    break;
                case "tags":
                    // No flow here has tags: all_ of nothing holds, of anything fails; is_null_ true holds.
                    var all = Strings(v, "all_");
                    var noTags = Bool(v, "is_null_");
                    var tagsHold = Combine(IsOr(v), new[] { all is null || all.Count == 0, noTags is null || noTags.Value }
                        .Where((_, i) => i == 0 ? all is not null : noTags is not null).ToList());
                    c.OnlyIndexed = false;
                    c._clauses.Add((_, _) => tagsHold);
                    break;
                case "deployment" when Bool(v, "is_null_") is { } none:
                    var memo = new Dictionary<Guid, bool>();
                    c.OnlyIndexed = false;
                    c._clauses.Add((_, id) =>
                    {
                        if (!memo.TryGetValue(id, out var has))
                        {
                            has = hasDeployments(id);
                            memo[id] = has;
                        }

                        return has != none;
                    });
                    break;
                default:
                    ignored.Add("flows." + p.Name);
                    break;
            }
        }

        return c;
    }

    public bool Matches(string name, Guid id) => FilterJson.Matches(_or, _clauses, name, id);

    /// <summary>Records a member's <c>any_</c> list as an index when the member is nothing but that list.</summary>
    private void Note(bool indexable, HashSet<string>? names, HashSet<Guid>? ids)
    {
        if (!indexable || (names is null && ids is null))
        {
            OnlyIndexed = false;
            return;
        }

        if (names is not null)
        {
            IndexNames = names;
        }

        if (ids is not null)
        {
            IndexIds = ids;
        }
    }
}
