using System;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Polly;

namespace DhubBatches.Engine.Http
{
    /// <summary>
    /// Runs each request through <see cref="RetryPolicy"/>. A request message can be sent only once, so every
    /// attempt sends a copy; the body is buffered once (which also gives it a Content-Length, as Prefect Cloud
    /// requires), and each answer's body is read inside the attempt so a body cut short is retried too.
    /// </summary>
    internal sealed class ResilienceHandler : DelegatingHandler
    {
        private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;

        public ResilienceHandler(ResiliencePipeline<HttpResponseMessage> pipeline, HttpMessageHandler inner)
            : base(inner)
        {
            _pipeline = pipeline;
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var body = request.Content == null ? null : await request.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            var context = ResilienceContextPool.Shared.Get(cancellationToken);
            context.Properties.Set(RetryPolicy.Request, request);
            try
            {
                var outcome = await _pipeline.ExecuteOutcomeAsync(
                    static async (ctx, state) =>
                    {
                        try
                        {
                            var response = await state.Handler.SendAttemptAsync(RequestCopy.Of(state.Request, state.Body), ctx.CancellationToken).ConfigureAwait(false);
                            return Outcome.FromResult(response);
                        }
                        catch (Exception ex)
                        {
                            return Outcome.FromException<HttpResponseMessage>(ex);
                        }
                    },
                    context,
                    (Handler: this, Request: request, Body: body)).ConfigureAwait(false);
                outcome.ThrowIfException();
                return outcome.Result!;
            }
            finally
            {
                ResilienceContextPool.Shared.Return(context);
            }
        }

        private async Task<HttpResponseMessage> SendAttemptAsync(HttpRequestMessage attempt, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(attempt, cancellationToken).ConfigureAwait(false);
            // net8.0 cannot cancel LoadIntoBufferAsync; disposing the response aborts a stalled body on Ctrl+C/timeout.
            using (cancellationToken.Register(static r => ((HttpResponseMessage)r!).Dispose(), response))
            {
                try
                {
                    await response.Content.LoadIntoBufferAsync().ConfigureAwait(false);
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
}
