# Help generation for DhubBatches without platyPS: the one module Build-Help.ps1 and the tests import. The work is
# split by concern; this module loads the parts and exports their public functions:
#   HelpMarkdown.psm1        ConvertFrom-HelpMarkdown     a command page -> an object with its prose
#   HelpMetadata.psm1        Get-HelpCommandMetadata      a real cmdlet (Get-Command) -> syntax and parameter metadata
#   MamlWriter.psm1          ConvertTo-MamlHelp           pages + metadata -> MAML (DhubBatches.dll-Help.xml)
#   AboutTopic.psm1          ConvertTo-AboutHelpText      about_*.md -> about_*.help.txt, wrapped at 80 columns
#   HelpMarkdownUpdate.psm1  Update-HelpMarkdownMetadata  a page's SYNTAX and parameter yaml blocks from the cmdlet
# and Test-HelpPage, here, the problems that must fail the build (missing/fake/undocumented parameters, ...).
# Metadata always comes from the cmdlet; only prose comes from markdown, so help cannot disagree with the code.
Set-StrictMode -Version Latest

# -Force so that re-importing this module (Import-Module -Force) reloads the parts too.
foreach ($part in 'HelpMarkdown', 'HelpMetadata', 'MamlWriter', 'AboutTopic', 'HelpMarkdownUpdate') {
    Import-Module (Join-Path $PSScriptRoot "$part.psm1") -Force
}

function Test-HelpPage {
    <#
    .SYNOPSIS
        The problems with one page against its cmdlet; an empty result means the page is complete.
    #>
    param([Parameter(Mandatory)] $Page, [Parameter(Mandatory)] $Metadata)
    $problems = [System.Collections.Generic.List[string]]::new()
    $where = "$($Metadata.Name) ($([IO.Path]::GetFileName($Page.Path)))"
    if ($Page.Name -ne $Metadata.Name) { $problems.Add("${where}: the page title is '# $($Page.Name)', expected '# $($Metadata.Name)'.") }
    if ([string]::IsNullOrWhiteSpace($Page.Synopsis)) { $problems.Add("${where}: ## SYNOPSIS is missing or empty.") }
    if (@($Page.Description).Count -eq 0) { $problems.Add("${where}: ## DESCRIPTION is missing or empty.") }
    $examples = @($Page.Examples | Where-Object { $_.Code.Trim() })
    if ($examples.Count -lt 2) { $problems.Add("${where}: needs at least two examples with code, has $($examples.Count).") }
    $real = @($Metadata.Parameters | ForEach-Object Name)
    foreach ($name in $Page.Parameters.Keys) {
        if ($name -notin $real) { $problems.Add("${where}: documents -$name, which the cmdlet does not have.") }
    }
    foreach ($name in $real) {
        $documented = $Page.Parameters.Keys | Where-Object { $_ -eq $name }
        if (-not $documented) { $problems.Add("${where}: -$name is not documented (add '### -$name' under ## PARAMETERS).") }
        elseif (@($Page.Parameters[$name].Description | Where-Object { $_.Trim() }).Count -eq 0) {
            $problems.Add("${where}: -$name has an empty description.")
        }
    }
    , $problems.ToArray()
}

Export-ModuleMember -Function ConvertFrom-HelpMarkdown, Get-HelpCommandMetadata, Test-HelpPage, ConvertTo-MamlHelp,
ConvertTo-AboutHelpText, Update-HelpMarkdownMetadata, Get-HelpParameterYaml, Get-HelpSyntaxText, Get-PaddedExampleTitle,
Format-WrappedText
