# Command metadata from the real cmdlet (Get-Command): parameter sets, types, positions, pipeline input, aliases,
# defaults, accepted values. Help takes all of these from the code, never from markdown, so it cannot disagree with it.
Set-StrictMode -Version Latest

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

function Get-HelpPipelineInputText {
    <#
    The "Accept pipeline input" text for one or more parameter bindings, combined: 'False', or 'True (...)' listing
    ByPropertyName and/or ByValue in platyPS's order. A binding is anything with ValueFromPipeline and
    ValueFromPipelineByPropertyName: ParameterSetMetadata, CommandParameterInfo, or a set record of
    Get-HelpCommandMetadata.
    #>
    param([object[]] $Binding)
    $kinds = @(
        if (@($Binding | Where-Object ValueFromPipelineByPropertyName).Count) { 'ByPropertyName' }
        if (@($Binding | Where-Object ValueFromPipeline).Count) { 'ByValue' }
    )
    if ($kinds.Count) { 'True (' + ($kinds -join ', ') + ')' } else { 'False' }
}

function Get-HelpCommandMetadata {
    <#
    .SYNOPSIS
        The syntax and parameter metadata of a real cmdlet, as help needs it.
    .OUTPUTS
        Name, Verb, Noun, ParameterSets (Name, IsDefault, Parameters in syntax order), Parameters (one per documented
        parameter: Name, Type, IsSwitch, Sets (per set: Name, Required, Position, PipelineInput, ValueFromPipeline,
        ValueFromPipelineByPropertyName), ParameterSetNames, Aliases, DefaultValue, AcceptedValues, Globbing),
        SupportsShouldProcess, OutputTypes.
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
                [pscustomobject]@{
                    Name                            = $entry.Key
                    Required                        = [bool]$entry.Value.IsMandatory
                    Position                        = $(if ($entry.Value.Position -ge 0) { [string]$entry.Value.Position } else { 'Named' })
                    PipelineInput                   = Get-HelpPipelineInputText $entry.Value
                    # Kept so the MAML writer can combine the sets' pipeline input.
                    ValueFromPipeline               = [bool]$entry.Value.ValueFromPipeline
                    ValueFromPipelineByPropertyName = [bool]$entry.Value.ValueFromPipelineByPropertyName
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
                        [pscustomobject]@{
                            Name          = $sp.Name
                            Required      = $sp.IsMandatory
                            Position      = $(if ($sp.Position -ge 0) { [string]$sp.Position } else { 'Named' })
                            PipelineInput = Get-HelpPipelineInputText $sp
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

Export-ModuleMember -Function Get-HelpCommandMetadata, Get-HelpPipelineInputText
