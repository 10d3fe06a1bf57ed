using System;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using DhubBatches.Emulator.Faults;
using Xunit;

namespace DhubBatches.Emulator.Tests;

/// <summary>
/// Fault rules that let the API answer and then damage one record of the answer: the rest of the answer must stay
/// exactly as it was, so a client's handling of one bad record among good ones can be tested.
/// </summary>
public class DamageFaultTests
{
    private const string ListPath = "^/api/v1/batches/orders/?$";

    [Fact]
    public async Task Dhub_corruptItem_cuts_one_items_string_short_and_leaves_the_others_parseable()
    {
        await using var emu = await RunningEmulator.StartAsync();
        emu.State.Dhub.Seed("orders", 3);
        emu.State.AddFault(new FaultRule { Mode = FaultMode.CorruptItem, Method = "GET", PathPattern = ListPath, Index = 1 });

        var items = (await ListAsync(emu)).GetProperty("items").EnumerateObject().ToArray();
        var clean = (await ListAsync(emu)).GetProperty("items").EnumerateObject().ToArray();

        Assert.Equal(clean.Select(i => i.Name), items.Select(i => i.Name));
        Assert.ThrowsAny<JsonException>(() => JsonDocument.Parse(items[1].Value.GetString()!));
        Assert.StartsWith(items[1].Value.GetString()!, clean[1].Value.GetString()!);
        Assert.Equal(clean[0].Value.GetString(), items[0].Value.GetString());
        Assert.Equal(clean[2].Value.GetString(), items[2].Value.GetString());
    }

    [Fact]
    public async Task Dhub_wrongType_by_target_id_makes_that_batchs_state_a_number()
    {
        await using var emu = await RunningEmulator.StartAsync();
        emu.State.Dhub.Seed("orders", 3);
        var target = (await ListAsync(emu)).GetProperty("items").EnumerateObject().Last().Name;
        emu.State.AddFault(new FaultRule { Mode = FaultMode.WrongType, Method = "GET", PathPattern = ListPath, TargetId = target });

        var items = (await ListAsync(emu)).GetProperty("items").EnumerateObject().ToArray();

        foreach (var item in items)
        {
            var state = JsonDocument.Parse(item.Value.GetString()!).RootElement.GetProperty("state").GetProperty("state");
            Assert.Equal(item.Name == target ? JsonValueKind.Number : JsonValueKind.String, state.ValueKind);
        }
    }

    [Theory]
    [InlineData(null, "0.5")]
    [InlineData("fraction", "0.5")]
    [InlineData("string", "\"1000.0\"")]
    [InlineData("object", "{}")]
    public async Task Dhub_nonIntegerOffset_adds_a_progress_entry_to_every_step_of_one_batch(string? variant, string progress)
    {
        await using var emu = await RunningEmulator.StartAsync();
        emu.State.Dhub.Seed("orders", 2);
        emu.State.AddFault(new FaultRule { Mode = FaultMode.NonIntegerOffset, Method = "GET", PathPattern = ListPath, Variant = variant });

        var items = (await ListAsync(emu)).GetProperty("items").EnumerateObject().ToArray();

        var damaged = Steps(items[0]).ToArray();
        Assert.NotEmpty(damaged);
        Assert.All(damaged, s => Assert.Equal(progress, s.GetProperty("offsets").GetProperty("progress").GetRawText()));
        Assert.All(Steps(items[1]), s => Assert.False(s.GetProperty("offsets").TryGetProperty("progress", out _)));
    }

    [Theory]
    [InlineData("exponent", "1e3")]
    [InlineData("decimal", "1000.0")]
    public async Task Dhub_numberSpelling_spells_whole_offsets_differently_but_keeps_valid_json(string variant, string spelled)
    {
        await using var emu = await RunningEmulator.StartAsync();
        emu.State.Dhub.Seed("orders", 1);
        emu.State.AddFault(new FaultRule { Mode = FaultMode.NumberSpelling, Method = "GET", PathPattern = ListPath, Variant = variant });

        var item = (await ListAsync(emu)).GetProperty("items").EnumerateObject().Single();

        Assert.Contains($"\"partition_0\":{spelled}", item.Value.GetString());
        var offset = Steps(item).First().GetProperty("offsets").GetProperty("partition_0");
        Assert.Equal(1000.0, offset.GetDouble());
    }

    [Fact]
    public async Task Prefect_corruptItem_replaces_one_list_element_by_target_id_with_an_object_of_wrong_types()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var ids = new[] { await emu.CreateRunIdAsync("orders"), await emu.CreateRunIdAsync("orders"), await emu.CreateRunIdAsync("orders") };
        emu.State.AddFault(new FaultRule { Mode = FaultMode.CorruptItem, Method = "POST", PathPattern = "/flow_runs/filter$", TargetId = ids[1] });

        var dep = await emu.DeploymentIdAsync("orders");
        var (status, list) = await emu.PostAsync("flow_runs/filter", $"{{\"flow_runs\":{{\"deployment_id\":{{\"any_\":[\"{dep}\"]}}}}}}");

        Assert.Equal(HttpStatusCode.OK, status);
        var elements = list.EnumerateArray().ToArray();
        Assert.Equal(3, elements.Length);
        var damaged = Assert.Single(elements, e => e.GetProperty("id").ValueKind == JsonValueKind.Number);
        Assert.Equal(42, damaged.GetProperty("id").GetInt32());
        Assert.Equal(JsonValueKind.False, damaged.GetProperty("created").ValueKind);
        Assert.Equal(new[] { ids[0], ids[2] }.Order(), elements.Where(e => e.GetProperty("id").ValueKind == JsonValueKind.String).Select(e => e.Str("id")).Order());
    }

    [Fact]
    public async Task Prefect_wrongType_damages_a_single_flow_run_and_then_the_rule_is_spent()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var id = await emu.CreateRunIdAsync("orders");
        emu.State.AddFault(new FaultRule { Mode = FaultMode.WrongType, Method = "GET", PathPattern = "^/prefect/api/flow_runs/" });

        var (_, damaged) = await emu.GetAsync("flow_runs/" + id);
        var (_, healed) = await emu.GetAsync("flow_runs/" + id);

        Assert.Equal("two", damaged.Str("run_count"));
        Assert.Equal(12, damaged.Int("expected_start_time"));
        Assert.Equal(7, damaged.Int("state_type"));
        Assert.Equal(id, damaged.Str("id"));
        Assert.Equal(0, healed.Int("run_count"));
        Assert.Equal("SCHEDULED", healed.Str("state_type"));
    }

    [Theory]
    [InlineData("orders", "\"progress\": 0.5", "fraction")]
    [InlineData("table-pipeline", "\"progress\": \"1000.0\"", "string")]
    public async Task Prefect_nonIntegerOffset_adds_progress_inside_the_offsets_artifacts_json_string(string pipeline, string expected, string variant)
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var id = await emu.CreateRunIdAsync(pipeline);
        emu.Step(4);
        emu.State.AddFault(new FaultRule { Mode = FaultMode.NonIntegerOffset, Method = "POST", PathPattern = "/artifacts/filter$", Variant = variant });

        var damaged = await emu.ArtifactsAsync(id);
        var clean = await emu.ArtifactsAsync(id);

        // The first offsets artifact of the answer is damaged (a result or link artifact before it is skipped).
        var first = Array.FindIndex(clean, a => a.Str("description") == "offsets");
        // Only the damage differs: the rest of the string keeps json.dumps' layout.
        Assert.Equal(clean[first].Str("data").Replace("}", ", " + expected + "}", StringComparison.Ordinal), damaged[first].Str("data"));
        Assert.Equal(clean.Length, damaged.Length);
        Assert.All(Enumerable.Range(0, clean.Length).Where(i => i != first), i => Assert.Equal(clean[i].GetRawText(), damaged[i].GetRawText()));
    }

    [Fact]
    public async Task Prefect_numberSpelling_on_an_object_data_artifact_and_on_run_counts()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var id = await emu.CreateRunIdAsync("object-data-pipeline");
        emu.Step(4);
        emu.State.AddFault(new FaultRule { Mode = FaultMode.NumberSpelling, Method = "POST", PathPattern = "/artifacts/filter$", Times = 1 });
        emu.State.AddFault(new FaultRule { Mode = FaultMode.NumberSpelling, Method = "GET", PathPattern = "/flow_runs/", Variant = "decimal" });

        var (_, artifacts) = await emu.PostAsync("artifacts/filter",
            $"{{\"artifacts\":{{\"flow_run_id\":{{\"any_\":[\"{id}\"]}},\"type\":{{\"any_\":[\"offsets\"]}}}},\"sort\":\"CREATED_DESC\"}}");
        var text = emu.Seen[^1].Body;
        var (_, run) = await emu.GetAsync("flow_runs/" + id);

        Assert.Contains("\"partition_0\":1e3", text, StringComparison.Ordinal);
        Assert.Equal(1000.0, artifacts[0].GetProperty("data").GetProperty("partition_0").GetDouble());
        Assert.Contains("\"run_count\":1.0", emu.Seen[^1].Body, StringComparison.Ordinal);
        Assert.Equal(1.0, run.GetProperty("run_count").GetDouble());
    }

    [Theory]
    [InlineData("id")]
    [InlineData("state")]
    public async Task Dhub_missingField_leaves_one_field_out_of_one_listed_batch(string variant)
    {
        await using var emu = await RunningEmulator.StartAsync();
        emu.State.Dhub.Seed("orders", 3);
        emu.State.AddFault(new FaultRule { Mode = FaultMode.MissingField, Method = "GET", PathPattern = ListPath, Index = 1, Variant = variant });

        var items = (await ListAsync(emu)).GetProperty("items").EnumerateObject().ToArray();
        var clean = (await ListAsync(emu)).GetProperty("items").EnumerateObject().ToArray();

        Assert.Equal(clean.Select(i => i.Name), items.Select(i => i.Name));
        Assert.False(JsonDocument.Parse(items[1].Value.GetString()!).RootElement.TryGetProperty(variant, out _));
        Assert.True(JsonDocument.Parse(clean[1].Value.GetString()!).RootElement.TryGetProperty(variant, out _));
        Assert.Equal(clean[0].Value.GetString(), items[0].Value.GetString());
        Assert.Equal(clean[2].Value.GetString(), items[2].Value.GetString());
    }

    [Theory]
    [InlineData("id", new[] { "id" })]
    [InlineData("state", new[] { "state", "state_type", "state_name", "state_id" })]
    public async Task Prefect_missingField_leaves_the_id_or_every_state_field_out_of_one_flow_run(string variant, string[] removed)
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var id = await emu.CreateRunIdAsync("orders");
        emu.State.AddFault(new FaultRule { Mode = FaultMode.MissingField, Method = "GET", PathPattern = "^/prefect/api/flow_runs/", Variant = variant });

        var (_, damaged) = await emu.GetAsync("flow_runs/" + id);
        var (_, healed) = await emu.GetAsync("flow_runs/" + id);

        Assert.All(removed, name => Assert.False(damaged.TryGetProperty(name, out _)));
        Assert.All(removed, name => Assert.True(healed.TryGetProperty(name, out _)));
        Assert.Equal(healed.Str("name"), damaged.Str("name"));
    }

    [Fact]
    public async Task Damage_rules_respect_skip_every_and_times_and_take_their_json_names_over_the_control_api()
    {
        await using var emu = await RunningEmulator.StartAsync();
        emu.State.Dhub.Seed("orders", 1);
        using var control = new HttpClient { BaseAddress = emu.Server.BaseUri };

        using var add = await control.PostAsync("_emulator/faults", new StringContent(
            "{\"mode\":\"wrongType\",\"method\":\"GET\",\"pathPattern\":\"^/api/v1/batches/orders/?$\",\"skip\":1,\"every\":2,\"times\":2,\"index\":0}",
            Encoding.UTF8, "application/json"));
        using var badVariant = await control.PostAsync("_emulator/faults", new StringContent(
            "{\"mode\":\"nonIntegerOffset\",\"variant\":\"negative\"}", Encoding.UTF8, "application/json"));
        var damagedAt = new System.Collections.Generic.List<int>();
        for (var i = 0; i < 7; i++)
        {
            var item = (await ListAsync(emu)).GetProperty("items").EnumerateObject().Single();
            if (JsonDocument.Parse(item.Value.GetString()!).RootElement.GetProperty("state").GetProperty("state").ValueKind == JsonValueKind.Number)
            {
                damagedAt.Add(i);
            }
        }

        Assert.Equal(HttpStatusCode.OK, add.StatusCode);
        var rule = await RunningEmulator.ReadJsonAsync(add);
        Assert.Equal("wrongType", rule.Str("mode"));
        Assert.Equal(0, rule.Int("index"));
        Assert.Equal(HttpStatusCode.BadRequest, badVariant.StatusCode);
        // Skip the first, then every second one, twice: requests 2 and 4 (0-based) are damaged.
        Assert.Equal(new[] { 2, 4 }, damagedAt);
    }

    private static async Task<JsonElement> ListAsync(RunningEmulator emu)
    {
        using var response = await emu.Client.GetAsync(RunningEmulator.BatchPath("orders") + "/");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await RunningEmulator.ReadJsonAsync(response);
    }

    private static System.Collections.Generic.IEnumerable<JsonElement> Steps(JsonProperty item) =>
        JsonDocument.Parse(item.Value.GetString()!).RootElement.GetProperty("state").GetProperty("steps").EnumerateObject().Select(s => s.Value).ToArray();
}
