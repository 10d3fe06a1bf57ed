using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;

namespace DhubBatches.TestSupport;

/// <summary>The answers recorded from a real Prefect 2.16.8 server (tests/fixtures/prefect-2.16.8), copied beside the tests.</summary>
public static class RecordedAnswers
{
    public static string Folder { get; } = Path.Combine(AppContext.BaseDirectory, "fixtures", "prefect-2.16.8");

    public static string Text(string file) => File.ReadAllText(Path.Combine(Folder, file));

    public static JsonElement Read(string file) => JsonDocument.Parse(Text(file)).RootElement.Clone();

    /// <summary>Every recorded file, relative to <see cref="Folder"/>.</summary>
    public static IEnumerable<string> Files() =>
        Directory.EnumerateFiles(Folder, "*.json", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(Folder, f));

    /// <summary>Member names of a recorded object, in order (for "the fields the samples have" checks).</summary>
    public static string[] Members(JsonElement e) => e.EnumerateObject().Select(p => p.Name).ToArray();
}
