using System;
using System.Diagnostics;
using System.Linq;
using System.Management.Automation;
using System.Text.RegularExpressions;
using System.Threading;
using DhubBatches.Emulator.Faults;
using Xunit;

namespace DhubBatches.Tests;

/// <summary>The cmdlets in an in-process runspace against the emulator.</summary>
public sealed class RunspaceTests : EmulatorTestBase
{
    private readonly PowerShellSession _session = new();

    public RunspaceTests(EmulatorFixture fixture)
        : base(fixture)
    {
        _session.Set("uri", Fixture.BaseUri);
        _session.Set("tok", Secure(EmulatorFixture.Token));
    }

    private const string Connect = "Connect-Dhub -Uri $uri -Token $tok -RetryIntervalSec 0 -MaximumRetryCount 2\n";

    private (PowerShell Ps, System.Collections.Generic.IReadOnlyList<PSObject> Output) Run(string script) => _session.Run(script);

    private static Batch AsBatch(PSObject o) => Assert.IsType<Batch>(o.BaseObject);

    private static ErrorRecord SingleError(PowerShell ps, string id, ErrorCategory category)
    {
        var error = Assert.Single(ps.Streams.Error);
        Assert.StartsWith(id + ",DhubBatches.Cmdlets.", error.FullyQualifiedErrorId);
        Assert.Equal(category, error.CategoryInfo.Category);
        return error;
    }

    [Fact]
    public void Connect_start_get_and_wait()
    {
        var (ps, output) = Run("""
            $c = Connect-Dhub -Uri $uri -Token $tok -RetryIntervalSec 0 -PassThru
            $c
            $b = Start-DhubBatch -PipelineId orders
            $b
            Get-DhubBatch -PipelineId orders
            Wait-DhubBatch -InputObject $b -PollingInterval 0.1 -Timeout 30
            Start-DhubBatch -PipelineId inventory -Wait -PollingInterval 0.1 -Timeout 30
            Get-DhubConnection
            """);
        using var _ = ps;

        Assert.Empty(ps.Streams.Error);
        Assert.Equal(6, output.Count);
        var connection = Assert.IsType<DhubConnection>(output[0].BaseObject);
        Assert.Equal(AuthenticationKind.Bearer, connection.Authentication);
        Assert.Equal(BackendKind.Dhub, connection.Backend);
        var started = AsBatch(output[1]);
        Assert.Equal("orders", started.PipelineId);
        Assert.Equal(started.Id, AsBatch(output[2]).Id);
        var waited = AsBatch(output[3]);
        Assert.Equal(started.Id, waited.Id);
        Assert.True(waited.IsComplete);
        Assert.Equal(BatchOutcome.Succeeded, waited.Outcome);
        var startWait = AsBatch(output[4]);
        Assert.Equal("inventory", startWait.PipelineId);
        Assert.Equal(BatchOutcome.Succeeded, startWait.Outcome);
        Assert.Same(connection, output[5].BaseObject);
        Assert.Equal(1, State.Dhub.CreatedCount("orders"));
        Assert.Equal(1, State.Dhub.CreatedCount("inventory"));
        Assert.All(Requests(), r =>
        {
            Assert.Equal("present", r.Authorization);
            Assert.Matches(@"^DhubBatches/\d+(\.\d+)+ PowerShell/7\.\d+", r.UserAgent);
        });
    }

    [Fact]
    public void Pipeline_not_found_is_a_non_terminating_error_with_the_pipeline_as_target()
    {
        var (ps, output) = Run(Connect + "Get-DhubBatch -PipelineId no-such-pipeline; 'after'");
        using var _ = ps;

        var error = SingleError(ps, "DhubPipelineNotFound", ErrorCategory.ObjectNotFound);
        Assert.Equal("no-such-pipeline", error.TargetObject);
        Assert.Contains("GET /api/v1/batches/no-such-pipeline", error.Exception.Message);
        Assert.Contains("404", error.Exception.Message);
        Assert.Contains("Pipeline 'no-such-pipeline' not found", error.Exception.Message);
        Assert.Equal("after", Assert.Single(output).BaseObject);
    }

    [Fact]
    public void One_bad_batch_id_among_several_is_a_non_terminating_error_and_the_rest_are_output()
    {
        State.StepDuration = TimeSpan.Zero;
        _session.Set("a", State.Dhub.CreateBatch("orders"));
        _session.Set("b", State.Dhub.CreateBatch("orders"));

        var (ps, output) = Run(Connect + "Get-DhubBatch -PipelineId orders -BatchId $a, 'batch-missing', $b");
        using var _ = ps;

        Assert.Equal(2, output.Count);
        Assert.Equal(_session.Runspace.SessionStateProxy.GetVariable("a"), AsBatch(output[0]).Id);
        Assert.Equal(_session.Runspace.SessionStateProxy.GetVariable("b"), AsBatch(output[1]).Id);
        var error = SingleError(ps, "DhubBatchNotFound", ErrorCategory.ObjectNotFound);
        Assert.Equal("batch-missing", error.TargetObject);
        Assert.Contains("Batch 'batch-missing' not found in pipeline 'orders'", error.Exception.Message);
    }

    [Fact]
    public void Piped_pipeline_ids_continue_after_a_failing_one()
    {
        State.StepDuration = TimeSpan.Zero;
        State.Dhub.CreateBatch("orders");
        State.Dhub.CreateBatch("inventory");

        var (ps, output) = Run(Connect + "'orders', 'nope', 'inventory' | Get-DhubBatch");
        using var _ = ps;

        Assert.Equal(new[] { "orders", "inventory" }, output.Select(o => AsBatch(o).PipelineId));
        Assert.Equal("nope", SingleError(ps, "DhubPipelineNotFound", ErrorCategory.ObjectNotFound).TargetObject);
    }

    [Theory]
    [InlineData("Get-DhubBatch -PipelineId orders -BatchId '..'")]
    [InlineData("Get-DhubBatch -PipelineId '.'")]
    [InlineData("Stop-DhubBatch -PipelineId '..' -BatchId b -Confirm:$false")]
    [InlineData("Start-DhubBatch -PipelineId orders -Parameter @{ a = 1 }")]
    public void Invalid_input_is_BadRequest_before_any_request(string command)
    {
        var (ps, _) = Run(Connect + command);
        using var __ = ps;
        var before = Requests().Count; // Connect-Dhub's check only

        SingleError(ps, "DhubBadRequest", ErrorCategory.InvalidArgument);
        Assert.Equal(1, before);
        Assert.Equal(0, State.Dhub.CreatedCount("orders"));
    }

    [Fact]
    public void Server_errors_map_to_ids_categories_and_targets()
    {
        State.AddPipeline("slow", TimeSpan.FromSeconds(30));
        var id = State.Dhub.CreateBatch("slow");
        _session.Set("id", id);
        State.AddFault(new FaultRule { Method = "PUT", Status = 409, Times = 0, Body = "{\"message\":\"batch is busy\"}" });
        State.AddFault(new FaultRule { Method = "DELETE", Status = 403, Times = 0, Body = "{\"message\":\"not your batch\"}" });
        State.AddFault(new FaultRule { Method = "GET", PathPattern = "^/api/v1/batches/inventory$", Status = 503, Times = 0 });

        var (stop, _) = Run(Connect + "Stop-DhubBatch -PipelineId slow -BatchId $id -Confirm:$false");
        var (remove, _) = Run("Remove-DhubBatch -PipelineId slow -BatchId $id -Force");
        var (busy, _) = Run("Get-DhubBatch -PipelineId inventory");
        using var a = stop;
        using var b = remove;
        using var c = busy;

        var conflict = SingleError(stop, "DhubConflict", ErrorCategory.InvalidOperation);
        Assert.Contains("PUT /api/v1/batches/slow/" + id + "/stop -> 409", conflict.Exception.Message);
        Assert.Contains("batch is busy", conflict.Exception.Message);
        var forbidden = SingleError(remove, "DhubForbidden", ErrorCategory.PermissionDenied);
        Assert.Contains("not your batch", forbidden.Exception.Message);
        var unavailable = SingleError(busy, "DhubServiceUnavailable", ErrorCategory.ConnectionError);
        Assert.Equal("inventory", unavailable.TargetObject);
        Assert.Equal(3, Requests("GET").Count(r => r.PathSegments.Count == 4 && r.PathSegments[3] == "inventory"));
    }

    [Fact]
    public void Wrong_token_on_connect_is_Unauthorized()
    {
        _session.Set("bad", Secure("wrong-token-1"));

        var (ps, _) = Run("Connect-Dhub -Uri $uri -Token $bad; Get-DhubConnection");
        using var __ = ps;

        var error = SingleError(ps, "DhubUnauthorized", ErrorCategory.AuthenticationError);
        Assert.Contains("401", error.Exception.Message);
        Assert.Equal(Fixture.BaseUri, error.TargetObject);
    }

    [Fact]
    public void Start_IfActive_Fail_and_Skip()
    {
        State.AddPipeline("slow", TimeSpan.FromSeconds(30));
        var active = State.Dhub.CreateBatch("slow");

        var (fail, failOut) = Run(Connect + "Start-DhubBatch -PipelineId slow -IfActive Fail");
        var (skip, skipOut) = Run("Start-DhubBatch -PipelineId slow -IfActive Skip");
        using var a = fail;
        using var b = skip;

        Assert.Empty(failOut);
        var error = SingleError(fail, "DhubBatchActive", ErrorCategory.ResourceExists);
        Assert.Equal("slow", error.TargetObject);
        Assert.Contains(active, error.Exception.Message);
        Assert.Equal(active, AsBatch(Assert.Single(skipOut)).Id);
        Assert.Equal(1, State.Dhub.CreatedCount("slow")); // only the one created above
    }

    [Fact]
    public void Wait_timeout_outputs_the_batch_and_a_timeout_error()
    {
        State.AddPipeline("slow", TimeSpan.FromSeconds(30));
        _session.Set("id", State.Dhub.CreateBatch("slow"));

        var clock = Stopwatch.StartNew();
        var (ps, output) = Run(Connect + "Wait-DhubBatch -PipelineId slow -BatchId $id -Timeout 1 -PollingInterval 0.2; \"ok=$?\"");
        clock.Stop();
        using var _ = ps;

        var batch = AsBatch(output[0]);
        Assert.False(batch.IsComplete);
        Assert.Equal("ok=False", output[1].BaseObject);
        var error = SingleError(ps, "DhubWaitTimeout", ErrorCategory.OperationTimeout);
        Assert.Equal(batch.Id, Assert.IsType<Batch>(error.TargetObject).Id);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
    }

    [Fact]
    public void Failed_batch_is_output_with_a_BatchFailed_error()
    {
        var (ps, output) = Run(Connect + "Start-DhubBatch -PipelineId failing-pipeline -Wait -PollingInterval 0.1 -Timeout 30");
        using var _ = ps;

        var batch = AsBatch(Assert.Single(output));
        Assert.Equal(BatchOutcome.Failed, batch.Outcome);
        var error = SingleError(ps, "DhubBatchFailed", ErrorCategory.InvalidResult);
        Assert.Same(batch, error.TargetObject);
        Assert.Contains("transform", error.Exception.Message);
    }

    [Fact]
    public void Not_connected_is_a_terminating_error_that_says_how_to_connect()
    {
        // Clear every variable a connection can come from (restored below), so the test always checks something.
        var names = new[] { "DHUB_API_URL", "DHUB_API_TOKEN", "PREFECT_API_URL", "PREFECT_API_KEY", "PREFECT_API_AUTH_STRING", "PREFECT_PROFILE", "PREFECT_PROFILES_PATH" };
        var previous = names.ToDictionary(n => n, Environment.GetEnvironmentVariable);
        foreach (var name in names)
        {
            Environment.SetEnvironmentVariable(name, null);
        }
        Environment.SetEnvironmentVariable("PREFECT_PROFILES_PATH", System.IO.Path.Combine(System.IO.Path.GetTempPath(), "no-such-dir-" + Guid.NewGuid().ToString("N"), "profiles.toml"));
        try
        {
            var (ps, output) = Run("Get-DhubBatch -PipelineId orders, inventory");
            using var _ = ps;

            Assert.Empty(output);
            var error = SingleError(ps, "DhubNotConnected", ErrorCategory.ConnectionError);
            Assert.Contains("Connect-Dhub", error.Exception.Message);
            Assert.Empty(Requests());
        }
        finally
        {
            foreach (var pair in previous)
            {
                Environment.SetEnvironmentVariable(pair.Key, pair.Value);
            }
        }
    }

    [Fact]
    public void Stop_during_wait_returns_within_a_second_stops_polling_and_the_runspace_stays_usable()
    {
        State.AddPipeline("slow", TimeSpan.FromSeconds(30));
        var id = State.Dhub.CreateBatch("slow");
        _session.Set("id", id);
        using (var connect = _session.Prepare(Connect))
        {
            connect.Invoke();
            Assert.Empty(connect.Streams.Error);
        }
        // The first poll answers at once, the second stalls for 10 s: Stop arrives while an HTTP call is in flight.
        var stall = State.AddFault(new FaultRule { Method = "GET", PathPattern = "^/api/v1/batches/slow/", Mode = FaultMode.Delay, DelayMs = 10_000, Skip = 1, Times = 0 });
        var ps = _session.Prepare("Wait-DhubBatch -PipelineId slow -BatchId $id -PollingInterval 0.1");
        var async = ps.BeginInvoke();
        Assert.True(SpinWait.SpinUntil(() => stall.Hits >= 1, TimeSpan.FromSeconds(10)), "the wait never polled twice");
        Thread.Sleep(200);

        var clock = Stopwatch.StartNew();
        ps.Stop();
        clock.Stop();
        var stoppedAt = DateTimeOffset.UtcNow;

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"Stop took {clock.Elapsed}");
        Assert.Equal(PSInvocationState.Stopped, ps.InvocationStateInfo.State);
        Assert.True(async.IsCompleted);
        Thread.Sleep(2000);
        var late = Requests().Where(r => r.PathSegments.Contains(id) && r.Timestamp > stoppedAt).ToList();
        Assert.Empty(late);
        Assert.Equal(1, stall.Hits);
        ps.Dispose();

        State.ClearFaults();
        var (next, output) = Run("Get-DhubBatch -PipelineId slow -BatchId $id");
        using var _ = next;
        Assert.Empty(next.Streams.Error);
        Assert.Equal(id, AsBatch(Assert.Single(output)).Id);
    }

    [Fact]
    public void Verbose_shows_one_line_per_http_call_with_method_url_status_and_ms()
    {
        State.StepDuration = TimeSpan.Zero;
        State.Dhub.CreateBatch("orders");
        State.Dhub.CreateBatch("orders");
        State.AddFault(new FaultRule { Method = "GET", PathPattern = "^/api/v1/batches/orders$", Status = 503, Times = 1 });
        using (var connect = _session.Prepare(Connect))
        {
            connect.Invoke();
        }
        State.ClearRequests();

        var (ps, output) = Run("Get-DhubBatch -PipelineId orders -Verbose; Get-DhubBatch -PipelineId orders -All -PageSize 1 -Verbose");
        using var _ = ps;

        Assert.Empty(ps.Streams.Error);
        Assert.Equal(3, output.Count);
        var http = new Regex(@"^(GET|POST|PUT|DELETE) http://127\.0\.0\.1:\d+/api/v1/batches/orders\S* -> (\d{3})\b.*\(\d+ ms\)$");
        var lines = ps.Streams.Verbose.Select(v => v.Message).Where(m => http.IsMatch(m)).ToList();
        var requests = Requests();
        Assert.Equal(requests.Count, lines.Count); // 503 + retry, then two pages
        Assert.Equal(4, lines.Count);
        Assert.Equal(requests.Select(r => r.Status.ToString()), lines.Select(l => http.Match(l).Groups[2].Value));
        Assert.Contains(ps.Streams.Verbose, v => v.Message.StartsWith("Retrying GET /api/v1/batches/orders", StringComparison.Ordinal));
    }

    [Fact]
    public void Secret_token_never_appears_in_any_stream_on_success()
    {
        const string marker = "MARKER-5e3c-secret-token-value";
        State.Dhub.Token = marker;
        _session.Set("tok", Secure(marker));

        var (ps, output) = Run("""
            $c = Connect-Dhub -Uri $uri -Token $tok -RetryIntervalSec 0 -PassThru -Verbose -Debug
            $c
            $c | Format-List * | Out-String
            $c | ConvertTo-Json -Depth 4
            "$c"
            $b = Start-DhubBatch -PipelineId orders -Verbose -Debug
            $b | ConvertTo-Json -Depth 6
            Get-DhubBatch -PipelineId orders -All -Verbose -Debug | Format-List * | Out-String
            Wait-DhubBatch -InputObject $b -PollingInterval 0.1 -Timeout 30 -Verbose -Debug
            Get-DhubConnection | Format-List * | Out-String
            Get-DhubBatch -PipelineId orders -BatchId missing -Verbose -Debug
            Write-Information (Get-DhubConnection | Out-String)
            """);
        using var _ = ps;

        Assert.NotEmpty(ps.Streams.Verbose);
        Assert.Single(ps.Streams.Error); // the missing batch, so error text is checked too
        var text = PowerShellSession.AllText(ps, output).ToList();
        Assert.Contains(text, t => t.Contains("/api/v1/batches/orders"));
        Assert.DoesNotContain(text, t => t.Contains(marker));
    }

    [Fact]
    public void Secret_token_never_appears_in_any_stream_on_401()
    {
        const string marker = "MARKER-91aa-rejected-token";
        _session.Set("bad", Secure(marker));
        _session.Set("good", Secure(EmulatorFixture.Token));

        var (ps, output) = Run("""
            Connect-Dhub -Uri $uri -Token $bad -RetryIntervalSec 0 -Verbose -Debug
            Connect-Dhub -Uri $uri -Token $good -RetryIntervalSec 0
            """);
        using var _ = ps;
        State.Dhub.Token = "rotated-on-the-server";
        _session.Set("tok", Secure(EmulatorFixture.Token));
        var (later, laterOutput) = Run("Get-DhubBatch -PipelineId orders -Verbose -Debug");
        using var __ = later;

        SingleError(ps, "DhubUnauthorized", ErrorCategory.AuthenticationError);
        SingleError(later, "DhubUnauthorized", ErrorCategory.AuthenticationError);
        Assert.DoesNotContain(PowerShellSession.AllText(ps, output), t => t.Contains(marker));
        Assert.DoesNotContain(PowerShellSession.AllText(later, laterOutput), t => t.Contains(EmulatorFixture.Token));
    }

    [Fact]
    public void Csv_export_has_readable_cells_without_type_names()
    {
        State.StepDuration = TimeSpan.Zero;
        State.Dhub.CreateBatch("orders");

        var (ps, output) = Run(Connect + """
            $b = Get-DhubBatch -PipelineId orders
            $b | ConvertTo-Csv -NoTypeInformation
            '---'
            $b | ForEach-Object Steps | ConvertTo-Csv -NoTypeInformation
            '---'
            $b.Steps[0].Offsets.partition_0
            ($b | Where-Object State -eq 'stop').Id
            """);
        using var _ = ps;

        Assert.Empty(ps.Streams.Error);
        var lines = output.Select(o => o.ToString()).ToList();
        var csv = string.Join("\n", lines);
        Assert.DoesNotContain("DhubBatches.", csv);
        Assert.DoesNotContain("System.", csv);
        Assert.Contains("extract=success; transform=success; load=success", csv);
        Assert.Contains("partition_0=1000; partition_1=500", csv);
        var stepRows = lines.SkipWhile(l => l != "---").Skip(1).TakeWhile(l => l != "---").ToList();
        Assert.Equal(4, stepRows.Count); // header + three steps
        Assert.Equal("1000", lines[^2]);
        Assert.StartsWith("batch-", lines[^1]);
    }

    [Fact]
    public void All_with_First_and_Skip_fetches_no_more_than_it_needs()
    {
        State.Dhub.Seed("inventory", 25);
        using (var connect = _session.Prepare(Connect))
        {
            connect.Invoke();
        }
        State.ClearRequests();

        var (first, firstOut) = Run("Get-DhubBatch -PipelineId inventory -All -First 5");
        var firstRequests = Requests();
        State.ClearRequests();
        var (paged, pagedOut) = Run("Get-DhubBatch -PipelineId inventory -All -PageSize 4 -Skip 3 -First 6");
        var pagedRequests = Requests();
        var (all, allOut) = Run("Get-DhubBatch -PipelineId inventory -All -PageSize 10");
        using var a = first;
        using var b = paged;
        using var c = all;

        Assert.Equal(5, firstOut.Count);
        var single = Assert.Single(firstRequests);
        Assert.Contains("limit=5", single.RawTarget);
        Assert.Equal(6, pagedOut.Count);
        Assert.Equal(3, pagedRequests.Count); // 9 items needed, 4 per page
        Assert.Equal(25, allOut.Count);
        var everyId = allOut.Select(o => AsBatch(o).Id).ToList();
        Assert.Equal(everyId.Take(5), firstOut.Select(o => AsBatch(o).Id));
        Assert.Equal(everyId.Skip(3).Take(6), pagedOut.Select(o => AsBatch(o).Id));
    }

    [Fact]
    public void Start_with_WhatIf_sends_nothing()
    {
        var (ps, output) = Run(Connect + "Start-DhubBatch -PipelineId orders -WhatIf");
        using var _ = ps;

        Assert.Empty(output);
        Assert.Empty(ps.Streams.Error);
        Assert.Empty(Requests("POST"));
        Assert.Equal(0, State.Dhub.CreatedCount("orders"));
    }
}
