using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using DhubBatches.Emulator.Prefect.Store;
using static DhubBatches.Emulator.Prefect.Query.FilterJson;

namespace DhubBatches.Emulator.Prefect.Query;

/// <summary>
/// The criteria of <c>/deployments/filter</c> and <c>/deployments/count</c> (<c>DeploymentFilter</c> and the
/// deployment's <c>FlowFilter</c>, ANDed as Prefect joins them): <c>deployments</c> id (any_, not_any_), name (any_,
/// like_), paused (eq_), tags (all_, any_, is_null_) and flow_or_deployment_name (like_); <c>flows</c> as
/// <see cref="FlowCriteria"/>. Everything else is named in <see cref="Ignored"/>.
/// </summary>
internal sealed class DeploymentCriteria
{
    private readonly List<Func<PrefectDeployment, bool>> _clauses = new();
    private FlowCriteria _flows = null!;
    private bool _or;

    public List<string> Ignored { get; } = new();

    /// <summary>The criteria of a deployments filter or count body; the members it has no use for are ignored.</summary>
    public static DeploymentCriteria FromBody(JsonElement body, PrefectStore store)
    {
        var c = From(Obj(body, "flows"), Obj(body, "deployments"), store);
        foreach (var other in new[] { "flow_runs", "task_runs", "work_pools", "work_pool_queues" })
        {
            if (Obj(body, other) is not null)
            {
                c.Ignored.Add(other);
            }
        }

        return c;
    }

    public static DeploymentCriteria From(JsonElement? flows, JsonElement? deployments, PrefectStore store)
    {
        var c = new DeploymentCriteria();
        c._flows = FlowCriteria.From(flows, c.Ignored, store.HasDeployments);
        c._or = IsOr(deployments);
        foreach (var p in Members(deployments))
        {
            c.Add(p.Name, p.Value);
        }

        return c;
    }

    public bool Matches(PrefectDeployment d) =>
        (_flows.IsEmpty || _flows.Matches(d.FlowName, d.FlowId)) && FilterJson.Matches(_or, _clauses, d);

    private void Add(string name, JsonElement v)
    {
        switch (name)
        {
            case "id":
                var ids = Guids(v, "any_");
                var notIds = Guids(v, "not_any_");
                _clauses.Add(d => (ids is null || ids.Contains(d.Id)) && (notIds is null || !notIds.Contains(d.Id)));
                break;
            case "name":
                var names = Strings(v, "any_");
                var like = String(v, "like_");
                _clauses.Add(d => (names is null || names.Contains(d.Name)) && (like is null || Like(d.Name, like)));
                break;
            case "paused" when Bool(v, "eq_") is { } paused:
                _clauses.Add(d => d.Definition.Paused == paused);
                break;
            case "tags":
                var all = Strings(v, "all_");
                var any = Strings(v, "any_");
                var noTags = Bool(v, "is_null_");
                var or = IsOr(v);
                _clauses.Add(d =>
                {
                    var tags = RunFactory.DeploymentTags(d);
                    return Combine(or, new[]
                    {
                        all is null || all.All(tags.Contains),
                        any is null || any.Any(tags.Contains),
                        noTags is null || noTags == (tags.Count == 0),
                    }.Where((_, i) => (i == 0 ? all is not null : i == 1 ? any is not null : noTags is not null)).ToList());
                });
                break;
            case "flow_or_deployment_name" when String(v, "like_") is { } either:
                _clauses.Add(d => Like(d.Name, either) || Like(d.FlowName, either));
                break;
            default:
                Ignored.Add("deployments." + name);
                break;
        }
    }
}
