BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'DhubBatchesTestUtils.psm1')
    $Backends = Get-TestBackend
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'DhubBatchesTestUtils.psm1')
    Import-TestModule
}

Describe 'Stop-DhubBatch (<Name>)' -Tag 'Stop' -ForEach $Backends {
    BeforeAll {
        $script:SavedEnvironment = Save-TestConnectionEnvironment -EmptyHome (Join-Path $TestDrive 'prefect-home')
        $script:T = Start-TestBackend -Backend $Backend -PrefectVersion $PrefectVersion
        Connect-TestBackend $T
        $script:Slow = 'slow-pipeline'
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

    It 'stops the running batches piped from Get-DhubBatch -All | Where-Object State -eq Running' {
        # 1 s steps: scheduled, pending, then running from 2 s to 5 s.
        Add-EmulatorPipeline $T 'paced' -StepSeconds 1
        Add-EmulatorSeed $T 'paced' 2
        $started = @(1..3 | ForEach-Object { Start-DhubBatch -PipelineId 'paced' })
        Wait-TestCondition -TimeoutSec 20 -IntervalMs 100 {
            @(Get-DhubBatch -PipelineId 'paced' -All | Where-Object State -EQ Running).Count -eq 3
        } | Should -BeTrue
        Clear-EmulatorRequest $T
        Get-DhubBatch -PipelineId 'paced' -All | Where-Object State -EQ Running | Stop-DhubBatch
        # Prefect: ACCEPT -> CANCELLING (still Running) until the worker sets CANCELLED; dhub stops at once.
        Wait-TestCondition -TimeoutSec 20 {
            @(Get-DhubBatch -PipelineId 'paced' -Id $started.Id | Where-Object State -NE ([DhubBatches.BatchState]::Stop)).Count -eq 0
        } | Should -BeTrue
        $afterwards = @(Get-DhubBatch -PipelineId 'paced' -Id $started.Id)
        $afterwards.State | Sort-Object -Unique | Should -Be ([DhubBatches.BatchState]::Stop)
        $afterwards.Outcome | Sort-Object -Unique | Should -Be ([DhubBatches.BatchOutcome]::Stopped)
        $stops = @(Get-EmulatorRequest $T -Operation Stop)
        $stops.Count | Should -Be 3 -Because 'only the running batches are stopped, not the finished seeded ones'
        @($stops | Get-RequestBatchId $T | Sort-Object) | Should -Be @($started.Id | Sort-Object)
    }

    It '-WhatIf stops nothing' {
        $batch = Start-DhubBatch -PipelineId $Slow
        Clear-EmulatorRequest $T
        $output = $batch | Stop-DhubBatch -WhatIf
        $output | Should -BeNullOrEmpty
        @(Get-EmulatorRequest $T -Operation Stop).Count | Should -Be 0
        (Get-DhubBatch -PipelineId $Slow -Id $batch.Id).State | Should -Not -Be ([DhubBatches.BatchState]::Stop)
    }

    It 'without -PassThru outputs nothing; the batch is stopped' {
        $batch = Start-DhubBatch -PipelineId $Slow
        $output = Stop-DhubBatch -PipelineId $Slow -BatchId $batch.Id
        $output | Should -BeNullOrEmpty
        $after = Get-DhubBatch -PipelineId $Slow -Id $batch.Id
        $after.State | Should -Be ([DhubBatches.BatchState]::Stop)
        $after.IsComplete | Should -BeTrue
    }

    It '-PassThru outputs the batch' {
        $batch = Start-DhubBatch -PipelineId $Slow
        $output = @(Stop-DhubBatch -PipelineId $Slow -Id $batch.Id -PassThru)
        $output.Count | Should -Be 1
        $output[0] | Should -BeOfType ([DhubBatches.Batch])
        $output[0].Id | Should -Be $batch.Id
        $output[0].State | Should -Be ([DhubBatches.BatchState]::Stop)
    }

    It '-Wait returns when the batch is complete' {
        $batch = Start-DhubBatch -PipelineId $Slow
        $output = @($batch | Stop-DhubBatch -Wait -Timeout 60 -PassThru -ErrorVariable errors)
        $errors.Count | Should -Be 0
        $output.Count | Should -Be 1
        $output[0].IsComplete | Should -BeTrue
        (Get-DhubBatch -PipelineId $Slow -Id $batch.Id).IsComplete | Should -BeTrue
    }

    It 'an unknown batch is a non-terminating DhubBatchNotFound; other piped batches are still stopped' {
        $batch = Start-DhubBatch -PipelineId $Slow
        $inputs = @(
            [pscustomobject]@{ PipelineId = $Slow; Id = $T.MissingBatchId }
            [pscustomobject]@{ PipelineId = $Slow; Id = $batch.Id }
        )
        $inputs | Stop-DhubBatch -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors.Count | Should -Be 1
        Get-TestErrorId $errors[0] | Should -Be 'DhubBatchNotFound'
        $errors[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        "$($errors[0].TargetObject)" | Should -Match ([regex]::Escape($T.MissingBatchId))
        "$($errors[0])" | Should -Match ([regex]::Escape($T.MissingBatchId))
        (Get-DhubBatch -PipelineId $Slow -Id $batch.Id).State | Should -Be ([DhubBatches.BatchState]::Stop)
    }

    It 'declares ConfirmImpact Medium and SupportsShouldProcess' {
        $attribute = (Get-Command Stop-DhubBatch).ImplementingType.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $true)[0]
        $attribute.SupportsShouldProcess | Should -BeTrue
        $attribute.ConfirmImpact | Should -Be ([System.Management.Automation.ConfirmImpact]::Medium)
    }
}

Describe 'Remove-DhubBatch (<Name>)' -Tag 'Remove' -ForEach $Backends {
    BeforeAll {
        $script:SavedEnvironment = Save-TestConnectionEnvironment -EmptyHome (Join-Path $TestDrive 'prefect-home')
        $script:T = Start-TestBackend -Backend $Backend -PrefectVersion $PrefectVersion
        Connect-TestBackend $T
        $script:Slow = 'slow-pipeline'
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

    It 'declares ConfirmImpact High and SupportsShouldProcess' {
        $attribute = (Get-Command Remove-DhubBatch).ImplementingType.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $true)[0]
        $attribute.SupportsShouldProcess | Should -BeTrue
        $attribute.ConfirmImpact | Should -Be ([System.Management.Automation.ConfirmImpact]::High)
        (Get-Command Remove-DhubBatch).Parameters.Keys | Should -Contain 'Force'
    }

    It '-Force removes the batch (it is gone afterwards)' {
        Add-EmulatorSeed $T 'orders' 2
        $batches = @(Get-DhubBatch -PipelineId 'orders' -All)
        $output = Remove-DhubBatch -PipelineId 'orders' -BatchId $batches[0].Id -Force
        $output | Should -BeNullOrEmpty
        Get-DhubBatch -PipelineId 'orders' -Id $batches[0].Id -ErrorVariable errors -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Get-TestErrorId $errors[0] | Should -Be 'DhubBatchNotFound'
        @(Get-DhubBatch -PipelineId 'orders' -All).Id | Should -Be @($batches[1].Id)
        (Get-EmulatorStat $T 'orders').batches | Should -Be 1
    }

    It '-Force removes a running batch' {
        $batch = Start-DhubBatch -PipelineId $Slow
        $batch | Remove-DhubBatch -Force
        Get-DhubBatch -PipelineId $Slow -Id $batch.Id -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        (Get-EmulatorStat $T $Slow).batches | Should -Be 0
    }

    It 'removes every batch piped from Get-DhubBatch -All' {
        Add-EmulatorSeed $T 'inventory' 5
        Get-DhubBatch -PipelineId 'inventory' -All | Remove-DhubBatch -Force
        (Get-EmulatorStat $T 'inventory').batches | Should -Be 0
    }

    It '-WhatIf removes nothing (also with -Force)' {
        $batch = Start-DhubBatch -PipelineId $Slow
        Clear-EmulatorRequest $T
        Remove-DhubBatch -PipelineId $Slow -BatchId $batch.Id -WhatIf
        Remove-DhubBatch -PipelineId $Slow -BatchId $batch.Id -WhatIf -Force
        @(Get-EmulatorRequest $T -Operation Remove).Count | Should -Be 0
        (Get-DhubBatch -PipelineId $Slow -Id $batch.Id).Id | Should -Be $batch.Id
        (Get-EmulatorStat $T $Slow).batches | Should -Be 1
    }

    It '-Force with an explicit -Confirm still asks: a host that cannot ask fails instead of removing' {
        $batch = Start-DhubBatch -PipelineId $Slow
        Clear-EmulatorRequest $T
        $ps = New-TestPowerShell $T
        try {
            $caught = $null
            try { $null = $ps.AddScript("Remove-DhubBatch -PipelineId '$Slow' -BatchId '$($batch.Id)' -Force -Confirm").Invoke() }
            catch { $caught = $_.Exception }
            $failure = if ($caught) { "$caught" } else { "$($ps.Streams.Error)" }
            $failure | Should -Match 'prompt|user interaction|host'
        }
        finally {
            Remove-TestPowerShell $ps
        }
        @(Get-EmulatorRequest $T -Operation Remove).Count | Should -Be 0
        (Get-EmulatorStat $T $Slow).batches | Should -Be 1
    }

    It '-Force writes the "Performing the operation" line -Verbose shows for every other removal' {
        $batch = Start-DhubBatch -PipelineId $Slow
        $verbose = @(Remove-DhubBatch -PipelineId $Slow -BatchId $batch.Id -Force -Verbose 4>&1 | ForEach-Object { "$_" })
        $verbose | Should -Contain "Performing the operation `"Remove batch (a running batch is stopped first)`" on target `"$Slow/$($batch.Id)`"."
    }

    It '-Confirm:$false removes without -Force' {
        $batch = Start-DhubBatch -PipelineId $Slow
        Remove-DhubBatch -PipelineId $Slow -BatchId $batch.Id -Confirm:$false
        (Get-EmulatorStat $T $Slow).batches | Should -Be 0
    }

    It 'an unknown batch is DhubBatchNotFound' {
        Remove-DhubBatch -PipelineId 'orders' -BatchId $T.MissingBatchId -Force -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors.Count | Should -Be 1
        Get-TestErrorId $errors[0] | Should -Be 'DhubBatchNotFound'
        # Prefect reads the run first (it must belong to the pipeline and be stopped before a DELETE).
        "$($errors[0])" | Should -Match $(if ($Backend -eq 'Prefect') { 'GET' } else { 'DELETE' })
        "$($errors[0])" | Should -Match '404'
    }

    It 'rejects the batch id ''..'' before any request' {
        Clear-EmulatorRequest $T
        Remove-DhubBatch -PipelineId 'orders' -BatchId '..' -Force -ErrorVariable errors -ErrorAction SilentlyContinue
        Get-TestErrorId $errors[0] | Should -Be 'DhubBadRequest'
        @(Get-EmulatorRequest $T).Count | Should -Be 0
    }
}
