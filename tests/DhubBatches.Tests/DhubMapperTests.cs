using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using DhubBatches.Engine.Dhub;
using Xunit;

namespace DhubBatches.Tests;

/// <summary>dhub wire objects → Batch: states, IsComplete/Outcome, summaries, order, and what makes a record unreadable.</summary>
public class DhubMapperTests
{
    private static DhubBatch Dto(string? state, params (string Name, string? State)[] steps) => new()
    {
        Id = "batch-1",
        Name = "sales",
        Deployment = "run-pipeline/sales",
        State = new DhubBatchState
        {
            State = state,
            Steps = steps.ToDictionary(s => s.Name, s => (DhubStep?)new DhubStep { State = s.State, Offsets = new Dictionary<string, JsonElement>() }),
        },
    };

    private static Batch Map(string? state, params (string, string?)[] steps) => Batches.Of(DhubMapper.ToSnapshot("sales", Dto(state, steps)));

    [Fact]
    public void All_steps_success_is_complete_and_succeeded_even_before_the_state_says_stop()
    {
        var running = Map("running", ("extract", "success"), ("transform", "success"), ("load", "success"));
        var stopped = Map("stop", ("extract", "success"), ("transform", "success"), ("load", "success"));

        Assert.True(running.IsComplete);
        Assert.Equal(BatchOutcome.Succeeded, running.Outcome);
        Assert.True(stopped.IsComplete);
        Assert.Equal(BatchOutcome.Succeeded, stopped.Outcome);
    }

    [Fact]
    public void A_failed_step_in_a_complete_batch_is_failed()
    {
        var allFinished = Map("running", ("extract", "success"), ("transform", "failed"), ("load", "success"));
        var stoppedAfterFailure = Map("stop", ("extract", "success"), ("transform", "failed"), ("load", "none"));

        Assert.True(allFinished.IsComplete);
        Assert.Equal(BatchOutcome.Failed, allFinished.Outcome);
        Assert.True(stoppedAfterFailure.IsComplete);
        Assert.Equal(BatchOutcome.Failed, stoppedAfterFailure.Outcome);
    }

    [Fact]
    public void A_failed_step_while_others_still_run_is_in_progress()
    {
        var batch = Map("running", ("extract", "failed"), ("transform", "running"));

        Assert.False(batch.IsComplete);
        Assert.Equal(BatchOutcome.InProgress, batch.Outcome);
    }

    [Theory]
    [InlineData("running")]
    [InlineData("pending")]
    [InlineData("none")]
    public void State_stop_with_unfinished_steps_is_stopped(string unfinished)
    {
        var batch = Map("stop", ("extract", "success"), ("transform", unfinished), ("load", "none"));

        Assert.True(batch.IsComplete);
        Assert.Equal(BatchOutcome.Stopped, batch.Outcome);
    }

    [Fact]
    public void State_stop_without_steps_is_stopped()
    {
        var batch = Map("stop");

        Assert.True(batch.IsComplete);
        Assert.Equal(BatchOutcome.Stopped, batch.Outcome);
        Assert.Equal(string.Empty, batch.StepSummary);
    }

    [Theory]
    [InlineData("running", BatchState.Running)]
    [InlineData("pending", BatchState.Pending)]
    [InlineData("scheduled", BatchState.Scheduled)]
    public void Unfinished_batches_are_in_progress(string state, BatchState expected)
    {
        var batch = Map(state, ("extract", "success"), ("transform", "running"), ("load", "pending"));

        Assert.Equal(expected, batch.State);
        Assert.False(batch.IsComplete);
        Assert.Equal(BatchOutcome.InProgress, batch.Outcome);
    }

    [Fact]
    public void A_batch_without_steps_that_is_not_stopped_is_in_progress()
    {
        var batch = Map("running");

        Assert.False(batch.IsComplete);
        Assert.Equal(BatchOutcome.InProgress, batch.Outcome);
    }

    [Theory]
    [InlineData("stop", BatchState.Stop)]
    [InlineData("STOP", BatchState.Stop)]
    [InlineData(" Running ", BatchState.Running)]
    [InlineData("paused", BatchState.Unknown)]
    [InlineData("", BatchState.Unknown)]
    [InlineData(null, BatchState.Unknown)]
    public void Batch_states_parse_case_insensitively_and_unknown_values_become_Unknown(string? wire, BatchState expected)
    {
        Assert.Equal(expected, DhubMapper.ParseBatchState(wire));
    }

    [Theory]
    [InlineData("none", StepState.None)]
    [InlineData("pending", StepState.Pending)]
    [InlineData("running", StepState.Running)]
    [InlineData("success", StepState.Success)]
    [InlineData("FAILED", StepState.Failed)]
    [InlineData("skipped", StepState.Unknown)]
    [InlineData(null, StepState.Unknown)]
    public void Step_states_parse_and_unknown_values_become_Unknown(string? wire, StepState expected)
    {
        Assert.Equal(expected, DhubMapper.ParseStepState(wire));
    }

    [Fact]
    public void Step_summary_uses_wire_spelling_in_server_order()
    {
        var batch = Map("running", ("extract", "success"), ("transform", "running"), ("load", "pending"));

        Assert.Equal("extract=success; transform=running; load=pending", batch.StepSummary);
        Assert.Equal(batch.StepSummary, batch.Steps.ToString());
        Assert.Equal("extract=success", batch.Steps[0].ToString());
        Assert.Equal("sales/batch-1 (running)", batch.ToString());
    }

    [Fact]
    public void Steps_and_offsets_keep_the_server_order_of_the_json_document()
    {
        const string json = """
            {"id":"batch-9","state":{"state":"running","steps":{
              "zeta":{"state":"success","offsets":{"p9":9,"p1":1,"p5":5}},
              "alpha":{"state":"running","offsets":{"b":2,"a":1}},
              "mid":{"state":"pending"}}}}
            """;
        var dto = JsonSerializer.Deserialize(json, DhubJsonContext.Default.DhubBatch)!;

        var batch = Batches.Of(DhubMapper.ToSnapshot("p", dto));

        Assert.Equal(new[] { "zeta", "alpha", "mid" }, batch.Steps.Select(s => s.Name));
        Assert.Equal(new[] { "p9", "p1", "p5" }, batch.Steps[0].Offsets.Keys);
        Assert.Equal(new long[] { 9, 1, 5 }, batch.Steps[0].Offsets.Values);
        Assert.Equal("p9=9; p1=1; p5=5", batch.Steps[0].OffsetSummary);
        Assert.Equal("b=2; a=1", batch.Steps[1].OffsetSummary);
        Assert.Equal(string.Empty, batch.Steps[2].OffsetSummary);
        Assert.Equal("zeta=success; alpha=running; mid=pending", batch.StepSummary);
        Assert.All(batch.Steps, s =>
        {
            Assert.Equal("p", s.PipelineId);
            Assert.Equal("batch-9", s.BatchId);
        });
    }

    [Fact]
    public void Missing_id_is_taken_from_the_expected_id_else_rejected()
    {
        var dto = new DhubBatch { State = new DhubBatchState { State = "running" } };

        Assert.Equal("batch-x", DhubMapper.ToSnapshot("p", dto, "batch-x").Id);
        Assert.Throws<JsonException>(() => DhubMapper.ToSnapshot("p", dto));
    }

    [Fact]
    public void A_batch_without_its_state_object_is_unreadable()
    {
        var ex = Assert.Throws<JsonException>(() => DhubMapper.ToSnapshot("p", new DhubBatch { Id = "b" }));

        Assert.Contains("'state'", ex.Message);
    }

    [Fact]
    public void A_missing_state_value_is_Unknown_and_missing_steps_are_none()
    {
        var batch = Batches.Of(DhubMapper.ToSnapshot("p", new DhubBatch { Id = "b", State = new DhubBatchState() }));

        Assert.Equal(BatchState.Unknown, batch.State);
        Assert.Empty(batch.Steps);
        Assert.Null(batch.Name);
        Assert.Null(batch.EngineState);
        Assert.Null(batch.StartTime);
        Assert.Null(batch.EndTime);
        Assert.Equal("Dhub", batch.Backend);
    }

    [Fact]
    public void List_item_as_string_or_object_maps_and_other_kinds_or_nameless_items_are_rejected()
    {
        using var doc = JsonDocument.Parse("""
            {"s":"{\"id\":\"b1\",\"state\":{\"state\":\"stop\",\"steps\":{}}}",
             "o":{"id":"b2","state":{"state":"running","steps":{}}},
             "nameless":{"state":{"state":"running","steps":{}}},
             "n":null, "x":5}
            """);
        var root = doc.RootElement;

        Assert.Equal(BatchState.Stop, DhubMapper.ItemToSnapshot("p", "b1", root.GetProperty("s")).State);
        var fromObject = DhubMapper.ItemToSnapshot("p", "b2", root.GetProperty("o"));
        Assert.Equal("b2", fromObject.Id);
        Assert.Equal(BatchState.Running, fromObject.State);
        Assert.Throws<JsonException>(() => DhubMapper.ItemToSnapshot("p", "b5", root.GetProperty("nameless")));
        Assert.Throws<JsonException>(() => DhubMapper.ItemToSnapshot("p", "b3", root.GetProperty("n")));
        Assert.Throws<JsonException>(() => DhubMapper.ItemToSnapshot("p", "b4", root.GetProperty("x")));
    }

    [Theory]
    [InlineData("1000", 1000L)]
    [InlineData("1e3", 1000L)]
    [InlineData("1000.0", 1000L)]
    [InlineData("0.5", null)]
    [InlineData("\"1000\"", null)]
    [InlineData("{}", null)]
    public void An_offset_is_read_when_it_is_a_whole_number_in_any_json_spelling(string value, long? expected)
    {
        var json = "{\"id\":\"b\",\"state\":{\"state\":\"running\",\"steps\":{\"extract\":{\"state\":\"running\",\"offsets\":{\"partition_0\":7,\"p\":" + value + "}}}}}";
        var snapshot = DhubMapper.ToSnapshot("sales", JsonSerializer.Deserialize(json, DhubJsonContext.Default.DhubBatch)!);

        var offsets = snapshot.Steps[0].Offsets;
        Assert.Equal(7, offsets.Single(o => o.Key == "partition_0").Value);
        if (expected.HasValue)
        {
            Assert.Equal(expected.Value, offsets.Single(o => o.Key == "p").Value);
            Assert.Empty(snapshot.Warnings);
        }
        else
        {
            Assert.DoesNotContain(offsets, o => o.Key == "p");
            var warning = Assert.Single(snapshot.Warnings);
            Assert.Contains("sales/b", warning);
            Assert.Contains("extract.p", warning);
        }
    }

    [Fact]
    public void Export_friendly_ToString_of_step_list_and_offset_map()
    {
        var batch = Batches.Of(new DhubBatches.Contract.BatchSnapshot("p", "b")
        {
            Steps = new[] { Batches.Step("extract", StepState.Success, ("partition_0", 1000), ("partition_1", 500)), Batches.Step("load", StepState.None) },
        });

        Assert.Equal("partition_0=1000; partition_1=500", batch.Steps[0].Offsets.ToString());
        Assert.Equal("extract=success; load=none", batch.Steps.ToString());
        Assert.DoesNotContain("DhubBatches", batch.Steps.ToString());
        Assert.Equal(string.Empty, batch.Steps[1].Offsets.ToString());
        Assert.Equal(string.Empty, BatchStepList.Empty.ToString());
    }

    [Fact]
    public void Offset_map_is_an_ordered_read_only_dictionary_for_powershell()
    {
        var step = Batches.Of(new DhubBatches.Contract.BatchSnapshot("p", "b")
        {
            Steps = new[] { Batches.Step("extract", StepState.Running, ("b", 2), ("a", 1), ("b", 20)) }, // a later value keeps the first position
        }).Steps[0];
        var offsets = step.Offsets;
        System.Collections.IDictionary dictionary = offsets;

        Assert.Equal(new[] { "b", "a" }, offsets.Keys);
        Assert.Equal(20L, dictionary["b"]);
        Assert.Null(dictionary["missing"]);
        Assert.True(dictionary.IsReadOnly);
        Assert.Throws<NotSupportedException>(() => dictionary.Add("c", 3L));
        Assert.Throws<NotSupportedException>(() => dictionary["a"] = 5L);
        var keys = new List<object>();
        foreach (System.Collections.DictionaryEntry entry in dictionary)
        {
            keys.Add(entry.Key);
        }
        Assert.Equal(new object[] { "b", "a" }, keys);
    }
}
