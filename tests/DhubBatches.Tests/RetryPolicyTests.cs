using System;
using System.Globalization;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using DhubBatches.Engine.Http;
using Polly;
using Polly.Timeout;
using Xunit;

namespace DhubBatches.Tests;

public class RetryPolicyTests
{
    private static Outcome<HttpResponseMessage> Status(int status) => Outcome.FromResult(new HttpResponseMessage((HttpStatusCode)status));

    private static Outcome<HttpResponseMessage> Error(Exception ex) => Outcome.FromException<HttpResponseMessage>(ex);

    [Theory]
    [InlineData(408, true)]
    [InlineData(429, true)]
    [InlineData(500, true)]
    [InlineData(502, true)]
    [InlineData(503, true)]
    [InlineData(504, true)]
    [InlineData(200, false)]
    [InlineData(204, false)]
    [InlineData(301, false)]
    [InlineData(400, false)]
    [InlineData(401, false)]
    [InlineData(403, false)]
    [InlineData(404, false)]
    [InlineData(409, false)]
    [InlineData(422, false)]
    [InlineData(501, false)]
    [InlineData(505, false)]
    public void Status_codes_are_retried_only_when_transient_and_the_request_is_idempotent(int status, bool transient)
    {
        Assert.Equal(transient, RetryPolicy.IsTransient(Status(status), idempotent: true));
        Assert.False(RetryPolicy.IsTransient(Status(status), idempotent: false));
    }

    [Theory]
    [InlineData(SocketError.ConnectionRefused)]
    [InlineData(SocketError.HostNotFound)]
    [InlineData(SocketError.NetworkUnreachable)]
    public void Connection_never_made_is_retried_even_for_a_post(SocketError error)
    {
        var ex = new HttpRequestException(HttpRequestError.ConnectionError, "connect failed", new SocketException((int)error));

        Assert.True(RetryPolicy.NeverSent(ex));
        Assert.True(RetryPolicy.IsTransient(Error(ex), idempotent: false));
        Assert.True(RetryPolicy.IsTransient(Error(ex), idempotent: true));
    }

    [Fact]
    public void Name_resolution_failure_is_retried_even_for_a_post()
    {
        var ex = new HttpRequestException(HttpRequestError.NameResolutionError, "no such host");

        Assert.True(RetryPolicy.IsTransient(Error(ex), idempotent: false));
    }

    [Theory]
    [InlineData(HttpRequestError.ConnectionError, SocketError.ConnectionReset)]
    [InlineData(HttpRequestError.ConnectionError, SocketError.TimedOut)]
    [InlineData(HttpRequestError.ResponseEnded, SocketError.ConnectionRefused)]
    [InlineData(HttpRequestError.Unknown, SocketError.ConnectionRefused)]
    public void Other_transport_failures_are_retried_only_when_idempotent(HttpRequestError error, SocketError socket)
    {
        var ex = new HttpRequestException(error, "failed", new SocketException((int)socket));

        Assert.False(RetryPolicy.NeverSent(ex));
        Assert.True(RetryPolicy.IsTransient(Error(ex), idempotent: true));
        Assert.False(RetryPolicy.IsTransient(Error(ex), idempotent: false));
    }

    [Fact]
    public void Connection_error_without_a_socket_cause_is_not_proof_it_was_never_sent()
    {
        var ex = new HttpRequestException(HttpRequestError.ConnectionError, "reset", new IOException("reset by peer"));

        Assert.False(RetryPolicy.IsTransient(Error(ex), idempotent: false));
        Assert.True(RetryPolicy.IsTransient(Error(ex), idempotent: true));
    }

    [Fact]
    public void Timeouts_and_io_errors_are_retried_only_when_idempotent()
    {
        var timeout = new TimeoutRejectedException("timed out", TimeSpan.FromSeconds(1));
        var io = new IOException("cut");

        Assert.True(RetryPolicy.IsTransient(Error(timeout), idempotent: true));
        Assert.False(RetryPolicy.IsTransient(Error(timeout), idempotent: false));
        Assert.True(RetryPolicy.IsTransient(Error(io), idempotent: true));
        Assert.False(RetryPolicy.IsTransient(Error(io), idempotent: false));
    }

    [Fact]
    public void Cancellation_and_unrelated_exceptions_are_never_retried()
    {
        Assert.False(RetryPolicy.IsTransient(Error(new OperationCanceledException()), idempotent: true));
        Assert.False(RetryPolicy.IsTransient(Error(new TaskCanceledException()), idempotent: true));
        Assert.False(RetryPolicy.IsTransient(Error(new InvalidOperationException()), idempotent: true));
        Assert.False(RetryPolicy.IsTransient(Error(new System.Text.Json.JsonException()), idempotent: true));
    }

    private static HttpResponseMessage WithRetryAfter(string? value, DateTimeOffset? date = null)
    {
        var response = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable);
        if (value != null)
        {
            response.Headers.TryAddWithoutValidation("Retry-After", value);
        }
        if (date != null)
        {
            response.Headers.Date = date;
        }
        return response;
    }

    [Theory]
    [InlineData("0", 0)]
    [InlineData("1", 1000)]
    [InlineData("120", 120_000)]
    [InlineData(" 7 ", 7000)]
    [InlineData("1.5", 1500)]
    [InlineData("0.25", 250)]
    [InlineData("-3", 0)]
    public void Retry_after_in_seconds(string value, int expectedMs)
    {
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), RetryPolicy.ServerRequestedDelay(WithRetryAfter(value)));
    }

    [Fact]
    public void Retry_after_as_an_http_date_counts_from_the_server_date()
    {
        var serverNow = new DateTimeOffset(2030, 5, 6, 7, 8, 9, TimeSpan.Zero);
        var response = WithRetryAfter(serverNow.AddSeconds(42).ToString("R", CultureInfo.InvariantCulture), serverNow);

        Assert.Equal(TimeSpan.FromSeconds(42), RetryPolicy.ServerRequestedDelay(response));
    }

    [Fact]
    public void Retry_after_as_an_http_date_without_a_server_date_counts_from_now()
    {
        var response = WithRetryAfter(DateTimeOffset.UtcNow.AddSeconds(30).ToString("R", CultureInfo.InvariantCulture));

        var delay = RetryPolicy.ServerRequestedDelay(response);

        Assert.NotNull(delay);
        Assert.InRange(delay!.Value.TotalSeconds, 28, 30.5);
    }

    [Fact]
    public void Retry_after_date_in_the_past_means_now()
    {
        var serverNow = new DateTimeOffset(2030, 5, 6, 7, 8, 9, TimeSpan.Zero);
        var response = WithRetryAfter(serverNow.AddMinutes(-1).ToString("R", CultureInfo.InvariantCulture), serverNow);

        Assert.Equal(TimeSpan.Zero, RetryPolicy.ServerRequestedDelay(response));
    }

    [Theory]
    [InlineData("soon")]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("1s")]
    [InlineData(null)]
    public void Missing_or_garbage_retry_after_gives_no_server_delay(string? value)
    {
        Assert.Null(RetryPolicy.ServerRequestedDelay(WithRetryAfter(value)));
        Assert.Null(RetryPolicy.ServerRequestedDelay(null));
    }

    [Fact]
    public void Retry_after_is_capped_at_five_minutes()
    {
        var serverNow = new DateTimeOffset(2030, 5, 6, 7, 8, 9, TimeSpan.Zero);

        Assert.Equal(TimeSpan.FromMinutes(5), RetryPolicy.MaxRetryAfter);
        Assert.Equal(TimeSpan.FromMinutes(5), RetryPolicy.ServerRequestedDelay(WithRetryAfter("301")));
        Assert.Equal(TimeSpan.FromMinutes(5), RetryPolicy.ServerRequestedDelay(WithRetryAfter("86400")));
        Assert.Equal(TimeSpan.FromSeconds(300), RetryPolicy.ServerRequestedDelay(WithRetryAfter("300")));
        Assert.Equal(TimeSpan.FromMinutes(5), RetryPolicy.ServerRequestedDelay(
            WithRetryAfter(serverNow.AddHours(3).ToString("R", CultureInfo.InvariantCulture), serverNow)));
    }
}
