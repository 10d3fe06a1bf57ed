#!/usr/bin/env pwsh
<#
.SYNOPSIS
    The one entry point: Build | Test | Help | Package | Demo | Bench | Clean.
.DESCRIPTION
    Build   assembles an importable module at out/DhubBatches (engine and its dependencies under deps/) and the
            emulator at out/emulator.
    Test    builds, runs the xUnit projects and the Pester suite (in a fresh pwsh against out/DhubBatches), prints
            one line "N passed, N failed" and exits non-zero on any failure.
    Package builds and writes a PowerShell Gallery-format .nupkg of out/DhubBatches to out/package.
    Demo    builds, starts the emulator, and runs the main job against it (tools/Demo.ps1).
    Bench   builds and runs the benchmarks side by side with Invoke-RestMethod and a raw HttpClient loop, writing
            bench/results.md (takes several minutes; not part of Test).
    Clean   removes out/ and every bin/ and obj/.
.EXAMPLE
    dotnet tool restore && dotnet pwsh ./build.ps1 Test
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [ValidateSet('Build', 'Test', 'Help', 'Package', 'Demo', 'Bench', 'Clean')]
    [string] $Task = 'Build',

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',

    # Test only: run just the Pester tests with these tags (e.g. Fault).
    [string[]] $Tag
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
Import-Module (Join-Path $PSScriptRoot 'tools/BuildTools.psm1') -Force

$Root = $PSScriptRoot
$Out = Join-Path $Root 'out'
$ModuleOut = Join-Path $Out 'DhubBatches'
$EmulatorOut = Join-Path $Out 'emulator'
$ResultsOut = Join-Path $Out 'test-results'
$PackageOut = Join-Path $Out 'package'

# What ships, by name: a new transitive dependency must be added here on purpose, and a missing one fails the build.
$EngineFiles = @(
    'DhubBatches.Engine.dll'
    'Refit.dll'
    'Polly.Core.dll'
    'ReactiveUI.Disposables.dll'
    'ReactiveUI.Primitives.dll'
    'ReactiveUI.Primitives.Core.dll'
    'System.Text.Json.dll'
    'System.IO.Pipelines.dll'
    'System.Text.Encodings.Web.dll'
    'System.Net.ServerSentEvents.dll'
    'Tomlyn.dll'
)

function Invoke-Dotnet {
    & dotnet @args
    if ($LASTEXITCODE -ne 0) { throw "dotnet $($args -join ' ') failed with exit code $LASTEXITCODE" }
}

function Get-ProjectVersion {
    $props = [xml](Get-Content -Raw (Join-Path $Root 'Directory.Build.props'))
    return ($props.Project.PropertyGroup | ForEach-Object { $_.Version } | Where-Object { $_ } | Select-Object -First 1)
}

function Build-Module {
    Write-Host "Building ($Configuration)..."
    Invoke-Dotnet restore (Join-Path $Root 'tools/Tools.csproj') --nologo -v q
    Invoke-Dotnet build (Join-Path $Root 'DhubBatches.sln') -c $Configuration --nologo -v q '-clp:ErrorsOnly'

    if (Test-Path $ModuleOut) { Remove-Item $ModuleOut -Recurse -Force }
    $deps = New-Item -ItemType Directory -Force (Join-Path $ModuleOut 'deps')

    $version = Get-ProjectVersion
    $manifest = Get-Content -Raw (Join-Path $Root 'module/DhubBatches.psd1')
    $manifest = $manifest -replace "ModuleVersion\s*=\s*'[^']*'", "ModuleVersion        = '$version'"
    Set-Content -Path (Join-Path $ModuleOut 'DhubBatches.psd1') -Value $manifest -NoNewline -Encoding utf8NoBOM
    Copy-Item (Join-Path $Root 'module/DhubBatches.Format.ps1xml') $ModuleOut
    Copy-Item (Join-Path $Root 'LICENSE') $ModuleOut

    $cmdletBin = Join-Path $Root "src/DhubBatches/bin/$Configuration/netstandard2.0"
    foreach ($file in 'DhubBatches.dll', 'DhubBatches.pdb') {
        Copy-Item (Join-Path $cmdletBin $file) $ModuleOut
    }

    $engineBin = Join-Path $Root "src/DhubBatches.Engine/bin/$Configuration/net8.0"
    foreach ($file in $EngineFiles) {
        $path = Join-Path $engineBin $file
        if (-not (Test-Path $path)) { throw "Build output is missing $file (expected in $engineBin)." }
        Copy-Item $path $deps
    }
    Copy-Item (Join-Path $engineBin 'DhubBatches.Engine.pdb') $deps
    $unexpected = Get-ChildItem $engineBin -Filter *.dll | Where-Object { $_.Name -notin $EngineFiles }
    if ($unexpected) {
        throw "The engine has dependencies not on the ship list: $($unexpected.Name -join ', '). Add them to `$EngineFiles in build.ps1 or remove them."
    }

    if (Test-Path $EmulatorOut) { Remove-Item $EmulatorOut -Recurse -Force }
    Copy-Item (Join-Path $Root "src/DhubBatches.Emulator/bin/$Configuration/net10.0") $EmulatorOut -Recurse

    Write-Host "Module: $ModuleOut (version $version)"
    Build-HelpFile
}

function Build-HelpFile {
    # In a fresh pwsh, so importing the module to read its cmdlets does not lock out/DhubBatches/DhubBatches.dll.
    $helpExit = Invoke-ChildPwsh -File (Join-Path $Root 'tools/Help/Build-Help.ps1') -ArgumentList @('-ModulePath', $ModuleOut, '-DocsPath', (Join-Path $Root 'docs/help'))
    if ($helpExit -ne 0) { throw "The help build failed (exit code $helpExit): see the problems listed above." }
}

function Build-Package {
    # Compress-PSResource (PSResourceGet 1.1+, in pwsh 7.4+) writes the Gallery layout: module files at the
    # package root, nuspec from the manifest (version, tags, project/license URIs, release notes).
    if (Test-Path $PackageOut) { Remove-Item $PackageOut -Recurse -Force }
    $null = New-Item -ItemType Directory -Force $PackageOut
    $package = Compress-PSResource -Path $ModuleOut -DestinationPath $PackageOut -PassThru
    Write-Host "Package: $($package.FullName)"
}

function Get-TrxCount([string] $Directory) {
    $passed = 0; $failed = 0
    foreach ($file in Get-ChildItem $Directory -Filter *.trx -ErrorAction SilentlyContinue) {
        $trx = [xml](Get-Content -Raw -LiteralPath $file.FullName) # names can hold [1]: no wildcards
        $counters = $trx.TestRun.ResultSummary.Counters
        $passed += [int]$counters.passed
        $failed += [int]$counters.failed + [int]$counters.error + [int]$counters.timeout + [int]$counters.aborted
    }
    return [pscustomobject]@{ Passed = $passed; Failed = $failed }
}

function Test-Module {
    Build-Module
    Build-Package # the package test installs it
    if (Test-Path $ResultsOut) { Remove-Item $ResultsOut -Recurse -Force }
    $null = New-Item -ItemType Directory -Force $ResultsOut
    $runnerFailures = 0

    if (-not $Tag) {
        Write-Host 'Running xUnit tests...'
        & dotnet test (Join-Path $Root 'DhubBatches.sln') -c $Configuration --no-build --nologo `
            --logger 'trx' --logger 'console;verbosity=minimal' --results-directory (Join-Path $ResultsOut 'xunit')
        $xunitExit = $LASTEXITCODE
    }
    else {
        $xunitExit = 0
    }
    $xunit = Get-TrxCount (Join-Path $ResultsOut 'xunit')
    if ($xunitExit -ne 0 -and $xunit.Failed -eq 0) { $runnerFailures++ } # the runner failed without a failed test to show for it

    Write-Host 'Running Pester tests in a fresh pwsh against out/DhubBatches...'
    $pesterJson = Join-Path $ResultsOut 'pester.json'
    $pesterArgs = @('-ModulePath', $ModuleOut, '-EmulatorDll', (Join-Path $EmulatorOut 'DhubBatches.Emulator.dll'), '-ResultPath', $pesterJson, '-PackagePath', $PackageOut)
    if ($Tag) { $pesterArgs += @('-Tag', ($Tag -join ',')) }
    $pesterExit = Invoke-ChildPwsh -File (Join-Path $Root 'tests/Pester/Invoke-PesterSuite.ps1') -ArgumentList $pesterArgs
    $pester = if (Test-Path $pesterJson) { Get-Content -Raw $pesterJson | ConvertFrom-Json } else { [pscustomobject]@{ Passed = 0; Failed = 0 } }
    if ($pesterExit -ne 0 -and $pester.Failed -eq 0) { $runnerFailures++ }

    $passed = $xunit.Passed + $pester.Passed
    $failed = $xunit.Failed + $pester.Failed + $runnerFailures
    Write-Host "xUnit: $($xunit.Passed) passed, $($xunit.Failed) failed; Pester: $($pester.Passed) passed, $($pester.Failed) failed"
    Write-Host "$passed passed, $failed failed"
    if ($failed -gt 0 -or $passed -eq 0) { exit 1 }
}

function Start-Demo {
    Build-Module
    $exit = Invoke-ChildPwsh -File (Join-Path $Root 'tools/Demo.ps1') -ArgumentList @('-ModulePath', $ModuleOut, '-EmulatorDll', (Join-Path $EmulatorOut 'DhubBatches.Emulator.dll'), '-OutputDirectory', (Join-Path $Out 'demo'))
    if ($exit -ne 0) { throw "The demo failed (exit code $exit)." }
}

function Measure-Benchmark {
    Build-Module
    $exit = Invoke-ChildPwsh -File (Join-Path $Root 'bench/Invoke-Benchmarks.ps1') -ArgumentList @('-ModulePath', $ModuleOut, '-EmulatorDll', (Join-Path $EmulatorOut 'DhubBatches.Emulator.dll'), '-ResultPath', (Join-Path $Root 'bench/results.md'))
    if ($exit -ne 0) { throw "The benchmarks failed (exit code $exit)." }
}

function Clear-BuildOutput {
    if (Test-Path $Out) { Remove-Item $Out -Recurse -Force }
    Get-ChildItem $Root -Directory -Recurse -Include bin, obj -ErrorAction SilentlyContinue |
        Where-Object { $_.FullName -notmatch '[\\/]\.git[\\/]' } |
        Remove-Item -Recurse -Force
    Write-Host 'Cleaned.'
}

switch ($Task) {
    'Build' { Build-Module }
    'Test' { Test-Module }
    'Package' { Build-Module; Build-Package }
    'Demo' { Start-Demo }
    'Clean' { Clear-BuildOutput }
    'Help' { Build-HelpFile }
    'Bench' { Measure-Benchmark }
}
