<#
.SYNOPSIS
    -AsJob at scale, on its own (about 2 minutes): 1,000 running dhub batches of one pipeline, waited on by one
    Wait-DhubBatch, then by 1,000 Wait-DhubBatch -AsJob jobs of one batch each. Prints a markdown table (requests a
    round, client CPU per minute, memory growth, how fast -AsJob returns) for bench/results.md. A shared machine moves
    CPU figures by a third from run to run: -Repeat runs both modes that many times, alternating, and reports each
    figure's median (and every run's CPU).
.EXAMPLE
    dotnet pwsh -NoProfile bench/Measure-AsJob.ps1 -ModulePath out/DhubBatches -EmulatorDll out/emulator/DhubBatches.Emulator.dll
#>
param(
    [Parameter(Mandatory)][string] $ModulePath,
    [Parameter(Mandatory)][string] $EmulatorDll,
    [int] $Count = 1000,
    [int] $Seconds = 30,
    [double] $PollingInterval = 5,
    [ValidateRange(1, 20)][int] $Repeat = 1
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
Import-Module (Join-Path $PSScriptRoot '../tools/BuildTools.psm1') -Force
$ModulePath = (Resolve-Path $ModulePath).Path
$token = 'bench-token'
$pwsh = @(Get-ChildPwshCommand)
$emulator = Start-DhubEmulator -EmulatorDll (Resolve-Path $EmulatorDll).Path -ArgumentList '--token', $token, '--step-seconds', '1'
$idsFile = Join-Path ([IO.Path]::GetTempPath()) "dhub-bench-job-ids-$Count.txt"
try {
    $pipeline = 'bench-jobs'
    $null = Invoke-DhubEmulatorControl $emulator Post "pipelines/$pipeline" @{ stepSeconds = 100000 }
    @(for ($i = 0; $i -lt $Count; $i++) { (Invoke-RestMethod -Method Post -Uri "$($emulator.Url)/api/v1/batches/$pipeline" -Headers @{ Authorization = "Bearer $token" }).item }) |
        Set-Content $idsFile
    $runs = foreach ($mode in @(for ($i = 0; $i -lt $Repeat; $i++) { 'Wait'; 'Jobs' })) {
        Write-Host "$mode..."
        $lines = & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -File (Join-Path $PSScriptRoot 'scenarios/WaitingJobs.ps1') `
            -ModulePath $ModulePath -ApiUri $emulator.Url -Token $token -PipelineId $pipeline -IdsFile $idsFile -Seconds $Seconds -PollingInterval $PollingInterval -Mode $mode 2>&1
        if ($LASTEXITCODE -ne 0) { throw "WaitingJobs $mode failed: $($lines | Out-String)" }
        $r = ($lines | Where-Object { "$_".StartsWith('{') } | Select-Object -Last 1) | ConvertFrom-Json
        $log = @(Invoke-RestMethod -Uri "$($emulator.Url)/_emulator/requests" | ForEach-Object { $_ })
        $from = [DateTimeOffset]::Parse($r.From); $to = [DateTimeOffset]::Parse($r.To)
        $inWindow = @($log | Where-Object { [DateTimeOffset]$_.timestamp -ge $from -and [DateTimeOffset]$_.timestamp -le $to })
        $null = Invoke-RestMethod -Method Delete -Uri "$($emulator.Url)/_emulator/requests"
        [pscustomobject]@{ Mode = $mode; PerRound = $inWindow.Count / (($to - $from).TotalSeconds / $PollingInterval); Result = $r }
    }
    function Get-Median([double[]] $Values) { $sorted = @($Values | Sort-Object); $sorted[[int](($sorted.Count - 1) / 2)] }
    $rows = foreach ($mode in 'Wait', 'Jobs') {
        $ofMode = @($runs | Where-Object Mode -EQ $mode)
        $median = @{}
        foreach ($name in 'CpuPerMinuteMs', 'RssGrowthMB', 'RssWindowGrowthMB', 'ReturnMedianMs', 'ReturnP99Ms') {
            $median[$name] = Get-Median @($ofMode | ForEach-Object { $_.Result.$name })
        }
        [pscustomobject]@{ Mode = $mode; PerRound = (Get-Median @($ofMode.PerRound)); Result = [pscustomobject]$median; Cpu = @($ofMode | ForEach-Object { $_.Result.CpuPerMinuteMs }) }
    }
    $wait, $jobs = $rows
    "| $('{0:N0}' -f $Count) batches of one pipeline, -PollingInterval $PollingInterval | requests a round | client CPU per minute | resident memory growth (whole run / in the window) | -AsJob returns in (median / p99) |"
    '|---|---|---|---|---|'
    foreach ($row in $rows) {
        $label = if ($row.Mode -eq 'Wait') { 'one `Wait-DhubBatch` on all' } else { "$('{0:N0}' -f $Count) ``Wait-DhubBatch -AsJob``, one batch each" }
        $return = if ($row.Mode -eq 'Jobs') { '{0:N2} ms / {1:N2} ms' -f $row.Result.ReturnMedianMs, $row.Result.ReturnP99Ms } else { '' }
        '| {0} | {1:N1} | {2:N0} ms | {3:N1} MB / {4:N1} MB | {5} |' -f $label, $row.PerRound, $row.Result.CpuPerMinuteMs, $row.Result.RssGrowthMB, $row.Result.RssWindowGrowthMB, $return
    }
    if ($Repeat -gt 1) {
        ''
        'Medians of {0} runs of each, alternating. Client CPU per minute of each run: wait {1}; jobs {2}.' -f $Repeat,
        (($wait.Cpu | ForEach-Object { '{0:N0} ms' -f $_ }) -join ', '), (($jobs.Cpu | ForEach-Object { '{0:N0} ms' -f $_ }) -join ', ')
    }
    ''
    'Jobs against the wait: {0:N2}× the CPU (target ≤ 1.5×), {1:N1} MB more resident memory (target < 50 MB), {2:N2}× the requests a round (target 1×).' -f `
    ($jobs.Result.CpuPerMinuteMs / $wait.Result.CpuPerMinuteMs), ($jobs.Result.RssGrowthMB - $wait.Result.RssGrowthMB), ($jobs.PerRound / $wait.PerRound)
}
finally {
    Stop-DhubEmulator $emulator
    Remove-Item $idsFile -ErrorAction SilentlyContinue
}
