# -AsJob and ShouldProcess: a command that is not allowed to act (-WhatIf, or a confirmation the user declines, asked
# by -Confirm or by $ConfirmPreference) sends nothing and makes no job, for each command with -AsJob that confirms.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'DhubBatchesTestUtils.psm1')
    $Backends = Get-TestBackend
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'DhubBatchesTestUtils.psm1')
    Import-TestModule
    if (-not ('DhubBatchesTests.DecliningHost' -as [type])) {
        Add-Type -Path (Join-Path $PSScriptRoot 'DecliningHost.cs')
    }

    # A runspace whose host declines every confirmation, with the module imported and connected to the context.
    function New-DecliningPowerShell($Context) {
        $declining = [DhubBatchesTests.DecliningHost]::new()
        $runspace = [runspacefactory]::CreateRunspace($declining, [System.Management.Automation.Runspaces.InitialSessionState]::CreateDefault2())
        $runspace.Open()
        $ps = [powershell]::Create()
        $ps.Runspace = $runspace
        $null = $ps.AddCommand('Import-Module').AddParameter('Name', (Join-Path (Get-TestModulePath) 'DhubBatches.psd1')).AddParameter('ErrorAction', 'Stop').Invoke()
        $ps.Commands.Clear()
        $null = $ps.AddCommand('Connect-Dhub').AddParameter('Uri', $Context.ApiUri).AddParameter('Backend', $Context.Backend).AddParameter('Token', $Context.Token).AddParameter('ErrorAction', 'Stop').Invoke()
        $ps.Commands.Clear()
        [pscustomobject]@{ PowerShell = $ps; Host = $declining }
    }

    # Runs $Command (with -AsJob) three ways in the declining runspace: -WhatIf, -Confirm and $ConfirmPreference
    # Medium. Each must write nothing, make no job and send no $Operation request; the two confirmations are asked.
    function Assert-NoJobUnlessConfirmed($Context, [string] $Command, [string] $Operation) {
        $session = New-DecliningPowerShell $Context
        try {
            $ways = @(
                @{ Name = '-WhatIf'; Before = '$ConfirmPreference = ''High'''; After = ' -WhatIf'; Asks = 0 }
                @{ Name = '-Confirm declined'; Before = '$ConfirmPreference = ''High'''; After = ' -Confirm'; Asks = 1 }
                @{ Name = '$ConfirmPreference Medium declined'; Before = '$ConfirmPreference = ''Medium'''; After = ''; Asks = 1 }
            )
            foreach ($way in $ways) {
                Clear-EmulatorRequest $Context
                $asked = $session.Host.Declined
                $ps = $session.PowerShell
                $ps.Commands.Clear()
                $result = @($ps.AddScript(@"
$($way.Before)
`$before = @(Get-Job).Count
`$out = @($Command$($way.After))
[pscustomobject]@{ Written = `$out.Count; NewJobs = @(Get-Job).Count - `$before }
"@).Invoke())
                $ps.Streams.Error | ForEach-Object { "$_" } | Should -BeNullOrEmpty -Because $way.Name
                $ps.Streams.Error.Clear()
                $result[-1].Written | Should -Be 0 -Because $way.Name
                $result[-1].NewJobs | Should -Be 0 -Because "$($way.Name) makes no job"
                ($session.Host.Declined - $asked) | Should -Be $way.Asks -Because "$($way.Name): the confirmation is asked (and declined), or not at all"
                @(Get-EmulatorRequest $Context -Operation $Operation).Count | Should -Be 0 -Because "$($way.Name) sends nothing"
            }
        }
        finally {
            Remove-TestPowerShell $session.PowerShell
        }
    }
}

Describe '-AsJob with -WhatIf and a declined -Confirm (<Name>)' -Tag 'AsJob' -ForEach $Backends {
    BeforeAll {
        $script:SavedEnvironment = Save-TestConnectionEnvironment -EmptyHome (Join-Path $TestDrive 'prefect-home')
        $script:T = Start-TestBackend -Backend $Backend -PrefectVersion $PrefectVersion
        $script:Slow = 'slow-asjob-confirm'
    }
    AfterAll {
        Disconnect-Dhub
        Stop-TestBackend $T
        Restore-TestConnectionEnvironment $SavedEnvironment
    }
    BeforeEach {
        Connect-TestBackend $T
        Reset-Emulator $T
        Add-EmulatorPipeline $T $Slow -StepSeconds 60
    }

    It 'Start-DhubBatch -Wait -AsJob starts nothing and makes no job' {
        Assert-NoJobUnlessConfirmed $T "Start-DhubBatch -PipelineId 'orders' -Wait -AsJob" -Operation Start
        (Get-EmulatorStat $T 'orders').created | Should -Be 0
    }

    It 'Stop-DhubBatch -Wait -AsJob stops nothing and makes no job' {
        $batch = Start-DhubBatch -PipelineId $Slow
        Assert-NoJobUnlessConfirmed $T "Stop-DhubBatch -PipelineId '$Slow' -BatchId '$($batch.Id)' -Wait -AsJob" -Operation Stop
        (Get-DhubBatch -PipelineId $Slow -BatchId $batch.Id).IsComplete | Should -BeFalse
    }

    It 'Restart-DhubBatch -Wait -AsJob restarts nothing and makes no job' -Skip:($Backend -ne 'Prefect') {
        $done = Start-DhubBatch -PipelineId 'orders' -Wait -PollingInterval 0.2 -Timeout 60
        # On Prefect the restart is a set_state, the request the Stop operation names.
        Assert-NoJobUnlessConfirmed $T "Restart-DhubBatch -PipelineId 'orders' -BatchId '$($done.Id)' -Wait -AsJob" -Operation Stop
        (Get-DhubBatch -PipelineId 'orders' -BatchId $done.Id).Outcome | Should -Be 'Succeeded'
    }
}
