using System;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using DhubBatches.TestSupport;
using Xunit;

namespace DhubBatches.Emulator.Tests;

/// <summary>
/// The control routes for other flows' deployments (<c>/_emulator/prefect/flows/{flow}/deployments/{name}</c>), and a
/// check that every answer a test read validates against Prefect's declared response schema.
/// </summary>
internal static class FlowDeploymentControl
{
    public const string ByNameTemplate = "/deployments/name/{flow_name}/{deployment_name}";

    /// <summary>PUT with a definition (null: an empty body, the built-in its name picks); the answer.</summary>
    public static async Task<JsonElement> RegisterAsync(PrefectEmulator emu, string flow, string name, string? definition = null)
    {
        using var control = new HttpClient { BaseAddress = emu.Server.BaseUri };
        using var put = await control.PutAsync(Route(flow, name), new StringContent(definition ?? string.Empty, Encoding.UTF8, "application/json"));
        var body = await RunningEmulator.ReadJsonAsync(put);
        Assert.True(put.StatusCode == HttpStatusCode.OK, body.GetRawText());
        return body;
    }

    /// <summary>PUT expecting a refusal; the status and message.</summary>
    public static async Task<(HttpStatusCode Status, string Message)> RefusedAsync(PrefectEmulator emu, string flow, string name, string definition)
    {
        using var control = new HttpClient { BaseAddress = emu.Server.BaseUri };
        using var put = await control.PutAsync(Route(flow, name), new StringContent(definition, Encoding.UTF8, "application/json"));
        return (put.StatusCode, (await RunningEmulator.ReadJsonAsync(put)).Str("message"));
    }

    public static async Task<JsonElement> SeedAsync(PrefectEmulator emu, string flow, string name, int count, bool finished = true)
    {
        using var control = new HttpClient { BaseAddress = emu.Server.BaseUri, Timeout = TimeSpan.FromMinutes(2) };
        using var post = await control.PostAsync(Route(flow, name) + "/seed",
            new StringContent($"{{\"count\":{count},\"finished\":{(finished ? "true" : "false")}}}", Encoding.UTF8, "application/json"));
        var body = await RunningEmulator.ReadJsonAsync(post);
        Assert.True(post.StatusCode == HttpStatusCode.OK, body.GetRawText());
        return body;
    }

    public static async Task<JsonElement> DeploymentAsync(PrefectEmulator emu, string flow, string name)
    {
        var (status, json) = await emu.GetAsync($"deployments/name/{Uri.EscapeDataString(flow)}/{Uri.EscapeDataString(name)}", ByNameTemplate);
        Assert.Equal(HttpStatusCode.OK, status);
        return json;
    }

    /// <summary>Every 2xx answer with a body read through <paramref name="emu"/> fits the operation's declared response schema.</summary>
    public static void AssertAnswersFitPrefectsSchema(PrefectEmulator emu)
    {
        var checkedAnswers = 0;
        foreach (var (path, method, status, body) in emu.Seen.Where(s => s.Status is >= 200 and < 300 && s.Body.Length > 0))
        {
            var schema = PrefectOpenApi.Response(path, method, status);
            Assert.NotNull(schema);
            using var doc = JsonDocument.Parse(body);
            var result = PrefectOpenApi.Evaluate(schema!, doc.RootElement);
            Assert.True(result.IsValid, $"{method} {path} {status}: {PrefectOpenApi.Errors(result)}\n{body[..Math.Min(body.Length, 600)]}");
            checkedAnswers++;
        }

        Assert.True(checkedAnswers > 0);
    }

    private static string Route(string flow, string name) =>
        $"_emulator/prefect/flows/{Uri.EscapeDataString(flow)}/deployments/{Uri.EscapeDataString(name)}";
}
