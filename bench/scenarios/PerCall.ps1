# Child process: N sequential reads of one batch three ways — Get-DhubBatch, Invoke-RestMethod with the same
# Authorization header, and a raw C# HttpClient loop (the floor) — each repeated; reports per-call medians (µs).
# The alternatives make the same requests the module does: one GET, plus for Prefect the two filters ($Extra, each
# {path, body}) that read the run's task runs (steps) and offsets artifacts.
# Two more figures split the module's cost: its engine called from a C# loop (HTTP stack, resilience, JSON and
# mapping, without PowerShell), and the cmdlet floor (a command that does no I/O).
param([string] $ModulePath, [string] $ApiUri, [string] $Backend, [string] $Token, [string] $PipelineId, [string] $BatchId,
      [string] $RawPath, [string] $Extra = '[]', [int] $Calls = 1000, [int] $Repeats = 5, [int] $WarmupRepeats = 2)
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath
$secure = ConvertTo-SecureString $Token -AsPlainText -Force
Connect-Dhub -Uri $ApiUri -Backend $Backend -Token $secure
$headers = @{ Authorization = "Bearer $Token" }
$root = $ApiUri.TrimEnd('/')
$rawUri = $root + $RawPath
$posts = @(if ($Extra) { ConvertFrom-Json $Extra -NoEnumerate | ForEach-Object { $_ } | Where-Object { $_.path } | ForEach-Object { [pscustomobject]@{ Uri = $root + $_.path; Body = $_.body } } })

$connection = Get-DhubConnection
# The engine behind the connection (internal: reached by reflection, for this measurement only).
$engine = $connection.GetType().GetProperty('Engine', [Reflection.BindingFlags]'NonPublic,Instance').GetValue($connection)

Add-Type -ReferencedAssemblies ([DhubBatches.Batch].Assembly.Location), 'netstandard', 'System.Net.Http', 'System.Net.Primitives', 'System.Text.Encoding.Extensions' -TypeDefinition @'
using System;
using System.Diagnostics;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Threading;
public static class RawHttpFloor
{
    // One pooled HttpClient; the same requests, each body read: what any client must at least do.
    public static double Run(string uri, string[] postUris, string[] postBodies, string token, int calls)
    {
        using var client = new HttpClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return Time(() => Once(client, uri, postUris, postBodies), calls);
    }

    // µs per call, after as many warm-up calls.
    private static double Time(Action call, int calls)
    {
        for (int i = 0; i < 1000; i++) { call(); }
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < calls; i++) { call(); }
        return sw.Elapsed.TotalMilliseconds * 1000.0 / calls;
    }

    private static void Once(HttpClient client, string uri, string[] postUris, string[] postBodies)
    {
        client.GetStringAsync(uri).GetAwaiter().GetResult();
        for (int j = 0; j < postUris.Length; j++)
        {
            using var content = new StringContent(postBodies[j], Encoding.UTF8, "application/json");
            using var response = client.PostAsync(postUris[j], content).GetAwaiter().GetResult();
            response.EnsureSuccessStatusCode();
            response.Content.ReadAsStringAsync().GetAwaiter().GetResult();
        }
    }

    // The module's engine without PowerShell: Refit, the resilience pipeline, JSON and mapping to a Batch.
    public static double Engine(DhubBatches.Contract.IBatchEngine engine, string pipelineId, string batchId, int calls) =>
        Time(() => engine.GetAsync(pipelineId, batchId, CancellationToken.None).GetAwaiter().GetResult(), calls);
}
'@

function Measure-PerCall([scriptblock] $Body) {
    # Warm-up: JIT and tiered re-compilation, connection pool — the figure is the steady per-call cost.
    for ($i = 0; $i -lt 1000; $i++) { $null = & $Body }
    $sw = [Diagnostics.Stopwatch]::StartNew()
    for ($i = 0; $i -lt $Calls; $i++) { $null = & $Body }
    $sw.Elapsed.TotalMilliseconds * 1000.0 / $Calls
}

$module = @(); $irm = @(); $raw = @(); $floor = @(); $engineUs = @()
$postUris = [string[]]@($posts | ForEach-Object Uri); $postBodies = [string[]]@($posts | ForEach-Object Body)
# Every figure keeps falling for a few thousand calls while tiered JIT (with PGO) recompiles the hot paths of PowerShell,
# the framework and the module alike: the first $WarmupRepeats rounds of all five are run and discarded.
for ($r = 0; $r -lt $WarmupRepeats + $Repeats; $r++) {
    $m = Measure-PerCall { Get-DhubBatch -PipelineId $PipelineId -BatchId $BatchId }
    $i = Measure-PerCall {
        Invoke-RestMethod -Uri $rawUri -Headers $headers
        foreach ($post in $posts) { Invoke-RestMethod -Method Post -Uri $post.Uri -Headers $headers -ContentType 'application/json' -Body $post.Body }
    }
    $w = [RawHttpFloor]::Run($rawUri, $postUris, $postBodies, $Token, $Calls)
    $e = [RawHttpFloor]::Engine($engine, $PipelineId, $BatchId, $Calls)
    # What calling any cmdlet costs here, with no work at all: PowerShell's own share of every figure above.
    $f = Measure-PerCall { Get-DhubConnection }
    if ($r -ge $WarmupRepeats) { $module += $m; $irm += $i; $raw += $w; $engineUs += $e; $floor += $f }
}
function Median([double[]] $v) { $s = $v | Sort-Object; $s[[int][math]::Floor($s.Count / 2)] }
@{ CmdletFloorUs = Median $floor; ModuleUs = Median $module; InvokeRestMethodUs = Median $irm; RawHttpClientUs = Median $raw; EngineUs = Median $engineUs; Calls = $Calls; Repeats = $Repeats } | ConvertTo-Json -Compress
