<#
.SYNOPSIS
    The fleet view at scale, on its own (about 8 minutes), Prefect 3 emulator: Get-DhubBatch -All with and without
    -NoSteps over 100,000 runs of one pipeline, the same with no -PipelineId over 20 pipelines x 5,000 runs (every
    pipeline's batches in one stream), and Get-DhubPipeline over 2,000 deployments. Prints markdown for bench/results.md.
.EXAMPLE
    dotnet pwsh -NoProfile bench/Measure-Fleet.ps1 -ModulePath out/DhubBatches -EmulatorDll out/emulator/DhubBatches.Emulator.dll
.EXAMPLE
    # Beside an earlier build, built in a worktree of that commit: its -NoSteps listing alternates with this one's.
    dotnet pwsh -NoProfile bench/Measure-Fleet.ps1 -ModulePath out/DhubBatches -EmulatorDll out/emulator/DhubBatches.Emulator.dll -Runs 5 -BaselineModulePath ../before/out/DhubBatches -BaselineName 'main before the change'
#>
param(
    [Parameter(Mandatory)][string] $ModulePath,
    [Parameter(Mandatory)][string] $EmulatorDll,
    [int] $Runs = 3,
    # Another build of the module (say, the last release's) whose one-pipeline -NoSteps listing is measured beside this one's.
    [string] $BaselineModulePath,
    # How the results name that build (a commit, a release): never a path of this machine.
    [string] $BaselineName = 'the baseline build'
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
Import-Module (Join-Path $PSScriptRoot '../tools/BuildTools.psm1') -Force
$ModulePath = (Resolve-Path $ModulePath).Path
$token = 'bench-token'
$pwsh = @(Get-ChildPwshCommand)

function Invoke-Scenario([string] $Name, [hashtable] $Arguments) {
    $argList = foreach ($key in $Arguments.Keys) {
        if ($Arguments[$key] -is [switch] -or $Arguments[$key] -is [bool]) { if ($Arguments[$key]) { "-$key" } } else { "-$key"; [string]$Arguments[$key] }
    }
    $lines = & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -File (Join-Path $PSScriptRoot "scenarios/$Name.ps1") @argList 2>&1
    if ($LASTEXITCODE -ne 0) { throw "$Name failed: $($lines | Out-String)" }
    ($lines | Where-Object { "$_".StartsWith('{') } | Select-Object -Last 1) | ConvertFrom-Json
}

function Get-Median([double[]] $Values) { @($Values | Sort-Object)[[int][math]::Floor($Values.Count / 2)] }

function Measure-Listing($Emulator, [string] $PipelineId, [switch] $NoSteps, [int] $Times, [string[]] $Modules = @($ModulePath)) {
    $listing = @{ ApiUri = "$($Emulator.Url)/prefect/api"; ControlUri = $Emulator.Url; Backend = 'Prefect'; Token = $token; PipelineId = $PipelineId; WarmPipelineId = 'bench-warm'; PageSize = 200; NoSteps = [bool]$NoSteps }
    # The emulator is a .NET process too: one discarded listing compiles its paths over the seeded runs first.
    $null = Invoke-Scenario Listing ($listing + @{ ModulePath = $Modules[0] })
    # Several modules (a baseline beside this build): their runs alternate, so the machine's drift touches each alike.
    $byModule = @{}
    for ($i = 0; $i -lt $Times; $i++) { foreach ($m in $Modules) { $byModule[$m] += @(Invoke-Scenario Listing ($listing + @{ ModulePath = $m })) } }
    foreach ($m in $Modules) {
        $rs = $byModule[$m]
        [pscustomobject]@{
            TotalMs = Get-Median $rs.TotalMs; FirstMs = Get-Median $rs.FirstObjectMs; Objects = Get-Median $rs.Objects
            GrowthMB = (Get-Median $rs.PeakGrowthBytes) / 1MB; Runs = $Times
            Requests = (@($rs | Sort-Object TotalMs)[0].Routes | Measure-Object count -Sum).Sum
        }
    }
}

function Start-BenchEmulator {
    $e = Start-DhubEmulator -EmulatorDll (Resolve-Path $EmulatorDll).Path -ArgumentList '--token', $token, '--step-seconds', '0.2'
    $null = Invoke-DhubEmulatorControl $e Post 'pipelines/bench-warm' @{}
    $null = Invoke-DhubEmulatorControl $e Post 'prefect/pipelines/bench-warm/seed' @{ count = 200 }
    $e
}

$rows = [ordered]@{}
$one = Start-BenchEmulator
try {
    Write-Host 'Seeding 100,000 runs of one pipeline...'
    $null = Invoke-DhubEmulatorControl $one Post 'pipelines/bench-one' @{}
    $null = Invoke-DhubEmulatorControl $one Post 'prefect/pipelines/bench-one/seed' @{ count = 100000 }
    Write-Host 'One pipeline, -NoSteps...'
    $modules = @($ModulePath) + @(if ($BaselineModulePath) { (Resolve-Path $BaselineModulePath).Path })
    $measured = @(Measure-Listing $one 'bench-one' -NoSteps -Times $Runs -Modules $modules)
    $rows['one pipeline (`-PipelineId bench-one -All -NoSteps`), 100,000 runs'] = $measured[0]
    if ($BaselineModulePath) { $baseline = $measured[1] }
    Write-Host 'One pipeline, with steps...'
    $rows['one pipeline (`-PipelineId bench-one -All`), 100,000 runs, steps and offsets'] = Measure-Listing $one 'bench-one' -Times 3
}
finally { Stop-DhubEmulator $one }

$fleet = Start-BenchEmulator
try {
    Write-Host 'Seeding 20 pipelines x 5,000 runs...'
    for ($i = 0; $i -lt 20; $i++) {
        $name = 'bench-fleet-{0:00}' -f $i
        $null = Invoke-DhubEmulatorControl $fleet Post "pipelines/$name" @{}
        $null = Invoke-DhubEmulatorControl $fleet Post "prefect/pipelines/$name/seed" @{ count = 5000 }
    }
    Write-Host 'Fleet, -NoSteps...'
    $rows['every pipeline (`-All -NoSteps`), 20 × 5,000 runs'] = Measure-Listing $fleet '' -NoSteps -Times $Runs
    Write-Host 'Fleet, with steps...'
    $rows['every pipeline (`-All`), 20 × 5,000 runs, steps and offsets'] = Measure-Listing $fleet '' -Times 3
    Write-Host 'Registering 2,000 deployments...'
    for ($i = 0; $i -lt 2000; $i++) { $null = Invoke-DhubEmulatorControl $fleet Post ('pipelines/bench-deployment-{0:0000}' -f $i) @{} }
    $pipelines = Invoke-Scenario PipelineList @{ ModulePath = $ModulePath; ApiUri = "$($fleet.Url)/prefect/api"; Token = $token; Repeats = 5 }
}
finally { Stop-DhubEmulator $fleet }

"Measured $((Get-Date).ToUniversalTime().ToString('yyyy-MM-dd HH:mm')) UTC on $([Environment]::ProcessorCount) cores, Prefect 3 emulator on loopback, pages of 200 (the server's limit); medians of the runs shown."
''
'| listing | runs listed | total | first object | per run | requests | peak memory growth | runs |'
'|---|---|---|---|---|---|---|---|'
foreach ($key in $rows.Keys) {
    $r = $rows[$key]
    '| {0} | {1:N0} | {2:N2} s | {3:N0} ms | {4:N1} µs | {5:N0} | {6:N1} MB | {7} |' -f $key, $r.Objects, ($r.TotalMs / 1000), $r.FirstMs, ($r.TotalMs * 1000 / [math]::Max(1, $r.Objects)), $r.Requests, $r.GrowthMB, $r.Runs
}
''
$keys = @($rows.Keys)
$perRun = { param($k) $rows[$k].TotalMs / [math]::Max(1, $rows[$k].Objects) }
'Fleet against one pipeline, per run: {0:N2}× with -NoSteps, {1:N2}× with steps (target within 1.10×).' -f ((& $perRun $keys[2]) / (& $perRun $keys[0])), ((& $perRun $keys[3]) / (& $perRun $keys[1]))
if ($BaselineModulePath) {
    'Beside it, {0}: the same one-pipeline `-NoSteps` listing, runs alternating with this build''s: {1:N2} s, first object {2:N0} ms ({3:N2}× this build''s time).' -f $BaselineName, ($baseline.TotalMs / 1000), $baseline.FirstMs, ($baseline.TotalMs / $rows[$keys[0]].TotalMs)
}
'`Get-DhubPipeline` over {0:N0} pipelines: {1:N0} ms (median of 5, warm connection; target < 1 s).' -f $pipelines.Pipelines, $pipelines.MedianMs
