using System;
using System.Linq;
using System.Threading;
using DhubBatches.Emulator.Faults;
using DhubBatches.Contract;
using Xunit;

namespace DhubBatches.Tests;

/// <summary>The dhub engine over real HTTP against the in-process emulator: the documented happy paths.</summary>
public class EngineHappyPathTests : EmulatorTestBase
{
    public EngineHappyPathTests(EmulatorFixture fixture)
        : base(fixture)
    {
    }

    [Fact]
    public async Task Start_creates_one_batch_and_reads_it_back()
    {
        using var engine = NewEngine();

        var batch = await engine.StartAsync(new StartRequest("orders") { PipelineVersion = "v2" }, CancellationToken.None);

        Assert.Equal("orders", batch.PipelineId);
        Assert.StartsWith("batch-", batch.Id);
        Assert.Equal("orders", batch.Name);
        Assert.Equal("run-pipeline/orders", batch.Deployment);
        Assert.Equal(BackendKind.Dhub, engine.Backend);
        Assert.NotEqual(BatchState.Unknown, batch.State);
        Assert.Equal(new[] { "extract", "transform", "load" }, batch.Steps.Select(s => s.Name));
        Assert.All(Batches.Of(batch).Steps, s => Assert.Equal(batch.Id, s.BatchId));
        Assert.Equal(1, State.Dhub.CreatedCount("orders"));
        Assert.Equal("v2", State.Dhub.GetBatch("orders", batch.Id)!.PipelineVersion);
        var post = Assert.Single(Requests("POST"));
        Assert.Contains("pipeline_version=v2", post.RawTarget);
        // then one GET of the new batch
        var get = Assert.Single(Requests("GET"));
        Assert.Equal(new[] { "api", "v1", "batches", "orders", batch.Id }, get.PathSegments);
    }

    [Fact]
    public async Task Get_and_latest_return_the_batch_with_steps_offsets_and_completion()
    {
        State.StepDuration = TimeSpan.Zero; // finished immediately
        var older = State.Dhub.CreateBatch("sales-pipeline");
        var newest = State.Dhub.CreateBatch("sales-pipeline");
        using var engine = NewEngine();

        var latest = await engine.GetLatestAsync("sales-pipeline", CancellationToken.None);
        var byId = Batches.Of(await engine.GetAsync("sales-pipeline", older, CancellationToken.None));

        Assert.Equal(newest, latest.Id);
        Assert.Equal(older, byId.Id);
        Assert.Equal(BatchState.Stop, byId.State);
        Assert.True(byId.IsComplete);
        Assert.Equal(BatchOutcome.Succeeded, byId.Outcome);
        Assert.Equal("extract=success; transform=success; load=success", byId.StepSummary);
        var extract = byId.Steps[0];
        Assert.Equal(StepState.Success, extract.State);
        Assert.Equal(new[] { "partition_0", "partition_1" }, extract.Offsets.Keys);
        Assert.Equal(1000, extract.Offsets["partition_0"]);
        Assert.Equal("partition_0=1000; partition_1=500", extract.OffsetSummary);
    }

    [Fact]
    public async Task A_failing_pipeline_maps_to_outcome_failed()
    {
        State.StepDuration = TimeSpan.Zero;
        var id = State.Dhub.CreateBatch("failing-pipeline");
        using var engine = NewEngine();

        var batch = Batches.Of(await engine.GetAsync("failing-pipeline", id, CancellationToken.None));

        Assert.True(batch.IsComplete);
        Assert.Equal(BatchOutcome.Failed, batch.Outcome);
        Assert.Equal("extract=success; transform=failed; load=none", batch.StepSummary);
    }

    [Fact]
    public async Task Stop_stops_a_running_batch_and_the_batch_then_reads_as_stopped()
    {
        State.AddPipeline("slow", TimeSpan.FromSeconds(30));
        var id = State.Dhub.CreateBatch("slow");
        using var engine = NewEngine();

        var outcome = await engine.StopAsync("slow", id, CancellationToken.None);
        var after = Batches.Of(await engine.GetAsync("slow", id, CancellationToken.None));

        Assert.Equal(StopOutcome.Stopped, outcome);
        Assert.NotNull(State.Dhub.GetBatch("slow", id)!.StoppedAt);
        Assert.Equal(BatchState.Stop, after.State);
        Assert.True(after.IsComplete);
        Assert.Equal(BatchOutcome.Stopped, after.Outcome);
        var put = Assert.Single(Requests("PUT"));
        Assert.Equal(new[] { "api", "v1", "batches", "slow", id, "stop" }, put.PathSegments);
    }

    [Fact]
    public async Task Remove_deletes_the_batch()
    {
        State.AddPipeline("slow", TimeSpan.FromSeconds(30));
        var id = State.Dhub.CreateBatch("slow");
        using var engine = NewEngine();

        await engine.RemoveAsync("slow", id, TimeSpan.FromSeconds(5), CancellationToken.None);

        Assert.Null(State.Dhub.GetBatch("slow", id));
        var deleted = Assert.Single(State.Dhub.DeletedBatches);
        Assert.Equal(id, deleted.BatchId);
        Assert.True(deleted.StoppedFirst);
        Assert.Single(Requests("DELETE"));
        var ex = await Assert.ThrowsAsync<DhubException>(() => engine.GetAsync("slow", id, CancellationToken.None));
        Assert.Equal(DhubErrorKind.DhubBatchNotFound, ex.Kind);
    }

    [Fact]
    public async Task List_parses_the_items_as_json_strings_quirk()
    {
        State.StepDuration = TimeSpan.Zero;
        var a = State.Dhub.CreateBatch("orders");
        var b = State.Dhub.CreateBatch("orders");
        using var engine = NewEngine();

        var page = await engine.GetPageAsync("orders", new BatchPageRequest { Limit = 10 }, CancellationToken.None);

        Assert.Equal(new[] { b, a }, page.Items.Select(x => x.Id)); // newest first
        Assert.Null(page.Continuation);
        Assert.All(page.Items, x =>
        {
            Assert.Equal("orders", x.PipelineId);
            Assert.Equal(BatchState.Stop, x.State);
            Assert.Equal(3, x.Steps.Count);
            Assert.Equal(BatchOutcome.Succeeded, Batches.Of(x).Outcome);
        });
        var get = Assert.Single(Requests("GET"));
        Assert.Equal(new[] { "api", "v1", "batches", "orders", "" }, get.PathSegments); // the documented trailing slash
        Assert.Contains("limit=10", get.RawTarget);
    }

    [Fact]
    public async Task List_item_given_as_an_object_or_a_string_both_parse()
    {
        const string body = """
            {"items": {
               "batch-obj": {"id":"batch-obj","name":"orders","deployment":"run-pipeline/orders",
                             "state":{"state":"running","steps":{"extract":{"state":"running","offsets":{"partition_0":7}}}}},
               "batch-str": "{\"id\":\"batch-str\",\"name\":\"orders\",\"state\":{\"state\":\"stop\",\"steps\":{\"extract\":{\"state\":\"success\",\"offsets\":{}}}}}",
               "batch-noid": "{\"state\":{\"state\":\"pending\",\"steps\":{}}}"
             },
             "token": null, "extra": {"ignored": true}}
            """;
        State.AddFault(new FaultRule { Method = "GET", PathPattern = "^/api/v1/batches/orders/$", Status = 200, Body = body });
        using var engine = NewEngine();

        var page = await engine.GetPageAsync("orders", new BatchPageRequest(), CancellationToken.None);

        Assert.Equal(new[] { "batch-obj", "batch-str" }, page.Items.Select(x => x.Id));
        Assert.Equal(BatchState.Running, page.Items[0].State);
        Assert.Equal(7, page.Items[0].Steps[0].Offset("partition_0"));
        Assert.Equal(BatchState.Stop, page.Items[1].State);
        Assert.Equal(BatchOutcome.Succeeded, Batches.Of(page.Items[1]).Outcome);
        // An item that does not name itself is unreadable: reported by its key, and the rest of the page is kept.
        var problem = Assert.Single(page.Problems);
        Assert.Equal("batch-noid", problem.BatchId);
        Assert.Contains("batch-noid", problem.Message);
        Assert.Contains("'id'", problem.Message);
        Assert.Null(page.Continuation);
    }

    [Fact]
    public async Task Paging_with_the_token_reaches_the_end_without_gaps_or_repeats()
    {
        State.Dhub.Seed("inventory", 25);
        using var engine = NewEngine();

        var all = new System.Collections.Generic.List<BatchSnapshot>();
        var request = new BatchPageRequest { Limit = 10 };
        var pages = 0;
        while (true)
        {
            var page = await engine.GetPageAsync("inventory", request, CancellationToken.None);
            pages++;
            all.AddRange(page.Items);
            if (page.Continuation == null)
            {
                break;
            }
            Assert.True(pages < 10, "paging did not end");
            request = new BatchPageRequest { Limit = 10, Continuation = page.Continuation };
        }

        Assert.Equal(3, pages);
        Assert.Equal(25, all.Count);
        Assert.Equal(25, all.Select(x => x.Id).Distinct().Count());
        var seqs = all.Select(x => State.Dhub.GetBatch("inventory", x.Id)!.Seq).ToList();
        Assert.Equal(seqs.OrderByDescending(s => s), seqs); // newest first across pages
        var lists = Requests("GET");
        Assert.Equal(3, lists.Count);
        Assert.DoesNotContain("token=", lists[0].RawTarget);
        Assert.Contains("token=", lists[1].RawTarget);
    }

    [Fact]
    public async Task A_page_that_repeats_its_own_token_ends_the_listing()
    {
        State.AddFault(new FaultRule { Method = "GET", PathPattern = "^/api/v1/batches/orders/$", Status = 200, Times = 0, Body = "{\"items\":{},\"token\":\"same\"}" });
        using var engine = NewEngine();

        var page = await engine.GetPageAsync("orders", new BatchPageRequest { Continuation = "same" }, CancellationToken.None);

        Assert.Empty(page.Items);
        Assert.Null(page.Continuation);
    }

    [Fact]
    public async Task Unknown_batch_and_step_state_values_become_Unknown_and_unknown_fields_are_ignored()
    {
        const string body = """
            {"id":"batch-u","name":"orders","future_field":[1,2],
             "state":{"state":"paused","eta":"soon","steps":{
                 "extract":{"state":"success","offsets":{"p":1}},
                 "transform":{"state":"skipped","offsets":{},"note":"x"},
                 "load":{"state":null}}}}
            """;
        State.AddFault(new FaultRule { Method = "GET", PathPattern = "^/api/v1/batches/orders/batch-u$", Status = 200, Body = body });
        using var engine = NewEngine();

        var batch = Batches.Of(await engine.GetAsync("orders", "batch-u", CancellationToken.None));

        Assert.Equal(BatchState.Unknown, batch.State);
        Assert.Equal(StepState.Success, batch.Steps[0].State);
        Assert.Equal(StepState.Unknown, batch.Steps[1].State);
        Assert.Equal(StepState.Unknown, batch.Steps[2].State);
        Assert.Null(batch.Deployment); // missing optional field → null
        Assert.Empty(batch.Steps[2].Offsets);
        Assert.False(batch.IsComplete);
        Assert.Equal(BatchOutcome.InProgress, batch.Outcome);
    }

    [Fact]
    public async Task Verify_accepts_the_emulator_and_remembers_seen_pipelines_for_completion()
    {
        State.StepDuration = TimeSpan.Zero;
        State.Dhub.CreateBatch("orders");
        using var engine = NewEngine();

        await engine.VerifyAsync(CancellationToken.None);
        await engine.GetLatestAsync("orders", CancellationToken.None);
        var names = await engine.GetPipelineNamesAsync(CancellationToken.None);

        Assert.Equal(new[] { "orders" }, names);
        Assert.Equal(2, Requests("GET").Count);
        Assert.Null(await engine.CountAsync("orders", CancellationToken.None));
    }

    [Fact]
    public async Task Every_request_carries_user_agent_and_authorization_but_the_log_never_keeps_the_token()
    {
        using var engine = NewEngine();

        var batch = await engine.StartAsync(new StartRequest("orders"), CancellationToken.None);
        await engine.GetPageAsync("orders", new BatchPageRequest(), CancellationToken.None);
        await engine.StopAsync("orders", batch.Id, CancellationToken.None);
        await engine.RemoveAsync("orders", batch.Id, TimeSpan.FromSeconds(1), CancellationToken.None);

        var requests = Requests();
        Assert.Equal(5, requests.Count);
        Assert.All(requests, r =>
        {
            Assert.Equal("present", r.Authorization);
            Assert.Equal("DhubBatches/9.8.7 PowerShell/7.6.9", r.UserAgent);
            Assert.True(r.Status is >= 200 and < 300, $"{r.Method} {r.RawTarget} -> {r.Status}");
            Assert.DoesNotContain(EmulatorFixture.Token, r.ToString());
        });
    }
}
