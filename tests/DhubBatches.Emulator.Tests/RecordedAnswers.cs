using System;
using System.IO;
using System.Linq;
using System.Text.Json;

namespace DhubBatches.Emulator.Tests;

/// <summary>The answers recorded from a real Prefect 2.16.8 server (<c>tests/fixtures/prefect-2.16.8</c>), the ground truth for 2-mode.</summary>
internal static class RecordedAnswers
{
    private static readonly Lazy<string> Folder = new(() =>
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "DhubBatches.sln")))
        {
            directory = directory.Parent;
        }

        return Path.Combine(directory?.FullName ?? throw new InvalidOperationException("DhubBatches.sln not found above " + AppContext.BaseDirectory),
            "tests", "fixtures", "prefect-2.16.8");
    });

    public static JsonElement Read(string file) => JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder.Value, file))).RootElement.Clone();

    /// <summary>Member names of a recorded object, in order (for "the fields the samples have" checks).</summary>
    public static string[] Members(JsonElement e) => e.EnumerateObject().Select(p => p.Name).ToArray();
}
