# Help generation for DhubBatches, in three testable steps (platyPS is not available, see
# ../../shared reference §8):
#   ConvertFrom-HelpMarkdown   a platyPS schema 2.0.0 page -> an object with the prose
#   Get-HelpCommandMetadata    a real cmdlet (Get-Command) -> syntax and parameter metadata
#   Test-HelpPage              the problems that must fail the build (missing/fake/undocumented parameters, ...)
#   ConvertTo-MamlHelp         pages + metadata -> the MAML XML Get-Help reads (DhubBatches.dll-Help.xml)
#   ConvertTo-AboutHelpText    about_*.md -> the plain-text about_*.help.txt, wrapped at 80 columns
#   Update-HelpMarkdownMetadata  rewrites a page's SYNTAX and parameter yaml blocks from the real cmdlet
# Metadata (types, sets, positions, pipeline input, aliases, defaults, accepted values) always comes from the cmdlet;
# only prose comes from markdown, so help cannot disagree with the code.
Set-StrictMode -Version Latest

$script:MamlNs = 'http://schemas.microsoft.com/maml/2004/10'
$script:CommandNs = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
$script:DevNs = 'http://schemas.microsoft.com/maml/dev/2004/10'
$script:NoRunMarker = '<!-- no-run -->'
$script:CommonParametersText = 'This cmdlet supports the common parameters: -Debug, -ErrorAction, -ErrorVariable, -InformationAction, -InformationVariable, -OutBuffer, -OutVariable, -PipelineVariable, -ProgressAction, -Verbose, -WarningAction, and -WarningVariable. For more information, see [about_CommonParameters](http://go.microsoft.com/fwlink/?LinkID=113216).'

#region Markdown -> object

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

#endregion

#region Command metadata

function Get-HelpExcludedParameterName {
    <# Common parameters are not documented per command; -WhatIf and -Confirm are. #>
    @([System.Management.Automation.Cmdlet]::CommonParameters) + @('UseTransaction')
}

function Get-HelpTypeName {
    param([type] $Type)
    if ($Type -eq [System.Management.Automation.SwitchParameter]) { return 'System.Management.Automation.SwitchParameter' }
    $nullable = [Nullable]::GetUnderlyingType($Type)
    if ($nullable) { return $nullable.FullName }
    $Type.FullName
}

function Get-HelpDefaultValue {
    <# The value a new instance of the cmdlet has: None when null, False for an unset switch. #>
    param($Instance, [string] $Name, [type] $Type)
    if ($Name -in 'WhatIf', 'Confirm') { return 'False' }
    $property = if ($Instance) { $Instance.GetType().GetProperty($Name) } else { $null }
    $value = if ($property) { try { $property.GetValue($Instance) } catch { $null } } else { $null }
    if ($Type -eq [System.Management.Automation.SwitchParameter]) {
        if ($value -is [System.Management.Automation.SwitchParameter] -and $value.IsPresent) { return 'True' }
        return 'False'
    }
    if ($null -eq $value) { return 'None' }
    if ($value -is [bool]) { return "$value" }
    if ($value -is [IFormattable]) { return $value.ToString($null, [cultureinfo]::InvariantCulture) }
    $text = "$value"
    if ($text) { $text } else { 'None' }
}

function Get-HelpCommandMetadata {
    <#
    .SYNOPSIS
        The syntax and parameter metadata of a real cmdlet, as help needs it.
    .OUTPUTS
        Name, Verb, Noun, ParameterSets (Name, IsDefault, Parameters in syntax order), Parameters (one per documented
        parameter: Name, Type, IsSwitch, Sets (per set: Name, Required, Position, PipelineInput), ParameterSetNames,
        Aliases, DefaultValue, AcceptedValues, Globbing), SupportsShouldProcess, OutputTypes.
    #>
    param([Parameter(Mandatory)][System.Management.Automation.CommandInfo] $Command)
    $excluded = Get-HelpExcludedParameterName
    $instance = $null
    if ($Command -is [System.Management.Automation.CmdletInfo]) {
        try { $instance = [Activator]::CreateInstance($Command.ImplementingType) } catch { $instance = $null }
    }
    try {
        # Hidden parameters ([Parameter(DontShow)]) are left out of help, like Get-Command -Syntax does.
        $hidden = @($Command.Parameters.Values | Where-Object {
                @($_.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] -and $_.DontShow }).Count
            } | ForEach-Object Name)
        $excluded = @($excluded) + $hidden
        # A set that needs a hidden parameter is hidden too.
        $visibleSets = @($Command.ParameterSets | Where-Object { -not @($_.Parameters | Where-Object { $_.Name -in $hidden -and $_.IsMandatory }).Count } | ForEach-Object Name)
        $allSetNames = $visibleSets
        $parameters = [System.Collections.Generic.List[object]]::new()
        foreach ($p in $Command.Parameters.Values) {
            if ($p.Name -in $excluded) { continue }
            $sets = foreach ($entry in $p.ParameterSets.GetEnumerator()) {
                $pipeline = @()
                if ($entry.Value.ValueFromPipeline) { $pipeline += 'ByValue' }
                if ($entry.Value.ValueFromPipelineByPropertyName) { $pipeline += 'ByPropertyName' }
                [pscustomobject]@{
                    Name          = $entry.Key
                    Required      = [bool]$entry.Value.IsMandatory
                    Position      = $(if ($entry.Value.Position -ge 0) { [string]$entry.Value.Position } else { 'Named' })
                    PipelineInput = $(if ($pipeline) { 'True (' + (@($pipeline | Sort-Object { if ($_ -eq 'ByPropertyName') { 0 } else { 1 } }) -join ', ') + ')' } else { 'False' })
                }
            }
            $sets = @($sets)
            $setNames = if ($sets.Name -contains '__AllParameterSets') { @('(All)') } else { @($allSetNames | Where-Object { $_ -in $sets.Name }) }
            $sets = @($sets | Where-Object { $_.Name -eq '__AllParameterSets' -or $_.Name -in $visibleSets })
            $accepted = @()
            foreach ($attribute in $p.Attributes) {
                if ($attribute -is [System.Management.Automation.ValidateSetAttribute]) { $accepted = @($attribute.ValidValues) }
            }
            $elementType = if ($p.ParameterType.IsArray) { $p.ParameterType.GetElementType() } else { $p.ParameterType }
            if (-not $accepted -and $elementType.IsEnum) { $accepted = [enum]::GetNames($elementType) }
            $parameters.Add([pscustomobject]@{
                    Name              = $p.Name
                    Type              = Get-HelpTypeName $p.ParameterType
                    IsSwitch          = $p.SwitchParameter
                    Sets              = $sets
                    ParameterSetNames = $setNames
                    Aliases           = @($p.Aliases)
                    DefaultValue      = Get-HelpDefaultValue $instance $p.Name $p.ParameterType
                    AcceptedValues    = @($accepted)
                    Globbing          = [bool]@($p.Attributes | Where-Object { $_ -is [System.Management.Automation.SupportsWildcardsAttribute] }).Count
                })
        }
        $byName = @{}
        foreach ($p in $parameters) { $byName[$p.Name] = $p }
        $parameterSets = foreach ($set in $Command.ParameterSets) {
            if ($set.Name -notin $visibleSets) { continue }
            $inSet = @($set.Parameters | Where-Object { $_.Name -notin $excluded })
            $positional = @($inSet | Where-Object Position -GE 0 | Sort-Object Position)
            $named = @($inSet | Where-Object Position -LT 0)
            $named = @($named | Where-Object IsMandatory) + @($named | Where-Object { -not $_.IsMandatory })
            [pscustomobject]@{
                Name       = $set.Name
                IsDefault  = $set.IsDefault
                Parameters = @(foreach ($sp in @($positional) + @($named)) {
                        $pipeline = @()
                        if ($sp.ValueFromPipelineByPropertyName) { $pipeline += 'ByPropertyName' }
                        if ($sp.ValueFromPipeline) { $pipeline += 'ByValue' }
                        [pscustomobject]@{
                            Name          = $sp.Name
                            Required      = $sp.IsMandatory
                            Position      = $(if ($sp.Position -ge 0) { [string]$sp.Position } else { 'Named' })
                            PipelineInput = $(if ($pipeline) { 'True (' + ($pipeline -join ', ') + ')' } else { 'False' })
                            Metadata      = $byName[$sp.Name]
                        }
                    })
            }
        }
        $supportsShouldProcess = $Command.Parameters.ContainsKey('WhatIf')
        [pscustomobject]@{
            Name                  = $Command.Name
            Verb                  = ($Command.Name -split '-', 2)[0]
            Noun                  = ($Command.Name -split '-', 2)[1]
            ParameterSets         = @($parameterSets)
            Parameters            = $parameters.ToArray()
            SupportsShouldProcess = $supportsShouldProcess
            OutputTypes           = @($Command.OutputType | ForEach-Object Name | Where-Object { $_ -and $_ -ne 'System.Void' })
        }
    }
    finally {
        if ($instance -is [IDisposable]) { $instance.Dispose() }
    }
}

#endregion

#region Checks

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

#endregion

#region MAML

function Get-PaddedExampleTitle {
    <# platyPS PadExampleTitle: the title centred in dashes, 64 characters in all. #>
    param([string] $Title)
    $width = 64
    $title = " $Title "
    if ($title.Length -ge $width - 2) { return "--------$title--------".Trim() }
    $left = [int][Math]::Floor(($width - $title.Length) / 2)
    ('-' * $left) + $title + ('-' * ($width - $title.Length - $left))
}

function ConvertTo-MamlHelp {
    <#
    .SYNOPSIS
        Renders pages and their cmdlets' metadata as MAML (helpItems schema="maml"), one command:command each.
    .PARAMETER Item
        Objects with Page (ConvertFrom-HelpMarkdown) and Metadata (Get-HelpCommandMetadata).
    #>
    param([Parameter(Mandatory)][object[]] $Item)
    $settings = [System.Xml.XmlWriterSettings]::new()
    $settings.Indent = $true
    $settings.IndentChars = '  '
    $settings.Encoding = [System.Text.UTF8Encoding]::new($false)
    $settings.NewLineChars = "`n"
    $buffer = [System.IO.StringWriter]::new()
    $w = [System.Xml.XmlWriter]::Create($buffer, $settings)
    $w.WriteStartDocument()
    $w.WriteStartElement('helpItems', 'http://msh')
    $w.WriteAttributeString('schema', 'maml')
    foreach ($entry in $Item) {
        Write-MamlCommand $w $entry.Page $entry.Metadata
    }
    $w.WriteEndElement()
    $w.WriteEndDocument()
    $w.Flush()
    $w.Dispose()
    # StringWriter reports utf-16 in the declaration; the file is written as UTF-8.
    $buffer.ToString() -replace '^<\?xml version="1.0" encoding="utf-16"\?>', '<?xml version="1.0" encoding="utf-8"?>'
}

function Write-MamlPara {
    param([System.Xml.XmlWriter] $W, [string[]] $Paragraphs)
    $any = $false
    foreach ($p in $Paragraphs) {
        if ($null -eq $p) { continue }
        $W.WriteElementString('maml', 'para', $script:MamlNs, $p)
        $any = $true
    }
    if (-not $any) { $W.WriteStartElement('maml', 'para', $script:MamlNs); $W.WriteEndElement() }
}

function Write-MamlDescription {
    param([System.Xml.XmlWriter] $W, [string[]] $Paragraphs)
    $W.WriteStartElement('maml', 'description', $script:MamlNs)
    Write-MamlPara $W $Paragraphs
    $W.WriteEndElement()
}

function Write-MamlParameter {
    <# One <command:parameter>; $InSyntax omits the value of switches and uses set-specific attributes. #>
    param([System.Xml.XmlWriter] $W, $Parameter, $Set, $Page, [bool] $InSyntax)
    $W.WriteStartElement('command', 'parameter', $script:CommandNs)
    $W.WriteAttributeString('required', $(if ($Set.Required) { 'true' } else { 'false' }))
    $W.WriteAttributeString('variableLength', 'true')
    $W.WriteAttributeString('globbing', $(if ($Parameter.Globbing) { 'true' } else { 'false' }))
    $W.WriteAttributeString('pipelineInput', $Set.PipelineInput)
    $W.WriteAttributeString('position', $(if ($Set.Position -eq 'Named') { 'named' } else { $Set.Position }))
    $W.WriteAttributeString('aliases', $(if ($Parameter.Aliases.Count) { $Parameter.Aliases -join ', ' } else { 'none' }))
    $W.WriteElementString('maml', 'name', $script:MamlNs, $Parameter.Name)
    $description = if ($Page.Parameters.Contains($Parameter.Name)) { $Page.Parameters[$Parameter.Name].Description } else { @() }
    Write-MamlDescription $W $description
    if ($Parameter.AcceptedValues.Count -gt 0) {
        $W.WriteStartElement('command', 'parameterValueGroup', $script:CommandNs)
        foreach ($value in $Parameter.AcceptedValues) {
            $W.WriteStartElement('command', 'parameterValue', $script:CommandNs)
            $W.WriteAttributeString('required', 'false')
            $W.WriteAttributeString('command', 'variableLength', $script:CommandNs, 'false')
            $W.WriteString($value)
            $W.WriteEndElement()
        }
        $W.WriteEndElement()
    }
    $typeName = $Parameter.Type
    if (-not ($InSyntax -and $Parameter.IsSwitch)) {
        $W.WriteStartElement('command', 'parameterValue', $script:CommandNs)
        $W.WriteAttributeString('required', $(if ($Parameter.IsSwitch) { 'false' } else { 'true' }))
        $W.WriteAttributeString('variableLength', 'false')
        $W.WriteString($typeName)
        $W.WriteEndElement()
    }
    $W.WriteStartElement('dev', 'type', $script:DevNs)
    $W.WriteElementString('maml', 'name', $script:MamlNs, $typeName)
    $W.WriteStartElement('maml', 'uri', $script:MamlNs); $W.WriteEndElement()
    $W.WriteEndElement()
    $W.WriteElementString('dev', 'defaultValue', $script:DevNs, $Parameter.DefaultValue)
    $W.WriteEndElement()
}

function Write-MamlTypeList {
    param([System.Xml.XmlWriter] $W, [string] $ListName, [string] $ItemName, $Items)
    $W.WriteStartElement('command', $ListName, $script:CommandNs)
    foreach ($item in $Items) {
        $W.WriteStartElement('command', $ItemName, $script:CommandNs)
        $W.WriteStartElement('dev', 'type', $script:DevNs)
        $W.WriteElementString('maml', 'name', $script:MamlNs, $item.Type)
        $W.WriteEndElement()
        Write-MamlDescription $W $item.Description
        $W.WriteEndElement()
    }
    $W.WriteEndElement()
}

function Write-MamlCommand {
    param([System.Xml.XmlWriter] $W, $Page, $Metadata)
    $W.WriteStartElement('command', 'command', $script:CommandNs)
    $W.WriteAttributeString('xmlns', 'maml', $null, $script:MamlNs)
    $W.WriteAttributeString('xmlns', 'command', $null, $script:CommandNs)
    $W.WriteAttributeString('xmlns', 'dev', $null, $script:DevNs)
    $W.WriteAttributeString('xmlns', 'MSHelp', $null, 'http://msdn.microsoft.com/mshelp')

    $W.WriteStartElement('command', 'details', $script:CommandNs)
    $W.WriteElementString('command', 'name', $script:CommandNs, $Metadata.Name)
    $W.WriteElementString('command', 'verb', $script:CommandNs, $Metadata.Verb)
    $W.WriteElementString('command', 'noun', $script:CommandNs, $Metadata.Noun)
    Write-MamlDescription $W @($Page.Synopsis)
    $W.WriteEndElement()

    Write-MamlDescription $W $Page.Description

    $W.WriteStartElement('command', 'syntax', $script:CommandNs)
    foreach ($set in ($Metadata.ParameterSets | Sort-Object { -not $_.IsDefault })) {
        $W.WriteStartElement('command', 'syntaxItem', $script:CommandNs)
        $W.WriteElementString('maml', 'name', $script:MamlNs, $Metadata.Name)
        foreach ($sp in $set.Parameters) { Write-MamlParameter $W $sp.Metadata $sp $Page $true }
        $W.WriteEndElement()
    }
    $W.WriteEndElement()

    $W.WriteStartElement('command', 'parameters', $script:CommandNs)
    foreach ($p in $Metadata.Parameters) {
        # One entry per parameter: required when required in any set, the first set's position, all pipeline input.
        $inputs = @($p.Sets | ForEach-Object PipelineInput | Where-Object { $_ -ne 'False' } | Select-Object -Unique)
        $first = $p.Sets | Select-Object -First 1
        $summary = [pscustomobject]@{
            Required      = [bool]@($p.Sets | Where-Object Required).Count
            Position      = $first.Position
            PipelineInput = $(if ($inputs.Count -eq 0) { 'False' } elseif ($inputs.Count -eq 1) { $inputs[0] } else { 'True (ByPropertyName, ByValue)' })
        }
        Write-MamlParameter $W $p $summary $Page $false
    }
    $W.WriteEndElement()

    Write-MamlTypeList $W 'inputTypes' 'inputType' $Page.Inputs
    Write-MamlTypeList $W 'returnValues' 'returnValue' $Page.Outputs

    $W.WriteStartElement('maml', 'alertSet', $script:MamlNs)
    $W.WriteStartElement('maml', 'alert', $script:MamlNs)
    Write-MamlPara $W $Page.Notes
    $W.WriteEndElement()
    $W.WriteEndElement()

    $W.WriteStartElement('command', 'examples', $script:CommandNs)
    foreach ($example in $Page.Examples) {
        $W.WriteStartElement('command', 'example', $script:CommandNs)
        $W.WriteElementString('maml', 'title', $script:MamlNs, (Get-PaddedExampleTitle $example.Title))
        $W.WriteElementString('dev', 'code', $script:DevNs, $example.Code)
        $W.WriteStartElement('dev', 'remarks', $script:DevNs)
        # platyPS drops the text before the code; keep it, ahead of the text after the code.
        Write-MamlPara $W (@($example.Intro) + @($example.Remarks))
        $W.WriteEndElement()
        $W.WriteEndElement()
    }
    $W.WriteEndElement()

    $W.WriteStartElement('command', 'relatedLinks', $script:CommandNs)
    $links = @()
    if ($Page.OnlineVersion) { $links += [pscustomobject]@{ Text = 'Online Version:'; Uri = $Page.OnlineVersion } }
    $links += @($Page.Links | Where-Object { -not ($Page.OnlineVersion -and $_.Uri -eq $Page.OnlineVersion) })
    foreach ($link in $links) {
        $W.WriteStartElement('maml', 'navigationLink', $script:MamlNs)
        $W.WriteElementString('maml', 'linkText', $script:MamlNs, $link.Text)
        $uri = if ([Uri]::IsWellFormedUriString($link.Uri, [UriKind]::Absolute)) { $link.Uri } else { '' }
        $W.WriteElementString('maml', 'uri', $script:MamlNs, $uri)
        $W.WriteEndElement()
    }
    $W.WriteEndElement()

    $W.WriteEndElement()
}

#endregion

#region Markdown metadata (SYNTAX and yaml blocks), generated from the cmdlet

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

#endregion

#region About topic -> text

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

#endregion

Export-ModuleMember -Function ConvertFrom-HelpMarkdown, Get-HelpCommandMetadata, Test-HelpPage, ConvertTo-MamlHelp,
ConvertTo-AboutHelpText, Update-HelpMarkdownMetadata, Get-HelpParameterYaml, Get-HelpSyntaxText, Get-PaddedExampleTitle,
Format-WrappedText
