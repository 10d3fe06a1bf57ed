using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text.Json;
using System.Threading.Tasks;
using Xunit;
using DhubBatches.TestSupport;

namespace DhubBatches.Emulator.Tests;

/// <summary>
/// Every kind of Prefect response the emulator returns validates against the response schema Prefect's OpenAPI
/// document declares for that operation (JsonSchema.Net, $refs into #/components/schemas), and bodies the strict
/// server rejects are bodies that fail the request model. Both modes are checked against the same 3.x document:
/// the 2-mode answers carry only the fields the 2.16.8 samples have, and the 3.x schema happens to accept all of
/// them (the fields 3.x added are optional there), so no 2-mode answer needs exempting.
/// </summary>
public class PrefectSchemaTests
{
    [Theory]
    [InlineData(3)]
    [InlineData(2)]
    public async Task Every_kind_of_success_response_validates_against_prefects_response_schema(int version)
    {
        await using var emu = await PrefectEmulator.StartAsync(o => o.PrefectCsrf = true, version);
        var (_, token) = await emu.GetAsync("csrf-token?client=c1", "/csrf-token");
        emu.Client.DefaultRequestHeaders.Add("Prefect-Csrf-Token", token.GetProperty("token").GetString());
        emu.Client.DefaultRequestHeaders.Add("Prefect-Csrf-Client", "c1");

        await emu.GetAsync("health", "/health");
        await emu.GetAsync("version", "/version");
        await emu.GetAsync("admin/version", "/admin/version");
        await emu.PostAsync("deployments/filter", "{\"flows\":{\"name\":{\"any_\":[\"run-pipeline\"]}},\"sort\":\"NAME_ASC\",\"limit\":200,\"offset\":0}", "/deployments/filter");
        await emu.GetAsync("deployments/" + await emu.DeploymentIdAsync("scheduled-pipeline"));
        var running = (await emu.CreateRunAsync("orders", "{\"parameters\":{\"pipeline_version\":\"1.0\"},\"idempotency_key\":\"orders:s\"}")).GetProperty("id").GetString()!;
        await emu.CreateRunAsync("orders", "{\"idempotency_key\":\"orders:s\"}", HttpStatusCode.OK);
        var failing = await emu.CreateRunIdAsync("failing-pipeline");
        var objectData = await emu.CreateRunIdAsync("object-data-pipeline");
        var scheduled = await emu.CreateRunIdAsync("inventory");
        var completed = await emu.CreateRunIdAsync("sales-pipeline");
        // One run of every built-in behaviour, so every shape of state, task run and artifact gets written out.
        var behaviours = new List<string>();
        foreach (var pipeline in new[]
        {
            "retry-pipeline", "mapped-pipeline", "subflow-pipeline", "late-pipeline", "paused-pipeline", "suspend-pipeline",
            "limited-pipeline", "limited-pipeline", "crash-pipeline", "stuck-pipeline", "strict-pipeline", "open-pipeline", "kwargs-pipeline",
            "table-pipeline", "keyed-pipeline",
        })
        {
            behaviours.Add(await emu.CreateRunIdAsync(pipeline, pipeline == "strict-pipeline" ? "{\"parameters\":{\"pipeline_version\":\"1\"}}" : "{}"));
        }

        emu.Step(3.6);
        await emu.SetStateAsync(scheduled, "CANCELLING", Guid.NewGuid().ToString());          // REJECT -> CANCELLED
        var transition = Guid.NewGuid().ToString();
        await emu.SetStateAsync(running, "CANCELLING", transition);                            // ACCEPT
        await emu.SetStateAsync(running, "CANCELLING", transition);                            // REJECT duplicate
        emu.State.Prefect.WaitNextSetState(1);
        await emu.SetStateAsync(failing, "CANCELLING", Guid.NewGuid().ToString());             // WAIT
        emu.Step(8);
        await emu.SetStateAsync(failing, "CANCELLING", Guid.NewGuid().ToString());             // ABORT (terminal)
        await emu.SetStateAsync(completed, "SCHEDULED", null, force: true, message: "Retried via CLI");   // restart: ACCEPT
        await emu.SetStateAsync(failing, "SCHEDULED");                                        // terminal, no force: ACCEPT
        emu.State.Prefect.AbortNextSetState(1, "Run is already COMPLETED.");
        await emu.SetStateAsync(completed, "SCHEDULED", null, force: true);                   // ABORT knob
        emu.Step(2);
        foreach (var id in new[] { running, failing, objectData, scheduled, completed }.Concat(behaviours))
        {
            await emu.ReadRunAsync(id);
            var tasks = await emu.TaskRunsAsync(id);
            var artifacts = await emu.ArtifactsAsync(id);
            await emu.LogsAsync(id);
            if (tasks.Length > 0)
            {
                await emu.GetAsync("task_runs/" + tasks[0].Str("id"));
            }

            if (artifacts.Length > 0)
            {
                await emu.GetAsync("artifacts/" + artifacts[0].Str("id"));
            }
        }

        await emu.PostAsync("flow_runs/filter", "{\"sort\":\"EXPECTED_START_TIME_DESC\",\"limit\":200}", "/flow_runs/filter");
        await emu.PostAsync("flow_runs/count", "{}", "/flow_runs/count");
        await emu.PostAsync("task_runs/count", "{}", "/task_runs/count");
        await emu.PostAsync("artifacts/count", "{}", "/artifacts/count");
        await emu.PostAsync("logs/filter", "{\"logs\":{\"level\":{\"ge_\":40}},\"sort\":\"TIMESTAMP_DESC\",\"limit\":50}", "/logs/filter");

        var checkedOperations = 0;
        foreach (var (path, method, status, body) in emu.Seen.Where(s => s.Status is >= 200 and < 300 && s.Body.Length > 0))
        {
            var schema = PrefectOpenApi.Response(path, method, status);
            Assert.NotNull(schema);
            using var doc = JsonDocument.Parse(body);
            var result = PrefectOpenApi.Evaluate(schema!, doc.RootElement);
            Assert.True(result.IsValid, $"Prefect {version}: {method} {path} {status}: {PrefectOpenApi.Errors(result)}\n{body[..Math.Min(body.Length, 500)]}");
            checkedOperations++;
        }

        Assert.True(checkedOperations > 100, checkedOperations.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var operations = emu.Seen.Select(s => s.Method + " " + s.Path).Distinct().ToArray();
        Assert.True(operations.Length >= 18, string.Join(", ", operations));
        var statuses = emu.Seen.Where(s => s.Path == "/flow_runs/{id}/set_state").Select(s => JsonDocument.Parse(s.Body).RootElement.Str("status")).Distinct();
        Assert.Equal(new[] { "ABORT", "ACCEPT", "REJECT", "WAIT" }, statuses.Order().ToArray());
    }

    [Fact]
    public async Task Validation_422_body_fits_the_declared_422_schema_and_rejected_requests_fail_the_request_model()
    {
        await using var emu = await PrefectEmulator.StartAsync();
        var dep = await emu.DeploymentIdAsync("orders");
        var run = (await emu.CreateRunAsync("orders")).GetProperty("id").GetString()!;
        var cases = new (string Path, string Template, string Model, string Body)[]
        {
            ($"deployments/{dep}/create_flow_run", "/deployments/{id}/create_flow_run", "DeploymentFlowRunCreate", "{\"foo\":1}"),
            ($"deployments/{dep}/create_flow_run", "/deployments/{id}/create_flow_run", "DeploymentFlowRunCreate", "{\"parameters\":null}"),
            ($"deployments/{dep}/create_flow_run", "/deployments/{id}/create_flow_run", "DeploymentFlowRunCreate", "{\"tags\":null}"),
            ($"flow_runs/{run}/set_state", "/flow_runs/{id}/set_state", "Body_set_flow_run_state_flow_runs__id__set_state_post", "{\"state\":{\"type\":\"CANCELLING\",\"timestamp\":\"2026-01-01T00:00:00Z\"}}"),
            ($"flow_runs/{run}/set_state", "/flow_runs/{id}/set_state", "Body_set_flow_run_state_flow_runs__id__set_state_post", "{\"state\":{\"type\":\"STOPPED\"}}"),
            ($"flow_runs/{run}/set_state", "/flow_runs/{id}/set_state", "Body_set_flow_run_state_flow_runs__id__set_state_post", "{\"force\":false}"),
            ("flow_runs/filter", "/flow_runs/filter", "Body_read_flow_runs_flow_runs_filter_post", "{\"flow_runs\":{\"deployment\":{\"any_\":[]}}}"),
            ("flow_runs/filter", "/flow_runs/filter", "Body_read_flow_runs_flow_runs_filter_post", "{\"sort\":\"CREATED_DESC\"}"),
            ("flow_runs/filter", "/flow_runs/filter", "Body_read_flow_runs_flow_runs_filter_post", "{\"flow_runs\":{\"id\":{\"any_\":[\"not-a-uuid\"]}}}"),
            ("task_runs/filter", "/task_runs/filter", "Body_read_task_runs_task_runs_filter_post", "{\"task_runs\":{\"flow_run_id\":{\"eq_\":1}}}"),
            ("artifacts/filter", "/artifacts/filter", "Body_read_artifacts_artifacts_filter_post", "{\"artifacts\":{\"type\":{\"any_\":\"offsets\"}}}"),
            ("flow_runs/count", "/flow_runs/count", "Body_count_flow_runs_flow_runs_count_post", "{\"flow_runs\":{\"state\":{\"type\":{\"any_\":[\"DONE\"]}}}}"),
        };

        foreach (var (path, template, model, body) in cases)
        {
            var (status, response) = await emu.PostAsync(path, body, template);
            Assert.True(status == HttpStatusCode.UnprocessableEntity, $"{path} {body} gave {status}");
            Assert.Equal("Invalid request received.", response.GetProperty("exception_message").GetString());

            using var doc = JsonDocument.Parse(body);
            Assert.False(PrefectOpenApi.Evaluate(PrefectOpenApi.Component(model), doc.RootElement).IsValid, $"{model} accepted {body}");

            var declared = PrefectOpenApi.Response(template, "post", 422)!;
            var fits = PrefectOpenApi.Evaluate(declared, response);
            Assert.True(fits.IsValid, PrefectOpenApi.Errors(fits));
        }

        // And the bodies a well-behaved client sends pass both.
        foreach (var (model, body) in new[]
        {
            ("DeploymentFlowRunCreate", "{\"name\":\"n\",\"parameters\":{\"pipeline_version\":\"1\"},\"tags\":[\"pv:1\"],\"idempotency_key\":\"orders:x\"}"),
            ("Body_set_flow_run_state_flow_runs__id__set_state_post", "{\"state\":{\"type\":\"CANCELLING\",\"name\":\"Cancelling\",\"message\":\"m\",\"state_details\":{\"transition_id\":\"" + Guid.NewGuid() + "\"}},\"force\":false}"),
            ("Body_read_flow_runs_flow_runs_filter_post", "{\"flow_runs\":{\"deployment_id\":{\"any_\":[\"" + dep + "\"]}},\"sort\":\"EXPECTED_START_TIME_DESC\",\"limit\":1,\"offset\":0}"),
        })
        {
            using var doc = JsonDocument.Parse(body);
            Assert.True(PrefectOpenApi.Evaluate(PrefectOpenApi.Component(model), doc.RootElement).IsValid, body);
        }
    }

    [Fact]
    public async Task Prefect_2s_bad_uuid_answer_fits_the_declared_422_schema()
    {
        await using var emu = await PrefectEmulator.StartAsync(version: 2);
        var (status, body) = await emu.GetAsync("flow_runs/not-a-uuid", "/flow_runs/{id}");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        var fits = PrefectOpenApi.Evaluate(PrefectOpenApi.Response("/flow_runs/{id}", "get", 422)!, body);
        Assert.True(fits.IsValid, PrefectOpenApi.Errors(fits));
    }
}
