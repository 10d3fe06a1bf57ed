using System;
using System.Collections.Generic;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace DhubBatches.Emulator.Paths;

/// <summary>
/// The request target exactly as the client sent it, split into decoded path segments.
/// Kestrel's decoded <c>Request.Path</c> keeps <c>%2F</c> escaped but decodes <c>%25</c>, so an id such as
/// <c>a/b%c</c> cannot be recovered from it; splitting the raw target first and unescaping each segment
/// ourselves keeps every escaped id one segment, so it can never address another endpoint.
/// </summary>
public sealed class RawRequestTarget
{
    private static readonly object ItemsKey = new();
    private readonly Dictionary<string, string> _query;

    private RawRequestTarget(string rawTarget, string rawPath, IReadOnlyList<string> segments, Dictionary<string, string> query)
    {
        RawTarget = rawTarget;
        RawPath = rawPath;
        Segments = segments;
        _query = query;
    }

    /// <summary>The request target as received, e.g. <c>/api/v1/batches/a%2Fb?limit=5</c>.</summary>
    public string RawTarget { get; }

    /// <summary>The path part of the raw target, still escaped.</summary>
    public string RawPath { get; }

    /// <summary>Decoded segments after the leading slash; a trailing slash yields a final empty segment.</summary>
    public IReadOnlyList<string> Segments { get; }

    /// <summary>Segments joined with '/', for display and fault patterns (ambiguous by nature, never for routing).</summary>
    public string DecodedPath => "/" + string.Join("/", Segments);

    /// <summary>Decoded value of a query parameter (first occurrence), or null when absent.</summary>
    public string? Query(string name) => _query.TryGetValue(name, out var value) ? value : null;

    /// <summary>True when the first segments equal <paramref name="prefix"/> (ordinal).</summary>
    public bool StartsWith(params string[] prefix)
    {
        if (Segments.Count < prefix.Length)
        {
            return false;
        }

        for (var i = 0; i < prefix.Length; i++)
        {
            if (!string.Equals(Segments[i], prefix[i], StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Parses (once per request) the raw target of <paramref name="context"/>.</summary>
    public static RawRequestTarget Of(HttpContext context)
    {
        if (context.Items.TryGetValue(ItemsKey, out var cached) && cached is RawRequestTarget target)
        {
            return target;
        }

        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (string.IsNullOrEmpty(raw))
        {
            raw = context.Request.PathBase + context.Request.Path + context.Request.QueryString;
        }

        target = Parse(raw);
        context.Items[ItemsKey] = target;
        return target;
    }

    public static RawRequestTarget Parse(string rawTarget)
    {
        var target = rawTarget;

        // Absolute-form targets (proxies) carry scheme and authority before the path.
        var schemeEnd = target.IndexOf("://", StringComparison.Ordinal);
        if (!target.StartsWith('/') && schemeEnd > 0)
        {
            var pathStart = target.IndexOf('/', schemeEnd + 3);
            target = pathStart < 0 ? "/" : target[pathStart..];
        }

        var queryStart = target.IndexOf('?');
        var rawPath = queryStart < 0 ? target : target[..queryStart];
        var rawQuery = queryStart < 0 ? string.Empty : target[(queryStart + 1)..];

        // A fragment is never sent by HTTP clients, but drop it if one arrives rather than treat it as query.
        var fragment = rawQuery.IndexOf('#');
        if (fragment >= 0)
        {
            rawQuery = rawQuery[..fragment];
        }

        var parts = rawPath.Split('/');
        var segments = new List<string>(Math.Max(parts.Length - 1, 0));
        for (var i = rawPath.StartsWith('/') ? 1 : 0; i < parts.Length; i++)
        {
            segments.Add(Uri.UnescapeDataString(parts[i]));
        }

        return new RawRequestTarget(rawTarget, rawPath, segments, ParseQuery(rawQuery));
    }

    private static Dictionary<string, string> ParseQuery(string rawQuery)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (rawQuery.Length == 0)
        {
            return result;
        }

        foreach (var pair in rawQuery.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=');
            var name = Decode(eq < 0 ? pair : pair[..eq]);
            var value = eq < 0 ? string.Empty : Decode(pair[(eq + 1)..]);
            result.TryAdd(name, value);
        }

        return result;
    }

    // Form-style query encoding: '+' is a space.
    private static string Decode(string component) => Uri.UnescapeDataString(component.Replace('+', ' '));
}
