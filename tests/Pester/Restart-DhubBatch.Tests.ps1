# Restart-DhubBatch: on Prefect a forced SCHEDULED state (what `prefect flow-run retry` sends) on finished runs only,
# -Wait following the new attempt; on dhub DhubNotSupported before any request.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'DhubBatchesTestUtils.psm1')
    $Backends = Get-TestBackend
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'DhubBatchesTestUtils.psm1')
    Import-TestModule

    # The bodies of the Prefect requests to a path (wildcard), parsed, leaving out the first -Skip bodies logged.
    function Get-TestPrefectBody($Context, [string] $PathLike, [int] $Skip = 0) {
        @(Invoke-EmulatorControl $Context GET 'prefect/bodies' | ForEach-Object { $_ } | Select-Object -Skip $Skip |
            Where-Object path -Like $PathLike | ForEach-Object { $_.body | ConvertFrom-Json })
    }
    function Get-TestPrefectBodyCount($Context) { @(Invoke-EmulatorControl $Context GET 'prefect/bodies' | ForEach-Object { $_ }).Count }
    # The state type the emulator holds for a run now (not through the module).
    function Get-TestRunState($Context, [string] $Id) { (Invoke-EmulatorControl $Context GET "prefect/runs/$Id").stateType }
    function Get-TestClock($Context) { ([DateTimeOffset](Invoke-EmulatorControl $Context GET 'clock').now).UtcDateTime }
}

Describe 'Restart-DhubBatch (<Name>)' -Tag 'Restart' -ForEach $Backends {
    BeforeAll {
        $script:SavedEnvironment = Save-TestConnectionEnvironment -EmptyHome (Join-Path $TestDrive 'prefect-home')
        $script:T = Start-TestBackend -Backend $Backend -PrefectVersion $PrefectVersion
        Connect-TestBackend $T
        # Steps of 60 s moved on by the emulator's clock: a run is exactly where the test puts it.
        $script:Slow = 'slow-restart'
        # A run's life: scheduled, pending, three tasks: five steps.
        $script:RunSeconds = 5 * 60 + 30
    }
    AfterAll {
        Disconnect-Dhub
        Stop-TestBackend $T
        Restore-TestConnectionEnvironment $SavedEnvironment
    }
    BeforeEach {
        Reset-Emulator $T
        Add-EmulatorPipeline $T $Slow -StepSeconds 60
    }

    Context 'dhub cannot run a batch again' -Skip:($Backend -ne 'Dhub') {
        It 'is DhubNotSupported (NotImplemented) before any request, pointing to Start-DhubBatch <Label>' -ForEach @(
            @{ Label = 'by id'; Splat = @{} }
            @{ Label = 'with -Wait'; Splat = @{ Wait = $true; Timeout = 5 } }
            @{ Label = 'with -PassThru'; Splat = @{ PassThru = $true } }
        ) {
            $batch = Start-DhubBatch -PipelineId $Slow
            Clear-EmulatorRequest $T
            $out = @(Restart-DhubBatch -PipelineId $Slow -BatchId $batch.Id @Splat -ErrorVariable errors -ErrorAction SilentlyContinue)
            $out.Count | Should -Be 0
            $errors.Count | Should -Be 1
            Get-TestErrorId $errors[0] | Should -Be 'DhubNotSupported'
            $errors[0].CategoryInfo.Category | Should -Be 'NotImplemented'
            $errors[0].Exception.Message | Should -Match "Start-DhubBatch -PipelineId $Slow"
            @(Get-EmulatorRequest $T).Count | Should -Be 0
        }

        It 'gives one DhubNotSupported per piped batch and sends nothing for any of them' {
            $batches = @(1..2 | ForEach-Object { Start-DhubBatch -PipelineId $Slow })
            Clear-EmulatorRequest $T
            $batches | Restart-DhubBatch -ErrorVariable errors -ErrorAction SilentlyContinue
            $errors.Count | Should -Be 2
            $errors | ForEach-Object { Get-TestErrorId $_ | Should -Be 'DhubNotSupported' }
            @(Get-EmulatorRequest $T).Count | Should -Be 0
        }
    }

    Context 'Prefect: a forced SCHEDULED state on a finished run' -Skip:($Backend -ne 'Prefect') {
        BeforeAll {
            # A finished run of the slow pipeline (the clock moved past its end).
            function New-FinishedBatch {
                $batch = Start-DhubBatch -PipelineId $Slow
                Move-EmulatorClock $T $RunSeconds
                (Get-TestRunState $T $batch.Id) | Should -Be 'COMPLETED'
                $batch
            }
        }

        It 'sends set_state SCHEDULED with force, a fresh transition id and a message naming the module; outputs nothing' {
            $batch = New-FinishedBatch
            $mark = Get-TestPrefectBodyCount $T
            $out = Restart-DhubBatch -PipelineId $Slow -BatchId $batch.Id
            $out | Should -BeNullOrEmpty
            Move-EmulatorClock $T $RunSeconds
            (Get-TestRunState $T $batch.Id) | Should -Be 'COMPLETED'
            $batch | Restart-DhubBatch

            $sets = @(Get-TestPrefectBody $T "*/flow_runs/$($batch.Id)/set_state" -Skip $mark)
            $sets.Count | Should -Be 2 -Because 'one request per restart, nothing else changes state'
            foreach ($body in $sets) {
                $body.state.type | Should -Be 'SCHEDULED'
                $body.force | Should -BeTrue -Because 'a finished run only leaves its terminal state when forced'
                $body.state.message | Should -Match 'Restart-DhubBatch'
                $body.state.message | Should -Match 'DhubBatches'
                [guid]::Parse($body.state.state_details.transition_id) | Should -Not -Be ([guid]::Empty)
            }
            $sets[0].state.state_details.transition_id | Should -Not -Be $sets[1].state.state_details.transition_id
            (Invoke-TestPrefectApi $T GET "flow_runs/$($batch.Id)").run_count | Should -Be 2 -Because 'the first restart ran a second attempt; the third has not run yet'
        }

        It '-PassThru outputs the same batch, now Scheduled' {
            $batch = New-FinishedBatch
            $out = @(Restart-DhubBatch -PipelineId $Slow -Id $batch.Id -PassThru)
            $out.Count | Should -Be 1
            $out[0] | Should -BeOfType ([DhubBatches.Batch])
            $out[0].Id | Should -Be $batch.Id
            $out[0].State | Should -Be ([DhubBatches.BatchState]::Scheduled)
            $out[0].IsComplete | Should -BeFalse
            (Get-TestRunState $T $batch.Id) | Should -Be 'SCHEDULED'
        }

        It 'a <Where> batch is DhubBatchActive and nothing is sent' -ForEach @(
            @{ Where = 'scheduled'; Advance = 0; Type = 'SCHEDULED' }
            @{ Where = 'pending'; Advance = 70; Type = 'PENDING' }
            @{ Where = 'running'; Advance = 150; Type = 'RUNNING' }
        ) {
            $batch = Start-DhubBatch -PipelineId $Slow
            if ($Advance) { Move-EmulatorClock $T $Advance }
            Get-TestRunState $T $batch.Id | Should -Be $Type
            Clear-EmulatorRequest $T
            $out = @(Restart-DhubBatch -PipelineId $Slow -BatchId $batch.Id -PassThru -ErrorVariable errors -ErrorAction SilentlyContinue)
            $out.Count | Should -Be 0
            $errors.Count | Should -Be 1
            Get-TestErrorId $errors[0] | Should -Be 'DhubBatchActive'
            $errors[0].Exception.Message | Should -Match $Type
            @(Get-EmulatorRequest $T -Operation Stop).Count | Should -Be 0 -Because 'no set_state is sent for an active run'
            Get-TestRunState $T $batch.Id | Should -Be $Type
        }

        It 'ABORT from the server is DhubConflict carrying its reason; the run stays finished' {
            $batch = New-FinishedBatch
            $reason = 'Run is in a protected window; restart refused by policy.'
            Set-EmulatorSetStateAnswer $T -Answer Abort -Reason $reason
            $out = @(Restart-DhubBatch -PipelineId $Slow -BatchId $batch.Id -PassThru -ErrorVariable errors -ErrorAction SilentlyContinue)
            $out.Count | Should -Be 0
            $errors.Count | Should -Be 1
            Get-TestErrorId $errors[0] | Should -Be 'DhubConflict'
            $errors[0].Exception.Message | Should -Match ([regex]::Escape($reason))
            $errors[0].Exception.Message | Should -Match 'ABORT'
            @(Get-EmulatorRequest $T -Operation Stop).Count | Should -Be 1 -Because 'a refusal is not retried'
            Get-TestRunState $T $batch.Id | Should -Be 'COMPLETED'
        }

        It '-WhatIf sends nothing and leaves the run finished' {
            $batch = New-FinishedBatch
            Clear-EmulatorRequest $T
            $out = Restart-DhubBatch -PipelineId $Slow -BatchId $batch.Id -WhatIf -PassThru
            $out | Should -BeNullOrEmpty
            @(Get-EmulatorRequest $T -Operation Stop).Count | Should -Be 0
            Get-TestRunState $T $batch.Id | Should -Be 'COMPLETED'
        }

        It '-WhatIf names the action and the batch' {
            $batch = New-FinishedBatch
            $text = Invoke-TestChildPwsh $T "Restart-DhubBatch -PipelineId $Slow -BatchId $($batch.Id) -WhatIf"
            $text | Should -Match 'What if:'
            $text | Should -Match 'Restart batch'
            $text | Should -Match ([regex]::Escape("$Slow/$($batch.Id)"))
            Get-TestRunState $T $batch.Id | Should -Be 'COMPLETED'
        }

        It 'supports -Confirm with ConfirmImpact Medium, so the default preference does not prompt' {
            $attribute = (Get-Command Restart-DhubBatch).ImplementingType.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false)[0]
            $attribute.SupportsShouldProcess | Should -BeTrue
            $attribute.ConfirmImpact | Should -Be ([System.Management.Automation.ConfirmImpact]::Medium)
            $batch = New-FinishedBatch
            Restart-DhubBatch -PipelineId $Slow -BatchId $batch.Id -Confirm:$false
            Get-TestRunState $T $batch.Id | Should -Be 'SCHEDULED'
        }

        It 'restarts a stopped (cancelled) batch, which then runs to completion' {
            $batch = Start-DhubBatch -PipelineId $Slow
            Move-EmulatorClock $T 150
            Stop-DhubBatch -PipelineId $Slow -BatchId $batch.Id
            Move-EmulatorClock $T 70 # the worker acts on the cancellation one step later
            (Get-DhubBatch -PipelineId $Slow -Id $batch.Id).Outcome | Should -Be ([DhubBatches.BatchOutcome]::Stopped)
            $restarted = Restart-DhubBatch -PipelineId $Slow -BatchId $batch.Id -PassThru
            $restarted.State | Should -Be ([DhubBatches.BatchState]::Scheduled)
            Move-EmulatorClock $T $RunSeconds
            $after = Get-DhubBatch -PipelineId $Slow -Id $batch.Id
            $after.Outcome | Should -Be ([DhubBatches.BatchOutcome]::Succeeded)
            @($after.Steps.State | Sort-Object -Unique) | Should -Be @([DhubBatches.StepState]::Success)
            (Invoke-TestPrefectApi $T GET "flow_runs/$($batch.Id)").run_count | Should -Be 2
        }

        It '-Wait follows the new attempt: a batch that failed its first attempt is output Succeeded' {
            # transform fails on attempt 1 only, so the old attempt (Failed) and the new one (Succeeded) differ.
            Register-EmulatorPipeline $T 'second-try' @{ tasks = @(@{ name = 'extract' }, @{ name = 'transform'; failsOnAttempts = @(1) }, @{ name = 'load' }) }
            $first = Start-DhubBatch -PipelineId 'second-try' -Wait -PollingInterval 0.2 -Timeout 60 -ErrorAction SilentlyContinue
            $first.Outcome | Should -Be ([DhubBatches.BatchOutcome]::Failed)
            $before = @(Get-TestTaskRun $T $first.Id)
            $restartedAt = Get-TestClock $T

            $out = @($first | Restart-DhubBatch -Wait -PollingInterval 0.2 -Timeout 60 -ErrorVariable errors)
            $errors.Count | Should -Be 0
            $out.Count | Should -Be 1
            $out[0].Id | Should -Be $first.Id
            $out[0].IsComplete | Should -BeTrue
            $out[0].Outcome | Should -Be ([DhubBatches.BatchOutcome]::Succeeded)
            @($out[0].Steps.Name) | Should -Be @('extract', 'transform', 'load')
            @($out[0].Steps.State | Sort-Object -Unique) | Should -Be @([DhubBatches.StepState]::Success)

            (Invoke-TestPrefectApi $T GET "flow_runs/$($first.Id)").run_count | Should -Be 2
            $after = @(Get-TestTaskRun $T $first.Id)
            $attempt2 = @($after | Where-Object flow_run_run_count -EQ 2)
            $attempt2.Count | Should -Be 3 -Because 'every task ran in the new attempt'
            foreach ($taskRun in $attempt2) {
                $taskRun.state_type | Should -Be 'COMPLETED'
                ([DateTimeOffset]$taskRun.end_time).UtcDateTime | Should -BeGreaterOrEqual $restartedAt -Because "$($taskRun.name) ended after the restart"
            }
            if ($PrefectVersion -eq 2) {
                @($after.id | Sort-Object) | Should -Be @($before.id | Sort-Object) -Because 'Prefect 2 reuses the task runs of the earlier attempt (same task key and dynamic key)'
            }
            else {
                $after.Count | Should -Be ($before.Count + 3) -Because 'Prefect 3 makes new task runs every attempt'
                @($attempt2.id | Where-Object { $_ -in $before.id }).Count | Should -Be 0
            }
        }

        It '-Wait -Timeout outputs a batch not complete by then with DhubWaitTimeout' {
            $batch = New-FinishedBatch
            $out = @(Restart-DhubBatch -PipelineId $Slow -BatchId $batch.Id -Wait -Timeout 1 -PollingInterval 0.2 -ErrorVariable errors -ErrorAction SilentlyContinue)
            $out.Count | Should -Be 1
            $out[0].IsComplete | Should -BeFalse
            $errors.Count | Should -Be 1
            Get-TestErrorId $errors[0] | Should -Be 'DhubWaitTimeout'
        }

        It 'errors are non-terminating, one per batch: <Case>' -ForEach @(
            @{ Case = 'an unknown batch'; Pipeline = $null; Id = '0badc0de-0000-4000-8000-000000000404'; ErrorId = 'DhubBatchNotFound' }
            @{ Case = 'an unknown pipeline'; Pipeline = 'no-such-pipeline'; Id = $null; ErrorId = 'DhubPipelineNotFound' }
        ) {
            $good = New-FinishedBatch
            $bad = [pscustomobject]@{ PipelineId = ($Pipeline ?? $Slow); Id = ($Id ?? $good.Id) }
            Clear-EmulatorRequest $T
            $out = @($bad, $good | Restart-DhubBatch -PassThru -ErrorVariable errors -ErrorAction SilentlyContinue)
            $errors.Count | Should -Be 1
            Get-TestErrorId $errors[0] | Should -Be $ErrorId
            $out.Count | Should -Be 1
            $out[0].Id | Should -Be $good.Id
            $sets = @(Get-EmulatorRequest $T -Operation Stop)
            $sets.Count | Should -Be 1 -Because 'only the good batch is restarted'
            $sets[0] | Get-RequestBatchId $T | Should -Be $good.Id
        }
    }

    Context 'Prefect: piped batches restart where they came from' -Skip:($Backend -ne 'Prefect') {
        BeforeAll {
            $script:Other = Start-TestBackend -Backend $Backend -PrefectVersion $PrefectVersion
            $script:OtherConnection = Connect-TestBackend $Other -PassThru
            Connect-TestBackend $T # the session default again
        }
        AfterAll { Stop-TestBackend $Other }

        It 'a batch read from another server is restarted on that server, not on the default one' {
            Reset-Emulator $Other
            Add-EmulatorPipeline $Other $Slow -StepSeconds 60
            $batch = Start-DhubBatch -PipelineId $Slow -Connection $OtherConnection
            Move-EmulatorClock $Other $RunSeconds
            $piped = Get-DhubBatch -PipelineId $Slow -Id $batch.Id -Connection $OtherConnection
            Clear-EmulatorRequest $T
            Clear-EmulatorRequest $Other
            $out = @($piped | Restart-DhubBatch -PassThru)
            $out[0].Connection | Should -Be $OtherConnection
            @(Get-EmulatorRequest $Other -Operation Stop).Count | Should -Be 1
            @(Get-EmulatorRequest $T -Operation Any).Count | Should -Be 0
            Get-TestRunState $Other $batch.Id | Should -Be 'SCHEDULED'
        }
    }
}
