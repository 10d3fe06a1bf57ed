BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'DhubBatchesTestUtils.psm1')
    $Backends = Get-TestBackend
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'DhubBatchesTestUtils.psm1')
    Import-TestModule
}

Describe 'Wait-DhubBatch (<Name>)' -Tag 'Wait' -ForEach $Backends {
    BeforeAll {
        $script:SavedEnvironment = Save-TestConnectionEnvironment -EmptyHome (Join-Path $TestDrive 'prefect-home')
        $script:T = Start-TestBackend -Backend $Backend -PrefectVersion $PrefectVersion
        Connect-TestBackend $T
        $script:SlowPipeline = 'slow-pipeline'
    }
    AfterAll {
        Disconnect-Dhub
        Stop-TestBackend $T
        Restore-TestConnectionEnvironment $SavedEnvironment
    }
    BeforeEach {
        Reset-Emulator $T
        Add-EmulatorPipeline $T $SlowPipeline -StepSeconds 60
    }

    It 'waits for several batches at once and emits each when complete' {
        $started = @('orders', 'inventory', 'sales-pipeline' | Start-DhubBatch)
        $done = @($started | Wait-DhubBatch -PollingInterval 0.2 -Timeout 60 -ErrorVariable errors)
        $errors.Count | Should -Be 0
        $done.Count | Should -Be 3
        @($done.Id | Sort-Object) | Should -Be @($started.Id | Sort-Object)
        @($done | Where-Object { -not $_.IsComplete }).Count | Should -Be 0
        @($done.Outcome | Sort-Object -Unique) | Should -Be @([DhubBatches.BatchOutcome]::Succeeded)
    }

    It 'waits by -PipelineId and -BatchId' {
        $a = Start-DhubBatch -PipelineId 'orders'
        $b = Start-DhubBatch -PipelineId 'orders'
        $done = @(Wait-DhubBatch -PipelineId 'orders' -BatchId $a.Id, $b.Id -PollingInterval 0.2 -Timeout 60)
        @($done.Id | Sort-Object) | Should -Be @($a.Id, $b.Id | Sort-Object)
        @($done | Where-Object IsComplete).Count | Should -Be 2
    }

    It 'polls each batch about once per interval (one poll loop)' {
        $started = @('orders', 'inventory' | Start-DhubBatch)
        Clear-EmulatorRequest $T
        $null = $started | Wait-DhubBatch -PollingInterval 0.5 -Timeout 60
        foreach ($batch in $started) {
            # ~1 s lifecycle at 0.5 s intervals: a handful of polls each, nowhere near a busy loop.
            $polls = Get-EmulatorPollCount $T -BatchId $batch.Id
            $polls | Should -BeGreaterThan 0
            $polls | Should -BeLessOrEqual 10
        }
    }

    It 'a failing batch is output AND gets a non-terminating DhubBatchFailed (InvalidResult)' {
        $failing = Start-DhubBatch -PipelineId 'failing-pipeline'
        $good = Start-DhubBatch -PipelineId 'orders'
        $done = @($failing, $good | Wait-DhubBatch -PollingInterval 0.2 -Timeout 60 -ErrorVariable errors -ErrorAction SilentlyContinue)
        $done.Count | Should -Be 2
        ($done | Where-Object Id -EQ $failing.Id).Outcome | Should -Be ([DhubBatches.BatchOutcome]::Failed)
        ($done | Where-Object Id -EQ $good.Id).Outcome | Should -Be ([DhubBatches.BatchOutcome]::Succeeded)
        $errors.Count | Should -Be 1
        Get-TestErrorId $errors[0] | Should -Be 'DhubBatchFailed'
        $errors[0].CategoryInfo.Category | Should -Be 'InvalidResult'
        $errors[0].TargetObject.Id | Should -Be $failing.Id
        "$($errors[0])" | Should -Match 'transform'
    }

    Context '-Timeout' {
        It 'outputs the unfinished batch in its last known state and writes DhubWaitTimeout (OperationTimeout)' {
            $slowBatch = Start-DhubBatch -PipelineId $SlowPipeline
            $elapsed = Measure-Command {
                $script:output = @($slowBatch | Wait-DhubBatch -Timeout 1 -PollingInterval 0.2 -ErrorVariable script:errors -ErrorAction SilentlyContinue)
            }
            $output.Count | Should -Be 1
            $output[0] | Should -BeOfType ([DhubBatches.Batch])
            $output[0].Id | Should -Be $slowBatch.Id
            $output[0].IsComplete | Should -BeFalse
            $output[0].State | Should -Be ([DhubBatches.BatchState]::Scheduled)
            $errors.Count | Should -Be 1
            Get-TestErrorId $errors[0] | Should -Be 'DhubWaitTimeout'
            $errors[0].CategoryInfo.Category | Should -Be 'OperationTimeout'
            $errors[0].TargetObject.Id | Should -Be $slowBatch.Id
            $elapsed.TotalSeconds | Should -BeGreaterOrEqual 0.9
            $elapsed.TotalSeconds | Should -BeLessThan 15
        }

        It 'reads the batches once more when -Timeout passes: one that completed in the last interval is output without an error' {
            $batch = Start-DhubBatch -PipelineId 'orders' # completes within about a second
            $done = @($batch | Wait-DhubBatch -PollingInterval 30 -Timeout 3 -ErrorVariable errors -ErrorAction SilentlyContinue)
            $done.Count | Should -Be 1
            $done[0].IsComplete | Should -BeTrue
            $done[0].Outcome | Should -Be ([DhubBatches.BatchOutcome]::Succeeded)
            $errors.Count | Should -Be 0
        }

        It 'the timeout message reads well when the batch has no steps yet' {
            $slowBatch = Start-DhubBatch -PipelineId $SlowPipeline
            $null = $slowBatch | Wait-DhubBatch -Timeout 1 -PollingInterval 0.2 -ErrorVariable errors -ErrorAction SilentlyContinue
            "$($errors[0])" | Should -Match '\(state [A-Za-z/]+(; [^)]+)?\)'
            "$($errors[0])" | Should -Not -Match ';\s*\)'
        }

        It 'sets $? to false' {
            $slowBatch = Start-DhubBatch -PipelineId $SlowPipeline
            $null = $slowBatch | Wait-DhubBatch -Timeout 1 -PollingInterval 0.2 -ErrorAction SilentlyContinue
            $succeeded = $?
            $succeeded | Should -BeFalse
        }

        It 'throws with -ErrorAction Stop' {
            $slowBatch = Start-DhubBatch -PipelineId $SlowPipeline
            $caught = $null
            try { $null = $slowBatch | Wait-DhubBatch -Timeout 1 -PollingInterval 0.2 -ErrorAction Stop }
            catch { $caught = $_ }
            $caught | Should -Not -BeNullOrEmpty
            Get-TestErrorId $caught | Should -Be 'DhubWaitTimeout'
        }

        It 'outputs the batches that completed in time and times out only the others' {
            $slowBatch = Start-DhubBatch -PipelineId $SlowPipeline
            $fast = Start-DhubBatch -PipelineId 'orders'
            $output = @($slowBatch, $fast | Wait-DhubBatch -Timeout 5 -PollingInterval 0.2 -ErrorVariable errors -ErrorAction SilentlyContinue)
            $output.Count | Should -Be 2
            ($output | Where-Object Id -EQ $fast.Id).IsComplete | Should -BeTrue
            ($output | Where-Object Id -EQ $slowBatch.Id).IsComplete | Should -BeFalse
            $errors.Count | Should -Be 1
            $errors[0].TargetObject.Id | Should -Be $slowBatch.Id
        }
    }

    It '-Any returns the first batch to complete' {
        $slowBatch = Start-DhubBatch -PipelineId $SlowPipeline
        $fast = Start-DhubBatch -PipelineId 'orders'
        $output = @($slowBatch, $fast | Wait-DhubBatch -Any -PollingInterval 0.2 -Timeout 60 -ErrorVariable errors)
        $errors.Count | Should -Be 0
        $output.Count | Should -Be 1
        $output[0].Id | Should -Be $fast.Id
        $output[0].IsComplete | Should -BeTrue
    }

    It 'writes progress: a bar per batch, a child bar per step, and Completed records' {
        $ps = New-TestPowerShell $T
        try {
            $null = $ps.AddScript('$ProgressPreference = ''Continue''; Start-DhubBatch -PipelineId orders | Wait-DhubBatch -PollingInterval 0.2 -Timeout 60')
            $output = $ps.Invoke()
            $ps.Streams.Error.Count | Should -Be 0 -Because ($ps.Streams.Error | Out-String)
            $output.Count | Should -Be 1
            $output[0].IsComplete | Should -BeTrue
            $progress = @($ps.Streams.Progress)
            $progress.Count | Should -BeGreaterThan 0
            $batchBars = @($progress | Where-Object Activity -Match ([regex]::Escape($output[0].Id)))
            $batchBars.Count | Should -BeGreaterThan 0
            $batchIds = @($batchBars.ActivityId | Sort-Object -Unique)
            @($progress | Where-Object { $_.ParentActivityId -in $batchIds }).Count | Should -BeGreaterThan 0 -Because 'each step has a child bar'
            @($progress | Where-Object RecordType -EQ 'Completed').Count | Should -BeGreaterThan 0
            foreach ($id in @($progress.ActivityId | Sort-Object -Unique)) {
                $last = $progress | Where-Object ActivityId -EQ $id | Select-Object -Last 1
                $last.RecordType | Should -Be 'Completed' -Because "bar $id must be closed"
            }
        }
        finally { Remove-TestPowerShell $ps }
    }

    It 'Ctrl+C (Stop) ends a long wait within a second, stops polling, and leaves the runspace usable' {
        $slowBatch = Start-DhubBatch -PipelineId $SlowPipeline
        $ps = New-TestPowerShell $T
        try {
            $null = $ps.AddCommand('Wait-DhubBatch').AddParameter('PipelineId', $SlowPipeline).AddParameter('BatchId', $slowBatch.Id).AddParameter('PollingInterval', 0.2)
            $async = $ps.BeginInvoke()
            Start-Sleep -Seconds 1
            $ps.InvocationStateInfo.State | Should -Be 'Running'
            $stopwatch = [Diagnostics.Stopwatch]::StartNew()
            $ps.Stop()
            $stopwatch.Stop()
            $stopwatch.Elapsed.TotalSeconds | Should -BeLessThan 1 -Because 'Ctrl+C must stop within a second (interface.md)'
            $ps.InvocationStateInfo.State | Should -Be 'Stopped'
            try { $null = $ps.EndInvoke($async) } catch { $null = $_ } # a stopped pipeline throws PipelineStoppedException

            Start-Sleep -Milliseconds 300
            $countAfterStop = Get-EmulatorPollCount $T -BatchId $slowBatch.Id
            Start-Sleep -Seconds 2
            $countLater = Get-EmulatorPollCount $T -BatchId $slowBatch.Id
            $countAfterStop | Should -BeGreaterThan 0 -Because 'the wait polled the batch before the stop'
            $countLater | Should -Be $countAfterStop -Because 'nothing keeps polling after the stop'

            $ps.Commands.Clear()
            $null = $ps.AddCommand('Get-DhubBatch').AddParameter('PipelineId', $SlowPipeline).AddParameter('BatchId', $slowBatch.Id)
            $again = $ps.Invoke()
            $ps.Streams.Error.Count | Should -Be 0
            $again.Count | Should -Be 1
            $again[0].Id | Should -Be $slowBatch.Id
        }
        finally { Remove-TestPowerShell $ps }
    }

    It 'Ctrl+C during Start-DhubBatch -Wait also stops within a second' {
        $ps = New-TestPowerShell $T
        try {
            $null = $ps.AddCommand('Start-DhubBatch').AddParameter('PipelineId', $SlowPipeline).AddParameter('Wait').AddParameter('PollingInterval', 0.2)
            $async = $ps.BeginInvoke()
            Start-Sleep -Seconds 1
            $stopwatch = [Diagnostics.Stopwatch]::StartNew()
            $ps.Stop()
            $stopwatch.Elapsed.TotalSeconds | Should -BeLessThan 1 -Because 'Ctrl+C must stop within a second (interface.md)'
            try { $null = $ps.EndInvoke($async) } catch { $null = $_ }
            (Get-EmulatorStat $T $SlowPipeline).created | Should -Be 1
        }
        finally { Remove-TestPowerShell $ps }
    }
}
