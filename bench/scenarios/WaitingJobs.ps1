# Child process: N running dhub batches of one pipeline, waited on either by one Wait-DhubBatch (Mode Wait) or by N
# Wait-DhubBatch -AsJob jobs of one batch each (Mode Jobs). Reports the CPU and resident-memory growth of a window
# inside the wait (after a warm-up wait polling every 0.1 s), and, for Jobs, how long each -AsJob call took to return.
param([string] $ModulePath, [string] $ApiUri, [string] $Token, [string] $PipelineId, [string] $IdsFile,
      [int] $Seconds = 30, [int] $WarmSeconds = 5, [double] $PollingInterval = 5, [ValidateSet('Wait', 'Jobs')][string] $Mode = 'Wait')
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath
Connect-Dhub -Uri $ApiUri -Backend Dhub -Token (ConvertTo-SecureString $Token -AsPlainText -Force)
$ids = @(Get-Content $IdsFile)
$ProgressPreference = 'SilentlyContinue'
# The engine loads and the pipeline's first page is read before anything is measured.
$null = Get-DhubBatch -PipelineId $PipelineId -BatchId $ids[0]

Add-Type -TypeDefinition @'
using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
public sealed class JobWindow
{
    // From a thread of its own: resident memory at the start, then CPU and memory over [delay, delay + window].
    public double CpuMs, WallMs; public long RssStart, RssBefore, RssAfter;
    private readonly Thread _thread;
    public DateTimeOffset From, To;
    public JobWindow(int delayMs, int windowMs)
    {
        RssStart = Rss();
        _thread = new Thread(() =>
        {
            Thread.Sleep(delayMs);
            var p = Process.GetCurrentProcess();
            p.Refresh(); var cpu = p.TotalProcessorTime; RssBefore = Rss(); From = DateTimeOffset.UtcNow;
            var clock = Stopwatch.StartNew();
            Thread.Sleep(windowMs);
            p.Refresh(); CpuMs = (p.TotalProcessorTime - cpu).TotalMilliseconds; WallMs = clock.Elapsed.TotalMilliseconds;
            RssAfter = Rss(); To = DateTimeOffset.UtcNow;
        }) { IsBackground = true };
        _thread.Start();
    }
    public void Join() => _thread.Join();
    private static long Rss() => long.Parse(File.ReadAllLines("/proc/self/status").First(l => l.StartsWith("VmRSS:")).Split((char[])null, StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
}
'@

# Warm-up: quick rounds of the same code path, so tiered JIT has settled before the measured window.
if ($Mode -eq 'Wait') {
    $null = Wait-DhubBatch -PipelineId $PipelineId -BatchId $ids -Timeout 10 -PollingInterval 0.1 -ErrorAction SilentlyContinue
}
else {
    $warm = foreach ($id in $ids) { Wait-DhubBatch -PipelineId $PipelineId -BatchId $id -Timeout 10 -PollingInterval 0.1 -AsJob }
    $null = $warm | Wait-Job
    $warm | Remove-Job
}
[GC]::Collect()
Start-Sleep -Seconds 3

$timeout = $WarmSeconds + $Seconds + 3
$returnMs = @()
$window = [JobWindow]::new($WarmSeconds * 1000, $Seconds * 1000)
if ($Mode -eq 'Wait') {
    $null = Wait-DhubBatch -PipelineId $PipelineId -BatchId $ids -Timeout $timeout -PollingInterval $PollingInterval -ErrorAction SilentlyContinue
    $window.Join()
}
else {
    $jobs = foreach ($id in $ids) {
        $sw = [Diagnostics.Stopwatch]::StartNew()
        Wait-DhubBatch -PipelineId $PipelineId -BatchId $id -Timeout $timeout -PollingInterval $PollingInterval -AsJob
        $returnMs += $sw.Elapsed.TotalMilliseconds
    }
    $window.Join()
    $jobs | Stop-Job
    $jobs | Remove-Job
}
$sorted = @($returnMs | Sort-Object)
@{
    CpuPerMinuteMs = $window.CpuMs / $window.WallMs * 60000
    RssStartMB = $window.RssStart / 1MB; RssGrowthMB = ($window.RssAfter - $window.RssStart) / 1MB; RssWindowGrowthMB = ($window.RssAfter - $window.RssBefore) / 1MB
    From = $window.From.ToString('o'); To = $window.To.ToString('o')
    ReturnMedianMs = if ($sorted.Count) { $sorted[[int]($sorted.Count / 2)] } else { 0 }
    ReturnP99Ms = if ($sorted.Count) { $sorted[[int]($sorted.Count * 0.99)] } else { 0 }
} | ConvertTo-Json -Compress
