using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using Json.Pointer;
using Json.Schema;
using Xunit;
using DhubBatches.TestSupport;

namespace DhubBatches.Emulator.Tests;

/// <summary>An emulator on a manual clock (step 10 s) plus a client whose base address is the Prefect API URL.</summary>
internal sealed class PrefectEmulator : IAsyncDisposable
{
    private PrefectEmulator(EmulatorServer server, ManualClock clock)
    {
        Server = server;
        Clock = clock;
        Client = NewClient();
    }

    public EmulatorServer Server { get; }

    public EmulatorState State => Server.State;

    public ManualClock Clock { get; }

    public HttpClient Client { get; }

    /// <summary>Every response read through this helper: (operation, status, body), for the schema test.</summary>
    public List<(string Path, string Method, int Status, string Body)> Seen { get; } = new();

    public static async Task<PrefectEmulator> StartAsync(Action<EmulatorOptions>? configure = null, int version = 3)
    {
        var clock = new ManualClock();
        var options = new EmulatorOptions { TimeProvider = clock, StepDuration = TimeSpan.FromSeconds(10), PrefectVersion = version };
        configure?.Invoke(options);
        return new PrefectEmulator(await EmulatorServer.StartAsync(options), clock);
    }

    public HttpClient NewClient() => new() { BaseAddress = Server.PrefectBaseUri, Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>Moves the manual clock by whole or fractional 10-second steps.</summary>
    public void Step(double steps = 1) => Clock.Advance(TimeSpan.FromSeconds(10 * steps));

    public async Task<(HttpStatusCode Status, JsonElement Json)> SendAsync(HttpMethod method, string path, string? body = null, string? template = null, HttpClient? client = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        using var response = await (client ?? Client).SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Seen.Add((template ?? path, method.Method.ToLowerInvariant(), (int)response.StatusCode, text));
        var json = text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
        return (response.StatusCode, json);
    }

    public Task<(HttpStatusCode Status, JsonElement Json)> PostAsync(string path, string body, string? template = null) =>
        SendAsync(HttpMethod.Post, path, body, template ?? Template(path));

    public Task<(HttpStatusCode Status, JsonElement Json)> GetAsync(string path, string? template = null) => SendAsync(HttpMethod.Get, path, null, template ?? Template(path));

    public async Task<string> DeploymentIdAsync(string pipeline)
    {
        var (status, json) = await GetAsync("deployments/name/run-pipeline/" + Uri.EscapeDataString(pipeline), "/deployments/name/{flow_name}/{deployment_name}");
        Assert.Equal(HttpStatusCode.OK, status);
        return json.GetProperty("id").GetString()!;
    }

    public async Task<JsonElement> CreateRunAsync(string pipeline, string body = "{}", HttpStatusCode expected = HttpStatusCode.Created)
    {
        var id = await DeploymentIdAsync(pipeline);
        var (status, json) = await PostAsync($"deployments/{id}/create_flow_run", body);
        Assert.Equal(expected, status);
        return json;
    }

    public async Task<string> CreateRunIdAsync(string pipeline, string body = "{}") => (await CreateRunAsync(pipeline, body)).GetProperty("id").GetString()!;

    public async Task<JsonElement> ReadRunAsync(string id)
    {
        var (status, json) = await GetAsync("flow_runs/" + id);
        Assert.Equal(HttpStatusCode.OK, status);
        return json;
    }

    public async Task<JsonElement[]> TaskRunsAsync(string runId)
    {
        var (status, json) = await PostAsync("task_runs/filter",
            $"{{\"task_runs\":{{\"flow_run_id\":{{\"any_\":[\"{runId}\"]}}}},\"sort\":\"EXPECTED_START_TIME_ASC\",\"limit\":200,\"offset\":0}}");
        Assert.Equal(HttpStatusCode.OK, status);
        return json.EnumerateArray().ToArray();
    }

    public async Task<JsonElement[]> ArtifactsAsync(string runId, string? type = null)
    {
        var typeFilter = type is null ? string.Empty : $",\"type\":{{\"any_\":[\"{type}\"]}}";
        var (status, json) = await PostAsync("artifacts/filter",
            $"{{\"artifacts\":{{\"flow_run_id\":{{\"any_\":[\"{runId}\"]}}{typeFilter}}},\"sort\":\"CREATED_DESC\",\"limit\":200}}");
        Assert.Equal(HttpStatusCode.OK, status);
        return json.EnumerateArray().ToArray();
    }

    /// <summary>All log lines of a run, oldest first (plus any extra <c>logs</c> members and top-level body members).</summary>
    public async Task<JsonElement[]> LogsAsync(string runId, string extraLogFilter = "", string extraBody = "")
    {
        var (status, json) = await PostAsync("logs/filter",
            $"{{\"logs\":{{\"flow_run_id\":{{\"any_\":[\"{runId}\"]}}{extraLogFilter}}}{extraBody}}}");
        Assert.Equal(HttpStatusCode.OK, status);
        return json.EnumerateArray().ToArray();
    }

    public Task<(HttpStatusCode Status, JsonElement Json)> SetStateAsync(string runId, string type, string? transitionId = null, bool force = false,
        string? name = null, string message = "by test")
    {
        var details = transitionId is null ? string.Empty : $",\"state_details\":{{\"transition_id\":\"{transitionId}\"}}";
        var stateName = name is null ? string.Empty : $",\"name\":\"{name}\"";
        return PostAsync($"flow_runs/{runId}/set_state",
            $"{{\"state\":{{\"type\":\"{type}\"{stateName},\"message\":\"{message}\"{details}}},\"force\":{(force ? "true" : "false")}}}");
    }

    /// <summary>The state type/name of a run now, through the API.</summary>
    public async Task<string> StateOfAsync(string runId)
    {
        var run = await ReadRunAsync(runId);
        return run.GetProperty("state_type").GetString() + "/" + run.GetProperty("state_name").GetString();
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
    }

    /// <summary>The OpenAPI path template of a request path (uuids become <c>{id}</c>).</summary>
    private static string Template(string path)
    {
        var bare = path.Split('?')[0];
        var parts = bare.Split('/').Select(p => Guid.TryParse(p, out _) ? "{id}" : p);
        return "/" + string.Join('/', parts);
    }
}

/// <summary>Reading answers in tests.</summary>
internal static class PrefectJsonReading
{
    public static string Str(this JsonElement e, string name) => e.GetProperty(name).GetString()!;

    public static int Int(this JsonElement e, string name) => e.GetProperty(name).GetInt32();

    public static bool IsNull(this JsonElement e, string name) => e.GetProperty(name).ValueKind == JsonValueKind.Null;

    public static DateTimeOffset Time(this JsonElement e, string name) => DateTimeOffset.Parse(e.Str(name), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Offsets an artifact holds: <c>data</c> is an object, a JSON string holding one, or a table (list of rows, merged).</summary>
    public static Dictionary<string, long> Offsets(this JsonElement artifact)
    {
        var data = artifact.GetProperty("data");
        if (data.ValueKind == JsonValueKind.String)
        {
            data = JsonDocument.Parse(data.GetString()!).RootElement.Clone();
        }

        var rows = data.ValueKind == JsonValueKind.Array ? data.EnumerateArray().ToArray() : new[] { data };
        return rows.SelectMany(r => r.EnumerateObject()).ToDictionary(p => p.Name, p => p.Value.GetInt64());
    }
}
