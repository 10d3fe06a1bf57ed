using System;
using System.Diagnostics;
using System.IO;
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
        var dll = Path.Combine(AppContext.BaseDirectory, "DhubBatches.Emulator.dll");
        Assert.True(File.Exists(dll), dll);
        var start = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { dll, "--urls", "http://127.0.0.1:0", "--token", "proc-token", "--step-seconds", "0", "--pipelines", "p1,p2" })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
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
            var uri = new Uri(line!["DHUB_EMULATOR_URL=".Length..]);
            Assert.Equal("127.0.0.1", uri.Host);
            Assert.NotEqual(0, uri.Port);

            using var client = new HttpClient { BaseAddress = uri };
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "proc-token");
            using var created = await client.PostAsync("api/v1/batches/p2", null);
            using var unknown = await client.PostAsync("api/v1/batches/orders", null);
            Assert.Equal(HttpStatusCode.OK, created.StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
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
