using System;
using System.Globalization;
using System.Linq;
using System.Threading.Tasks;

namespace DhubBatches.Emulator;

/// <summary>
/// <c>dotnet DhubBatches.Emulator.dll [--urls http://127.0.0.1:0] [--token T | --no-auth]
/// [--step-seconds 2] [--pipelines a,b,c] [--prefect-auth-string user:pass] [--prefect-api-key K] [--prefect-csrf]
/// [--prefect-flow-name run-pipeline] [--prefect-version 3|2] [--prefect-default-limit 200] [--https]</c>. <c>--https</c> listens on https with an in-memory self-signed
/// certificate (CN=localhost, SAN 127.0.0.1; clients must skip certificate validation). Prints <c>DHUB_EMULATOR_URL=...</c> once listening; the Prefect API is at
/// that URL + <c>/prefect/api</c>.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var options = new EmulatorOptions();
        var urls = EmulatorServer.DefaultUrls;
        try
        {
            if (!Parse(args, options, ref urls))
            {
                return 0;
            }
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or OverflowException)
        {
            // A bad command line is the user's mistake: say what is wrong, not a stack trace.
            Console.Error.WriteLine(ex.Message + " Use --help.");
            return 2;
        }

        await using var server = await EmulatorServer.StartAsync(options, urls, ownsConsole: true, default);
        Console.Out.WriteLine($"DHUB_EMULATOR_URL={server.BaseUri.GetLeftPart(UriPartial.Authority)}");
        Console.Out.Flush();
        await server.WaitForShutdownAsync();
        return 0;
    }

    /// <summary>Reads the command line into <paramref name="options"/>; false when only help was asked for.</summary>
    private static bool Parse(string[] args, EmulatorOptions options, ref string urls)
    {
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            switch (args[i])
            {
                case "--urls":
                    urls = Value();
                    break;
                case "--token":
                    options.Token = Value();
                    break;
                case "--no-auth":
                    options.Token = null;
                    break;
                case "--step-seconds":
                    options.StepDuration = TimeSpan.FromSeconds(double.Parse(Value(), NumberStyles.Float, CultureInfo.InvariantCulture));
                    break;
                case "--pipelines":
                    options.Pipelines = Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
                    break;
                case "--prefect-auth-string":
                    options.PrefectAuthString = Value();
                    break;
                case "--prefect-api-key":
                    options.PrefectApiKey = Value();
                    break;
                case "--prefect-csrf":
                    options.PrefectCsrf = true;
                    break;
                case "--https":
                    options.UseHttps = true;
                    break;
                case "--prefect-flow-name":
                    options.PrefectFlowName = Value();
                    break;
                case "--prefect-version":
                    options.PrefectVersion = Value() switch
                    {
                        "2" => 2,
                        "3" => 3,
                        var other => throw new ArgumentException($"--prefect-version must be 2 or 3, not '{other}'."),
                    };
                    break;
                case "--prefect-default-limit":
                    options.PrefectDefaultLimit = int.Parse(Value(), NumberStyles.None, CultureInfo.InvariantCulture) is var limit and >= 1
                        ? limit
                        : throw new ArgumentException("--prefect-default-limit must be at least 1.");
                    break;
                case "--help" or "-h":
                    Console.WriteLine("usage: DhubBatches.Emulator [--urls URLS] [--token T | --no-auth] [--step-seconds S] [--pipelines a,b,c]"
                        + " [--prefect-auth-string user:pass] [--prefect-api-key KEY] [--prefect-csrf] [--prefect-flow-name NAME]"
                        + " [--prefect-version 3|2] [--prefect-default-limit N] [--https]");
                    return false;
                default:
                    throw new ArgumentException($"Unknown argument '{args[i]}'.");
            }
        }

        return true;
    }
}
