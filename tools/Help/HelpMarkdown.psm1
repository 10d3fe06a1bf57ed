# Reading platyPS schema 2.0.0 markdown pages: the prose of a command page (synopsis, description, examples,
# parameter descriptions, inputs, outputs, notes, links), and the line and inline helpers the about topic and the
# markdown update share.
Set-StrictMode -Version Latest

$script:NoRunMarker = '<!-- no-run -->'

function Split-MarkdownLine {
    <# Splits markdown text into lines, normalising line endings. #>
    param([string] $Text)
    , @($Text -replace "`r`n", "`n" -replace "`r", "`n" -split "`n")
}

function ConvertTo-PlainInline {
    <# Inline markdown to plain text: **bold**, `code`, [text](url) and HTML comments removed; text kept. #>
    param([string] $Text)
    $t = $Text -replace '<!--.*?-->', ''
    $t = $t -replace '\*\*(.+?)\*\*', '$1'
    $t = $t -replace '(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])', '$1'
    $t = $t -replace '`([^`]*)`', '$1'
    $t = $t -replace '\[([^\]]+)\]\(([^)]+)\)', '$1'
    $t = $t -replace '\\([\\`*_{}\[\]()#+\-.!<>|])', '$1'
    $t.Trim()
}

function ConvertTo-Paragraph {
    <#
    Markdown prose lines -> paragraphs (strings). Soft-wrapped lines are joined; a blank line, a list item or a
    heading starts a new paragraph; fenced code is kept as one paragraph with its line breaks.
    #>
    param([string[]] $Lines)
    $paragraphs = [System.Collections.Generic.List[string]]::new()
    $current = [System.Collections.Generic.List[string]]::new()
    $flush = {
        if ($current.Count -gt 0) {
            $text = ConvertTo-PlainInline ($current -join ' ')
            if ($text) { $paragraphs.Add($text) }
            $current.Clear()
        }
    }
    $inCode = $false
    $code = [System.Collections.Generic.List[string]]::new()
    foreach ($line in $Lines) {
        if ($line -match '^\s*```') {
            if ($inCode) {
                $paragraphs.Add(($code -join "`n"))
                $code.Clear()
                $inCode = $false
            }
            else {
                & $flush
                $inCode = $true
            }
            continue
        }
        if ($inCode) { $code.Add($line); continue }
        if ($line -match '^\s*<!--.*-->\s*$') { continue }
        if ($line -match '^\s*$') { & $flush; continue }
        if ($line -match '^\s*([-*+]|\d+\.)\s+' -or $line -match '^#+\s') { & $flush }
        $current.Add($line.Trim())
    }
    & $flush
    if ($inCode -and $code.Count -gt 0) { $paragraphs.Add(($code -join "`n")) }
    , $paragraphs.ToArray()
}

function Get-MarkdownSection {
    <#
    Splits lines into sections at headings of the given level (## or ###), ignoring headings inside fenced code.
    Returns ordered pairs: @{ Title; Lines }. Lines before the first heading get Title $null.
    #>
    param([string[]] $Lines, [int] $Level)
    $prefix = '#' * $Level
    $sections = [System.Collections.Generic.List[object]]::new()
    $current = [pscustomobject]@{ Title = $null; Lines = [System.Collections.Generic.List[string]]::new() }
    $inCode = $false
    foreach ($line in $Lines) {
        if ($line -match '^\s*```') { $inCode = -not $inCode }
        if (-not $inCode -and $line -match "^$prefix\s+(.+?)\s*#*\s*$" -and $line -notmatch "^$prefix#") {
            $sections.Add($current)
            $current = [pscustomobject]@{ Title = $Matches[1].Trim(); Lines = [System.Collections.Generic.List[string]]::new() }
            continue
        }
        $current.Lines.Add($line)
    }
    $sections.Add($current)
    $sections.ToArray()
}

function ConvertFrom-HelpMarkdown {
    <#
    .SYNOPSIS
        Parses a platyPS schema 2.0.0 command page into an object with its prose.
    .OUTPUTS
        Name, FrontMatter, Synopsis, Description (paragraphs), Examples (Title, Intro, Code, Remarks, NoRun),
        Parameters (ordered: name -> @{ Description; Yaml }), Inputs/Outputs (Type, Description), Notes, Links
        (Text, Uri), OnlineVersion, Path.
    #>
    [CmdletBinding()]
    param(
        [Parameter(Mandatory, ValueFromPipelineByPropertyName)][Alias('FullName')][string] $Path
    )
    process {
        $lines = Split-MarkdownLine (Get-Content -Raw -LiteralPath $Path -Encoding utf8)
        $front = [ordered]@{}
        $start = 0
        if ($lines.Count -gt 0 -and $lines[0] -eq '---') {
            for ($i = 1; $i -lt $lines.Count; $i++) {
                if ($lines[$i] -eq '---') { $start = $i + 1; break }
                if ($lines[$i] -match '^([^:]+):\s*(.*)$') { $front[$Matches[1].Trim()] = $Matches[2].Trim() }
            }
        }
        $body = @($lines | Select-Object -Skip $start)
        $name = $null
        foreach ($line in $body) { if ($line -match '^#\s+(\S.*?)\s*$') { $name = $Matches[1]; break } }

        $page = [pscustomobject]@{
            Path          = $Path
            Name          = $name
            FrontMatter   = $front
            OnlineVersion = $(if ($front.Contains('online version')) { $front['online version'] } else { '' })
            Synopsis      = ''
            Description   = @()
            Examples      = @()
            Parameters    = [ordered]@{}
            Inputs        = @()
            Outputs       = @()
            Notes         = @()
            Links         = @()
            Sections      = @()
        }
        $sections = Get-MarkdownSection $body 2
        $page.Sections = @($sections | Where-Object Title | ForEach-Object Title)
        foreach ($section in $sections) {
            switch ($section.Title) {
                'SYNOPSIS' { $page.Synopsis = (ConvertTo-Paragraph $section.Lines) -join ' ' }
                'DESCRIPTION' { $page.Description = ConvertTo-Paragraph $section.Lines }
                'EXAMPLES' { $page.Examples = @(Get-MarkdownSection $section.Lines 3 | Where-Object Title | ForEach-Object { ConvertFrom-ExampleSection $_ }) }
                'PARAMETERS' {
                    foreach ($sub in (Get-MarkdownSection $section.Lines 3 | Where-Object Title)) {
                        if ($sub.Title -notmatch '^-(\w+)$') { continue }
                        $parameterName = $Matches[1]
                        $prose = [System.Collections.Generic.List[string]]::new()
                        $yaml = [System.Collections.Generic.List[string]]::new()
                        $mode = 'prose'
                        foreach ($line in $sub.Lines) {
                            if ($mode -eq 'prose' -and $line -match '^\s*```\s*yaml\s*$') { $mode = 'yaml'; continue }
                            if ($mode -eq 'yaml' -and $line -match '^\s*```\s*$') { $mode = 'after'; continue }
                            if ($mode -eq 'yaml') { $yaml.Add($line) }
                            elseif ($mode -eq 'prose') { $prose.Add($line) }
                        }
                        $page.Parameters[$parameterName] = [pscustomobject]@{
                            Description = ConvertTo-Paragraph $prose
                            Yaml        = ($yaml -join "`n")
                        }
                    }
                }
                { $_ -in 'INPUTS', 'OUTPUTS' } {
                    $items = @(Get-MarkdownSection $section.Lines 3 | Where-Object Title | ForEach-Object {
                            [pscustomobject]@{ Type = (ConvertTo-PlainInline $_.Title); Description = ConvertTo-Paragraph $_.Lines }
                        })
                    if ($section.Title -eq 'INPUTS') { $page.Inputs = $items } else { $page.Outputs = $items }
                }
                'NOTES' { $page.Notes = ConvertTo-Paragraph $section.Lines }
                'RELATED LINKS' {
                    $page.Links = @(foreach ($line in $section.Lines) {
                            foreach ($m in [regex]::Matches($line, '\[([^\]]+)\]\(([^)]*)\)')) {
                                [pscustomobject]@{ Text = $m.Groups[1].Value.Trim(); Uri = $m.Groups[2].Value.Trim() }
                            }
                        })
                }
            }
        }
        $page
    }
}

function ConvertFrom-ExampleSection {
    <# ### Example N: title / intro / <!-- no-run --> / ```powershell code``` / remarks #>
    param($Section)
    $intro = [System.Collections.Generic.List[string]]::new()
    $remarks = [System.Collections.Generic.List[string]]::new()
    $code = [System.Collections.Generic.List[string]]::new()
    $blocks = [System.Collections.Generic.List[string]]::new()
    $noRun = $false
    $pendingNoRun = $false
    $state = 'intro'
    foreach ($line in $Section.Lines) {
        if ($state -eq 'code') {
            if ($line -match '^\s*```\s*$') {
                $blocks.Add(($code -join "`n").Trim("`n"))
                $code.Clear()
                $state = 'remarks'
            }
            else { $code.Add($line) }
            continue
        }
        if ($line -match '^\s*```') {
            $state = 'code'
            if ($pendingNoRun) { $noRun = $true }
            continue
        }
        if ($line.Trim() -eq $script:NoRunMarker) { $pendingNoRun = $true; continue }
        if ($line -notmatch '^\s*$') { $pendingNoRun = $false }
        if ($state -eq 'intro') { $intro.Add($line) } else { $remarks.Add($line) }
    }
    [pscustomobject]@{
        Title   = $Section.Title
        Intro   = ConvertTo-Paragraph $intro
        Code    = ($blocks -join "`n`n")
        Remarks = ConvertTo-Paragraph $remarks
        NoRun   = $noRun
        Blocks  = $blocks.Count
    }
}

Export-ModuleMember -Function ConvertFrom-HelpMarkdown, Split-MarkdownLine, ConvertTo-PlainInline
