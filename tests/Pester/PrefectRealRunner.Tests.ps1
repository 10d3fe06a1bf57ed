# What a real Prefect runner does that a submitted-task flow does not (recorded on Prefect 2.16.8, fixtures in
# tests/fixtures/prefect-2.16.8/real-runner): a flow that calls its tasks in order has no task run for a step it has not
# reached, and none after a failure; flow.serve()'s runner leaves a cancelled run CANCELLING for ever. Every path runs
# in Prefect 3 and Prefect 2 mode; docs/prefect.md ("Steps that have no task run yet", "Cancels nothing finishes") says why.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'DhubBatchesTestUtils.psm1')
    $PrefectBackends = Get-TestBackend -PrefectOnly
    $AllBackends = Get-TestBackend
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'DhubBatchesTestUtils.psm1')
    Import-TestModule

    # Reads of the expected steps: task_runs/filter joined to a deployment's completed runs.
    function Get-TemplateReadCount([Parameter(Mandatory)] $Context) {
        @(Invoke-EmulatorControl $Context GET 'prefect/bodies' | ForEach-Object { $_ } |
            Where-Object { $_.path -like '*/task_runs/filter' -and $_.body.Contains('deployment_id') }).Count
    }

    function Get-SetStateBody([Parameter(Mandatory)] $Context) {
        @(Invoke-EmulatorControl $Context GET 'prefect/bodies' | ForEach-Object { $_ } |
            Where-Object { $_.path -like '*/set_state' } | ForEach-Object { $_.body | ConvertFrom-Json })
    }

    function Get-StepSummary($Batch) { ($Batch.Steps | ForEach-Object { "$($_.Name)=$("$($_.State)".ToLowerInvariant())" }) -join '; ' }
}

Describe 'Steps that have no task run yet (<Name>)' -Tag 'PrefectRealRunner' -ForEach $PrefectBackends {
    BeforeAll {
        $script:SavedEnvironment = Save-TestConnectionEnvironment -EmptyHome (Join-Path $TestDrive 'prefect-home')
        $script:T = Start-TestBackend -Backend Prefect -PrefectVersion $PrefectVersion
        Connect-TestBackend $T
        # One completed run teaches the deployment's steps; then one that fails at transform never calls load.
        $script:Completed = Start-DhubBatch -PipelineId 'sequential-pipeline' -Wait -PollingInterval 0.2 -Timeout 60
        $script:Failed = Start-DhubBatch -PipelineId 'sequential-pipeline' -Parameter @{ fail = $true } -Wait -PollingInterval 0.2 -Timeout 60 -ErrorAction SilentlyContinue
    }
    AfterAll {
        Disconnect-Dhub
        Stop-TestBackend $T
        Restore-TestConnectionEnvironment $SavedEnvironment
    }

    It 'the server has no task run for load after transform failed' {
        $raw = Get-TestTaskRun $T $Failed.Id
        @($raw).Count | Should -Be 2
        @($raw | Where-Object { $_.name -like 'load*' }).Count | Should -Be 0
    }

    It 'Start -Wait shows load as pending after transform failed' {
        $Failed.Outcome | Should -Be ([DhubBatches.BatchOutcome]::Failed)
        $Failed.StepSummary | Should -Be 'extract=success; transform=failed; load=pending'
        $Failed.Steps[2].State | Should -Be ([DhubBatches.StepState]::Pending)
        $Failed.Steps[2].OffsetSummary | Should -Be ''
    }

    It 'Get (latest), Get -BatchId and -All show every step of the failed batch, in the flow''s order' {
        (Get-DhubBatch -PipelineId 'sequential-pipeline').StepSummary | Should -Be 'extract=success; transform=failed; load=pending'
        (Get-DhubBatch -PipelineId 'sequential-pipeline' -BatchId $Failed.Id).StepSummary | Should -Be 'extract=success; transform=failed; load=pending'
        $all = @(Get-DhubBatch -PipelineId 'sequential-pipeline' -All)
        $all.Id | Should -Be @($Failed.Id, $Completed.Id)
        $all[0].StepSummary | Should -Be 'extract=success; transform=failed; load=pending'
        $all[1].StepSummary | Should -Be 'extract=success; transform=success; load=success'
    }

    It 'a completed batch shows the steps it ran, nothing added' {
        $Completed.Steps.Name | Should -Be @('extract', 'transform', 'load')
        @(Get-TestTaskRun $T $Completed.Id).Count | Should -Be 3
    }

    It 'a batch running its first step lists the steps still to come as pending (Get and Wait -Timeout)' {
        Add-EmulatorPipeline $T 'sequential-slow' -StepSeconds 30
        $null = Start-DhubBatch -PipelineId 'sequential-slow'
        Move-EmulatorClock $T 200
        $running = Start-DhubBatch -PipelineId 'sequential-slow'
        $running.StepSummary | Should -Be 'extract=pending; transform=pending; load=pending' -Because 'a new run has no task run at all'
        Move-EmulatorClock $T 75 # scheduled 30 s, pending 30 s, then extract
        @(Get-TestTaskRun $T $running.Id).Count | Should -Be 1
        (Get-DhubBatch -PipelineId 'sequential-slow' -Id $running.Id).StepSummary | Should -Be 'extract=running; transform=pending; load=pending'
        $waited = Wait-DhubBatch -PipelineId 'sequential-slow' -BatchId $running.Id -Timeout 1 -PollingInterval 0.2 -ErrorVariable timedOut -ErrorAction SilentlyContinue
        $waited.StepSummary | Should -Be 'extract=running; transform=pending; load=pending'
        "$($timedOut[0])" | Should -Match 'load=pending'
    }

    It 'Restart -Wait of the failed batch shows the new attempt with load pending again' {
        $again = Restart-DhubBatch -PipelineId 'sequential-pipeline' -BatchId $Failed.Id -Wait -PollingInterval 0.2 -Timeout 60 -ErrorAction SilentlyContinue
        $again.Outcome | Should -Be ([DhubBatches.BatchOutcome]::Failed)
        $again.StepSummary | Should -Be 'extract=success; transform=failed; load=pending'
        @(Get-TestTaskRun $T $Failed.Id | Where-Object { $_.name -like 'load*' }).Count | Should -Be 0
    }

    It 'a deployment that never completed a run shows the steps its batch has' {
        Add-EmulatorPipeline $T 'sequential-never'
        $only = Start-DhubBatch -PipelineId 'sequential-never' -Parameter @{ fail = $true } -Wait -PollingInterval 0.2 -Timeout 60 -ErrorAction SilentlyContinue
        $only.StepSummary | Should -Be 'extract=success; transform=failed'
    }

    It 'the expected steps cost one request per deployment and connection: none per batch, none per round' {
        Connect-TestBackend $T # a new connection: nothing cached
        $before = Get-TemplateReadCount $T
        $batches = 1..5 | ForEach-Object { Start-DhubBatch -PipelineId 'sequential-pipeline' -Parameter @{ fail = ($_ % 2 -eq 0) } }
        $done = @($batches | Wait-DhubBatch -PollingInterval 0.2 -Timeout 60 -ErrorAction SilentlyContinue)
        $done.Count | Should -Be 5
        @($done | Where-Object Outcome -EQ Failed | ForEach-Object StepSummary | Select-Object -Unique) | Should -Be @('extract=success; transform=failed; load=pending')
        $null = Get-DhubBatch -PipelineId 'sequential-pipeline' -All
        (Get-TemplateReadCount $T) - $before | Should -Be 1
    }

    It 'a wait''s polling rounds never read the expected steps: they use what the connection knows' {
        Add-EmulatorPipeline $T 'sequential-held' -StepSeconds 30
        $null = Start-DhubBatch -PipelineId 'sequential-held'
        Move-EmulatorClock $T 200
        $held = Start-DhubBatch -PipelineId 'sequential-held'
        Move-EmulatorClock $T 75
        Connect-TestBackend $T # nothing cached
        $null = Get-DhubBatch -PipelineId 'sequential-held' -Id $held.Id
        $before = Get-TemplateReadCount $T
        $since = @(Invoke-EmulatorControl $T GET 'prefect/bodies' | ForEach-Object { $_ }).Count
        $waited = Wait-DhubBatch -PipelineId 'sequential-held' -BatchId $held.Id -Timeout 2 -PollingInterval 0.5 -ErrorAction SilentlyContinue
        $polls = @(Invoke-EmulatorControl $T GET 'prefect/bodies' | ForEach-Object { $_ } | Select-Object -Skip $since | Where-Object { $_.path -like '*/flow_runs/filter' })
        $polls.Count | Should -BeGreaterOrEqual 3
        (Get-TemplateReadCount $T) | Should -Be $before
        $waited.StepSummary | Should -Be 'extract=running; transform=pending; load=pending'
    }
}

Describe 'Cancels nothing finishes (<Name>)' -Tag 'PrefectRealRunner' -ForEach $PrefectBackends {
    BeforeAll {
        $script:SavedEnvironment = Save-TestConnectionEnvironment -EmptyHome (Join-Path $TestDrive 'prefect-home')
        $script:T = Start-TestBackend -Backend Prefect -PrefectVersion $PrefectVersion
        Connect-TestBackend $T
        Add-EmulatorPipeline $T 'served-pipeline' -StepSeconds 30
        # A run that completed, read once, teaches the steps.
        $first = Start-DhubBatch -PipelineId 'served-pipeline'
        Move-EmulatorClock $T 200
        $null = Get-DhubBatch -PipelineId 'served-pipeline' -BatchId $first.Id

        # A served run stopped during extract: extract finishes, transform is aborted PENDING, the run stays CANCELLING.
        function New-StuckServedRun {
            $batch = Start-DhubBatch -PipelineId 'served-pipeline'
            Move-EmulatorClock $T 75
            Stop-DhubBatch -PipelineId 'served-pipeline' -Id $batch.Id
            Move-EmulatorClock $T 60
            $batch
        }
    }
    AfterAll {
        Disconnect-Dhub
        Stop-TestBackend $T
        Restore-TestConnectionEnvironment $SavedEnvironment
    }

    It 'the run stays CANCELLING with no task run running, as the recorded runner leaves it' {
        $batch = New-StuckServedRun
        $raw = Get-TestTaskRun $T $batch.Id
        @($raw | Where-Object state_type -EQ 'RUNNING').Count | Should -Be 0
        $now = Get-DhubBatch -PipelineId 'served-pipeline' -Id $batch.Id
        $now.EngineState | Should -Be 'CANCELLING'
        $now.IsComplete | Should -BeFalse
        $now.StepSummary | Should -Be 'extract=success; transform=pending; load=pending'
    }

    It 'Stop -Wait warns once that the runner may be gone, and its timeout says Cancelling and -Force, not "keeps running"' {
        $batch = New-StuckServedRun
        Stop-DhubBatch -PipelineId 'served-pipeline' -Id $batch.Id -Wait -Timeout 32 -WarningVariable warnings -WarningAction SilentlyContinue -ErrorVariable errors -ErrorAction SilentlyContinue
        $stuck = @($warnings | Where-Object { "$_" -match 'no step has run' })
        $stuck.Count | Should -Be 1
        "$($stuck[0])" | Should -Match 'Stop-DhubBatch -Force'
        Get-TestErrorId $errors[-1] | Should -Be 'DhubWaitTimeout'
        "$($errors[-1])" | Should -Match 'Cancelling'
        "$($errors[-1])" | Should -Match '-Force'
        "$($errors[-1])" | Should -Not -Match 'keeps running'
    }

    It 'Stop -Wait on a batch that ran on gives no warning within its timeout' {
        $batch = Start-DhubBatch -PipelineId 'sequential-pipeline' -Wait -PollingInterval 0.2 -Timeout 60
        Stop-DhubBatch -PipelineId 'sequential-pipeline' -Id $batch.Id -Wait -Timeout 5 -WarningVariable warnings -WarningAction SilentlyContinue -ErrorVariable errors -ErrorAction SilentlyContinue
        @($warnings | Where-Object { "$_" -match 'no step has run' }).Count | Should -Be 0
        $errors.Count | Should -Be 0
    }

    It 'Stop -Force marks it Cancelled with force and a fresh transition id' {
        $batch = New-StuckServedRun
        $done = Stop-DhubBatch -PipelineId 'served-pipeline' -Id $batch.Id -Force -PassThru
        $done.EngineState | Should -Be 'CANCELLED'
        $done.Outcome | Should -Be ([DhubBatches.BatchOutcome]::Stopped)
        $marks = @(Get-SetStateBody $T | Where-Object { $_.state.type -eq 'CANCELLED' })
        $marks[-1].force | Should -BeTrue
        $marks[-1].state.state_details.transition_id | Should -Match '^[0-9a-f-]{36}$'
    }

    It 'Remove -Force waits a short grace, marks it Cancelled, deletes it and warns' {
        $batch = New-StuckServedRun
        $clock = [Diagnostics.Stopwatch]::StartNew()
        Remove-DhubBatch -PipelineId 'served-pipeline' -Id $batch.Id -Force -WarningVariable warnings -WarningAction SilentlyContinue -ErrorVariable errors
        $clock.Elapsed.TotalSeconds | Should -BeLessThan 20 -Because 'the grace is 10 s, not the 60 s -Timeout'
        $errors.Count | Should -Be 0
        @($warnings | Where-Object { "$_" -match 'marked Cancelled' }).Count | Should -Be 1
        (Invoke-EmulatorControl $T GET 'prefect/stats').deletedRuns.flowRunId | Should -Contain $batch.Id
        @(Get-SetStateBody $T | Where-Object { $_.state.type -eq 'CANCELLED' })[-1].force | Should -BeTrue
    }

    It 'Remove without -Force never forces the cancel: DhubConflict, and the run is still there' {
        $batch = New-StuckServedRun
        $marks = @(Get-SetStateBody $T | Where-Object { $_.state.type -eq 'CANCELLED' }).Count
        Remove-DhubBatch -PipelineId 'served-pipeline' -Id $batch.Id -Confirm:$false -Timeout 2 -ErrorVariable errors -ErrorAction SilentlyContinue
        Get-TestErrorId $errors[0] | Should -Be 'DhubConflict'
        @(Get-SetStateBody $T | Where-Object { $_.state.type -eq 'CANCELLED' }).Count | Should -Be $marks
        (Get-DhubBatch -PipelineId 'served-pipeline' -Id $batch.Id).EngineState | Should -Be 'CANCELLING'
    }
}

Describe 'State and offsets in every view (<Name>)' -Tag 'PrefectRealRunner' -ForEach $AllBackends {
    BeforeAll {
        $script:SavedEnvironment = Save-TestConnectionEnvironment -EmptyHome (Join-Path $TestDrive 'prefect-home')
        $script:T = Start-TestBackend -Backend $Backend -PrefectVersion $PrefectVersion
        Connect-TestBackend $T
        $script:Done = Start-DhubBatch -PipelineId 'sales-pipeline' -Wait -PollingInterval 0.2 -Timeout 60
    }
    AfterAll {
        Disconnect-Dhub
        Stop-TestBackend $T
        Restore-TestConnectionEnvironment $SavedEnvironment
    }

    It 'Select-Object Name, Offsets | Format-Table shows the offsets summary, and the map still indexes' {
        $step = $Done.Steps[0]
        $table = $Done.Steps | Select-Object Name, Offsets | Format-Table | Out-String -Width 250
        $table | Should -Match ([regex]::Escape($step.OffsetSummary))
        $table | Should -Not -Match '\[partition_0,'
        ($step | Format-List Name, Offsets | Out-String -Width 250) | Should -Match ([regex]::Escape($step.OffsetSummary))
        $step.Offsets['partition_0'] | Should -Be 1000
        $step.Offsets.partition_0 | Should -Be 1000
        ($step | ConvertTo-Json -Depth 3 | ConvertFrom-Json).Offsets.partition_0 | Should -Be 1000
        @($step.Offsets.GetEnumerator()).Count | Should -Be $step.Offsets.Count
    }

    It 'states read lowercase in the batch and step views, as in StepSummary; Where-Object still matches either spelling' {
        $stepTable = $Done.Steps | Format-Table | Out-String -Width 250
        $stepTable | Should -MatchExactly '\bsuccess\b'
        $stepTable | Should -Not -MatchExactly '\bSuccess\b'
        $Done | Format-Table | Out-String -Width 250 | Should -MatchExactly '\bstop\b'
        $Done | Format-List | Out-String -Width 250 | Should -MatchExactly '(?m)^State\s+: stop\s*$'
        $Done.StepSummary | Should -MatchExactly 'extract=success'
        @($Done.Steps | Where-Object State -EQ 'success').Count | Should -Be 3
        @($Done.Steps | Where-Object State -EQ 'Success').Count | Should -Be 3
    }
}
