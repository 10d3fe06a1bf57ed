# The generated parts of a command page: its SYNTAX section and parameter yaml blocks, rewritten from the cmdlet's
# metadata so the markdown stays in sync with the code (Build-Help.ps1 -UpdateMarkdown).
Set-StrictMode -Version Latest
Import-Module (Join-Path $PSScriptRoot 'HelpMarkdown.psm1')

function Get-HelpSyntaxText {
    <# Get-Command -Syntax style lines for one parameter set, for the markdown SYNTAX section. #>
    param($Metadata, $Set)
    $parts = @($Metadata.Name)
    foreach ($sp in $Set.Parameters) {
        $p = $sp.Metadata
        $text = if ($p.IsSwitch) { "-$($p.Name)" }
        else {
            $typeName = ($p.Type -split '\.')[-1]
            $nameText = if ($sp.Position -ne 'Named') { "[-$($p.Name)]" } else { "-$($p.Name)" }
            "$nameText <$typeName>"
        }
        if (-not $sp.Required) { $text = "[$text]" }
        $parts += $text
    }
    $parts += '[<CommonParameters>]'
    # Wrap like platyPS: continuation lines indented by one space.
    $lines = [System.Collections.Generic.List[string]]::new()
    $line = ''
    foreach ($part in $parts) {
        if ($line -and ($line.Length + 1 + $part.Length) -gt 90) { $lines.Add($line); $line = ' ' + $part }
        elseif ($line) { $line += ' ' + $part }
        else { $line = $part }
    }
    $lines.Add($line)
    $lines -join "`n"
}

function Get-HelpParameterYaml {
    <# The yaml block(s) of a parameter: one per distinct (required, position, pipeline) across its sets. #>
    param($Parameter)
    $groups = [ordered]@{}
    foreach ($set in $Parameter.Sets) {
        $key = "$($set.Required)|$($set.Position)|$($set.PipelineInput)"
        if (-not $groups.Contains($key)) { $groups[$key] = [System.Collections.Generic.List[object]]::new() }
        $groups[$key].Add($set)
    }
    $blocks = foreach ($key in $groups.Keys) {
        $sets = $groups[$key]
        $setText = if ($groups.Count -eq 1) { $Parameter.ParameterSetNames -join ', ' }
        elseif ($sets.Name -contains '__AllParameterSets') { '(All)' }
        else { $sets.Name -join ', ' }
        $first = $sets[0]
        $yaml = @(
            "Type: $($Parameter.Type)"
            "Parameter Sets: $setText"
            "Aliases: $(if ($Parameter.Aliases.Count) { $Parameter.Aliases -join ', ' } else { '' })".TrimEnd()
        )
        if ($Parameter.AcceptedValues.Count) { $yaml += "Accepted values: $($Parameter.AcceptedValues -join ', ')" }
        $yaml += @(
            ''
            "Required: $($first.Required)"
            "Position: $($first.Position)"
            "Default value: $($Parameter.DefaultValue)"
            "Accept pipeline input: $($first.PipelineInput)"
            "Accept wildcard characters: $($Parameter.Globbing)"
        )
        $yaml -join "`n"
    }
    , @($blocks)
}

function Update-HelpMarkdownMetadata {
    <#
    .SYNOPSIS
        Rewrites a page's SYNTAX section and parameter yaml blocks from the cmdlet, keeping all prose; adds a stub
        '### -Name' for each undocumented parameter (its description still has to be written). Returns the text.
    #>
    param([Parameter(Mandatory)][string] $Text, [Parameter(Mandatory)] $Metadata)
    $lines = Split-MarkdownLine $Text
    $out = [System.Collections.Generic.List[string]]::new()
    $i = 0
    $section = $null
    $byName = @{}
    foreach ($p in $Metadata.Parameters) { $byName[$p.Name] = $p }
    $documented = [System.Collections.Generic.List[string]]::new()
    $inCode = $false
    while ($i -lt $lines.Count) {
        $line = $lines[$i]
        if (-not $inCode -and $line -match '^##\s+(.+?)\s*$' -and $line -notmatch '^###') {
            if ($section -eq 'PARAMETERS') { Add-MissingParameterStub $out $Metadata $documented }
            $section = $Matches[1]
            $out.Add($line)
            $i++
            if ($section -eq 'SYNTAX') {
                # Replace the whole section.
                while ($i -lt $lines.Count -and $lines[$i] -notmatch '^##\s') { $i++ }
                $out.Add('')
                foreach ($set in ($Metadata.ParameterSets | Sort-Object { -not $_.IsDefault })) {
                    $title = $set.Name + $(if ($set.IsDefault -and $Metadata.ParameterSets.Count -gt 1) { ' (Default)' } else { '' })
                    $out.Add("### $title")
                    $out.Add('```')
                    $out.Add((Get-HelpSyntaxText $Metadata $set))
                    $out.Add('```')
                    $out.Add('')
                }
            }
            continue
        }
        if ($line -match '^\s*```') { $inCode = -not $inCode }
        if ($section -eq 'PARAMETERS' -and $line -match '^###\s+-(\w+)\s*$') {
            $name = $Matches[1]
            $documented.Add($name)
            $out.Add($line)
            $i++
            # Prose up to the first yaml block; then drop every yaml block (and blank lines) of this parameter.
            while ($i -lt $lines.Count -and $lines[$i] -notmatch '^\s*```\s*yaml\s*$' -and $lines[$i] -notmatch '^##') { $out.Add($lines[$i]); $i++ }
            while ($i -lt $lines.Count -and $lines[$i] -notmatch '^##') {
                if ($lines[$i] -match '^\s*```\s*yaml\s*$') {
                    $i++
                    while ($i -lt $lines.Count -and $lines[$i] -notmatch '^\s*```\s*$') { $i++ }
                    $i++
                }
                elseif ($lines[$i] -match '^\s*$') { $i++ }
                else { break }
            }
            while ($out.Count -gt 0 -and $out[$out.Count - 1] -match '^\s*$') { $out.RemoveAt($out.Count - 1) }
            $out.Add('')
            if ($byName.ContainsKey($name)) {
                foreach ($block in (Get-HelpParameterYaml $byName[$name])) {
                    $out.Add('```yaml')
                    $out.Add($block)
                    $out.Add('```')
                    $out.Add('')
                }
            }
            continue
        }
        if ($section -eq 'PARAMETERS' -and $line -match '^###\s+CommonParameters') {
            Add-MissingParameterStub $out $Metadata $documented
        }
        $out.Add($line)
        $i++
    }
    ($out -join "`n").TrimEnd() + "`n"
}

function Add-MissingParameterStub {
    param($Out, $Metadata, $Documented)
    foreach ($p in $Metadata.Parameters) {
        if ($p.Name -in $Documented) { continue }
        $Documented.Add($p.Name)
        $Out.Add("### -$($p.Name)")
        $Out.Add('')
        foreach ($block in (Get-HelpParameterYaml $p)) { $Out.Add('```yaml'); $Out.Add($block); $Out.Add('```'); $Out.Add('') }
    }
}

Export-ModuleMember -Function Update-HelpMarkdownMetadata, Get-HelpParameterYaml, Get-HelpSyntaxText
