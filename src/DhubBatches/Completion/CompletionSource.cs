using System;
using System.Collections;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using DhubBatches.Connections;
using DhubBatches.Contract;

namespace DhubBatches.Completion;

/// <summary>
/// What both completers share: find the connection the command would use, ask the server with a short
/// timeout, cache the answer briefly, and never throw — a completer that throws or hangs breaks Tab.
/// </summary>
internal static class CompletionSource
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(2);

    /// <summary>Most answers kept per connection; the oldest go first.</summary>
    private const int MaxCachedAnswers = 64;

    // Per connection object, so a dropped connection takes its answers with it.
    private static readonly ConditionalWeakTable<DhubConnection, ConcurrentDictionary<string, CachedAnswer>> s_cache =
        new ConditionalWeakTable<DhubConnection, ConcurrentDictionary<string, CachedAnswer>>();

    public static IEnumerable<CompletionResult> Complete(
        string wordToComplete,
        IDictionary fakeBoundParameters,
        string cacheKey,
        TimeSpan cacheFor,
        Func<IBatchEngine, CancellationToken, Task<IReadOnlyList<CompletionCandidate>>> fetch)
    {
        try
        {
            var connection = ConnectionOf(fakeBoundParameters);
            if (connection == null)
            {
                return Array.Empty<CompletionResult>();
            }
            var answers = s_cache.GetValue(connection, _ => new ConcurrentDictionary<string, CachedAnswer>(StringComparer.Ordinal));
            if (!answers.TryGetValue(cacheKey, out var cached) || cached.Expires < DateTime.UtcNow)
            {
                using var timeout = new CancellationTokenSource(s_timeout);
                var task = fetch(connection.Engine, timeout.Token);
                if (!task.Wait(s_timeout) || task.IsFaulted || task.IsCanceled)
                {
                    return Array.Empty<CompletionResult>();
                }
                cached = new CachedAnswer(DateTime.UtcNow + cacheFor, task.Result);
                Keep(answers, cacheKey, cached);
            }
            var pattern = WildcardPattern.Get(Unquote(wordToComplete) + "*", WildcardOptions.IgnoreCase);
            return cached.Items
                .Where(c => pattern.IsMatch(c.Value))
                .Select(c => new CompletionResult(Quote(c.Value), c.Value, CompletionResultType.ParameterValue, c.ToolTip))
                .ToList();
        }
        catch (Exception ex) when (!(ex is OutOfMemoryException))
        {
            return Array.Empty<CompletionResult>();
        }
    }

    private static void Keep(ConcurrentDictionary<string, CachedAnswer> answers, string key, CachedAnswer answer)
    {
        answers[key] = answer;
        if (answers.Count > MaxCachedAnswers)
        {
            foreach (var old in answers.OrderBy(a => a.Value.Expires).Take(answers.Count - MaxCachedAnswers).ToList())
            {
                answers.TryRemove(old.Key, out _);
            }
        }
    }

    public static string? FirstString(IDictionary fakeBoundParameters, string name)
    {
        if (!fakeBoundParameters.Contains(name))
        {
            return null;
        }
        var value = fakeBoundParameters[name];
        if (value is PSObject pso)
        {
            value = pso.BaseObject;
        }
        return value switch
        {
            string s => s,
            IEnumerable sequence => sequence.Cast<object?>().Select(o => o?.ToString()).FirstOrDefault(),
            _ => value?.ToString(),
        };
    }

    private static DhubConnection? ConnectionOf(IDictionary fakeBoundParameters)
    {
        var explicitConnection = fakeBoundParameters.Contains("Connection")
            ? (fakeBoundParameters["Connection"] is PSObject pso ? pso.BaseObject : fakeBoundParameters["Connection"]) as DhubConnection
            : null;
        try
        {
            return SessionConnections.Current.Resolve(explicitConnection, SessionConnections.UserAgent);
        }
        catch (DhubException)
        {
            return null; // not connected: nothing to offer
        }
    }

    private static string Unquote(string word) => word.Trim('\'', '"');

    /// <summary>Quotes a value that would not survive as a bare word (spaces, $, quotes, …).</summary>
    private static string Quote(string value)
    {
        var needsQuotes = value.Length == 0 || value.Any(c => char.IsWhiteSpace(c) || "'\"`$(){}[];,|&<>@#".IndexOf(c) >= 0);
        return needsQuotes ? "'" + CodeGeneration.EscapeSingleQuotedStringContent(value) + "'" : value;
    }
}

internal sealed class CachedAnswer
{
    public CachedAnswer(DateTime expires, IReadOnlyList<CompletionCandidate> items)
    {
        Expires = expires;
        Items = items;
    }

    public DateTime Expires { get; }

    public IReadOnlyList<CompletionCandidate> Items { get; }
}

internal sealed class CompletionCandidate
{
    public CompletionCandidate(string value, string toolTip)
    {
        Value = value;
        ToolTip = toolTip;
    }

    public string Value { get; }

    public string ToolTip { get; }
}
