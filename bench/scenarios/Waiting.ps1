# Child process: Wait-DhubBatch on running batches; reports this process's CPU time.
#   Steady: after a warm-up wait, the CPU of a window in the middle of a wait — from 2 s after it starts until 1 s
#           before it ends, so neither the start nor the final output of 1,000 timed-out batches is counted — as the
#           median of its three thirds.
#   Fresh:  the CPU of a whole first wait in a new session, start-up JIT and the final output included.
#   Idle:   the same window with the module imported and connected but no wait: what pwsh itself spends.
param([string] $ModulePath, [string] $ApiUri, [string] $ControlUri, [string] $Backend, [string] $Token, [string] $PipelineId, [string] $IdsFile,
      [int] $Seconds = 60, [double] $PollingInterval = 5, [ValidateSet('Steady', 'Fresh', 'Idle')][string] $Mode = 'Steady')
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath
Connect-Dhub -Uri $ApiUri -Backend $Backend -Token (ConvertTo-SecureString $Token -AsPlainText -Force)
$ids = if ($Mode -ne 'Idle') { Get-Content $IdsFile }
$ProgressPreference = 'SilentlyContinue' # measure the module, not the console's rendering of progress

Add-Type -TypeDefinition @'
using System;
using System.Diagnostics;
using System.Linq;
using System.Threading;
public sealed class CpuWindow
{
    // Reads this process's CPU time (all threads, exited ones too) from a thread of its own, over a window cut into
    // consecutive parts; the figure is the median of the parts' CPU per minute.
    private readonly double[] _cpuMs, _wallMs;
    private DateTimeOffset _from, _to;
    private readonly Thread _thread;
    public CpuWindow(int delayMs, int windowMs, int parts)
    {
        _cpuMs = new double[parts];
        _wallMs = new double[parts];
        _thread = new Thread(() =>
        {
            Thread.Sleep(delayMs);
            var process = Process.GetCurrentProcess();
            _from = DateTimeOffset.UtcNow;
            for (int i = 0; i < parts; i++)
            {
                process.Refresh();
                var cpu = process.TotalProcessorTime;
                var clock = Stopwatch.StartNew();
                Thread.Sleep(windowMs / parts);
                process.Refresh();
                _cpuMs[i] = (process.TotalProcessorTime - cpu).TotalMilliseconds;
                _wallMs[i] = clock.Elapsed.TotalMilliseconds;
            }
            _to = DateTimeOffset.UtcNow;
        }) { IsBackground = true };
        _thread.Start();
    }
    public System.Collections.Hashtable ToResult()
    {
        _thread.Join();
        var perMinute = new double[_cpuMs.Length];
        for (int i = 0; i < perMinute.Length; i++) { perMinute[i] = _cpuMs[i] / _wallMs[i] * 60000; }
        Array.Sort(perMinute);
        return new System.Collections.Hashtable
        {
            ["CpuPerMinuteMs"] = perMinute[perMinute.Length / 2], ["Parts"] = string.Join(", ", perMinute.Select(v => v.ToString("0"))),
            ["From"] = _from.ToString("o"), ["To"] = _to.ToString("o"),
        };
    }
}
'@

$control = "$($ControlUri.TrimEnd('/'))/_emulator/requests"
$out = @(); $timeouts = @()
if ($Mode -eq 'Idle') {
    Start-Sleep -Seconds 3
    $window = [CpuWindow]::new(0, $Seconds * 1000, 3)
    $result = $window.ToResult()
}
elseif ($Mode -eq 'Steady') {
    # Warm-up: many quick rounds, so every method of the loop passes tiered compilation's call counts (tier 0,
    # instrumented, tier 1) and is compiled before the measured window.
    $null = Wait-DhubBatch -PipelineId $PipelineId -BatchId $ids -Timeout 10 -PollingInterval 0.1 -ErrorAction SilentlyContinue
    Start-Sleep -Seconds 3
    $null = Invoke-RestMethod -Method Delete -Uri $control
    $window = [CpuWindow]::new(2000, $Seconds * 1000, 3)
    $out = Wait-DhubBatch -PipelineId $PipelineId -BatchId $ids -Timeout ($Seconds + 3) -PollingInterval $PollingInterval -ErrorAction SilentlyContinue -ErrorVariable timeouts
    $result = $window.ToResult()
}
else {
    $null = Invoke-RestMethod -Method Delete -Uri $control
    $process = [Diagnostics.Process]::GetCurrentProcess()
    $process.Refresh()
    $cpuBefore = $process.TotalProcessorTime
    $from = [DateTimeOffset]::UtcNow
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $out = Wait-DhubBatch -PipelineId $PipelineId -BatchId $ids -Timeout $Seconds -PollingInterval $PollingInterval -ErrorAction SilentlyContinue -ErrorVariable timeouts
    $sw.Stop()
    $process.Refresh()
    $result = @{ CpuPerMinuteMs = ($process.TotalProcessorTime - $cpuBefore).TotalMilliseconds / $sw.Elapsed.TotalMinutes; Parts = 'whole wait'; From = $from.ToString('o'); To = [DateTimeOffset]::UtcNow.ToString('o') }
}
$result.Output = @($out).Count
$result.Timeouts = @($timeouts).Count
$result | ConvertTo-Json -Compress
