# Child process: N sequential reads of one batch three ways — Get-DhubBatch, Invoke-RestMethod with the same
# Authorization header, and a raw C# HttpClient loop (the floor) — each repeated; reports per-call medians (µs).
param([string] $ModulePath, [string] $ApiUri, [string] $Backend, [string] $Token, [string] $PipelineId, [string] $BatchId,
      [string] $RawPath, [int] $Calls = 1000, [int] $Repeats = 5)
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath
$secure = ConvertTo-SecureString $Token -AsPlainText -Force
Connect-Dhub -Uri $ApiUri -Backend $Backend -Token $secure
$headers = @{ Authorization = "Bearer $Token" }
$rawUri = $ApiUri.TrimEnd('/') + $RawPath

Add-Type -TypeDefinition @'
using System;
using System.Diagnostics;
using System.Net.Http;
using System.Net.Http.Headers;
public static class RawHttpFloor
{
    // One pooled HttpClient, GET and read the body: what any client must at least do.
    public static double Run(string uri, string token, int calls)
    {
        using var client = new HttpClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        for (int i = 0; i < 500; i++) { client.GetStringAsync(uri).GetAwaiter().GetResult(); }
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < calls; i++) { client.GetStringAsync(uri).GetAwaiter().GetResult(); }
        return sw.Elapsed.TotalMilliseconds * 1000.0 / calls;
    }
}
'@

function Measure-PerCall([scriptblock] $Body) {
    # Warm-up: JIT and tiered re-compilation, connection pool — the figure is the steady per-call cost.
    for ($i = 0; $i -lt 500; $i++) { $null = & $Body }
    $sw = [Diagnostics.Stopwatch]::StartNew()
    for ($i = 0; $i -lt $Calls; $i++) { $null = & $Body }
    $sw.Elapsed.TotalMilliseconds * 1000.0 / $Calls
}

$module = @(); $irm = @(); $raw = @(); $floor = @()
for ($r = 0; $r -lt $Repeats; $r++) {
    $module += Measure-PerCall { Get-DhubBatch -PipelineId $PipelineId -BatchId $BatchId }
    $irm += Measure-PerCall { Invoke-RestMethod -Uri $rawUri -Headers $headers }
    $raw += [RawHttpFloor]::Run($rawUri, $Token, $Calls)
    # What calling any cmdlet costs here, with no work at all: PowerShell's own share of every figure above.
    $floor += Measure-PerCall { Get-DhubConnection }
}
function Median([double[]] $v) { $s = $v | Sort-Object; $s[[int][math]::Floor($s.Count / 2)] }
@{ CmdletFloorUs = Median $floor; ModuleUs = Median $module; InvokeRestMethodUs = Median $irm; RawHttpClientUs = Median $raw; Calls = $Calls; Repeats = $Repeats } | ConvertTo-Json -Compress
