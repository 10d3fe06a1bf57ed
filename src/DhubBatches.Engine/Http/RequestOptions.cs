using System.Net.Http;

namespace DhubBatches.Engine.Http;

/// <summary>Per-request facts the handlers read (set through Refit's <c>[Property]</c> or by the engine).</summary>
internal static class RequestOptions
{
    /// <summary>
    /// A POST that may be sent twice without doing the work twice (Prefect filters, set_state with a transition
    /// id, create_flow_run with an idempotency key). GET, PUT and DELETE are idempotent by definition.
    /// </summary>
    public const string IdempotentPost = "DhubBatches.IdempotentPost";

    public static readonly HttpRequestOptionsKey<bool> IdempotentPostKey = new HttpRequestOptionsKey<bool>(IdempotentPost);

    public static bool IsIdempotent(HttpRequestMessage request) =>
        request.Method == HttpMethod.Get || request.Method == HttpMethod.Put || request.Method == HttpMethod.Delete ||
        request.Method == HttpMethod.Head ||
        (request.Options.TryGetValue(IdempotentPostKey, out var idempotent) && idempotent);
}
