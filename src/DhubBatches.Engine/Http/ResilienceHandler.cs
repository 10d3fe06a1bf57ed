using DhubBatches.Contract;
using System;
using System.Net;
using System.Net.Http;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using Polly;

namespace DhubBatches.Engine.Http;

/// <summary>
/// Runs each request through <see cref="RetryPolicy"/>. A request message can be sent only once, so every
/// attempt sends a copy; the body is buffered once (which also gives it a Content-Length, as Prefect Cloud
/// requires), and each answer's body is read inside the attempt (into a <see cref="PooledBody"/>) so a body cut
/// short is retried too.
/// </summary>
internal sealed class ResilienceHandler : DelegatingHandler
{
    private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;
    private readonly RequestGate _gate;

    public ResilienceHandler(ResiliencePipeline<HttpResponseMessage> pipeline, RequestGate gate, HttpMessageHandler inner)
        : base(inner)
    {
        _pipeline = pipeline;
        _gate = gate;
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content == null ? null : await request.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        // Outside the per-attempt timeout: a server that asked everyone to slow down delays the start, not the attempt.
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(RetryPolicy.Request, request);
        var mayHaveApplied = new StrongBox<bool>();
        var attempts = new StrongBox<int>();
        try
        {
            var outcome = await _pipeline.ExecuteOutcomeAsync(
                static async (ctx, state) =>
                {
                    try
                    {
                        // A request without a body goes out as it is the first time; every later attempt (and any
                        // body, which must carry a Content-Length) is a copy.
                        var attempt = state.Attempts.Value++ == 0 && state.Body == null ? state.Request : RequestCopy.Of(state.Request, state.Body);
                        var response = await state.Handler.SendAttemptAsync(attempt, ctx.CancellationToken).ConfigureAwait(false);
                        if ((int)response.StatusCode >= 500 || (int)response.StatusCode == 408)
                        {
                            state.MayHaveApplied.Value = true;
                        }
                        return Outcome.FromResult(response);
                    }
                    catch (Exception ex)
                    {
                        if (!(ex is HttpRequestException http && RetryPolicy.NeverSent(http)))
                        {
                            state.MayHaveApplied.Value = true;
                        }
                        return Outcome.FromException<HttpResponseMessage>(ex);
                    }
                },
                context,
                (Handler: this, Request: request, Body: body, MayHaveApplied: mayHaveApplied, Attempts: attempts)).ConfigureAwait(false);
            outcome.ThrowIfException();
            return AlreadyDeleted(request, outcome.Result!, mayHaveApplied.Value);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>
    /// A DELETE retried after an attempt that may have reached the server (timeout, lost answer, 5xx) and then
    /// answered 404 was deleted by that earlier attempt: deleting twice has the same effect as once, so it is a
    /// success, not "not found". (The final attempt's own 404 never sets the flag; only earlier attempts do.)
    /// </summary>
    private static HttpResponseMessage AlreadyDeleted(HttpRequestMessage request, HttpResponseMessage response, bool mayHaveApplied)
    {
        if (!mayHaveApplied || request.Method != HttpMethod.Delete || response.StatusCode != HttpStatusCode.NotFound)
        {
            return response;
        }
        EngineLog.Current?.Verbose($"DELETE {request.RequestUri?.AbsolutePath} -> 404 after an earlier attempt that may have reached the server: treated as deleted by that attempt.");
        var deleted = new HttpResponseMessage(HttpStatusCode.NoContent)
        {
            RequestMessage = response.RequestMessage,
            Content = new ByteArrayContent(Array.Empty<byte>()),
        };
        response.Dispose();
        return deleted;
    }

    private async Task<HttpResponseMessage> SendAttemptAsync(HttpRequestMessage attempt, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(attempt, cancellationToken).ConfigureAwait(false);
        // Disposing the response also aborts a stalled body on Ctrl+C/timeout, should a read not see the token.
        using (cancellationToken.Register(static r => ((HttpResponseMessage)r!).Dispose(), response))
        {
            try
            {
                var received = response.Content;
                response.Content = await PooledBody.ReadAsync(received, cancellationToken).ConfigureAwait(false);
                received.Dispose();
            }
            catch (Exception) when (cancellationToken.IsCancellationRequested)
            {
                response.Dispose();
                cancellationToken.ThrowIfCancellationRequested();
                throw;
            }
            catch (Exception ex)
            {
                // The status and headers arrived, the body did not (cut short): an invalid answer, not a
                // network failure. Still an IOException, so an idempotent request is retried as before.
                var status = (int)response.StatusCode;
                response.Dispose();
                throw new ResponseBodyException(status, ex);
            }
        }
        return response;
    }
}

/// <summary>An answer whose status arrived but whose body could not be read in full.</summary>
internal sealed class ResponseBodyException : System.IO.IOException
{
    public ResponseBodyException(int statusCode, Exception inner)
        : base("the answer's body was cut short: " + inner.Message, inner)
    {
        StatusCode = statusCode;
    }

    public int StatusCode { get; }
}
