using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Net;
using System.Threading.Tasks;
using DhubBatches.Emulator.Prefect.Flows;
using Xunit;
using Xunit.Abstractions;
using static DhubBatches.Emulator.Tests.FlowDeploymentControl;

namespace DhubBatches.Emulator.Tests;

/// <summary>
/// Flow runs of a whole flow: listed by <c>flows.name.any_</c> / <c>flows.id.any_</c> from the flow's own run list (so
/// every page costs what one deployment's page does), combined with the other criteria and with
/// <c>deployment_id.is_null_</c>; and seeding big fleets quickly.
/// </summary>
public class PrefectFleetRunTests
{
    private const int PageSize = 200;
    private readonly ITestOutputHelper _output;

    public PrefectFleetRunTests(ITestOutputHelper output) => _output = output;

    [Theory]
    [InlineData(3)]
    [InlineData(2)]
    public async Task Runs_of_a_flow_over_20_deployments_page_newest_first_and_the_last_page_costs_what_the_first_does(int version)
    {
        await using var emu = await PrefectEmulator.StartAsync(version: version);
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < 20; i++)
        {
            emu.State.Prefect.RegisterFlowDeployment("fleet", $"job-{i:00}", BuiltInFlows.For($"job-{i:00}"));
            await SeedAsync(emu, "fleet", $"job-{i:00}", 5_000);
        }

        var seeding = clock.Elapsed;
        emu.State.Prefect.Seed("orders", 1_000); // another flow's runs, never listed
        var body = "{\"flows\":{\"name\":{\"any_\":[\"fleet\"]}},\"sort\":\"EXPECTED_START_TIME_DESC\",\"limit\":" + PageSize + ",\"offset\":{0}}";
        clock.Restart();
        var seen = new HashSet<string>();
        var costs = new List<long>();
        var last = DateTimeOffset.MaxValue;
        for (var offset = 0; ; offset += PageSize)
        {
            var examined = emu.State.Prefect.RunsExamined;
            var (status, page) = await emu.PostAsync("flow_runs/filter", body.Replace("{0}", offset.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            Assert.Equal(HttpStatusCode.OK, status);
            if (page.GetArrayLength() == 0)
            {
                break;
            }

            costs.Add(emu.State.Prefect.RunsExamined - examined);
            foreach (var run in page.EnumerateArray())
            {
                Assert.True(seen.Add(run.Str("id")));
                Assert.True(run.Time("expected_start_time") <= last);
                last = run.Time("expected_start_time");
            }

            emu.Seen.Clear();
        }

        _output.WriteLine($"Prefect {version}: seeding 20 x 5,000 runs {seeding}; {costs.Count} pages of the flow's 100,000 runs in {clock.Elapsed}");
        Assert.Equal(100_000, seen.Count);
        Assert.All(costs, c => Assert.Equal(PageSize, c)); // the page itself: nothing else was examined
        var (_, count) = await emu.PostAsync("flow_runs/count", "{\"flows\":{\"name\":{\"any_\":[\"fleet\"]}}}");
        Assert.Equal(100_000, count.GetInt32());
        Assert.True(seeding < TimeSpan.FromSeconds(20), $"seeding took {seeding}");
    }

    [Theory]
    [InlineData(3)]
    [InlineData(2)]
    public async Task Seeding_100k_runs_of_one_deployment_takes_seconds_and_page_500_is_a_slice(int version)
    {
        await using var emu = await PrefectEmulator.StartAsync(version: version);
        var flowId = (await RegisterAsync(emu, "big-flow", "big")).Str("flowId");
        var clock = Stopwatch.StartNew();
        var seeded = await SeedAsync(emu, "big-flow", "big", 100_000);
        var seeding = clock.Elapsed;
        Assert.Equal(("big-flow", "big", 100_000, 100_000), (seeded.Str("flow"), seeded.Str("deployment"), seeded.Int("seeded"), seeded.Int("runs")));

        var examined = emu.State.Prefect.RunsExamined;
        var (_, page) = await emu.PostAsync("flow_runs/filter",
            $"{{\"flows\":{{\"id\":{{\"any_\":[\"{flowId}\"]}}}},\"sort\":\"EXPECTED_START_TIME_DESC\",\"limit\":200,\"offset\":99800}}");
        Assert.Equal(200, page.GetArrayLength());
        Assert.Equal(200, emu.State.Prefect.RunsExamined - examined);
        _output.WriteLine($"Prefect {version}: seeding 100,000 runs of one deployment {seeding}");
        Assert.True(seeding < TimeSpan.FromSeconds(15), $"seeding took {seeding}");
    }

    [Theory]
    [InlineData(3)]
    [InlineData(2)]
    public async Task A_flow_filter_combines_with_state_time_deployment_and_deployment_id_is_null(int version)
    {
        await using var emu = await PrefectEmulator.StartAsync(version: version);
        // Flow "publish" is the subflow of subflow-pipeline (runs without a deployment) and also has a deployment of its own.
        var parent = await emu.CreateRunIdAsync("subflow-pipeline");
        emu.Step(4);
        var publish = await RegisterAsync(emu, "publish", "pub");
        await SeedAsync(emu, "publish", "pub", 50);
        var manual = (await emu.PostAsync($"deployments/{publish.Str("deploymentId")}/create_flow_run", "{}")).Json.Str("id");
        var (_, children) = await emu.PostAsync("flow_runs/filter", $"{{\"flow_runs\":{{\"parent_flow_run_id\":{{\"any_\":[\"{parent}\"]}}}}}}");
        var child = Assert.Single(children.EnumerateArray());
        Assert.True(child.IsNull("deployment_id"));
        Assert.Equal(publish.Str("flowId"), child.Str("flow_id"));

        async Task<string[]> Ids(string criteria, long maxExamined)
        {
            var examined = emu.State.Prefect.RunsExamined;
            var (status, list) = await emu.PostAsync("flow_runs/filter", $"{{{criteria},\"sort\":\"EXPECTED_START_TIME_DESC\",\"limit\":200}}");
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.InRange(emu.State.Prefect.RunsExamined - examined, 0, maxExamined);
            var (_, count) = await emu.PostAsync("flow_runs/count", $"{{{criteria}}}");
            Assert.Equal(list.GetArrayLength(), count.GetInt32());
            return list.EnumerateArray().Select(r => r.Str("id")).ToArray();
        }

        const string flow = "\"flows\":{\"name\":{\"any_\":[\"publish\"]}}";
        Assert.Equal(new[] { child.Str("id") }, await Ids($"{flow},\"flow_runs\":{{\"deployment_id\":{{\"is_null_\":true}}}}", 1));
        var deployed = await Ids($"{flow},\"flow_runs\":{{\"deployment_id\":{{\"is_null_\":false}}}}", 51);
        Assert.Equal(51, deployed.Length);
        Assert.Equal(manual, deployed[0]);
        Assert.Equal(52, (await Ids(flow, 52)).Length);
        Assert.Equal(new[] { child.Str("id") }, await Ids("\"flow_runs\":{\"deployment_id\":{\"is_null_\":true}}", 1));
        Assert.Equal(51, (await Ids($"{flow},\"flow_runs\":{{\"deployment_id\":{{\"any_\":[\"{publish.Str("deploymentId")}\"]}}}}", 51)).Length);
        Assert.Empty(await Ids($"{flow},\"flow_runs\":{{\"deployment_id\":{{\"any_\":[\"{emu.State.Prefect.DeploymentId("subflow-pipeline")}\"]}}}}", 0));
        Assert.Empty(await Ids("\"flows\":{\"name\":{\"any_\":[\"no-such-flow\"]}}", 0));

        // Criteria the index cannot answer are checked run by run among the flow's runs only.
        var childDone = emu.State.Prefect.RunStateType(child.Str("id")) == "COMPLETED" ? 1 : 0;
        var completed = await Ids($"{flow},\"flow_runs\":{{\"state\":{{\"type\":{{\"any_\":[\"COMPLETED\"]}}}}}}", 52 + 50 + childDone);
        Assert.Equal(50 + childDone, completed.Length);
        Assert.DoesNotContain(manual, completed);
        var before = emu.State.UtcNow.AddSeconds(-60).ToString("O"); // after the seeded runs, before the child and the manual run
        Assert.Equal(50, (await Ids($"{flow},\"flow_runs\":{{\"expected_start_time\":{{\"before_\":\"{before}\"}},\"deployment_id\":{{\"is_null_\":false}}}}", 50)).Length);
        var (_, both) = await emu.PostAsync("flow_runs/filter",
            $"{{\"flows\":{{\"name\":{{\"any_\":[\"publish\",\"run-pipeline\"]}}}},\"flow_runs\":{{\"deployment_id\":{{\"is_null_\":true}}}}}}");
        Assert.Equal(new[] { child.Str("id") }, both.EnumerateArray().Select(r => r.Str("id")));
        AssertAnswersFitPrefectsSchema(emu);
    }
}
