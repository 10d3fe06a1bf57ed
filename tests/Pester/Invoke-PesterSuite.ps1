#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Runs the Pester suite against an assembled module and the emulator; build.ps1's Test task calls it in a fresh
    `pwsh -NoProfile`.
.DESCRIPTION
    Imports Pester 5.7.1 from the NuGet cache (restored by tools/Tools.csproj), hands -ModulePath and -EmulatorDll to
    the tests through DHUBBATCHES_TEST_MODULE / DHUBBATCHES_TEST_EMULATOR, writes {"Passed":N,"Failed":N} to
    -ResultPath and JUnit XML to out/test-results/pester.xml, and exits 1 when anything failed.
.EXAMPLE
    dotnet pwsh -NoProfile tests/Pester/Invoke-PesterSuite.ps1 -ModulePath out/DhubBatches `
        -EmulatorDll out/emulator/DhubBatches.Emulator.dll -ResultPath out/test-results/pester.json -Tag Wait
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)][string] $ModulePath,
    [Parameter(Mandatory)][string] $EmulatorDll,
    [Parameter(Mandatory)][string] $ResultPath,
    # Folder holding the Gallery package (build.ps1 Package); the package test installs from it.
    [string] $PackagePath,
    # Comma-separated list (build.ps1 passes one string) or an array.
    [string[]] $Tag,
    # Test files to run (default: every file in this folder), for running one file while working on it.
    [string[]] $Path
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$root = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
Import-Module (Join-Path $root 'tools/BuildTools.psm1') -Force

$pesterVersion = [version]'5.7.1'
$pesterManifest = Join-Path (Get-NuGetPackageRoot) "pester/$pesterVersion/tools/Pester.psd1"
if (-not (Test-Path $pesterManifest)) {
    throw "Pester $pesterVersion is not in the NuGet cache ($pesterManifest). Run: dotnet restore tools/Tools.csproj"
}
# Any other Pester (e.g. 3.4 shipped in some images) must not win: import this one by path, then check it.
Get-Module Pester | Remove-Module -Force
Import-Module $pesterManifest -Force
$loaded = Get-Module Pester
if (-not $loaded -or $loaded.Version -ne $pesterVersion) {
    throw "Expected Pester $pesterVersion, got $($loaded.Version)."
}

$env:DHUBBATCHES_TEST_MODULE = (Resolve-Path $ModulePath).Path
$env:DHUBBATCHES_TEST_EMULATOR = (Resolve-Path $EmulatorDll).Path
if ($PackagePath) { $env:DHUBBATCHES_TEST_PACKAGE = (Resolve-Path $PackagePath).Path }

$resultsDir = Join-Path $root 'out/test-results'
$null = New-Item -ItemType Directory -Force $resultsDir

$config = New-PesterConfiguration
$config.Run.Path = if ($Path) { @($Path | ForEach-Object { (Resolve-Path $_).Path }) } else { $PSScriptRoot }
$config.Run.PassThru = $true
$config.Run.Exit = $false
$config.Output.Verbosity = 'Detailed'
$config.TestResult.Enabled = $true
$config.TestResult.OutputFormat = 'JUnitXml'
$config.TestResult.OutputPath = Join-Path $resultsDir 'pester.xml'
$config.TestResult.TestSuiteName = 'DhubBatches.Pester'
$tags = @($Tag | ForEach-Object { $_ -split ',' } | ForEach-Object Trim | Where-Object { $_ })
if ($tags.Count -gt 0) {
    $config.Filter.Tag = $tags
}

$result = Invoke-Pester -Configuration $config

# Container failures (a throwing BeforeAll, a file that does not parse) count as failures too.
$failed = $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount
$summary = [ordered]@{ Passed = [int]$result.PassedCount; Failed = [int]$failed }
$resultDir = Split-Path -Parent $ResultPath
if ($resultDir) { $null = New-Item -ItemType Directory -Force $resultDir }
$summary | ConvertTo-Json -Compress | Set-Content -Path $ResultPath -Encoding utf8NoBOM
Write-Host "Pester: $($result.PassedCount) passed, $failed failed, $($result.SkippedCount) skipped"

if ($failed -gt 0 -or $result.Result -eq 'Failed') { exit 1 }
exit 0
