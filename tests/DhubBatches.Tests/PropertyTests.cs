using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading;
using CsCheck;
using DhubBatches.Emulator.Faults;
using DhubBatches.Contract;
using DhubBatches.Engine.Dhub;
using DhubBatches.Engine.Prefect;
using Xunit;

namespace DhubBatches.Tests;

/// <summary>Random inputs (CsCheck): ids as path segments, and hostile JSON answers, never get past the module's error model.</summary>
public sealed class PropertyTests : EmulatorTestBase
{
    private const int Iterations = 150;

    public PropertyTests(EmulatorFixture fixture)
        : base(fixture)
    {
    }

    // ---- generators ----

    private static readonly Gen<string> Piece = Gen.Frequency(
        (6, Gen.Char["abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"].Select(c => c.ToString())),
        (4, Gen.Char["/?#%&+=.;:@!$'()*,[]{}\\\"<>|^`~"].Select(c => c.ToString())),
        (2, Gen.OneOf(" ", "\t", "\n", "\r", "\u00a0", "\u2028", "\u3000")),
        (2, Gen.OneOf(Gen.Int[0x80, 0xD7FF], Gen.Int[0xE000, 0xFFFD]).Select(i => ((char)i).ToString())),
        (2, Gen.Int[0x10000, 0x10FFFF].Select(char.ConvertFromUtf32)), // a surrogate pair
        (1, Gen.OneOf("%2F", "%2e", "%25", "..", ".", "/..", "../", "?x=1", "#frag", "%", "%%", "%zz", "+", "é", "日本", "😀", "\u0301", "\0")));

    /// <summary>Any well-formed Unicode string, biased to the characters that matter in a URL, plus the special ids.</summary>
    private static readonly Gen<string> Id = Gen.Frequency(
        (10, Piece.Array[0, 12].Select(parts => string.Concat(parts))),
        (1, Gen.OneOf(".", "..", "", " ", "\t", " \n ", "...", ". ", " ..", "%2e%2e", "./", "a/b", "?", "#", "%")));

    private static bool MustBeRejected(string id) => id == "." || id == ".." || string.IsNullOrWhiteSpace(id);

    private static readonly Gen<string> Key = Gen.Frequency(
        (8, Gen.OneOf("id", "name", "deployment", "state", "steps", "offsets", "items", "token", "deployment_id", "state_type", "state_name",
            "run_count", "start_time", "end_time", "expected_start_time", "flow_run_id", "task_run_id", "dynamic_key", "flow_run_run_count",
            "type", "data", "created", "partition_0", "status", "details", "detail", "message", "extract", "b1")),
        (1, Piece.Array[0, 4].Select(parts => string.Concat(parts))));

    private static readonly Gen<string> Scalar = Gen.Frequency(
        (3, Gen.OneOf("null", "true", "false", "0", "-1", "1.5", "1e400", "-1e400", "1E+2", "9223372036854775808", "-9223372036854775809",
            "12345678901234567890123", "0.0000001", "-0", "42")),
        (1, Gen.Long.Select(l => l.ToString(System.Globalization.CultureInfo.InvariantCulture))),
        (1, Gen.Double.Select(d => double.IsFinite(d) ? d.ToString("R", System.Globalization.CultureInfo.InvariantCulture) : "0")),
        (4, Gen.OneOf("running", "stop", "success", "failed", "pending", "scheduled", "none", "RUNNING", "COMPLETED", "FAILED", "CANCELLED",
            "CANCELLING", "SCHEDULED", "offsets", "result", "2026-08-21T10:00:00Z", "2026-13-45T99:00:00Z", "not a date", "$ID", "$DEP", "$TASK",
            "{\"partition_0\": 1000}", "{\"partition_0\": 1e400}", "{\"p\": \"x\"}", "[1,2]", "{", "", "\u0000", "😀").Select(Quote)),
        (1, Piece.Array[0, 6].Select(parts => Quote(string.Concat(parts)))));

    private static readonly Gen<string> Value = Gen.Recursive<string>((depth, self) => depth >= 4
        ? Scalar
        : Gen.Frequency(
            (5, Scalar),
            (2, self.Array[0, 4].Select(items => "[" + string.Join(",", items) + "]")),
            (3, Gen.Select(Key, self, (k, v) => Quote(k) + ":" + v).Array[0, 6].Select(members => "{" + string.Join(",", members) + "}"))));

    private const string Html = "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head><body><h1>502</h1><hr><center>nginx</center></body></html>";

    /// <summary>A body a server (or a proxy in front of it) might answer with: random JSON, shapes close to the real ones, cut short, or HTML.</summary>
    private static readonly Gen<string> Body = Gen.Frequency(
        (4, Value),
        (2, Value.Select(v => "{\"items\":" + v + ",\"token\":null}")),
        (2, Value.Select(v => "{\"items\":{\"b1\":" + v + "}}")),
        (2, Value.Select(v => "{\"id\":\"b1\",\"state\":{\"state\":\"running\",\"steps\":{\"extract\":" + v + "}}}")),
        (3, Gen.Select(Value, Value, (v, w) => "{\"id\":\"$ID\",\"deployment_id\":\"$DEP\",\"state_type\":" + v + ",\"run_count\":" + w + ",\"start_time\":" + w + "}")),
        (2, Gen.Select(Value, Gen.Int[0, 100], (v, percent) => v.Substring(0, v.Length * percent / 100))),
        (1, Gen.OneOf(Html, "", " ", "null", "[]", "{}", "\"text\"", "{\"items\":null}", "{\"items\":{\"b1\":null}}", "{\"items\":{\"b1\":\"null\"}}")));

    private static string Quote(string s) => JsonSerializer.Serialize(s);

    private static void AssertModuleError(Exception? ex, string body)
    {
        if (ex == null)
        {
            return;
        }
        Assert.True(
            ex is DhubException dhub && Enum.IsDefined(dhub.Kind),
            $"Body {body} made the engine throw {ex.GetType().FullName}: {ex}");
    }

    // ---- ids as one path segment ----

    [Fact]
    public async Task Random_batch_and_pipeline_ids_are_one_segment_or_rejected_before_any_request_dhub()
    {
        using var engine = NewEngine(s => s.MaximumRetryCount = 0);

        await Id.SampleAsync(
            async id =>
            {
                State.ClearRequests();
                var rejected = MustBeRejected(id);

                // As every batch command does: ValidateIds, then the engine.
                var batchError = await Record(async () =>
                {
                    DhubErrors.ValidateId("orders", "PipelineId");
                    DhubErrors.ValidateId(id, "BatchId");
                    await engine.GetAsync("orders", id, CancellationToken.None);
                });
                var batchRequests = State.Requests;
                State.ClearRequests();
                var pipelineError = await Record(async () =>
                {
                    DhubErrors.ValidateId(id, "PipelineId");
                    await engine.GetLatestAsync(id, CancellationToken.None);
                });
                var pipelineRequests = State.Requests;

                if (rejected)
                {
                    Assert.Equal(DhubErrorKind.DhubBadRequest, Assert.IsType<DhubException>(batchError).Kind);
                    Assert.Equal(DhubErrorKind.DhubBadRequest, Assert.IsType<DhubException>(pipelineError).Kind);
                    Assert.Empty(batchRequests);
                    Assert.Empty(pipelineRequests);
                    return;
                }

                if (id.Contains('\0') && batchRequests.Count == 0)
                {
                    // Kestrel (like most servers) refuses a %00 in the path with 400 before any middleware sees it.
                    Assert.Equal(DhubErrorKind.DhubBadRequest, Assert.IsType<DhubException>(batchError).Kind);
                    Assert.Equal(DhubErrorKind.DhubBadRequest, Assert.IsType<DhubException>(pipelineError).Kind);
                    return;
                }

                var batchRequest = Assert.Single(batchRequests);
                Assert.Equal(new[] { "api", "v1", "batches", "orders", id }, batchRequest.PathSegments);
                Assert.Equal(DhubErrorKind.DhubBatchNotFound, Assert.IsType<DhubException>(batchError).Kind);
                var pipelineRequest = Assert.Single(pipelineRequests);
                Assert.Equal(new[] { "api", "v1", "batches", id }, pipelineRequest.PathSegments);
                Assert.IsType<DhubException>(pipelineError);
            },
            iter: Iterations,
            threads: 1,
            print: Show);
    }

    [Fact]
    public async Task Random_pipeline_ids_are_one_deployment_name_segment_on_prefect()
    {
        using var engine = global::DhubBatches.Engine.BatchEngineFactory.Create(new EngineSettings(Fixture.Server.PrefectBaseUri, BackendKind.Prefect)
        {
            MaximumRetryCount = 0,
            RetryIntervalSec = 0,
            TimeoutSec = 10,
        });

        await Id.SampleAsync(
            async id =>
            {
                State.ClearRequests();
                var error = await Record(async () =>
                {
                    DhubErrors.ValidateId(id, "PipelineId");
                    await engine.GetLatestAsync(id, CancellationToken.None);
                });
                if (MustBeRejected(id))
                {
                    Assert.Equal(DhubErrorKind.DhubBadRequest, Assert.IsType<DhubException>(error).Kind);
                    Assert.Empty(State.Requests);
                    return;
                }
                if (id.Contains('\0') && State.Requests.Count == 0)
                {
                    Assert.Equal(DhubErrorKind.DhubBadRequest, Assert.IsType<DhubException>(error).Kind); // Kestrel: %00 → 400
                    return;
                }
                var request = Assert.Single(State.Requests);
                Assert.Equal(new[] { "prefect", "api", "deployments", "name", "run-pipeline", id }, request.PathSegments);
                Assert.Equal(DhubErrorKind.DhubPipelineNotFound, Assert.IsType<DhubException>(error).Kind);
            },
            iter: Iterations,
            threads: 1,
            print: Show);
    }

    private static string Show(string value) =>
        "\"" + string.Concat(value.Select(c => c < 0x20 || c > 0x7E ? $"\\u{(int)c:x4}" : c.ToString())) + "\"";

    private static async Task<Exception?> Record(Func<Task> action)
    {
        try
        {
            await action();
            return null;
        }
        catch (Exception ex)
        {
            return ex;
        }
    }

    // ---- hostile answers over HTTP ----

    private async Task ServeAsync(string method, string pathPattern, string body, Func<Task> call)
    {
        State.ClearFaults();
        State.AddFault(new FaultRule
        {
            Method = method,
            PathPattern = pathPattern,
            Status = 200,
            Times = 0,
            Body = body,
            ContentType = body.StartsWith("<", StringComparison.Ordinal) ? "text/html" : null,
        });
        AssertModuleError(await Record(call), body);
    }

    [Fact]
    public async Task Random_answers_to_a_dhub_get_and_list_only_ever_raise_DhubException()
    {
        using var engine = NewEngine(s => s.MaximumRetryCount = 0);

        await Body.SampleAsync(
            async body =>
            {
                var text = body.Replace("$ID", "b1");
                await ServeAsync("GET", "^/api/v1/batches/orders/b1$", text, () => engine.GetAsync("orders", "b1", CancellationToken.None));
                await ServeAsync("GET", "^/api/v1/batches/orders$", text, () => engine.GetLatestAsync("orders", CancellationToken.None));
                await ServeAsync("GET", "^/api/v1/batches/orders/$", text, () => engine.GetPageAsync("orders", new BatchPageRequest(), CancellationToken.None));
            },
            iter: Iterations,
            threads: 1);
    }

    [Fact]
    public async Task Random_answers_to_prefect_flow_run_reads_only_ever_raise_DhubException()
    {
        using var engine = global::DhubBatches.Engine.BatchEngineFactory.Create(new EngineSettings(Fixture.Server.PrefectBaseUri, BackendKind.Prefect)
        {
            MaximumRetryCount = 0,
            RetryIntervalSec = 0,
            TimeoutSec = 10,
        });
        var runId = Guid.NewGuid().ToString();
        var deploymentId = State.Prefect.DeploymentId("orders")!;

        await Body.SampleAsync(
            async body =>
            {
                var text = body.Replace("$ID", runId).Replace("$DEP", deploymentId).Replace("$TASK", "00000000-0000-4000-8000-000000000001");
                await ServeAsync("GET", "^/prefect/api/flow_runs/" + runId + "$", text, () => engine.GetAsync("orders", runId, CancellationToken.None));
                await ServeAsync("POST", "^/prefect/api/flow_runs/filter$", "[" + text + "]", () => engine.GetLatestAsync("orders", CancellationToken.None));
                await ServeAsync("POST", "^/prefect/api/flow_runs/filter$", text, () => engine.GetPageAsync("orders", new BatchPageRequest { Limit = 5 }, CancellationToken.None));
                await ServeAsync("POST", "^/prefect/api/flow_runs/count$", text, () => engine.CountAsync("orders", CancellationToken.None));
            },
            iter: Iterations,
            threads: 1);
    }

    [Fact]
    public async Task Random_task_runs_and_artifacts_only_ever_raise_DhubException()
    {
        State.Prefect.Seed("orders", 1);
        using var engine = global::DhubBatches.Engine.BatchEngineFactory.Create(new EngineSettings(Fixture.Server.PrefectBaseUri, BackendKind.Prefect)
        {
            MaximumRetryCount = 0,
            RetryIntervalSec = 0,
            TimeoutSec = 10,
        });
        var runId = (await engine.GetLatestAsync("orders", CancellationToken.None)).Id;
        var taskRunId = "00000000-0000-4000-8000-000000000001";

        await Body.SampleAsync(
            async body =>
            {
                var text = body.Replace("$ID", runId).Replace("$DEP", runId).Replace("$TASK", taskRunId);
                var artifact = "[{\"type\":\"offsets\",\"flow_run_id\":\"" + runId + "\",\"task_run_id\":\"" + taskRunId + "\",\"data\":" + text + "}]";
                var task = "[{\"id\":\"" + taskRunId + "\",\"name\":\"extract-0\",\"dynamic_key\":\"0\",\"flow_run_id\":\"" + runId + "\",\"flow_run_run_count\":1,\"state_type\":\"COMPLETED\"}]";
                State.ClearFaults();
                State.AddFault(new FaultRule { Method = "POST", PathPattern = "^/prefect/api/task_runs/filter$", Status = 200, Times = 0, Body = task });
                State.AddFault(new FaultRule { Method = "POST", PathPattern = "^/prefect/api/artifacts/filter$", Status = 200, Times = 0, Body = artifact });
                AssertModuleError(await Record(() => engine.GetAsync("orders", runId, CancellationToken.None)), artifact);
                State.ClearFaults();
                State.AddFault(new FaultRule { Method = "POST", PathPattern = "^/prefect/api/task_runs/filter$", Status = 200, Times = 0, Body = "[" + text + "]" });
                AssertModuleError(await Record(() => engine.GetAsync("orders", runId, CancellationToken.None)), text);
            },
            iter: Iterations,
            threads: 1);
    }

    // ---- the mappers on their own ----

    [Fact]
    public void Prefect_offsets_and_mapping_throw_nothing_but_JsonException_or_DhubException()
    {
        Body.Sample(
            body =>
            {
                JsonDocument document;
                try
                {
                    document = JsonDocument.Parse(body);
                }
                catch (JsonException)
                {
                    return;
                }
                using (document)
                {
                    var error = Catch(() =>
                    {
                        OffsetReader.Read(document.RootElement, new Dictionary<string, long>(), new List<string>(), new List<string>());
                        var run = JsonSerializer.Deserialize("{\"id\":\"r\",\"state_type\":\"COMPLETED\",\"run_count\":1}", PrefectJsonContext.Default.PrefectFlowRun)!;
                        var artifacts = new List<PrefectArtifact> { new() { Type = "offsets", TaskRunId = "t", FlowRunId = "r", Data = document.RootElement } };
                        var tasks = new List<PrefectTaskRun> { new() { Id = "t", Name = "extract-0", DynamicKey = "0", FlowRunId = "r", FlowRunRunCount = 1, StateType = "COMPLETED" } };
                        PrefectMapper.ToSnapshot("orders", "run-pipeline", run, tasks, artifacts);
                        var runs = JsonSerializer.Deserialize("[" + body + "]", PrefectJsonContext.Default.ListPrefectFlowRun);
                        var taskRuns = JsonSerializer.Deserialize("[" + body + "]", PrefectJsonContext.Default.ListPrefectTaskRun);
                        var randomArtifacts = JsonSerializer.Deserialize("[" + body + "]", PrefectJsonContext.Default.ListPrefectArtifact);
                        if (runs?[0] is { } randomRun)
                        {
                            PrefectMapper.ToSnapshot("orders", "run-pipeline", randomRun, (taskRuns?.Where(t => t != null) ?? tasks).ToList(), (randomArtifacts?.Where(a => a != null) ?? artifacts).ToList());
                        }
                    });
                    Assert.True(error is null or JsonException or DhubException, $"{body}: {error}");
                }
            },
            iter: Iterations * 2,
            threads: 1);
    }

    [Fact]
    public void DhubMapper_throws_nothing_but_JsonException_or_DhubException()
    {
        Body.Sample(
            body =>
            {
                var error = Catch(() =>
                {
                    var dto = JsonSerializer.Deserialize(body, DhubJsonContext.Default.DhubBatch);
                    if (dto != null)
                    {
                        DhubMapper.ToSnapshot("orders", dto, "b1");
                    }
                });
                Assert.True(error is null or JsonException or DhubException, $"{body}: {error}");
                error = Catch(() =>
                {
                    using var document = JsonDocument.Parse(body);
                    DhubMapper.ItemToSnapshot("orders", "b1", document.RootElement);
                });
                Assert.True(error is null or JsonException or DhubException, $"{body}: {error}");
                error = Catch(() =>
                {
                    var list = JsonSerializer.Deserialize(body, DhubJsonContext.Default.DhubBatchList);
                    foreach (var pair in list?.Items ?? new Dictionary<string, JsonElement>())
                    {
                        DhubMapper.ItemToSnapshot("orders", pair.Key, pair.Value);
                    }
                });
                Assert.True(error is null or JsonException or DhubException, $"{body}: {error}");
            },
            iter: Iterations * 2,
            threads: 1);
    }

    private static Exception? Catch(Action action)
    {
        try
        {
            action();
            return null;
        }
        catch (Exception ex)
        {
            return ex;
        }
    }
}
