using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Xunit;

namespace DhubBatches.Emulator.Tests;

public class ProcessTests
{
    [Fact]
    public async Task Runs_as_a_process_and_announces_its_url_on_stdout()
    {
        await RunAsync(new[] { "--token", "proc-token", "--step-seconds", "0", "--pipelines", "p1,p2" }, async uri =>
        {
            Assert.Equal("127.0.0.1", uri.Host);
            Assert.NotEqual(0, uri.Port);
            using var client = new HttpClient { BaseAddress = uri };
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "proc-token");
            using var created = await client.PostAsync("api/v1/batches/p2", null);
            using var unknown = await client.PostAsync("api/v1/batches/orders", null);
            Assert.Equal(HttpStatusCode.OK, created.StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        });
    }

    [Fact]
    public async Task Prefect_version_and_default_limit_come_from_the_command_line()
    {
        await RunAsync(new[] { "--prefect-version", "2", "--prefect-default-limit", "50" }, async uri =>
        {
            using var client = new HttpClient { BaseAddress = new Uri(uri, "prefect/api/") };
            Assert.Equal("\"2.16.8\"", await client.GetStringAsync("admin/version"));
            using var tooMany = await client.PostAsync("flow_runs/filter", new StringContent("{\"limit\":51}", System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.UnprocessableEntity, tooMany.StatusCode);
            Assert.Contains("less than or equal to 50.", await tooMany.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        });
    }

    [Theory]
    [InlineData("--prefect-version", "4", "--prefect-version must be 2 or 3, not '4'.")]
    [InlineData("--prefect-default-limit", "0", "--prefect-default-limit must be at least 1.")]
    [InlineData("--step-seconds", "soon", "soon")]
    [InlineData("--colour", "red", "Unknown argument '--colour'.")]
    public async Task A_bad_command_line_exits_2_with_a_message_and_no_stack_trace(string option, string value, string message)
    {
        using var process = Process.Start(StartInfo(option, value))!;
        var stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();

        Assert.Equal(2, process.ExitCode);
        Assert.Contains(message, stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
    }

    /// <summary>Starts the emulator process on a free port, waits for its URL line, runs <paramref name="use"/>, then stops it.</summary>
    private static async Task RunAsync(string[] args, Func<Uri, Task> use)
    {
        using var process = Process.Start(StartInfo(new[] { "--urls", "http://127.0.0.1:0" }.Concat(args).ToArray()))!;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            string? line;
            do
            {
                line = await process.StandardOutput.ReadLineAsync(timeout.Token);
            }
            while (line is not null && !line.StartsWith("DHUB_EMULATOR_URL=", StringComparison.Ordinal));

            Assert.NotNull(line);
            await use(new Uri(line!["DHUB_EMULATOR_URL=".Length..]));
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            await process.WaitForExitAsync();
        }
    }

    private static ProcessStartInfo StartInfo(params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "DhubBatches.Emulator.dll");
        Assert.True(File.Exists(dll), dll);
        var start = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return start;
    }

    // The SDK exports DOTNET_HOST_PATH to test runs; fall back to the muxer running us, then PATH.
    private static string DotnetHost()
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host))
        {
            return host;
        }

        var current = Environment.ProcessPath;
        return current is not null && Path.GetFileNameWithoutExtension(current) == "dotnet" ? current : "dotnet";
    }
}
