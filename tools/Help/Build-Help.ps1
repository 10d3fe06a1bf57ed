#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Builds the module's help: <ModulePath>/en-US/DhubBatches.dll-Help.xml (MAML) from docs/help/<Command>.md and the
    real cmdlets, and <ModulePath>/en-US/about_*.help.txt from docs/help/about_*.md.
.DESCRIPTION
    Imports the built module (run it in a fresh pwsh, as build.ps1 does, so the DLL is not locked), takes syntax and
    parameter metadata from Get-Command and only the prose from the markdown. Exits 1, listing every problem, when a
    command has no page, a page documents a parameter the cmdlet does not have, a real parameter is undocumented or
    has an empty description, or a page lacks a synopsis, a description or two examples.

    -UpdateMarkdown rewrites the SYNTAX sections and parameter yaml blocks of the pages from the cmdlets (prose is
    kept; stubs are added for undocumented parameters) instead of building.
.EXAMPLE
    dotnet pwsh -NoProfile tools/Help/Build-Help.ps1 -ModulePath out/DhubBatches -DocsPath docs/help
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)][string] $ModulePath,
    [Parameter(Mandatory)][string] $DocsPath,
    # Where the help files go; <ModulePath>/en-US by default (Get-Help probes exactly 'en-US').
    [string] $OutputPath,
    [switch] $UpdateMarkdown
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
Import-Module (Join-Path $PSScriptRoot 'MamlHelp.psm1') -Force

try {
    $ModulePath = (Resolve-Path $ModulePath).Path
    $DocsPath = (Resolve-Path $DocsPath).Path
    if (-not $OutputPath) { $OutputPath = Join-Path $ModulePath 'en-US' }

    $manifest = Get-ChildItem $ModulePath -Filter *.psd1 | Select-Object -First 1
    if (-not $manifest) { throw "No module manifest in $ModulePath." }
    $module = Import-Module $manifest.FullName -PassThru -Force
    $commands = @(Get-Command -Module $module.Name -CommandType Cmdlet, Function | Sort-Object Name)
    if ($commands.Count -eq 0) { throw "Module $($module.Name) exports no commands." }

    $problems = [System.Collections.Generic.List[string]]::new()
    $items = [System.Collections.Generic.List[object]]::new()
    $helpFileName = $null
    foreach ($command in $commands) {
        $pagePath = Join-Path $DocsPath "$($command.Name).md"
        if (-not (Test-Path -LiteralPath $pagePath)) {
            $problems.Add("$($command.Name): no help page ($pagePath).")
            continue
        }
        $metadata = Get-HelpCommandMetadata -Command $command
        if ($UpdateMarkdown) {
            $text = Get-Content -Raw -LiteralPath $pagePath -Encoding utf8
            $updated = Update-HelpMarkdownMetadata -Text $text -Metadata $metadata
            if ($updated -ne $text) {
                Set-Content -LiteralPath $pagePath -Value $updated -NoNewline -Encoding utf8NoBOM
                Write-Host "Updated $pagePath"
            }
            continue
        }
        $page = ConvertFrom-HelpMarkdown -Path $pagePath
        foreach ($p in (Test-HelpPage -Page $page -Metadata $metadata)) { $problems.Add($p) }
        if ($command -is [System.Management.Automation.CmdletInfo] -and $command.HelpFile) { $helpFileName = $command.HelpFile }
        $items.Add([pscustomobject]@{ Page = $page; Metadata = $metadata })
    }
    $commandPages = @(Get-ChildItem $DocsPath -Filter *.md | Where-Object { $_.BaseName -notlike 'about_*' -and $_.BaseName -ne $module.Name })
    foreach ($file in $commandPages) {
        if ($file.BaseName -notin $commands.Name) { $problems.Add("$($file.Name): documents $($file.BaseName), which the module does not export.") }
    }
    if ($UpdateMarkdown) { exit 0 }

    if ($problems.Count -gt 0) {
        [Console]::Error.WriteLine("Help is incomplete ($($problems.Count) problem(s)); fix docs/help and build again:")
        foreach ($p in $problems) { [Console]::Error.WriteLine("  - $p") }
        exit 1
    }

    $null = New-Item -ItemType Directory -Force $OutputPath
    if (-not $helpFileName) { $helpFileName = "$($module.Name).dll-Help.xml" }
    $xml = ConvertTo-MamlHelp -Item $items.ToArray()
    $encoding = [System.Text.UTF8Encoding]::new($false)
    $xmlPath = Join-Path $OutputPath ([IO.Path]::GetFileName($helpFileName))
    [IO.File]::WriteAllText($xmlPath, $xml, $encoding)
    $written = @($xmlPath)

    foreach ($about in (Get-ChildItem $DocsPath -Filter 'about_*.md')) {
        $textPath = Join-Path $OutputPath "$($about.BaseName).help.txt"
        [IO.File]::WriteAllText($textPath, (ConvertTo-AboutHelpText -Path $about.FullName), $encoding)
        $written += $textPath
    }
    Write-Host "Help: $($items.Count) commands -> $($written -join ', ')"
    exit 0
}
catch {
    [Console]::Error.WriteLine("Help build failed: $($_.Exception.Message)")
    [Console]::Error.WriteLine($_.ScriptStackTrace)
    exit 1
}
