using DhubBatches.Contract;
using System;
using System.Collections.Concurrent;
using System.Net.Http;
using System.Reflection;
using Refit;

namespace DhubBatches.Engine.Http;

/// <summary>
/// Marks a Refit POST that may be sent twice without doing the work twice (a Prefect filter reads; set_state with a
/// fresh transition id; create_flow_run with an idempotency key). It is said once, on the endpoint's declaration;
/// the resilience pipeline reads it (<see cref="RequestOptions.IsIdempotent"/>).
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class IdempotentPostAttribute : Attribute
{
}

/// <summary>Per-request facts the handlers read.</summary>
internal static class RequestOptions
{
    private static readonly HttpRequestOptionsKey<Type> s_interfaceType = new HttpRequestOptionsKey<Type>(HttpRequestMessageOptions.InterfaceType);
    private static readonly HttpRequestOptionsKey<string> s_methodName = new HttpRequestOptionsKey<string>(HttpRequestMessageOptions.MethodName);
    private static readonly ConcurrentDictionary<(Type, string), bool> s_marked = new ConcurrentDictionary<(Type, string), bool>();

    /// <summary>GET, PUT and DELETE by definition; a POST when its Refit method carries <see cref="IdempotentPostAttribute"/>.</summary>
    public static bool IsIdempotent(HttpRequestMessage request)
    {
        if (request.Method == HttpMethod.Get || request.Method == HttpMethod.Put || request.Method == HttpMethod.Delete || request.Method == HttpMethod.Head)
        {
            return true;
        }
        return request.Options.TryGetValue(s_interfaceType, out var api) && request.Options.TryGetValue(s_methodName, out var method)
            && s_marked.GetOrAdd((api, method), static key => key.Item1.GetMethod(key.Item2)?.GetCustomAttribute<IdempotentPostAttribute>() != null);
    }
}
