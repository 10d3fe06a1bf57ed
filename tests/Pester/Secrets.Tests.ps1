BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'DhubBatchesTestUtils.psm1')
    $Backends = Get-TestBackend
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'DhubBatchesTestUtils.psm1')
    Import-TestModule

    function ConvertTo-CapturedText {
        <# Every readable form of captured stream items: messages, error records in all their parts, objects as text and JSON. #>
        param([object[]] $Items)
        $parts = foreach ($item in $Items) {
            switch ($item) {
                { $_ -is [System.Management.Automation.ErrorRecord] } {
                    $_.ToString()
                    $_.Exception.Message
                    $_.Exception.ToString() # includes inner exceptions
                    if ($_.ErrorDetails) { $_.ErrorDetails.Message; $_.ErrorDetails.RecommendedAction }
                    "$($_.TargetObject)"
                    $_.CategoryInfo.ToString()
                    ($_ | Format-List * -Force | Out-String -Width 500)
                    continue
                }
                { $_ -is [System.Management.Automation.InformationalRecord] } { $_.Message; continue }
                { $_ -is [System.Management.Automation.InformationRecord] } { "$($_.MessageData)"; continue }
                { $null -eq $_ } { continue }
                default {
                    "$_"
                    ($_ | Format-List * | Out-String -Width 500)
                    try { $_ | ConvertTo-Json -Depth 5 -WarningAction SilentlyContinue } catch { "ConvertTo-Json failed: $_" }
                }
            }
        }
        $parts -join "`n"
    }
}

Describe 'Secrets never leak (<Name>)' -Tag 'Secrets' -ForEach $Backends {
    BeforeAll {
        $script:SavedEnvironment = Save-TestConnectionEnvironment -EmptyHome (Join-Path $TestDrive 'prefect-home')
        $script:Marker = 'SECRET-MARKER-7f3a9'
        $script:T = Start-TestBackend -Backend $Backend -PrefectVersion $PrefectVersion -Token $Marker
        $script:MarkerPattern = [regex]::Escape($Marker)
    }
    AfterAll {
        Disconnect-Dhub
        Stop-TestBackend $T
        Restore-TestConnectionEnvironment $SavedEnvironment
    }
    BeforeEach {
        Reset-Emulator $T
        Add-EmulatorPipeline $T 'slow-pipeline' -StepSeconds 60
        $Error.Clear()
    }

    It 'not on the success path of every command with -Verbose -Debug' {
        $DebugPreference = 'Continue'
        $captured = @(& {
                $ErrorActionPreference = 'Continue' # errors go to the captured stream, not up to Pester
                # -Debug turns warnings into prompts (WarningPreference Inquire); keep them in the captured stream instead.
                $PSDefaultParameterValues = @{ '*Dhub*:WarningAction' = 'Continue' }
                Connect-Dhub -Uri $T.ApiUri -Backend $Backend -Token $T.Token -PassThru -Verbose -Debug
                $batch = Start-DhubBatch -PipelineId 'orders' -Verbose -Debug
                $batch
                Get-DhubBatch -PipelineId 'orders' -Verbose -Debug
                Get-DhubBatch -PipelineId 'orders' -Id $batch.Id -Verbose -Debug
                Get-DhubBatch -PipelineId 'orders' -All -Verbose -Debug
                $batch | Wait-DhubBatch -PollingInterval 0.2 -Timeout 60 -Verbose -Debug
                $slow = Start-DhubBatch -PipelineId 'slow-pipeline' -Verbose -Debug
                $slow | Stop-DhubBatch -PassThru -Verbose -Debug
                $slow | Remove-DhubBatch -Force -Verbose -Debug
                Get-DhubConnection -Verbose -Debug
                Disconnect-Dhub -Verbose -Debug
            } *>&1)
        $verbose = @($captured | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] })
        $verbose.Count | Should -BeGreaterThan 5 -Because 'the capture must actually contain the verbose stream'
        ($verbose.Message -join "`n") | Should -Match 'GET .*/api/.*200' -Because '-Verbose shows each HTTP call'
        @($captured | Where-Object { $_ -is [DhubBatches.Batch] }).Count | Should -BeGreaterThan 3
        @(Get-EmulatorRequest $T | Where-Object authorization -EQ 'present').Count | Should -BeGreaterThan 5 -Because 'the marker token was sent'
        $text = ConvertTo-CapturedText $captured
        $text.Length | Should -BeGreaterThan 1000
        $text | Should -Not -Match $MarkerPattern
    }

    It 'not on failure paths (refused token, 500s, timeouts, not found) with -Verbose -Debug' {
        $DebugPreference = 'Continue'
        Connect-TestBackend $T -Parameters @{ RetryIntervalSec = 0; MaximumRetryCount = 1 }
        $batch = Start-DhubBatch -PipelineId 'orders'
        $slow = Start-DhubBatch -PipelineId 'slow-pipeline'
        $null = Add-EmulatorFault $T -Operation Get @{ status = 500; times = 0; body = '{"message":"boom"}' }
        $null = Add-EmulatorFault $T -Operation Start @{ status = 500; times = 0 }
        $null = Add-EmulatorFault $T -Operation Stop @{ status = 500; times = 0 }
        $captured = @(& {
                $ErrorActionPreference = 'Continue' # errors go to the captured stream, not up to Pester
                # -Debug turns warnings into prompts (WarningPreference Inquire); keep them in the captured stream instead.
                $PSDefaultParameterValues = @{ '*Dhub*:WarningAction' = 'Continue' }
                try { Connect-Dhub -Uri $T.ApiUri -Backend $Backend -Token (ConvertTo-TestSecureString "WRONG-$Marker") -Verbose -Debug }
                catch { $_ }
                try { Connect-Dhub -Uri 'http://example.invalid' -Backend $Backend -Token $T.Token -Verbose -Debug }
                catch { $_ }
                try { Connect-Dhub -Uri (Get-FreeLoopbackUrl) -Backend $Backend -Token $T.Token -MaximumRetryCount 0 -Verbose -Debug }
                catch { $_ }
                Start-DhubBatch -PipelineId 'orders' -Verbose -Debug
                Start-DhubBatch -PipelineId 'no-such-pipeline' -Verbose -Debug
                Get-DhubBatch -PipelineId 'orders' -Id $batch.Id -Verbose -Debug
                Get-DhubBatch -PipelineId 'orders' -Id $T.MissingBatchId -Verbose -Debug
                Wait-DhubBatch -PipelineId 'slow-pipeline' -Id $slow.Id -Timeout 1 -PollingInterval 0.2 -Verbose -Debug
                Stop-DhubBatch -PipelineId 'slow-pipeline' -Id $slow.Id -Verbose -Debug
                Remove-DhubBatch -PipelineId 'orders' -Id $T.MissingBatchId -Force -Verbose -Debug
            } *>&1)
        $errors = @($captured | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] })
        $errors.Count | Should -BeGreaterOrEqual 8
        $ids = $errors | ForEach-Object { Get-TestErrorId $_ }
        $ids | Should -Contain 'DhubUnauthorized'
        $ids | Should -Contain 'DhubServiceUnavailable'
        $text = ConvertTo-CapturedText $captured
        $text | Should -Not -Match $MarkerPattern
        ConvertTo-CapturedText @($Error) | Should -Not -Match $MarkerPattern
    }

    It 'not in the connection object: Format-List *, ConvertTo-Json, ToString' {
        $connection = Connect-Dhub -Uri $T.ApiUri -Backend $Backend -Token $T.Token -PassThru
        $texts = @(
            (Get-DhubConnection | Format-List * -Force | Out-String -Width 500)
            (Get-DhubConnection | Format-Table * | Out-String -Width 500)
            (Get-DhubConnection | ConvertTo-Json -Depth 5 -WarningAction SilentlyContinue)
            ($connection | ConvertTo-Json -Depth 5 -WarningAction SilentlyContinue)
            ($connection | ConvertTo-Csv | Out-String)
            $connection.ToString()
            ($connection | Get-Member -Force | Out-String -Width 500)
        )
        ($texts -join "`n") | Should -Not -Match $MarkerPattern
        ($texts -join "`n") | Should -Match 'Bearer'
    }

    It 'not in batches: ConvertTo-Json -Depth 5, Format-List *, CSV' {
        Connect-TestBackend $T
        $batch = Start-DhubBatch -PipelineId 'orders'
        $texts = @(
            ($batch | ConvertTo-Json -Depth 5 -WarningAction SilentlyContinue)
            ($batch | Format-List * -Force | Out-String -Width 500)
            ($batch | ConvertTo-Csv | Out-String)
            ($batch.Steps | ConvertTo-Csv | Out-String)
        )
        ($texts -join "`n") | Should -Not -Match $MarkerPattern
    }

    It 'not when the connection comes from the environment' {
        Disconnect-Dhub
        Set-TestBackendEnvironment $T
        try {
            $DebugPreference = 'Continue'
            $captured = @(& {
                    $ErrorActionPreference = 'Continue'
                    $PSDefaultParameterValues = @{ '*Dhub*:WarningAction' = 'Continue' }
                $ErrorActionPreference = 'Continue' # errors go to the captured stream, not up to Pester
                # -Debug turns warnings into prompts (WarningPreference Inquire); keep them in the captured stream instead.
                $PSDefaultParameterValues = @{ '*Dhub*:WarningAction' = 'Continue' }
                    Start-DhubBatch -PipelineId 'orders' -Verbose -Debug
                    Get-DhubBatch -PipelineId 'orders' -Verbose -Debug
                    Get-DhubBatch -PipelineId 'no-such-pipeline' -Verbose -Debug
                    Get-DhubConnection -Verbose -Debug
                } *>&1)
            @($captured | Where-Object { $_ -is [DhubBatches.Batch] }).Count | Should -Be 2
            @($captured | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] }).Count | Should -Be 1
            $text = (ConvertTo-CapturedText $captured) + (Get-DhubConnection | Format-List * -Force | Out-String) + (Get-DhubConnection | ConvertTo-Json -Depth 5 -WarningAction SilentlyContinue)
            $text | Should -Not -Match $MarkerPattern
        }
        finally {
            $null = Save-TestConnectionEnvironment -EmptyHome (Join-Path $TestDrive 'prefect-home')
        }
    }
}
