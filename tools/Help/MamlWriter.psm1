# Writing MAML: pages and their cmdlets' metadata -> the helpItems XML Get-Help reads (<Module>.dll-Help.xml), laid
# out as platyPS lays it out.
Set-StrictMode -Version Latest
Import-Module (Join-Path $PSScriptRoot 'HelpMetadata.psm1')

$script:MamlNs = 'http://schemas.microsoft.com/maml/2004/10'
$script:CommandNs = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
$script:DevNs = 'http://schemas.microsoft.com/maml/dev/2004/10'

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
        $first = $p.Sets | Select-Object -First 1
        $summary = [pscustomobject]@{
            Required      = [bool]@($p.Sets | Where-Object Required).Count
            Position      = $first.Position
            PipelineInput = Get-HelpPipelineInputText $p.Sets
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

Export-ModuleMember -Function ConvertTo-MamlHelp, Get-PaddedExampleTitle
