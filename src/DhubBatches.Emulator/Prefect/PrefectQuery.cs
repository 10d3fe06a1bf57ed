using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;

namespace DhubBatches.Emulator.Prefect;

/// <summary>
/// The filter criteria the emulator applies (§6.1 FlowRunFilter, §4 flows/deployments, §8.1, §8.2). Criteria the
/// schema allows but the emulator does not evaluate are listed in <see cref="Ignored"/> (sent back in the
/// <c>X-Emulator-Ignored-Filters</c> header) rather than silently changing results. <c>operator: or_</c> is not modelled.
/// </summary>
internal sealed class RunCriteria
{
    public HashSet<string>? FlowNames;
    public HashSet<Guid>? DeploymentIds;
    public HashSet<string>? DeploymentNames;
    public HashSet<Guid>? RunIds;
    public HashSet<Guid>? RunIdsNot;
    public HashSet<string>? Keys;
    public HashSet<string>? KeysNot;
    public HashSet<string>? StateTypes;
    public HashSet<string>? StateTypesNot;
    public HashSet<string>? StateNames;
    public HashSet<string>? StateNamesNot;
    public HashSet<string>? TagsAll;
    public HashSet<string>? TagsAny;
    public HashSet<string>? Names;
    public DateTimeOffset? ExpectedBefore;
    public DateTimeOffset? ExpectedAfter;
    public bool? DeploymentIsNull;
    public readonly List<string> Ignored = new();

    public bool NeedsView => StateTypes is not null || StateTypesNot is not null || StateNames is not null || StateNamesNot is not null;

    public static RunCriteria From(JsonElement body)
    {
        var c = new RunCriteria();
        if (Obj(body, "flows") is { } flows)
        {
            foreach (var p in flows.EnumerateObject())
            {
                if (p.Name == "name" && Obj(flows, "name") is { } n && Strings(n, "any_") is { } names)
                {
                    c.FlowNames = names;
                    c.IgnoreOthers(n, "flows.name", "any_");
                }
                else if (p.Value.ValueKind != JsonValueKind.Null)
                {
                    c.Ignored.Add("flows." + p.Name);
                }
            }
        }

        if (Obj(body, "deployments") is { } deployments)
        {
            foreach (var p in deployments.EnumerateObject())
            {
                if (p.Name == "id" && Obj(deployments, "id") is { } id && Guids(id, "any_") is { } ids)
                {
                    c.DeploymentIds = ids;
                    c.IgnoreOthers(id, "deployments.id", "any_");
                }
                else if (p.Name == "name" && Obj(deployments, "name") is { } n && Strings(n, "any_") is { } names)
                {
                    c.DeploymentNames = names;
                    c.IgnoreOthers(n, "deployments.name", "any_");
                }
                else if (p.Value.ValueKind != JsonValueKind.Null)
                {
                    c.Ignored.Add("deployments." + p.Name);
                }
            }
        }

        if (Obj(body, "flow_runs") is { } runs)
        {
            foreach (var p in runs.EnumerateObject())
            {
                if (p.Value.ValueKind == JsonValueKind.Null || (p.Name == "operator" && p.Value.GetString() == "and_"))
                {
                    continue;
                }

                var v = p.Value;
                switch (p.Name)
                {
                    case "id":
                        c.RunIds = Guids(v, "any_");
                        c.RunIdsNot = Guids(v, "not_any_");
                        c.IgnoreOthers(v, "flow_runs.id", "any_", "not_any_");
                        break;
                    case "deployment_id":
                        var any = Guids(v, "any_");
                        c.DeploymentIds = c.DeploymentIds is null ? any : any is null ? c.DeploymentIds : c.DeploymentIds.Intersect(any).ToHashSet();
                        c.DeploymentIsNull = Bool(v, "is_null_");
                        c.IgnoreOthers(v, "flow_runs.deployment_id", "any_", "is_null_");
                        break;
                    case "idempotency_key":
                        c.Keys = Strings(v, "any_");
                        c.KeysNot = Strings(v, "not_any_");
                        c.IgnoreOthers(v, "flow_runs.idempotency_key", "any_", "not_any_");
                        break;
                    case "state":
                        foreach (var sp in v.EnumerateObject())
                        {
                            if (sp.Value.ValueKind == JsonValueKind.Null || (sp.Name == "operator" && sp.Value.GetString() == "and_"))
                            {
                                continue;
                            }

                            if (sp.Name == "type")
                            {
                                c.StateTypes = Strings(sp.Value, "any_");
                                c.StateTypesNot = Strings(sp.Value, "not_any_");
                            }
                            else if (sp.Name == "name")
                            {
                                c.StateNames = Strings(sp.Value, "any_");
                                c.StateNamesNot = Strings(sp.Value, "not_any_");
                            }
                            else
                            {
                                c.Ignored.Add("flow_runs.state." + sp.Name);
                            }
                        }

                        break;
                    case "tags":
                        c.TagsAll = Strings(v, "all_");
                        c.TagsAny = Strings(v, "any_");
                        c.IgnoreOthers(v, "flow_runs.tags", "all_", "any_");
                        break;
                    case "name":
                        c.Names = Strings(v, "any_");
                        c.IgnoreOthers(v, "flow_runs.name", "any_");
                        break;
                    case "expected_start_time":
                        c.ExpectedBefore = Time(v, "before_");
                        c.ExpectedAfter = Time(v, "after_");
                        c.IgnoreOthers(v, "flow_runs.expected_start_time", "before_", "after_");
                        break;
                    default:
                        c.Ignored.Add("flow_runs." + p.Name);
                        break;
                }
            }
        }

        foreach (var other in new[] { "task_runs", "work_pools", "work_pool_queues" })
        {
            if (Obj(body, other) is not null)
            {
                c.Ignored.Add(other);
            }
        }

        return c;
    }

    /// <summary>Flow/deployment level criteria only (no view needed).</summary>
    public bool MatchesDeployment(string flowName, PrefectDeployment d) =>
        (FlowNames is null || FlowNames.Contains(flowName))
        && (DeploymentIds is null || DeploymentIds.Contains(d.Id))
        && (DeploymentNames is null || DeploymentNames.Contains(d.Name))
        && DeploymentIsNull is not true;

    public bool Matches(string flowName, StoredFlowRun r, Func<FlowRunView> view)
    {
        if (!MatchesDeployment(flowName, r.Deployment)
            || (RunIds is not null && !RunIds.Contains(r.Id))
            || (RunIdsNot is not null && RunIdsNot.Contains(r.Id))
            || (Keys is not null && (r.IdempotencyKey is null || !Keys.Contains(r.IdempotencyKey)))
            || (KeysNot is not null && r.IdempotencyKey is not null && KeysNot.Contains(r.IdempotencyKey))
            || (TagsAll is not null && !TagsAll.All(t => r.Tags.Contains(t)))
            || (TagsAny is not null && !TagsAny.Any(t => r.Tags.Contains(t)))
            || (Names is not null && !Names.Contains(r.Name))
            || (ExpectedBefore is { } before && r.Created > before)
            || (ExpectedAfter is { } after && r.Created < after))
        {
            return false;
        }

        if (!NeedsView)
        {
            return true;
        }

        var s = view().State;
        return (StateTypes is null || StateTypes.Contains(s.Type))
            && (StateTypesNot is null || !StateTypesNot.Contains(s.Type))
            && (StateNames is null || StateNames.Contains(s.Name))
            && (StateNamesNot is null || !StateNamesNot.Contains(s.Name));
    }

    private void IgnoreOthers(JsonElement filter, string path, params string[] handled)
    {
        foreach (var p in filter.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.Null && !handled.Contains(p.Name) && !(p.Name == "operator" && p.Value.GetString() == "and_"))
            {
                Ignored.Add(path + "." + p.Name);
            }
        }
    }

    public static JsonElement? Obj(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Object ? v : null;

    public static HashSet<string>? Strings(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array
            ? v.EnumerateArray().Select(x => x.GetString()!).ToHashSet(StringComparer.Ordinal)
            : null;

    public static HashSet<Guid>? Guids(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array
            ? v.EnumerateArray().Select(x => Guid.Parse(x.GetString()!)).ToHashSet()
            : null;

    public static bool? Bool(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : null;

    public static DateTimeOffset? Time(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String
            ? DateTimeOffset.Parse(v.GetString()!, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal)
            : null;
}
