using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Net;
using System.Threading.Tasks;
using Xunit;
using Xunit.Abstractions;

namespace DhubBatches.Emulator.Tests;

/// <summary>
/// Reading every run of a 100,000-run deployment the way the module's <c>-All</c> does: pages of 200 runs newest
/// first, each followed by one task run query and one artifact query for those 200 runs. The cost of each page is
/// counted in runs the emulator had to examine (not in time): it must stay flat from the first page to the last.
/// </summary>
public class PrefectPagingCostTests
{
    private const int Runs = 100_000;
    private const int PageSize = 200;
    private readonly ITestOutputHelper _output;

    public PrefectPagingCostTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public async Task Reading_100k_runs_page_by_page_costs_the_same_for_the_last_page_as_for_the_first()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        emu.State.Prefect.Seed("orders", Runs);
        var dep = emu.State.Prefect.DeploymentId("orders");
        var before = emu.State.UtcNow.ToString("O");
        var costs = new List<(long Examined, long Scripts)>();
        var seen = new HashSet<string>();
        var clock = Stopwatch.StartNew();
        for (var offset = 0; ; offset += PageSize)
        {
            var examined = emu.State.Prefect.RunsExamined;
            var scripts = emu.State.Prefect.ScriptsBuilt;
            var (status, page) = await emu.PostAsync("flow_runs/filter",
                $"{{\"flow_runs\":{{\"deployment_id\":{{\"any_\":[\"{dep}\"]}},\"expected_start_time\":{{\"before_\":\"{before}\"}}}},"
                + $"\"sort\":\"EXPECTED_START_TIME_DESC\",\"limit\":{PageSize},\"offset\":{offset}}}");
            Assert.Equal(HttpStatusCode.OK, status);
            var ids = page.EnumerateArray().Select(r => r.Str("id")).ToArray();
            if (ids.Length == 0)
            {
                break;
            }

            var quoted = string.Join(",", ids.Select(i => "\"" + i + "\""));
            var (_, tasks) = await emu.PostAsync("task_runs/filter",
                $"{{\"task_runs\":{{\"flow_run_id\":{{\"any_\":[{quoted}]}}}},\"sort\":\"EXPECTED_START_TIME_ASC\",\"limit\":{PageSize}}}");
            var (_, artifacts) = await emu.PostAsync("artifacts/filter",
                $"{{\"flow_runs\":{{\"id\":{{\"any_\":[{quoted}]}}}},\"artifacts\":{{\"operator\":\"or_\",\"type\":{{\"any_\":[\"offsets\"]}},"
                + $"\"key\":{{\"like_\":\"offsets\"}}}},\"sort\":\"CREATED_DESC\",\"limit\":{PageSize}}}");
            Assert.Equal(PageSize, tasks.GetArrayLength());
            Assert.Equal(PageSize, artifacts.GetArrayLength());
            Assert.All(ids, id => Assert.True(seen.Add(id)));
            costs.Add((emu.State.Prefect.RunsExamined - examined, emu.State.Prefect.ScriptsBuilt - scripts));
            emu.Seen.Clear();
        }

        _output.WriteLine($"{costs.Count} pages in {clock.Elapsed}; first page {costs[0]}, last page {costs[^1]}, max {costs.Max(c => c.Examined)}");
        Assert.Equal(Runs, seen.Count);
        Assert.Equal(Runs / PageSize, costs.Count);
        // Per page: the 200 runs listed, then those 200 looked up again by id for their task runs and artifacts.
        Assert.All(costs, c => Assert.InRange(c.Examined, PageSize, 4 * PageSize));
        Assert.All(costs, c => Assert.InRange(c.Scripts, 0, 2 * PageSize));
        Assert.True(costs[^1].Examined <= costs[0].Examined * 1.5, $"last page {costs[^1]} vs first {costs[0]}");
    }
}
