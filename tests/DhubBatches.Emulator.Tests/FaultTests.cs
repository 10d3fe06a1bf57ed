using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Threading.Tasks;
using DhubBatches.Emulator.Faults;
using Xunit;

namespace DhubBatches.Emulator.Tests;

public class FaultTests
{
    [Fact]
    public async Task Respond_answers_with_status_retry_after_headers_and_default_json_then_stops_after_times()
    {
        await using var emu = await RunningEmulator.StartAsync();
        var rule = emu.State.AddFault(new FaultRule
        {
            Method = "POST",
            PathPattern = "^/api/v1/batches/orders$",
            Status = 503,
            RetryAfter = "2",
            Headers = new() { ["Prefect-Maintenance"] = "true" },
        });

        using var faulted = await emu.Client.PostAsync("api/v1/batches/orders", null);
        using var next = await emu.Client.PostAsync("api/v1/batches/orders", null);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, faulted.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(2), faulted.Headers.RetryAfter!.Delta);
        Assert.Equal("true", faulted.Headers.GetValues("Prefect-Maintenance").Single());
        Assert.Equal("injected fault", (await RunningEmulator.ReadJsonAsync(faulted)).GetProperty("message").GetString());
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.Equal(1, emu.State.Dhub.CreatedCount("orders")); // the faulted POST never reached the API
        Assert.Equal(1, rule.Hits);
        Assert.StartsWith("fault-", rule.Id);
        Assert.Equal(rule.Id, emu.State.Requests[0].Fault);
        Assert.Null(emu.State.Requests[1].Fault);
    }

    [Fact]
    public async Task Respond_with_html_content_type_and_http_date_retry_after()
    {
        await using var emu = await RunningEmulator.StartAsync();
        var date = new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero);
        emu.State.AddFault(new FaultRule { Status = 502, ContentType = "text/html", RetryAfter = date.ToString("R") });

        using var response = await emu.Client.GetAsync("api/v1/batches/orders");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType!.MediaType);
        Assert.StartsWith("<!DOCTYPE html>", body);
        Assert.Contains("502 Bad Gateway", body);
        Assert.Equal(date, response.Headers.RetryAfter!.Date);
    }

    [Fact]
    public async Task Respond_with_custom_body()
    {
        await using var emu = await RunningEmulator.StartAsync();
        emu.State.AddFault(new FaultRule { Status = 429, Body = "{\"message\":\"slow down\"}" });

        using var response = await emu.Client.GetAsync("api/v1/batches/orders");

        Assert.Equal((HttpStatusCode)429, response.StatusCode);
        Assert.Equal("slow down", (await RunningEmulator.ReadJsonAsync(response)).GetProperty("message").GetString());
    }

    [Fact]
    public async Task Delay_slows_the_answer_and_a_short_client_timeout_gives_up()
    {
        await using var emu = await RunningEmulator.StartAsync();
        emu.State.AddFault(new FaultRule { Mode = FaultMode.Delay, DelayMs = 400, Times = 2 });
        using var impatient = emu.NewClient(TimeSpan.FromMilliseconds(100));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => impatient.PostAsync("api/v1/batches/orders", null));
        var clock = Stopwatch.StartNew();
        using var patient = await emu.Client.GetAsync("api/v1/batches/orders/");

        Assert.Equal(HttpStatusCode.OK, patient.StatusCode);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(300), $"answered after {clock.Elapsed}");
        Assert.Equal(0, emu.State.Dhub.CreatedCount("orders")); // the client left during the delay
    }

    [Fact]
    public async Task Drop_aborts_without_applying_the_request()
    {
        await using var emu = await RunningEmulator.StartAsync();
        var rule = emu.State.AddFault(new FaultRule { Method = "POST", Mode = FaultMode.Drop });
        using var client = emu.NewClient();

        await Assert.ThrowsAsync<HttpRequestException>(() => client.PostAsync("api/v1/batches/orders", null));

        Assert.Equal(0, emu.State.Dhub.CreatedCount("orders"));
        Assert.Equal(1, rule.Hits);
        var entry = Assert.Single(emu.State.Requests);
        Assert.True(entry.Aborted);
        Assert.Equal(rule.Id, entry.Fault);
    }

    [Fact]
    public async Task ApplyThenDrop_creates_exactly_one_batch_but_loses_the_answer()
    {
        await using var emu = await RunningEmulator.StartAsync();
        emu.State.AddFault(new FaultRule { Method = "POST", Mode = FaultMode.ApplyThenDrop });
        // A fresh connection, so the outcome does not depend on how the handler treats reused connections.
        using var client = emu.NewClient();

        await Assert.ThrowsAsync<HttpRequestException>(() => client.PostAsync("api/v1/batches/orders", null));

        Assert.Equal(1, emu.State.Dhub.CreatedCount("orders"));
        Assert.Equal(1, emu.State.Dhub.BatchCount("orders"));
        var entry = Assert.Single(emu.State.Requests);
        Assert.Equal(200, entry.Status);
        Assert.True(entry.Aborted);
    }

    [Fact]
    public async Task Truncate_sends_headers_with_full_length_but_half_the_body()
    {
        await using var emu = await RunningEmulator.StartAsync();
        var id = await emu.CreateAsync("orders");
        var full = (await emu.GetBatchAsync("orders", id)).GetRawText();
        emu.State.AddFault(new FaultRule { Method = "GET", Mode = FaultMode.Truncate });

        using var response = await emu.Client.GetAsync(RunningEmulator.BatchPath("orders", id), HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(full.Length, response.Content.Headers.ContentLength);
        var stream = await response.Content.ReadAsStreamAsync();
        var received = new MemoryStream();
        var error = await Record.ExceptionAsync(() => stream.CopyToAsync(received));
        Assert.IsAssignableFrom<IOException>(error);
        Assert.Equal(full.Length / 2, received.Length);
    }

    [Fact]
    public async Task Skip_every_and_times_select_which_matching_requests_fail()
    {
        await using var emu = await RunningEmulator.StartAsync();
        var id = await emu.CreateAsync("orders");
        var rule = emu.State.AddFault(new FaultRule { Method = "GET", PathPattern = "batches/orders/batch-", Skip = 1, Every = 2, Times = 2, Status = 500 });

        var statuses = new List<int>();
        for (var i = 0; i < 8; i++)
        {
            using var response = await emu.Client.GetAsync(RunningEmulator.BatchPath("orders", id));
            statuses.Add((int)response.StatusCode);
        }

        // Matching requests 1..8: the first is skipped, then every 2nd fails, twice in all.
        Assert.Equal(new[] { 200, 200, 500, 200, 500, 200, 200, 200 }, statuses);
        Assert.Equal(2, rule.Hits);
    }

    [Fact]
    public async Task Rules_apply_in_insertion_order_and_unlimited_times_keeps_failing()
    {
        await using var emu = await RunningEmulator.StartAsync();
        var first = emu.State.AddFault(new FaultRule { Id = "first", Status = 502, Times = 0, PathPattern = "inventory" });
        var second = emu.State.AddFault(new FaultRule { Id = "second", Status = 504, Times = 0 });

        var statuses = new List<HttpStatusCode>();
        foreach (var path in new[] { "api/v1/batches/inventory", "api/v1/batches/orders", "api/v1/batches/inventory" })
        {
            using var response = await emu.Client.GetAsync(path);
            statuses.Add(response.StatusCode);
        }

        Assert.Equal(new[] { HttpStatusCode.BadGateway, HttpStatusCode.GatewayTimeout, HttpStatusCode.BadGateway }, statuses);
        Assert.Equal(2, first.Hits);
        Assert.Equal(1, second.Hits);
    }

    [Fact]
    public async Task Invalid_rule_is_rejected()
    {
        await using var emu = await RunningEmulator.StartAsync();

        Assert.Throws<ArgumentException>(() => emu.State.AddFault(new FaultRule { PathPattern = "(" }));
        Assert.Throws<ArgumentException>(() => emu.State.AddFault(new FaultRule { Status = 42 }));
        Assert.Empty(emu.State.Faults);
    }
}
