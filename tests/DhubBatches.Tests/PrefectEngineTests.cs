using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Threading;
using DhubBatches.Emulator.Faults;
using DhubBatches.Contract;
using Xunit;

namespace DhubBatches.Tests;

/// <summary>
/// The Prefect engine over real HTTP against the emulator's Prefect API (docs/prefect.md; each test names the behaviour it
/// checks). The emulator runs on a manual clock, so flow-run lifecycles move only when a test advances it.
/// </summary>
public sealed class PrefectEngineTests : PrefectTestBase
{
    private static readonly Regex GuidPattern = new("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$");

    public PrefectEngineTests(ManualClockEmulatorFixture fixture)
        : base(fixture)
    {
    }

    private static Task<T> Ok<T>(Func<CancellationToken, Task<T>> call) => call(CancellationToken.None);

    // ---- connection checks and authentication ----

    [Fact]
    public async Task S3_verify_on_a_self_hosted_server_calls_admin_version()
    {
        using var engine = NewEngine();

        await engine.VerifyAsync(CancellationToken.None);

        var request = Assert.Single(Prefect());
        Assert.Equal("GET", request.Method);
        Assert.Equal("admin/version", Route(request));
        Assert.Equal(200, request.Status);
        Assert.Equal("absent", request.Authorization);
    }

    [Fact]
    public async Task S2_1_bearer_api_key_is_sent_and_a_wrong_key_is_DhubUnauthorized()
    {
        State.Prefect.ApiKey = "pnu_right-key";
        using var good = NewEngine(s => { s.Authentication = AuthenticationKind.Bearer; s.Secret = EmulatorTestBase.Secure("pnu_right-key"); });
        using var bad = NewEngine(s => { s.Authentication = AuthenticationKind.Bearer; s.Secret = EmulatorTestBase.Secure("pnu_wrong-key"); });
        using var none = NewEngine();

        await good.VerifyAsync(CancellationToken.None);
        var wrong = await Assert.ThrowsAsync<DhubException>(() => bad.VerifyAsync(CancellationToken.None));
        var missing = await Assert.ThrowsAsync<DhubException>(() => none.VerifyAsync(CancellationToken.None));

        Assert.Equal(DhubErrorKind.DhubUnauthorized, wrong.Kind);
        Assert.Equal(DhubErrorKind.DhubUnauthorized, missing.Kind);
        Assert.Contains("Unauthorized", wrong.Message); // exception_message of the 401 body
        Assert.DoesNotContain("pnu_wrong-key", wrong.ToString());
        Assert.Equal(new[] { 200, 401, 401 }, Prefect().Select(r => r.Status));
        Assert.Equal(new[] { "present", "present", "absent" }, Prefect().Select(r => r.Authorization));
    }

    [Fact]
    public async Task S2_2_basic_auth_string_is_sent_and_wrong_credentials_are_DhubUnauthorized()
    {
        State.Prefect.AuthString = "admin:s3cret-pass";
        using var good = NewEngine(s => { s.Authentication = AuthenticationKind.Basic; s.Secret = EmulatorTestBase.Secure("admin:s3cret-pass"); });
        using var bad = NewEngine(s => { s.Authentication = AuthenticationKind.Basic; s.Secret = EmulatorTestBase.Secure("admin:wrong"); });

        await good.VerifyAsync(CancellationToken.None);
        State.StepDuration = TimeSpan.Zero;
        await good.StartAsync(new StartRequest("orders"), CancellationToken.None);
        var ex = await Assert.ThrowsAsync<DhubException>(() => bad.VerifyAsync(CancellationToken.None));

        Assert.Equal(DhubErrorKind.DhubUnauthorized, ex.Kind);
        Assert.Equal(401, ex.StatusCode);
        Assert.DoesNotContain("wrong", ex.Message);
        Assert.All(Prefect().Where(r => Route(r) != "csrf-token").Take(3), r => Assert.True(r.Status is >= 200 and < 300, $"{r.Method} {r.RawTarget} -> {r.Status}"));
    }

    // ---- start ----

    [Fact]
    public async Task S4_start_resolves_the_deployment_once_and_caches_its_id()
    {
        using var engine = NewEngine();

        var first = await engine.StartAsync(new StartRequest("orders"), CancellationToken.None);
        var second = await engine.StartAsync(new StartRequest("orders"), CancellationToken.None);

        Assert.NotEqual(first.Id, second.Id);
        var lookup = Assert.Single(Prefect("GET"), r => Route(r) != "csrf-token");
        Assert.Equal(new[] { "prefect", "api", "deployments", "name", "run-pipeline", "orders" }, lookup.PathSegments);
        // Besides the creates, one read of the deployment's expected steps, shared by both starts.
        Assert.Single(Prefect("POST"), r => Route(r) == "task_runs/filter");
        var creates = Prefect("POST").Where(r => Route(r) != "task_runs/filter").ToList();
        Assert.Equal(2, creates.Count);
        Assert.All(creates, c =>
        {
            Assert.Equal("deployments/" + State.Prefect.DeploymentId("orders") + "/create_flow_run", Route(c));
            Assert.Equal(201, c.Status);
        });
        Assert.Equal("run-pipeline/orders", first.Deployment);
        Assert.Equal(BatchState.Scheduled, first.State);
        Assert.Equal(BackendKind.Prefect, engine.Backend);
    }

    [Fact]
    public async Task S5_2_idempotency_key_names_the_pipeline_and_a_retried_create_returns_the_same_run()
    {
        State.AddFault(new FaultRule { Method = "POST", PathPattern = "/create_flow_run$", Mode = FaultMode.ApplyThenDrop, Times = 1 });
        using var engine = NewEngine();

        var batch = await engine.StartAsync(new StartRequest("orders"), CancellationToken.None);

        var counts = State.Prefect.Counts("orders");
        Assert.Equal(1, counts.Runs);
        Assert.Equal(1, counts.Created);
        Assert.Equal(1, counts.IdempotentRepeats);
        var creates = Prefect("POST").Where(r => Route(r).EndsWith("/create_flow_run", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, creates.Count);
        Assert.True(creates[0].Aborted);
        Assert.Equal(200, creates[1].Status); // the existing run, 200 not 201
        var keys = Bodies("/create_flow_run").Select(b => b.GetProperty("idempotency_key").GetString()!).ToList();
        Assert.Equal(2, keys.Count);
        Assert.Equal(keys[0], keys[1]);
        Assert.Matches("^orders:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", keys[0]);
        Assert.Equal("SCHEDULED", State.Prefect.RunStateType(batch.Id));

        // A second start is a new logical call: a new key, a new run.
        await engine.StartAsync(new StartRequest("orders"), CancellationToken.None);
        var third = Bodies("/create_flow_run")[2].GetProperty("idempotency_key").GetString();
        Assert.NotEqual(keys[0], third);
        Assert.Equal(2, State.Prefect.Counts("orders").Runs);
    }

    [Fact]
    public async Task S5_3_pipeline_version_goes_into_parameters_and_a_pv_tag()
    {
        using var engine = NewEngine();

        await engine.StartAsync(
            new StartRequest("open-pipeline") { PipelineVersion = "1.4.2", Parameters = new Dictionary<string, object?> { ["full_refresh"] = false } },
            CancellationToken.None);
        await engine.StartAsync(new StartRequest("open-pipeline"), CancellationToken.None);

        var bodies = Bodies("/create_flow_run");
        var withVersion = bodies[0];
        Assert.Equal("1.4.2", withVersion.GetProperty("parameters").GetProperty("pipeline_version").GetString());
        Assert.Equal(JsonValueKind.False, withVersion.GetProperty("parameters").GetProperty("full_refresh").ValueKind);
        Assert.Equal(new[] { "pv:1.4.2" }, withVersion.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        // what is not set is left out, never null.
        var plain = bodies[1];
        Assert.False(plain.TryGetProperty("parameters", out _));
        Assert.False(plain.TryGetProperty("tags", out _));
        Assert.Equal(new[] { "idempotency_key" }, plain.EnumerateObject().Select(p => p.Name));
    }

    // ---- lists ----

    [Fact]
    public async Task S6_1_latest_sorts_by_expected_start_time_desc_with_limit_1()
    {
        using var engine = NewEngine();
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add((await engine.StartAsync(new StartRequest("orders"), CancellationToken.None)).Id);
            Clock.Advance(TimeSpan.FromSeconds(1));
        }

        var latest = await engine.GetLatestAsync("orders", CancellationToken.None);

        Assert.Equal(ids[2], latest.Id);
        var query = Assert.Single(Bodies("/flow_runs/filter"));
        Assert.Equal("EXPECTED_START_TIME_DESC", query.GetProperty("sort").GetString());
        Assert.Equal(1, query.GetProperty("limit").GetInt32());
        Assert.Equal(State.Prefect.DeploymentId("orders"),
            Assert.Single(query.GetProperty("flow_runs").GetProperty("deployment_id").GetProperty("any_").EnumerateArray()).GetString());
    }

    [Fact]
    public async Task S6_1_pages_have_at_most_200_items_use_offsets_and_skip_on_the_server()
    {
        State.Prefect.Seed("inventory", 450);
        using var engine = NewEngine();

        var all = new List<BatchSnapshot>();
        var request = new BatchPageRequest { Limit = 1000 };
        var pages = 0;
        while (true)
        {
            var page = await engine.GetPageAsync("inventory", request, CancellationToken.None);
            Assert.True(page.Items.Count <= 200);
            all.AddRange(page.Items);
            pages++;
            if (page.Continuation == null)
            {
                break;
            }
            Assert.True(pages < 10, "paging did not end");
            request = new BatchPageRequest { Limit = 1000, Continuation = page.Continuation };
        }

        Assert.Equal(3, pages);
        Assert.Equal(450, all.Count);
        Assert.Equal(450, all.Select(b => b.Id).Distinct().Count());
        var runQueries = Bodies("/flow_runs/filter");
        Assert.Equal(new[] { 0, 200, 400 }, runQueries.Select(q => q.GetProperty("offset").GetInt32()));
        Assert.All(runQueries, q => Assert.Equal(200, q.GetProperty("limit").GetInt32()));
        Assert.All(runQueries, q => Assert.Equal("EXPECTED_START_TIME_DESC", q.GetProperty("sort").GetString()));
        // Every filter the engine sent (flow runs, task runs, artifacts) stays within Prefect's cap.
        Assert.All(State.Prefect.RequestBodies, b =>
        {
            using var doc = JsonDocument.Parse(b.Body);
            if (doc.RootElement.TryGetProperty("limit", out var limit))
            {
                Assert.InRange(limit.GetInt32(), 1, 200);
            }
        });
        Assert.DoesNotContain(Prefect(), r => r.Status == 422 && Route(r) != "csrf-token"); // that 422 only says "no CSRF"
        Assert.All(all, b => Assert.Equal(3, b.Steps.Count));

        State.ClearRequests();
        var skipped = await engine.GetPageAsync("inventory", new BatchPageRequest { Limit = 10, Skip = 5 }, CancellationToken.None);
        Assert.Equal(5, skipped.Skipped);
        Assert.Equal(all.Skip(5).Take(10).Select(b => b.Id), skipped.Items.Select(b => b.Id));
        Assert.Equal("15", skipped.Continuation);
        var skipQuery = Bodies("/flow_runs/filter").Last();
        Assert.Equal(5, skipQuery.GetProperty("offset").GetInt32());
        Assert.Equal(10, skipQuery.GetProperty("limit").GetInt32());
    }

    [Fact]
    public async Task S6_2_count_is_exact_and_per_deployment()
    {
        State.Prefect.Seed("sales-pipeline", 37);
        State.Prefect.Seed("inventory", 5);
        using var engine = NewEngine();

        Assert.Equal(37, await engine.CountAsync("sales-pipeline", CancellationToken.None));
        Assert.Equal(5, await engine.CountAsync("inventory", CancellationToken.None));
        Assert.Equal(0, await engine.CountAsync("orders", CancellationToken.None));

        var count = Bodies("/flow_runs/count").First();
        Assert.Equal(new[] { "flow_runs" }, count.EnumerateObject().Select(p => p.Name)); // no sort/limit/offset
    }

    // ---- one run with its steps ----

    [Fact]
    public async Task S7_S8_one_get_costs_a_bounded_number_of_requests()
    {
        State.Prefect.Seed("orders", 3);
        string id;
        using (var finder = NewEngine())
        {
            id = (await finder.GetLatestAsync("orders", CancellationToken.None)).Id;
        }
        State.ClearRequests();
        using var engine = NewEngine();

        var batch = await engine.GetAsync("orders", id, CancellationToken.None);

        Assert.Equal(3, batch.Steps.Count); // three steps, yet not a request per step
        // The one-off CSRF probe of a new connection is not part of reading a batch.
        var requests = Prefect().Where(r => Route(r) != "csrf-token").ToList();
        Assert.True(requests.Count <= 4, string.Join(", ", requests.Select(r => r.Method + " " + Route(r))));
        State.ClearRequests();
        await engine.GetAsync("orders", id, CancellationToken.None);
        Assert.True(Prefect().Count <= 3, "the deployment id is cached");
    }

    [Fact]
    public async Task S8_steps_from_task_runs_current_run_count_names_without_dynamic_key_and_grouped_state()
    {
        using var engine = NewEngine();
        var run = await engine.StartAsync(new StartRequest("orders"), CancellationToken.None);
        var deploymentId = State.Prefect.DeploymentId("orders");
        var r = run.Id;
        State.AddFault(new FaultRule
        {
            Method = "GET", PathPattern = "^/prefect/api/flow_runs/" + r + "$", Status = 200, Times = 0,
            Body = $$"""{"id":"{{r}}","deployment_id":"{{deploymentId}}","state_type":"RUNNING","state_name":"Retrying","run_count":2,"start_time":"2026-08-21T10:00:07.4Z","end_time":null,"future":{"x":1} }""",
        });
        string Task(string id, string name, string key, string state, int attempt, int minute) =>
            "{\"id\":\"" + id + "\",\"name\":\"" + name + "\",\"flow_run_id\":\"" + r + "\",\"dynamic_key\":\"" + key
            + "\",\"state_type\":\"" + state + "\",\"flow_run_run_count\":" + attempt
            + ",\"expected_start_time\":\"2026-08-21T10:" + minute.ToString("00", System.Globalization.CultureInfo.InvariantCulture) + ":00Z\",\"task_key\":\"t-1a2b\"}";
        var tasks = new[]
        {
            Task("00000000-0000-4000-8000-000000000003", "load_partition-0", "0", "COMPLETED", 2, 3),
            Task("00000000-0000-4000-8000-000000000001", "extract-0", "0", "FAILED", 1, 1),
            Task("00000000-0000-4000-8000-000000000002", "extract-0", "0", "COMPLETED", 2, 2),
            Task("00000000-0000-4000-8000-000000000004", "load_partition-1", "1", "FAILED", 2, 4),
            Task("00000000-0000-4000-8000-000000000005", "map-0", "0", "COMPLETED", 2, 5),
            Task("00000000-0000-4000-8000-000000000006", "map-1", "1", "RUNNING", 2, 6),
            Task("00000000-0000-4000-8000-000000000007", "wait-0", "0", "COMPLETED", 2, 7),
            Task("00000000-0000-4000-8000-000000000008", "wait-1", "1", "SCHEDULED", 2, 8),
            Task("00000000-0000-4000-8000-000000000009", "partition_0", "0", "COMPLETED", 2, 9),
            Task("00000000-0000-4000-8000-000000000010", "old_only-0", "0", "FAILED", 1, 0),
        };
        State.AddFault(new FaultRule { Method = "POST", PathPattern = "^/prefect/api/task_runs/filter$", Status = 200, Times = 0, Body = "[" + string.Join(",", tasks) + "]" });
        string Artifact(string task, string type, string created, string data) =>
            $$"""{"id":"{{Guid.NewGuid()}}","created":"{{created}}","key":"orders-offsets","type":"{{type}}","data":{{data}},"metadata_":{},"flow_run_id":"{{r}}","task_run_id":"{{task}}"}""";
        var artifacts = new[]
        {
            Artifact("00000000-0000-4000-8000-000000000002", "result", "2026-08-21T10:10:00Z", "\"/storage/abc\""),
            Artifact("00000000-0000-4000-8000-000000000002", "offsets", "2026-08-21T10:00:00Z", "\"{\\\"partition_0\\\": 5}\""),
            Artifact("00000000-0000-4000-8000-000000000002", "offsets", "2026-08-21T10:05:00Z", "{\"partition_0\":1000,\"partition_1\":500}"),
            Artifact("00000000-0000-4000-8000-000000000003", "offsets", "2026-08-21T10:05:00Z", "\"{\\\"partition_0\\\": 7}\""),
            Artifact("00000000-0000-4000-8000-000000000004", "offsets", "2026-08-21T10:06:00Z", "{\"partition_1\":3}"),
            Artifact("00000000-0000-4000-8000-000000000001", "offsets", "2026-08-21T10:06:00Z", "{\"partition_9\":1}"),
            Artifact("00000000-0000-4000-8000-000000000005", "offsets", "2026-08-21T10:06:00Z", "\"# markdown, not offsets\""),
        };
        State.AddFault(new FaultRule { Method = "POST", PathPattern = "^/prefect/api/artifacts/filter$", Status = 200, Times = 0, Body = "[" + string.Join(",", artifacts) + "]" });

        var batch = await engine.GetAsync("orders", r, CancellationToken.None);

        // A step that ran only in an earlier attempt shows its newest task run; steps in order of their first expected start.
        Assert.Equal(new[] { "old_only", "extract", "load_partition", "map", "wait", "partition_0" }, batch.Steps.Select(s => s.Name));
        Assert.Equal(new[] { StepState.Failed, StepState.Success, StepState.Failed, StepState.Running, StepState.Pending, StepState.Success }, batch.Steps.Select(s => s.State));
        Assert.Equal("partition_0=1000; partition_1=500", batch.Steps[1].OffsetSummary()); // newest offsets artifact wins; results ignored
        Assert.Equal("partition_0=7; partition_1=3", batch.Steps[2].OffsetSummary());
        Assert.Empty(batch.Steps[3].Offsets);
        Assert.Equal("RUNNING/Retrying", batch.EngineState);
        Assert.Equal(BatchState.Running, batch.State);
        Assert.Equal(BatchOutcome.InProgress, batch.Outcome);
        Assert.False(batch.IsComplete);
    }

    [Theory]
    [InlineData("orders")] // data stored as a JSON string, as Prefect's SDK helpers do
    [InlineData("object-data-x")] // data stored as a JSON object (a raw ArtifactCreate)
    public async Task S8_2_offsets_are_read_from_string_and_object_data(string pipeline)
    {
        State.AddPipeline(pipeline);
        State.Prefect.Seed(pipeline, 2);
        using var engine = NewEngine();

        var batch = await engine.GetLatestAsync(pipeline, CancellationToken.None);

        Assert.Equal(BatchOutcome.Succeeded, batch.Outcome);
        Assert.True(batch.IsComplete);
        Assert.Equal(new[] { "extract", "transform", "load" }, batch.Steps.Select(s => s.Name));
        Assert.All(batch.Steps, s =>
        {
            Assert.Equal(StepState.Success, s.State);
            Assert.Equal("partition_0=1000; partition_1=500", s.OffsetSummary());
        });
        var artifactQuery = Assert.Single(Bodies("/artifacts/filter"));
        Assert.Equal("offsets", Assert.Single(artifactQuery.GetProperty("artifacts").GetProperty("type").GetProperty("any_").EnumerateArray()).GetString());
    }

    // ---- stop ----

    private void AssertCancellingProposals(int expected)
    {
        var calls = State.Prefect.SetStateCalls;
        Assert.Equal(expected, calls.Count);
        Assert.All(calls, c =>
        {
            Assert.Equal("CANCELLING", c.ProposedType);
            Assert.Matches(GuidPattern, c.TransitionId!);
        });
        Assert.Equal(calls.Count, calls.Select(c => c.TransitionId).Distinct().Count());
        Assert.All(Bodies("/set_state"), b => Assert.Equal(JsonValueKind.False, b.GetProperty("force").ValueKind));
    }

    [Fact]
    public async Task S9_stop_of_a_scheduled_run_is_REJECT_to_CANCELLED_and_reported_as_stopped()
    {
        using var engine = NewEngine();
        var run = await engine.StartAsync(new StartRequest("orders"), CancellationToken.None);

        var outcome = await engine.StopAsync("orders", run.Id, CancellationToken.None);

        Assert.Equal(StopOutcome.Stopped, outcome);
        Assert.Equal("REJECT", Assert.Single(State.Prefect.SetStateCalls).Status);
        Assert.Equal("CANCELLED", State.Prefect.RunStateType(run.Id));
        AssertCancellingProposals(1);
        var after = await engine.GetAsync("orders", run.Id, CancellationToken.None);
        Assert.Equal(BatchOutcome.Stopped, after.Outcome);
        Assert.True(after.IsComplete);
    }

    [Fact]
    public async Task S9_stop_of_a_running_run_is_ACCEPT_requested_and_later_CANCELLED()
    {
        using var engine = NewEngine();
        var run = await engine.StartAsync(new StartRequest("orders"), CancellationToken.None);
        Clock.Advance(Step * 2.5);
        Assert.Equal("RUNNING", State.Prefect.RunStateType(run.Id));

        var outcome = await engine.StopAsync("orders", run.Id, CancellationToken.None);

        Assert.Equal(StopOutcome.Requested, outcome);
        Assert.Equal("ACCEPT", Assert.Single(State.Prefect.SetStateCalls).Status);
        var cancelling = await engine.GetAsync("orders", run.Id, CancellationToken.None);
        Assert.Equal("CANCELLING", cancelling.EngineState);
        Assert.Equal(BatchState.Running, cancelling.State);
        Assert.False(cancelling.IsComplete);
        Clock.Advance(Step); // the simulated worker tears down
        var cancelled = await engine.GetAsync("orders", run.Id, CancellationToken.None);
        Assert.Equal("CANCELLED", cancelled.EngineState);
        Assert.Equal(BatchOutcome.Stopped, cancelled.Outcome);
        AssertCancellingProposals(1);
    }

    [Fact]
    public async Task S9_stop_of_a_finished_run_is_ABORT_already_finished()
    {
        using var engine = NewEngine();
        var run = await engine.StartAsync(new StartRequest("orders"), CancellationToken.None);
        Clock.Advance(Step * 6);
        Assert.Equal("COMPLETED", State.Prefect.RunStateType(run.Id));

        var outcome = await engine.StopAsync("orders", run.Id, CancellationToken.None);

        Assert.Equal(StopOutcome.AlreadyFinished, outcome);
        Assert.Equal("ABORT", Assert.Single(State.Prefect.SetStateCalls).Status);
        Assert.Equal("COMPLETED", State.Prefect.RunStateType(run.Id));
    }

    [Fact]
    public async Task S9_WAIT_is_proposed_again_after_its_delay_with_a_fresh_transition_id()
    {
        using var engine = NewEngine();
        var run = await engine.StartAsync(new StartRequest("orders"), CancellationToken.None);
        State.Prefect.WaitNextSetState(1);

        var outcome = await engine.StopAsync("orders", run.Id, CancellationToken.None);

        Assert.Equal(StopOutcome.Stopped, outcome);
        Assert.Equal(new[] { "WAIT", "REJECT" }, State.Prefect.SetStateCalls.Select(c => c.Status));
        var calls = State.Prefect.SetStateCalls;
        Assert.True(calls[1].At >= calls[0].At);
        AssertCancellingProposals(2);
        var posts = Prefect("POST", "flow_runs/" + run.Id + "/set_state");
        Assert.True(posts[1].Timestamp - posts[0].Timestamp >= TimeSpan.FromMilliseconds(900), "WAIT's delay_seconds (1) was honoured");
    }

    // ---- remove ----

    [Fact]
    public async Task S10_remove_of_a_running_run_cancels_waits_for_terminal_then_deletes_with_204()
    {
        using var engine = NewEngine();
        var run = await engine.StartAsync(new StartRequest("orders"), CancellationToken.None);
        Clock.Advance(Step * 2.5);
        var worker = Task.Run(async () =>
        {
            // The simulated worker acts once the cancellation was requested.
            await Eventually.TrueAsync(() => State.Prefect.SetStateCalls.Count > 0, TimeSpan.FromSeconds(10));
            Clock.Advance(Step);
        });

        await engine.RemoveAsync("orders", run.Id, TimeSpan.FromSeconds(20), CancellationToken.None);
        await worker;

        Assert.Equal(run.Id, Assert.Single(State.Prefect.DeletedRuns).FlowRunId);
        Assert.Null(State.Prefect.RunStateType(run.Id));
        var order = Prefect().Where(q => Route(q).StartsWith("flow_runs/" + run.Id, StringComparison.Ordinal)).Select(q => q.Method + " " + q.Status).ToList();
        var setState = order.IndexOf("POST 200") >= 0 ? order.IndexOf("POST 200") : order.IndexOf("POST 201");
        Assert.True(setState >= 0, string.Join(", ", order));
        Assert.Equal("DELETE 204", order[^1]);
        Assert.Contains("GET 200", order.Skip(setState + 1)); // polled for the terminal state before deleting
        var ex = await Assert.ThrowsAsync<DhubException>(() => engine.GetAsync("orders", run.Id, CancellationToken.None));
        Assert.Equal(DhubErrorKind.DhubBatchNotFound, ex.Kind);
    }

    [Fact]
    public async Task S10_remove_of_a_finished_run_deletes_without_cancelling()
    {
        using var engine = NewEngine();
        var run = await engine.StartAsync(new StartRequest("orders"), CancellationToken.None);
        Clock.Advance(Step * 6);

        await engine.RemoveAsync("orders", run.Id, TimeSpan.FromSeconds(5), CancellationToken.None);

        Assert.Empty(State.Prefect.SetStateCalls);
        Assert.Single(State.Prefect.DeletedRuns);
    }

    // ---- ids and errors ----

    [Fact]
    public async Task S7_a_flow_run_of_another_pipeline_is_DhubBatchNotFound()
    {
        using var engine = NewEngine();
        var run = await engine.StartAsync(new StartRequest("orders"), CancellationToken.None);

        var get = await Assert.ThrowsAsync<DhubException>(() => engine.GetAsync("inventory", run.Id, CancellationToken.None));
        var stop = await Assert.ThrowsAsync<DhubException>(() => engine.StopAsync("inventory", run.Id, CancellationToken.None));
        var remove = await Assert.ThrowsAsync<DhubException>(() => engine.RemoveAsync("inventory", run.Id, TimeSpan.FromSeconds(1), CancellationToken.None));

        Assert.All(new[] { get, stop, remove }, ex => Assert.Equal(DhubErrorKind.DhubBatchNotFound, ex.Kind));
        Assert.Empty(State.Prefect.SetStateCalls);
        Assert.Empty(State.Prefect.DeletedRuns);
        Assert.Equal("SCHEDULED", State.Prefect.RunStateType(run.Id));
    }

    [Theory]
    [InlineData("not-a-guid")]
    [InlineData("batch-123")]
    [InlineData("0c1e")]
    public async Task S7_a_malformed_flow_run_id_is_DhubBatchNotFound_without_a_request(string id)
    {
        using var engine = NewEngine();

        var get = await Assert.ThrowsAsync<DhubException>(() => engine.GetAsync("orders", id, CancellationToken.None));
        var stop = await Assert.ThrowsAsync<DhubException>(() => engine.StopAsync("orders", id, CancellationToken.None));
        var remove = await Assert.ThrowsAsync<DhubException>(() => engine.RemoveAsync("orders", id, TimeSpan.FromSeconds(1), CancellationToken.None));

        Assert.All(new[] { get, stop, remove }, ex => Assert.Equal(DhubErrorKind.DhubBatchNotFound, ex.Kind));
        Assert.Empty(Prefect());
    }

    [Fact]
    public async Task S1_5_error_messages_carry_detail_and_exception_message()
    {
        using var engine = NewEngine();
        var run = await engine.StartAsync(new StartRequest("orders"), CancellationToken.None);

        var notFound = await Assert.ThrowsAsync<DhubException>(() => engine.GetLatestAsync("no-such-pipeline", CancellationToken.None));
        Assert.Equal(DhubErrorKind.DhubPipelineNotFound, notFound.Kind);
        Assert.Contains("GET", notFound.Message);
        Assert.Contains("404", notFound.Message);
        Assert.Contains("Deployment not found", notFound.Message); // {"detail": ...}
        Assert.Equal("Deployment not found", notFound.ServerMessage);

        State.AddFault(new FaultRule
        {
            Method = "POST", PathPattern = "/set_state$", Status = 404,
            Body = $$"""{"exception_message":"Flow run with id {{run.Id}} not found"}""",
        });
        var setState = await Assert.ThrowsAsync<DhubException>(() => engine.StopAsync("orders", run.Id, CancellationToken.None));
        Assert.Equal(DhubErrorKind.DhubBatchNotFound, setState.Kind);
        Assert.Contains("POST", setState.Message);
        Assert.Contains("/set_state", setState.Message);
        Assert.Contains($"Flow run with id {run.Id} not found", setState.Message); // {"exception_message": ...}

        State.AddFault(new FaultRule
        {
            Method = "POST", PathPattern = "/create_flow_run$", Status = 409,
            Body = """{"detail":"Error creating flow run: Validation failed for field 'x'."}""",
        });
        var conflict = await Assert.ThrowsAsync<DhubException>(() => engine.StartAsync(new StartRequest("orders"), CancellationToken.None));
        Assert.Equal(DhubErrorKind.DhubConflict, conflict.Kind);
        Assert.Contains("Validation failed for field 'x'", conflict.Message);
    }

    // ---- CSRF ----

    [Fact]
    public async Task S2_5_csrf_on_token_fetched_lazily_once_and_renewed_after_expiry()
    {
        State.Prefect.Csrf = true;
        using var engine = NewEngine();

        await engine.VerifyAsync(CancellationToken.None);
        Assert.Empty(Prefect("GET", "csrf-token")); // lazily: no change request yet

        var first = await engine.StartAsync(new StartRequest("orders"), CancellationToken.None);
        await engine.StartAsync(new StartRequest("orders"), CancellationToken.None);
        await engine.StopAsync("orders", first.Id, CancellationToken.None);
        var tokens = Prefect("GET", "csrf-token");
        Assert.Single(tokens);
        var all = Prefect().ToList();
        Assert.True(all.IndexOf(tokens[0]) < all.IndexOf(Prefect("POST")[0]), "the token comes before the first POST");
        Assert.DoesNotContain(all, r => r.Status == 403);

        State.Prefect.ExpireCsrfTokens();
        await engine.StartAsync(new StartRequest("orders"), CancellationToken.None);

        Assert.Equal(2, Prefect("GET", "csrf-token").Count);
        Assert.Single(Prefect("POST"), r => r.Status == 403);
        Assert.Equal(3, State.Prefect.Counts("orders").Runs);
    }

    [Fact]
    public async Task S2_5_csrf_off_one_token_request_answered_422_and_never_again()
    {
        using var engine = NewEngine();

        var run = await engine.StartAsync(new StartRequest("orders"), CancellationToken.None);
        await engine.StartAsync(new StartRequest("orders"), CancellationToken.None);
        await engine.GetLatestAsync("orders", CancellationToken.None);
        await engine.StopAsync("orders", run.Id, CancellationToken.None);
        await engine.RemoveAsync("orders", run.Id, TimeSpan.FromSeconds(5), CancellationToken.None);

        var token = Assert.Single(Prefect("GET", "csrf-token"));
        Assert.Equal(422, token.Status);
        Assert.True(Prefect("POST").Count >= 4);
        Assert.All(Prefect().Where(r => r != token), r => Assert.True(r.Status is >= 200 and < 300, $"{r.Method} {r.RawTarget} -> {r.Status}"));
    }

    // ---- headers ----

    [Fact]
    public async Task S1_2_every_request_carries_X_PREFECT_API_VERSION_0_8_4()
    {
        State.Prefect.Csrf = true;
        State.Prefect.Seed("inventory", 3);
        using var engine = NewEngine();

        await engine.VerifyAsync(CancellationToken.None);
        var run = await engine.StartAsync(new StartRequest("orders") { PipelineVersion = "2" }, CancellationToken.None);
        await engine.GetLatestAsync("inventory", CancellationToken.None);
        await engine.GetPageAsync("inventory", new BatchPageRequest { Limit = 2 }, CancellationToken.None);
        await engine.CountAsync("inventory", CancellationToken.None);
        await engine.GetAsync("orders", run.Id, CancellationToken.None);
        await engine.StopAsync("orders", run.Id, CancellationToken.None);
        await engine.RemoveAsync("orders", run.Id, TimeSpan.FromSeconds(5), CancellationToken.None);
        await engine.GetPipelineNamesAsync(CancellationToken.None);

        var requests = Prefect();
        Assert.True(requests.Count >= 12);
        Assert.Contains(requests, r => Route(r) == "csrf-token");
        Assert.All(requests, r =>
        {
            Assert.Equal("0.8.4", r.PrefectApiVersion);
            Assert.Equal("DhubBatches/9.8.7 PowerShell/7.6.9", r.UserAgent);
        });
    }
}
