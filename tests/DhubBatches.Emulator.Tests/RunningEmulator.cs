using System;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Threading.Tasks;

namespace DhubBatches.Emulator.Tests;

/// <summary>An emulator on a free loopback port plus an authenticated client for it.</summary>
internal sealed class RunningEmulator : IAsyncDisposable
{
    private RunningEmulator(EmulatorServer server)
    {
        Server = server;
        Client = NewClient();
    }

    public EmulatorServer Server { get; }

    public EmulatorState State => Server.State;

    public HttpClient Client { get; }

    public static async Task<RunningEmulator> StartAsync(Action<EmulatorOptions>? configure = null)
    {
        var options = new EmulatorOptions();
        configure?.Invoke(options);
        return new RunningEmulator(await EmulatorServer.StartAsync(options));
    }

    /// <summary>A separate client (own connection pool) with the default token.</summary>
    public HttpClient NewClient(TimeSpan? timeout = null)
    {
        var client = new HttpClient { BaseAddress = Server.BaseUri, Timeout = timeout ?? TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "emulator-token");
        return client;
    }

    public static string BatchPath(string pipeline, string? batch = null) =>
        "api/v1/batches/" + Uri.EscapeDataString(pipeline) + (batch is null ? string.Empty : "/" + Uri.EscapeDataString(batch));

    public async Task<string> CreateAsync(string pipeline)
    {
        using var response = await Client.PostAsync(BatchPath(pipeline), null);
        response.EnsureSuccessStatusCode();
        return (await ReadJsonAsync(response)).GetProperty("item").GetString()!;
    }

    public async Task<JsonElement> GetBatchAsync(string pipeline, string batch)
    {
        using var response = await Client.GetAsync(BatchPath(pipeline, batch));
        response.EnsureSuccessStatusCode();
        return await ReadJsonAsync(response);
    }

    public static async Task<JsonElement> ReadJsonAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.Clone();
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
    }
}
