# The about topic: about_*.md -> the plain-text about_*.help.txt Get-Help shows, wrapped at 80 columns.
Set-StrictMode -Version Latest
Import-Module (Join-Path $PSScriptRoot 'HelpMarkdown.psm1')

function Format-WrappedText {
    <# Word-wraps text to $Width columns with the given first-line and continuation indents. #>
    param([string] $Text, [int] $Indent, [int] $HangingIndent = $Indent, [int] $Width = 80)
    $lines = [System.Collections.Generic.List[string]]::new()
    $prefix = ' ' * $Indent
    $line = $prefix
    $empty = $true
    foreach ($word in ($Text -split '\s+' | Where-Object { $_ })) {
        if (-not $empty -and ($line.Length + 1 + $word.Length) -gt $Width) {
            $lines.Add($line)
            $line = (' ' * $HangingIndent) + $word
        }
        elseif ($empty) { $line += $word; $empty = $false }
        else { $line += ' ' + $word }
    }
    if (-not $empty) { $lines.Add($line) }
    $lines.ToArray()
}

function Format-AboutTable {
    <# A markdown table as aligned columns with a dashed rule under the header; the last column wraps under itself. #>
    param([string[]] $Rows, [int] $Indent, [int] $Width = 80)
    $cells = [System.Collections.Generic.List[string[]]]::new()
    foreach ($row in $Rows) {
        if ($row -match '^\s*\|?\s*:?-{2,}') { continue }
        [string[]] $values = @($row.Trim().Trim('|') -split '(?<!\\)\|' | ForEach-Object { ConvertTo-PlainInline $_ })
        $cells.Add($values)
    }
    $out = [System.Collections.Generic.List[string]]::new()
    if ($cells.Count -eq 0) { return , $out.ToArray() }
    $columns = 0
    foreach ($row in $cells) { $columns = [Math]::Max($columns, $row.Length) }
    $widths = [int[]]::new($columns)
    foreach ($row in $cells) { for ($c = 0; $c -lt $row.Length; $c++) { $widths[$c] = [Math]::Max($widths[$c], $row[$c].Length) } }
    $lastStart = $Indent
    for ($c = 0; $c -lt $columns - 1; $c++) { $lastStart += $widths[$c] + 2 }
    if ($lastStart -gt $Width - 20) { $lastStart = $Indent + 8 } # too wide: the last column goes on its own lines
    $lastWidth = [Math]::Min($widths[$columns - 1], $Width - $lastStart)
    for ($r = 0; $r -lt $cells.Count; $r++) {
        $row = $cells[$r]
        $head = ' ' * $Indent
        for ($c = 0; $c -lt $columns - 1; $c++) { $head += $(if ($c -lt $row.Length) { $row[$c] } else { '' }).PadRight($widths[$c] + 2) }
        $last = if ($row.Length -ge $columns) { $row[$columns - 1] } else { '' }
        $wrapped = @(Format-WrappedText $last -Indent $lastStart -Width $Width)
        if ($wrapped.Count -gt 0 -and $head.Length -le $lastStart) {
            $out.Add($head.PadRight($lastStart) + $wrapped[0].Substring($lastStart))
            foreach ($w in ($wrapped | Select-Object -Skip 1)) { $out.Add($w) }
        }
        else {
            $out.Add($head.TrimEnd())
            foreach ($w in $wrapped) { $out.Add($w) }
        }
        if ($r -eq 0) {
            $rule = ' ' * $Indent
            for ($c = 0; $c -lt $columns - 1; $c++) { $rule += ('-' * $widths[$c]).PadRight($widths[$c] + 2) }
            $out.Add(($rule.PadRight($lastStart) + ('-' * [Math]::Max(1, $lastWidth))).TrimEnd())
        }
    }
    , $out.ToArray()
}

function ConvertTo-AboutHelpText {
    <#
    .SYNOPSIS
        Renders an about_*.md topic as the plain text Get-Help shows: H1 as TOPIC, H2 upper-case at column 0, text
        indented by 4 and wrapped at 80 columns, code indented by 8 and kept as written, tables aligned.
    #>
    param([Parameter(Mandatory)][string] $Path, [int] $Width = 80)
    $lines = Split-MarkdownLine (Get-Content -Raw -LiteralPath $Path -Encoding utf8)
    $start = 0
    if ($lines.Count -gt 0 -and $lines[0] -eq '---') {
        for ($i = 1; $i -lt $lines.Count; $i++) { if ($lines[$i] -eq '---') { $start = $i + 1; break } }
    }
    $out = [System.Collections.Generic.List[string]]::new()
    $paragraph = [System.Collections.Generic.List[string]]::new()
    $table = [System.Collections.Generic.List[string]]::new()
    $listIndent = 0
    $inCode = $false
    $blank = {
        if ($out.Count -gt 0 -and $out[$out.Count - 1] -ne '') { $out.Add('') }
    }
    $flush = {
        if ($paragraph.Count -gt 0) {
            $text = ConvertTo-PlainInline ($paragraph -join ' ')
            if ($text -match '^([-*+]|\d+\.)\s+(.*)$') {
                $marker = $Matches[1]; $itemText = $Matches[2]
                $bullet = if ($marker -match '\d') { $marker } else { '-' }
                foreach ($w in (Format-WrappedText "$bullet $itemText" -Indent 4 -HangingIndent (5 + $bullet.Length) -Width $Width)) { $out.Add($w) }
            }
            else {
                & $blank
                foreach ($w in (Format-WrappedText $text -Indent 4 -Width $Width)) { $out.Add($w) }
                $out.Add('')
            }
            $paragraph.Clear()
        }
        if ($table.Count -gt 0) {
            & $blank
            foreach ($t in (Format-AboutTable $table -Indent 4 -Width $Width)) { $out.Add($t) }
            $out.Add('')
            $table.Clear()
        }
    }
    foreach ($line in ($lines | Select-Object -Skip $start)) {
        if ($line -match '^\s*```') {
            & $flush
            if (-not $inCode) { & $blank }
            else { $out.Add('') }
            $inCode = -not $inCode
            continue
        }
        if ($inCode) {
            $out.Add($(if ($line.Trim()) { (' ' * 8) + $line } else { '' }))
            continue
        }
        if ($line -match '^\s*<!--.*-->\s*$') { continue }
        if ($line -match '^#\s+(.+)$') {
            & $flush
            $out.Add('TOPIC')
            $out.Add('    ' + $Matches[1].Trim())
            $out.Add('')
            continue
        }
        if ($line -match '^##\s+(.+)$') {
            & $flush
            & $blank
            $out.Add((ConvertTo-PlainInline $Matches[1]).ToUpperInvariant())
            continue
        }
        if ($line -match '^###+\s+(.+)$') {
            & $flush
            & $blank
            $out.Add('  ' + (ConvertTo-PlainInline $Matches[1]))
            continue
        }
        if ($line -match '^\s*\|') { if ($paragraph.Count) { & $flush }; $table.Add($line); continue }
        if ($table.Count -gt 0) { & $flush }
        if ($line -match '^\s*$') {
            $wasList = $paragraph.Count -gt 0 -and $paragraph[0] -match '^([-*+]|\d+\.)\s+'
            & $flush
            if ($wasList) { $out.Add('') }
            continue
        }
        if ($line -match '^\s*([-*+]|\d+\.)\s+') { & $flush }
        $paragraph.Add($line.Trim())
    }
    & $flush
    # Collapse runs of blank lines.
    $result = [System.Collections.Generic.List[string]]::new()
    foreach ($l in $out) {
        $l = $l.TrimEnd()
        if ($l -eq '' -and ($result.Count -eq 0 -or $result[$result.Count - 1] -eq '')) { continue }
        $result.Add($l)
    }
    ($result -join "`n").TrimEnd() + "`n"
}

Export-ModuleMember -Function ConvertTo-AboutHelpText, Format-WrappedText
