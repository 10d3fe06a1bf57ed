using System;
using System.Linq;
using System.Threading;
using DhubBatches.Emulator.Faults;
using DhubBatches.Contract;
using Xunit;

namespace DhubBatches.Tests;

/// <summary>Every ErrorId of the dhub backend, produced by real HTTP answers of the emulator.</summary>
public class EngineErrorTests : EmulatorTestBase
{
    public EngineErrorTests(EmulatorFixture fixture)
        : base(fixture)
    {
    }

    private static async Task<DhubException> Fails(Func<Task> call)
    {
        var ex = await Assert.ThrowsAsync<DhubException>(call);
        return ex;
    }

    [Fact]
    public async Task Real_400_for_an_invalid_limit_is_BadRequest_with_method_path_status_and_server_message()
    {
        using var engine = NewEngine();

        var ex = await Fails(() => engine.GetPageAsync("orders", new BatchPageRequest { Limit = 5000 }, CancellationToken.None));

        Assert.Equal(DhubErrorKind.DhubBadRequest, ex.Kind);
        Assert.Equal(400, ex.StatusCode);
        Assert.Contains("GET /api/v1/batches/orders/", ex.Message);
        Assert.Contains("400", ex.Message);
        Assert.Contains("Invalid limit '5000'", ex.Message);
        Assert.Equal("Invalid limit '5000': must be an integer between 1 and 1000", ex.ServerMessage);
        Assert.Single(Requests()); // 400 is not retried
    }

    [Theory]
    [InlineData(400, DhubErrorKind.DhubBadRequest)]
    [InlineData(422, DhubErrorKind.DhubBadRequest)]
    [InlineData(403, DhubErrorKind.DhubForbidden)]
    [InlineData(409, DhubErrorKind.DhubConflict)]
    public async Task Client_error_statuses_map_to_their_error_ids_and_are_not_retried(int status, DhubErrorKind kind)
    {
        State.AddFault(new FaultRule { Method = "PUT", Status = status, Times = 0, Body = "{\"message\":\"server says no " + status + "\"}" });
        using var engine = NewEngine();

        var ex = await Fails(() => engine.StopAsync("orders", "batch-1", CancellationToken.None));

        Assert.Equal(kind, ex.Kind);
        Assert.Equal(status, ex.StatusCode);
        Assert.Contains("PUT /api/v1/batches/orders/batch-1/stop", ex.Message);
        Assert.Contains(status.ToString(), ex.Message);
        Assert.Contains("server says no " + status, ex.Message);
        Assert.False(ex.MayHaveBeenApplied);
        Assert.Single(Requests());
    }

    [Fact]
    public async Task Wrong_token_is_Unauthorized_and_the_message_has_no_secret()
    {
        using var engine = NewEngine(token: "wrong-token-zz91");

        var ex = await Fails(() => engine.GetLatestAsync("orders", CancellationToken.None));
        var verify = await Fails(() => engine.VerifyAsync(CancellationToken.None));

        Assert.Equal(DhubErrorKind.DhubUnauthorized, ex.Kind);
        Assert.Equal(DhubErrorKind.DhubUnauthorized, verify.Kind);
        Assert.Equal(401, ex.StatusCode);
        Assert.Contains("GET /api/v1/batches/orders", ex.Message);
        Assert.Contains("401", ex.Message);
        Assert.Contains("Unauthorized: missing or invalid bearer token", ex.Message);
        Assert.DoesNotContain("wrong-token-zz91", ex.ToString());
        Assert.DoesNotContain(EmulatorFixture.Token, ex.ToString());
        Assert.Equal(2, Requests().Count); // one per call, no retries
    }

    [Fact]
    public async Task Missing_pipeline_is_PipelineNotFound_on_every_call()
    {
        using var engine = NewEngine();

        var latest = await Fails(() => engine.GetLatestAsync("no-such-pipeline", CancellationToken.None));
        var byId = await Fails(() => engine.GetAsync("no-such-pipeline", "batch-1", CancellationToken.None));
        var start = await Fails(() => engine.StartAsync(new StartRequest("no-such-pipeline"), CancellationToken.None));
        var list = await Fails(() => engine.GetPageAsync("no-such-pipeline", new BatchPageRequest(), CancellationToken.None));
        var stop = await Fails(() => engine.StopAsync("no-such-pipeline", "batch-1", CancellationToken.None));
        var remove = await Fails(() => engine.RemoveAsync("no-such-pipeline", "batch-1", TimeSpan.Zero, CancellationToken.None));

        Assert.All(new[] { latest, byId, start, list, stop, remove }, ex =>
        {
            Assert.Equal(DhubErrorKind.DhubPipelineNotFound, ex.Kind);
            Assert.Equal(404, ex.StatusCode);
            Assert.Contains("Pipeline 'no-such-pipeline' not found", ex.Message);
        });
        Assert.Contains("POST /api/v1/batches/no-such-pipeline -> 404", start.Message);
        Assert.False(start.MayHaveBeenApplied);
    }

    [Fact]
    public async Task Missing_batch_is_BatchNotFound_on_get_stop_and_delete()
    {
        using var engine = NewEngine();

        var get = await Fails(() => engine.GetAsync("orders", "batch-missing", CancellationToken.None));
        var stop = await Fails(() => engine.StopAsync("orders", "batch-missing", CancellationToken.None));
        var remove = await Fails(() => engine.RemoveAsync("orders", "batch-missing", TimeSpan.Zero, CancellationToken.None));

        Assert.All(new[] { get, stop, remove }, ex =>
        {
            Assert.Equal(DhubErrorKind.DhubBatchNotFound, ex.Kind);
            Assert.Contains("Batch 'batch-missing' not found in pipeline 'orders'", ex.Message);
        });
        Assert.Contains("GET /api/v1/batches/orders/batch-missing -> 404", get.Message);
        Assert.Contains("DELETE /api/v1/batches/orders/batch-missing -> 404", remove.Message);
    }

    [Fact]
    public async Task Latest_of_a_pipeline_without_batches_is_BatchNotFound()
    {
        using var engine = NewEngine();

        var ex = await Fails(() => engine.GetLatestAsync("orders", CancellationToken.None));

        Assert.Equal(DhubErrorKind.DhubBatchNotFound, ex.Kind);
        Assert.Contains("No batches found for pipeline 'orders'", ex.Message);
    }

    [Theory]
    [InlineData(408)]
    [InlineData(429)]
    [InlineData(500)]
    [InlineData(502)]
    [InlineData(503)]
    [InlineData(504)]
    public async Task Persistent_transient_status_is_retried_then_ServiceUnavailable(int status)
    {
        State.AddFault(new FaultRule { Method = "GET", Status = status, Times = 0, Body = "{\"message\":\"busy " + status + "\"}" });
        using var engine = NewEngine(s => s.MaximumRetryCount = 2);

        var ex = await Fails(() => engine.GetLatestAsync("orders", CancellationToken.None));

        Assert.Equal(DhubErrorKind.DhubServiceUnavailable, ex.Kind);
        Assert.Equal(status, ex.StatusCode);
        Assert.Contains("GET /api/v1/batches/orders -> " + status, ex.Message);
        Assert.Contains("busy " + status, ex.Message);
        Assert.Equal(3, Requests("GET").Count); // first attempt + MaximumRetryCount
    }

    [Fact]
    public async Task Html_error_page_names_the_html_instead_of_a_message()
    {
        State.AddFault(new FaultRule { Method = "GET", Status = 502, ContentType = "text/html", Times = 0 });
        using var engine = NewEngine(s => s.MaximumRetryCount = 0);

        var ex = await Fails(() => engine.GetLatestAsync("orders", CancellationToken.None));

        Assert.Equal(DhubErrorKind.DhubServiceUnavailable, ex.Kind);
        Assert.Contains("HTML page", ex.Message);
        Assert.DoesNotContain("<html", ex.Message);
    }

    [Fact]
    public async Task Html_page_with_200_is_InvalidResponse()
    {
        State.AddFault(new FaultRule { Method = "GET", Status = 200, ContentType = "text/html", Body = "<!DOCTYPE html><html><body>Login</body></html>" });
        using var engine = NewEngine();

        var ex = await Fails(() => engine.GetLatestAsync("orders", CancellationToken.None));

        Assert.Equal(DhubErrorKind.DhubInvalidResponse, ex.Kind);
        Assert.Contains("GET /api/v1/batches/orders", ex.Message);
        Assert.Contains("200", ex.Message);
        Assert.Single(Requests()); // a 200 is final: not retried
    }

    [Theory]
    [InlineData("[1,2,3]")]
    [InlineData("{\"id\":42,\"state\":{\"state\":\"running\"}}")]
    [InlineData("{\"id\":\"batch-1\",\"state\":\"running\"}")]
    [InlineData("{}")]
    public async Task Wrong_shape_json_is_InvalidResponse(string body)
    {
        State.AddFault(new FaultRule { Method = "GET", Status = 200, Body = body });
        using var engine = NewEngine();

        var ex = await Fails(() => engine.GetLatestAsync("orders", CancellationToken.None));

        Assert.Equal(DhubErrorKind.DhubInvalidResponse, ex.Kind);
        Assert.Contains("GET /api/v1/batches/orders", ex.Message);
    }

    [Fact]
    public async Task An_offset_that_is_not_a_number_costs_only_its_partition()
    {
        State.AddFault(new FaultRule
        {
            Method = "GET",
            Status = 200,
            Body = "{\"id\":\"batch-1\",\"state\":{\"state\":\"running\",\"steps\":{\"extract\":{\"state\":\"running\",\"offsets\":{\"partition_0\":1000,\"p\":\"many\"}}}}}",
        });
        using var engine = NewEngine();

        var batch = await engine.GetLatestAsync("orders", CancellationToken.None);

        Assert.Equal(BatchState.Running, batch.State);
        Assert.Equal("partition_0=1000", batch.Steps[0].OffsetSummary());
        var warning = Assert.Single(batch.Warnings);
        Assert.Contains("orders/batch-1", warning);
        Assert.Contains("extract.p (a string, not a number)", warning);
    }

    [Fact]
    public async Task List_items_that_are_not_batches_are_reported_one_by_one_and_a_page_without_items_is_InvalidResponse()
    {
        State.AddFault(new FaultRule { Method = "GET", Status = 200, Body = "{\"items\":{\"batch-1\":\"not json\",\"batch-2\":17}}" });
        State.AddFault(new FaultRule { Method = "GET", Status = 200, Body = "{\"token\":\"x\"}" });
        using var engine = NewEngine();

        var page = await engine.GetPageAsync("orders", new BatchPageRequest(), CancellationToken.None);
        Assert.Empty(page.Items);
        Assert.Equal(new[] { "batch-1", "batch-2" }, page.Problems.Select(p => p.BatchId));
        Assert.All(page.Problems, p => Assert.Contains("could not be read", p.Message));
        Assert.Equal("not json", page.Problems[0].RawText);

        var ex = await Fails(() => engine.GetPageAsync("orders", new BatchPageRequest(), CancellationToken.None));
        Assert.Equal(DhubErrorKind.DhubInvalidResponse, ex.Kind);
        Assert.Contains("GET /api/v1/batches/orders/", ex.Message);
    }

    [Fact]
    public async Task Empty_200_body_is_InvalidResponse()
    {
        State.AddFault(new FaultRule { Method = "GET", Status = 200, Body = "" });
        State.AddFault(new FaultRule { Method = "POST", Status = 200, Body = "" });
        using var engine = NewEngine();

        var get = await Fails(() => engine.GetLatestAsync("orders", CancellationToken.None));
        var start = await Fails(() => engine.StartAsync(new StartRequest("orders"), CancellationToken.None));

        Assert.Equal(DhubErrorKind.DhubInvalidResponse, get.Kind);
        Assert.Equal(DhubErrorKind.DhubInvalidResponse, start.Kind);
        Assert.Contains("GET /api/v1/batches/orders", get.Message);
        Assert.Contains("POST /api/v1/batches/orders", start.Message);
    }

    [Fact]
    public async Task Start_answer_without_item_is_InvalidResponse()
    {
        State.AddFault(new FaultRule { Method = "POST", Status = 200, Body = "{\"id\":\"batch-1\"}" });
        using var engine = NewEngine();

        var ex = await Fails(() => engine.StartAsync(new StartRequest("orders"), CancellationToken.None));

        Assert.Equal(DhubErrorKind.DhubInvalidResponse, ex.Kind);
        Assert.Contains("'item' is missing", ex.Message);
    }

    [Fact]
    public async Task Json_cut_short_in_a_complete_http_answer_is_InvalidResponse()
    {
        State.AddFault(new FaultRule { Method = "GET", Status = 200, Body = "{\"id\":\"batch-1\",\"state\":{\"state\":\"runn" });
        using var engine = NewEngine();

        var ex = await Fails(() => engine.GetLatestAsync("orders", CancellationToken.None));

        Assert.Equal(DhubErrorKind.DhubInvalidResponse, ex.Kind);
    }

    [Fact]
    public async Task Body_truncated_below_its_content_length_is_retried_for_a_get()
    {
        State.StepDuration = TimeSpan.Zero;
        var id = State.Dhub.CreateBatch("orders");
        State.AddFault(new FaultRule { Method = "GET", Mode = FaultMode.Truncate, Times = 1 });
        using var engine = NewEngine();

        var batch = await engine.GetAsync("orders", id, CancellationToken.None);

        Assert.Equal(id, batch.Id);
        Assert.Equal(2, Requests("GET").Count);
    }

    [Fact]
    public async Task Body_truncated_on_every_attempt_fails_with_a_clear_error()
    {
        State.StepDuration = TimeSpan.Zero;
        var id = State.Dhub.CreateBatch("orders");
        State.AddFault(new FaultRule { Method = "GET", Mode = FaultMode.Truncate, Times = 0 });
        using var engine = NewEngine(s => s.MaximumRetryCount = 1);

        var ex = await Fails(() => engine.GetAsync("orders", id, CancellationToken.None));

        Assert.Equal(DhubErrorKind.DhubInvalidResponse, ex.Kind);
        Assert.Equal(200, ex.StatusCode);
        Assert.Contains("cut short", ex.Message);
        Assert.Contains("GET /api/v1/batches/orders/" + id, ex.Message);
        Assert.Equal(2, Requests("GET").Count);
    }

    [Fact]
    public async Task Start_whose_body_is_truncated_is_InvalidResponse_that_may_have_been_applied_and_not_retried()
    {
        State.AddFault(new FaultRule { Method = "POST", Mode = FaultMode.Truncate, Times = 0 });
        using var engine = NewEngine();

        var ex = await Fails(() => engine.StartAsync(new StartRequest("orders"), CancellationToken.None));

        Assert.Equal(DhubErrorKind.DhubInvalidResponse, ex.Kind);
        Assert.True(ex.MayHaveBeenApplied);
        Assert.Single(Requests("POST"));
        Assert.Equal(1, State.Dhub.CreatedCount("orders"));
    }

    [Fact]
    public async Task Refused_connection_is_ServiceUnavailable()
    {
        // A port that was just free: bind, read it, release.
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var settings = new EngineSettings(new Uri($"http://127.0.0.1:{port}/"), BackendKind.Dhub) { RetryIntervalSec = 0, MaximumRetryCount = 1 };
        using var engine = global::DhubBatches.Engine.BatchEngineFactory.Create(settings);

        var ex = await Fails(() => engine.StartAsync(new StartRequest("orders"), CancellationToken.None));

        Assert.Equal(DhubErrorKind.DhubServiceUnavailable, ex.Kind);
        Assert.False(ex.MayHaveBeenApplied); // the request provably never reached a server
        Assert.Contains("POST /api/v1/batches/orders", ex.Message);
    }
}
