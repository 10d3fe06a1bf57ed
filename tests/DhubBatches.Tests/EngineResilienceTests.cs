using System;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Threading;
using DhubBatches.Emulator.Faults;
using DhubBatches.Contract;
using Xunit;

namespace DhubBatches.Tests;

/// <summary>Retries, timeouts, the non-idempotent start POST, and cancellation, over real HTTP.</summary>
public class EngineResilienceTests : EmulatorTestBase
{
    public EngineResilienceTests(EmulatorFixture fixture)
        : base(fixture)
    {
    }

    [Fact]
    public async Task Get_after_one_503_with_retry_after_1_succeeds_after_about_a_second()
    {
        State.StepDuration = TimeSpan.Zero;
        var id = State.Dhub.CreateBatch("orders");
        State.AddFault(new FaultRule { Method = "GET", Status = 503, RetryAfter = "1", Times = 1 });
        using var engine = NewEngine();
        var log = new CollectingLog();
        EngineLog.Current = log;

        var clock = Stopwatch.StartNew();
        var batch = await engine.GetAsync("orders", id, CancellationToken.None);
        clock.Stop();

        Assert.Equal(id, batch.Id);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(900), $"retried after {clock.Elapsed}");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        var gets = Requests("GET");
        Assert.Equal(2, gets.Count);
        Assert.Equal(503, gets[0].Status);
        Assert.NotNull(gets[0].Fault);
        Assert.Equal(200, gets[1].Status);
        Assert.True(gets[1].Timestamp - gets[0].Timestamp >= TimeSpan.FromMilliseconds(900));
        Assert.Contains(log.Verbose, l => l.StartsWith("Retrying GET /api/v1/batches/orders/" + id, StringComparison.Ordinal) && l.Contains("503"));
    }

    [Fact]
    public async Task Retry_after_as_an_http_date_is_honoured()
    {
        State.StepDuration = TimeSpan.Zero;
        var id = State.Dhub.CreateBatch("orders");
        var when = DateTimeOffset.UtcNow.AddSeconds(2).ToString("R", CultureInfo.InvariantCulture);
        State.AddFault(new FaultRule { Method = "GET", Status = 429, RetryAfter = when, Times = 1 });
        using var engine = NewEngine();

        var clock = Stopwatch.StartNew();
        await engine.GetAsync("orders", id, CancellationToken.None);

        // HTTP dates have whole seconds (ours and the server's Date header), so "2 s" is 1..3 s.
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(900), $"retried after {clock.Elapsed}");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        Assert.Equal(2, Requests("GET").Count);
    }

    [Fact]
    public async Task Dropped_connection_on_a_get_is_retried()
    {
        State.StepDuration = TimeSpan.Zero;
        var id = State.Dhub.CreateBatch("orders");
        State.AddFault(new FaultRule { Method = "GET", Mode = FaultMode.Drop, Times = 1 });
        using var engine = NewEngine();

        var batch = await engine.GetAsync("orders", id, CancellationToken.None);

        Assert.Equal(id, batch.Id);
        var gets = Requests("GET");
        Assert.Equal(2, gets.Count);
        Assert.True(gets[0].Aborted);
        Assert.False(gets[1].Aborted);
    }

    [Fact]
    public async Task Put_and_delete_are_retried_after_a_5xx()
    {
        State.AddPipeline("slow", TimeSpan.FromSeconds(30));
        var id = State.Dhub.CreateBatch("slow");
        State.AddFault(new FaultRule { Method = "PUT", Status = 502, Times = 1 });
        State.AddFault(new FaultRule { Method = "DELETE", Status = 500, Times = 1 });
        using var engine = NewEngine();

        await engine.StopAsync("slow", id, CancellationToken.None);
        await engine.RemoveAsync("slow", id, TimeSpan.Zero, CancellationToken.None);

        Assert.Equal(2, Requests("PUT").Count);
        Assert.Equal(2, Requests("DELETE").Count);
        Assert.Null(State.Dhub.GetBatch("slow", id));
    }

    [Fact]
    public async Task Start_post_is_never_retried_after_a_503()
    {
        State.AddFault(new FaultRule { Method = "POST", Status = 503, RetryAfter = "0", Times = 0 });
        using var engine = NewEngine(s => s.MaximumRetryCount = 3);

        var ex = await Assert.ThrowsAsync<DhubException>(() => engine.StartAsync(new StartRequest("orders"), CancellationToken.None));

        Assert.Equal(DhubErrorKind.DhubServiceUnavailable, ex.Kind);
        Assert.Contains("POST /api/v1/batches/orders -> 503", ex.Message);
        Assert.Single(Requests("POST"));
        Assert.Empty(Requests("GET"));
    }

    [Fact]
    public async Task Start_post_is_never_retried_after_a_timeout()
    {
        State.AddFault(new FaultRule { Method = "POST", Mode = FaultMode.Delay, DelayMs = 3000, Times = 0 });
        using var engine = NewEngine(s =>
        {
            s.TimeoutSec = 1;
            s.MaximumRetryCount = 3;
        });

        var clock = Stopwatch.StartNew();
        var ex = await Assert.ThrowsAsync<DhubException>(() => engine.StartAsync(new StartRequest("orders"), CancellationToken.None));
        clock.Stop();

        Assert.Equal(DhubErrorKind.DhubServiceUnavailable, ex.Kind);
        Assert.True(ex.MayHaveBeenApplied);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2.8), $"took {clock.Elapsed}");
        await Task.Delay(500); // a retry would have been sent by now
        Assert.True(await Eventually.TrueAsync(() => Requests("POST").Count >= 1));
        Assert.Single(Requests("POST"));
        Assert.Equal(0, State.Dhub.CreatedCount("orders")); // the server never ran the start (it was still delaying)
    }

    [Fact]
    public async Task Start_whose_answer_is_lost_fails_as_maybe_applied_and_creates_exactly_one_batch()
    {
        State.AddFault(new FaultRule { Method = "POST", Mode = FaultMode.ApplyThenDrop, Times = 0 });
        using var engine = NewEngine(s => s.MaximumRetryCount = 3);

        var ex = await Assert.ThrowsAsync<DhubException>(() => engine.StartAsync(new StartRequest("orders"), CancellationToken.None));

        Assert.Equal(DhubErrorKind.DhubServiceUnavailable, ex.Kind);
        Assert.True(ex.MayHaveBeenApplied);
        Assert.Contains("POST /api/v1/batches/orders", ex.Message);
        Assert.Contains("may have applied", ex.Message);
        Assert.Single(Requests("POST"));
        Assert.Equal(1, State.Dhub.CreatedCount("orders"));
        Assert.Equal(1, State.Dhub.BatchCount("orders"));
    }

    [Fact]
    public async Task Per_attempt_timeout_ends_as_ServiceUnavailable()
    {
        State.AddFault(new FaultRule { Method = "GET", Mode = FaultMode.Delay, DelayMs = 3000, Times = 0 });
        using var engine = NewEngine(s =>
        {
            s.TimeoutSec = 1;
            s.MaximumRetryCount = 1;
        });

        var clock = Stopwatch.StartNew();
        var ex = await Assert.ThrowsAsync<DhubException>(() => engine.GetLatestAsync("orders", CancellationToken.None));
        clock.Stop();

        Assert.Equal(DhubErrorKind.DhubServiceUnavailable, ex.Kind);
        Assert.Contains("GET /api/v1/batches/orders", ex.Message);
        Assert.Contains("no answer within 1 s", ex.Message);
        Assert.False(ex.MayHaveBeenApplied);
        // two attempts of ~1 s each, far less than the 3 s the server would take for one
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(1.8) && clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        Assert.True(await Eventually.TrueAsync(() => Requests("GET").Count == 2));
    }

    [Fact]
    public async Task Slow_answer_within_the_timeout_is_fine()
    {
        State.StepDuration = TimeSpan.Zero;
        var id = State.Dhub.CreateBatch("orders");
        State.AddFault(new FaultRule { Method = "GET", Mode = FaultMode.Delay, DelayMs = 300, Times = 1 });
        using var engine = NewEngine(s => s.TimeoutSec = 2);

        var batch = await engine.GetAsync("orders", id, CancellationToken.None);

        Assert.Equal(id, batch.Id);
        Assert.Single(Requests("GET"));
    }

    [Fact]
    public async Task Cancelling_during_a_slow_request_returns_quickly_with_OperationCanceledException()
    {
        State.AddFault(new FaultRule { Method = "GET", Mode = FaultMode.Delay, DelayMs = 5000, Times = 0 });
        using var engine = NewEngine(s => s.TimeoutSec = 30);
        using var cts = new CancellationTokenSource();

        var call = engine.GetLatestAsync("orders", cts.Token);
        await Task.Delay(300);
        Assert.False(call.IsCompleted);
        var clock = Stopwatch.StartNew();
        cts.Cancel();
        var ex = await Record.ExceptionAsync(() => call);
        clock.Stop();

        Assert.IsAssignableFrom<OperationCanceledException>(ex);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"cancellation took {clock.Elapsed}");
    }

    [Fact]
    public async Task Cancelling_during_a_retry_back_off_returns_quickly()
    {
        State.AddFault(new FaultRule { Method = "GET", Status = 503, RetryAfter = "30", Times = 0 });
        using var engine = NewEngine();
        using var cts = new CancellationTokenSource();

        var call = engine.GetLatestAsync("orders", cts.Token);
        Assert.True(await Eventually.TrueAsync(() => Requests("GET").Count == 1));
        await Task.Delay(100);
        var clock = Stopwatch.StartNew();
        cts.Cancel();
        var ex = await Record.ExceptionAsync(() => call);

        Assert.IsAssignableFrom<OperationCanceledException>(ex);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"cancellation took {clock.Elapsed}");
        Assert.Single(Requests("GET"));
    }

    [Theory]
    [InlineData("a/b ?c#d%e f ü")]
    [InlineData("../orders")]
    [InlineData("x%2Fy")]
    public async Task Ids_with_reserved_characters_travel_as_one_path_segment(string weird)
    {
        State.AddPipeline(weird);
        using var engine = NewEngine();

        var started = await engine.StartAsync(new StartRequest(weird), CancellationToken.None);
        var latest = await engine.GetLatestAsync(weird, CancellationToken.None);
        var page = await engine.GetPageAsync(weird, new BatchPageRequest(), CancellationToken.None);
        var missing = await Assert.ThrowsAsync<DhubException>(() => engine.GetAsync(weird, weird, CancellationToken.None));
        var stopMissing = await Assert.ThrowsAsync<DhubException>(() => engine.StopAsync("orders", weird, CancellationToken.None));

        Assert.Equal(weird, started.PipelineId);
        Assert.Equal(started.Id, latest.Id);
        Assert.Equal(weird, latest.Name);
        Assert.Single(page.Items);
        Assert.Equal(1, State.Dhub.CreatedCount(weird));
        Assert.Equal(DhubErrorKind.DhubBatchNotFound, missing.Kind);
        Assert.Equal(DhubErrorKind.DhubBatchNotFound, stopMissing.Kind);
        var log = Requests();
        Assert.Equal(new[] { "api", "v1", "batches", weird }, log[0].PathSegments);                      // POST
        Assert.Equal(new[] { "api", "v1", "batches", weird, started.Id }, log[1].PathSegments);          // read back
        Assert.Equal(new[] { "api", "v1", "batches", weird }, log[2].PathSegments);                      // latest
        Assert.Equal(new[] { "api", "v1", "batches", weird, "" }, log[3].PathSegments);                  // list
        Assert.Equal(new[] { "api", "v1", "batches", weird, weird }, log[4].PathSegments);               // get
        Assert.Equal(new[] { "api", "v1", "batches", "orders", weird, "stop" }, log[5].PathSegments);    // stop
        Assert.All(log, r => Assert.DoesNotContain("#", r.RawTarget));
    }

    [Fact]
    public async Task Authorization_is_not_forwarded_on_a_redirect_to_another_host()
    {
        State.StepDuration = TimeSpan.Zero;
        State.Dhub.CreateBatch("orders");
        var otherHost = "http://localhost:" + Fixture.BaseUri.Port + "/api/v1/batches/orders";
        State.AddFault(new FaultRule
        {
            Method = "GET",
            Status = 307,
            Body = "{}",
            Headers = new() { ["Location"] = otherHost },
            Times = 1,
        });
        using var engine = NewEngine();

        var ex = await Assert.ThrowsAsync<DhubException>(() => engine.GetLatestAsync("orders", CancellationToken.None));

        var gets = Requests("GET");
        Assert.Equal(2, gets.Count);
        Assert.Equal("present", gets[0].Authorization);
        Assert.Equal("absent", gets[1].Authorization); // the token stayed behind
        Assert.Equal(DhubErrorKind.DhubUnauthorized, ex.Kind);
    }
}
