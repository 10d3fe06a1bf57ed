# -AsJob: the command checks its input and sends its first request here, then returns a DhubBatches.DhubJob that
# waits (or follows a log) on the module's own thread; Receive-Job yields what the command would have written.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'DhubBatchesTestUtils.psm1')
    $Backends = Get-TestBackend
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'DhubBatchesTestUtils.psm1')
    Import-TestModule

    # Receive-Job with its errors, as one object: Output, Errors (the records) and the error ids.
    function Receive-TestJob($Job, [switch] $Keep) {
        $errors = $null
        $output = @(Receive-Job -Job $Job -Keep:$Keep -ErrorVariable errors -ErrorAction SilentlyContinue -WarningAction SilentlyContinue)
        [pscustomobject]@{
            Output   = $output
            Errors   = @($errors)
            ErrorIds = @($errors | ForEach-Object { Get-TestErrorId $_ })
        }
    }
}

Describe '-AsJob (<Name>)' -Tag 'AsJob' -ForEach $Backends {
    BeforeAll {
        $script:SavedEnvironment = Save-TestConnectionEnvironment -EmptyHome (Join-Path $TestDrive 'prefect-home')
        $script:T = Start-TestBackend -Backend $Backend -PrefectVersion $PrefectVersion
        $script:Slow = 'slow-asjob'
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
    AfterEach {
        Get-Job | Where-Object PSJobTypeName -EQ 'DhubBatchJob' | Remove-Job -Force
    }

    Context 'Start-DhubBatch -Wait -AsJob' {
        It 'starts the batch before returning, returns a running DhubBatchJob listed by Get-Job, and Receive-Job yields the completed batch' {
            $job = Start-DhubBatch -PipelineId $Slow -Wait -AsJob -PollingInterval 0.2
            $job | Should -BeOfType ([DhubBatches.DhubJob])
            $job.PSJobTypeName | Should -Be 'DhubBatchJob'
            $job.State | Should -Be 'Running'
            (Get-EmulatorStat $T $Slow).created | Should -Be 1
            (Get-Job -Id $job.Id) | Should -Be $job
            $job | Stop-Job

            $job = Start-DhubBatch -PipelineId 'orders' -Wait -AsJob -PollingInterval 0.2
            $null = $job | Wait-Job -Timeout 60
            $job.State | Should -Be 'Completed'
            $result = Receive-TestJob $job
            $result.ErrorIds | Should -BeNullOrEmpty
            $result.Output.Count | Should -Be 1
            $result.Output[0] | Should -BeOfType ([DhubBatches.Batch])
            $result.Output[0].PipelineId | Should -Be 'orders'
            $result.Output[0].Outcome | Should -Be 'Succeeded'
            $job.HasMoreData | Should -BeFalse
        }

        It 'returns within 20 ms of its start request (median of five)' {
            $null = Start-DhubBatch -PipelineId 'orders' -Wait -AsJob -PollingInterval 0.2 # warm: the engine loads once
            $extra = foreach ($i in 1..5) {
                $startMs = Measure-Command { $null = Start-DhubBatch -PipelineId 'orders' } | ForEach-Object TotalMilliseconds
                $jobMs = Measure-Command { $null = Start-DhubBatch -PipelineId 'orders' -Wait -AsJob -PollingInterval 0.2 } | ForEach-Object TotalMilliseconds
                $jobMs - $startMs
            }
            ($extra | Sort-Object)[2] | Should -BeLessThan 20
        }

        It '-WhatIf sends nothing and makes no job' {
            $before = @(Get-Job).Count
            Clear-EmulatorRequest $T
            $out = @(Start-DhubBatch -PipelineId 'orders' -Wait -AsJob -WhatIf)
            $out.Count | Should -Be 0
            @(Get-Job).Count | Should -Be $before
            @(Get-EmulatorRequest $T -Operation Start).Count | Should -Be 0
        }

        It 'without -Wait is DhubBadRequest before any request, and makes no job' {
            Clear-EmulatorRequest $T
            $before = @(Get-Job).Count
            { Start-DhubBatch -PipelineId 'orders' -AsJob -ErrorAction Stop } | Should -Throw -ErrorId 'DhubBadRequest*'
            @(Get-EmulatorRequest $T).Count | Should -Be 0
            @(Get-Job).Count | Should -Be $before
        }

        It 'bad input fails in the caller as without -AsJob, and makes no job' {
            $before = @(Get-Job).Count
            $out = @(Start-DhubBatch -PipelineId 'no-such-pipeline' -Wait -AsJob -ErrorVariable errors -ErrorAction SilentlyContinue)
            $out.Count | Should -Be 0
            Get-TestErrorId $errors[0] | Should -Be 'DhubPipelineNotFound'
            @(Get-Job).Count | Should -Be $before
        }
    }

    Context 'Wait-DhubBatch -AsJob' {
        It 'a failed batch is output and gets DhubBatchFailed in Receive-Job; the job is Completed' {
            $failing = Start-DhubBatch -PipelineId 'failing-pipeline'
            $job = $failing | Wait-DhubBatch -AsJob -PollingInterval 0.2 -Timeout 60
            $null = $job | Wait-Job -Timeout 60
            $job.State | Should -Be 'Completed'
            $result = Receive-TestJob $job
            $result.Output.Count | Should -Be 1
            $result.Output[0].Outcome | Should -Be 'Failed'
            $result.ErrorIds | Should -Be @('DhubBatchFailed')
            $result.Errors[0].CategoryInfo.Category | Should -Be 'InvalidResult'
            $result.Errors[0].TargetObject.Id | Should -Be $failing.Id
        }

        It 'after -Timeout the unfinished batch is output with DhubWaitTimeout, and the batch keeps running' {
            $batch = Start-DhubBatch -PipelineId $Slow
            $job = $batch | Wait-DhubBatch -AsJob -PollingInterval 0.2 -Timeout 1
            $null = $job | Wait-Job -Timeout 30
            $job.State | Should -Be 'Completed'
            $result = Receive-TestJob $job
            $result.Output.Count | Should -Be 1
            $result.Output[0].IsComplete | Should -BeFalse
            $result.ErrorIds | Should -Be @('DhubWaitTimeout')
            $result.Errors[0].CategoryInfo.Category | Should -Be 'OperationTimeout'
            (Get-DhubBatch -PipelineId $Slow -BatchId $batch.Id).IsComplete | Should -BeFalse
        }

        It 'Receive-Job -Keep leaves the results for the next Receive-Job' {
            $job = Start-DhubBatch -PipelineId 'failing-pipeline' | Wait-DhubBatch -AsJob -PollingInterval 0.2 -Timeout 60
            $null = $job | Wait-Job -Timeout 60
            $first = Receive-TestJob $job -Keep
            $job.HasMoreData | Should -BeTrue
            $second = Receive-TestJob $job
            $second.Output.Id | Should -Be $first.Output.Id
            $second.ErrorIds | Should -Be @('DhubBatchFailed')
            $job.HasMoreData | Should -BeFalse
            (Receive-TestJob $job).Output.Count | Should -Be 0
        }

        It 'Stop-Job ends the wait within a second and never stops the batch' {
            $batch = Start-DhubBatch -PipelineId $Slow
            $job = $batch | Wait-DhubBatch -AsJob -PollingInterval 0.2
            Start-Sleep -Milliseconds 500
            Clear-EmulatorRequest $T
            $elapsed = Measure-Command { $job | Stop-Job }
            $elapsed.TotalSeconds | Should -BeLessThan 1
            $job.State | Should -Be 'Stopped'
            @(Get-EmulatorRequest $T -Operation Stop).Count | Should -Be 0
            Start-Sleep -Milliseconds 500
            @(Get-EmulatorRequest $T -Operation Poll).Count | Should -Be 0 -Because 'a stopped job polls no more'
            (Get-DhubBatch -PipelineId $Slow -BatchId $batch.Id).IsComplete | Should -BeFalse
        }

        It 'Stop-Job cancels a poll the server is holding' {
            $batch = Start-DhubBatch -PipelineId $Slow
            $null = Add-EmulatorFault $T -Operation Poll -Rule @{ mode = 'delay'; delayMs = 20000 }
            $job = $batch | Wait-DhubBatch -AsJob -PollingInterval 0.2
            Start-Sleep -Milliseconds 500
            $elapsed = Measure-Command { $job | Stop-Job }
            $elapsed.TotalSeconds | Should -BeLessThan 1
            $job.State | Should -Be 'Stopped'
            Clear-EmulatorFault $T
        }

        It 'Remove-Job -Force stops a running job and removes it' {
            $job = Start-DhubBatch -PipelineId $Slow | Wait-DhubBatch -AsJob -PollingInterval 0.2
            $job | Remove-Job -Force
            $job.State | Should -Be 'Stopped'
            Get-Job -Id $job.Id -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        }

        It 'the job keeps the connection resolved when it started, whatever the session connects to later' {
            $job = Start-DhubBatch -PipelineId 'orders' | Wait-DhubBatch -AsJob -PollingInterval 0.2 -Timeout 60
            Disconnect-Dhub # closes the session's connection; nothing in the environment to fall back on
            $null = $job | Wait-Job -Timeout 60
            $job.State | Should -Be 'Completed'
            $result = Receive-TestJob $job
            $result.ErrorIds | Should -BeNullOrEmpty
            $result.Output[0].Outcome | Should -Be 'Succeeded'
        }

        It 'the job''s Progress carries the wait''s progress records, each bar ending Completed' {
            $job = Start-DhubBatch -PipelineId 'orders' | Wait-DhubBatch -AsJob -PollingInterval 0.2 -Timeout 60
            $null = $job | Wait-Job -Timeout 60
            $records = @($job.Progress)
            $records.Count | Should -BeGreaterThan 0
            @($records | Where-Object Activity -Like 'Batch orders/*').Count | Should -BeGreaterThan 0
            foreach ($group in $records | Group-Object ActivityId) {
                $group.Group[-1].RecordType | Should -Be 'Completed'
            }
        }

        It 'a server that stops answering gives the errors Wait-DhubBatch would write (warnings while it retries, then DhubWaitTimeout)' {
            Connect-TestBackend $T -Parameters @{ MaximumRetryCount = 0 }
            $batch = Start-DhubBatch -PipelineId $Slow
            $null = Add-EmulatorFault $T -Operation Poll -Rule @{ status = 503 }
            $job = $batch | Wait-DhubBatch -AsJob -PollingInterval 0.2 -Timeout 2
            $null = $job | Wait-Job -Timeout 30
            $job.State | Should -Be 'Completed'
            @($job.Warning | Where-Object Message -Like 'Could not refresh*').Count | Should -BeGreaterThan 0
            $result = Receive-TestJob $job
            $result.ErrorIds | Should -Be @('DhubWaitTimeout')
            Clear-EmulatorFault $T
        }

        It 'a batch the server does not know ends the job''s wait with DhubBatchNotFound in Receive-Job, as Wait-DhubBatch does' {
            $null = Wait-DhubBatch -PipelineId $Slow -BatchId $T.MissingBatchId -PollingInterval 0.2 -Timeout 30 -ErrorVariable direct -ErrorAction SilentlyContinue
            $job = Wait-DhubBatch -PipelineId $Slow -BatchId $T.MissingBatchId -AsJob -PollingInterval 0.2 -Timeout 30
            $null = $job | Wait-Job -Timeout 30
            $job.State | Should -Be 'Completed'
            $result = Receive-TestJob $job
            $result.ErrorIds | Should -Be @('DhubBatchNotFound')
            $result.ErrorIds | Should -Be @($direct | ForEach-Object { Get-TestErrorId $_ })
            $result.Output.Count | Should -Be 0
        }

        It 'ten jobs on ten batches of one pipeline cost the server no more polls than one wait on the ten' {
            $batches = @(1..10 | ForEach-Object { Start-DhubBatch -PipelineId $Slow })
            Clear-EmulatorRequest $T
            $null = $batches | Wait-DhubBatch -PollingInterval 0.5 -Timeout 3 -ErrorAction SilentlyContinue
            $oneWait = @(Get-EmulatorRequest $T).Count

            Clear-EmulatorRequest $T
            $jobs = @($batches | ForEach-Object { $_ | Wait-DhubBatch -AsJob -PollingInterval 0.5 -Timeout 3 })
            $null = $jobs | Wait-Job -Timeout 30
            $tenJobs = @(Get-EmulatorRequest $T).Count
            @($jobs | Where-Object State -NE 'Completed').Count | Should -Be 0
            foreach ($job in $jobs) { (Receive-TestJob $job).ErrorIds | Should -Be @('DhubWaitTimeout') }
            # A round each 0.5 s in both; unshared, the ten jobs would read each batch apart (10× on dhub).
            $tenJobs | Should -BeLessOrEqual ([math]::Ceiling($oneWait * 1.5) + 2)
        }
    }

    Context 'Stop-DhubBatch -Wait -AsJob' {
        It 'sends the stop before returning; Receive-Job yields the stopped batch (-PassThru)' {
            $batch = Start-DhubBatch -PipelineId $Slow
            Clear-EmulatorRequest $T
            $job = $batch | Stop-DhubBatch -Wait -PassThru -AsJob -Timeout 60
            $job | Should -BeOfType ([DhubBatches.DhubJob])
            @(Get-EmulatorRequest $T -Operation Stop).Count | Should -BeGreaterThan 0
            $null = $job | Wait-Job -Timeout 60
            $job.State | Should -Be 'Completed'
            $result = Receive-TestJob $job
            $result.ErrorIds | Should -BeNullOrEmpty
            $result.Output.Count | Should -Be 1
            $result.Output[0].Id | Should -Be $batch.Id
            $result.Output[0].Outcome | Should -Be 'Stopped'
        }

        It '-WhatIf sends no stop and makes no job' {
            $batch = Start-DhubBatch -PipelineId $Slow
            Clear-EmulatorRequest $T
            $out = @($batch | Stop-DhubBatch -Wait -AsJob -WhatIf)
            $out.Count | Should -Be 0
            @(Get-EmulatorRequest $T -Operation Stop).Count | Should -Be 0
        }

        It 'without -Wait is DhubBadRequest before any request' {
            $batch = Start-DhubBatch -PipelineId $Slow
            Clear-EmulatorRequest $T
            { $batch | Stop-DhubBatch -AsJob -ErrorAction Stop } | Should -Throw -ErrorId 'DhubBadRequest*'
            @(Get-EmulatorRequest $T).Count | Should -Be 0
        }
    }

    Context 'Restart-DhubBatch -Wait -AsJob on dhub' -Skip:($Backend -ne 'Dhub') {
        It 'is DhubNotSupported before any request, and makes no job' {
            $batch = Start-DhubBatch -PipelineId $Slow
            Clear-EmulatorRequest $T
            $before = @(Get-Job).Count
            $out = @($batch | Restart-DhubBatch -Wait -AsJob -ErrorVariable errors -ErrorAction SilentlyContinue)
            $out.Count | Should -Be 0
            Get-TestErrorId $errors[0] | Should -Be 'DhubNotSupported'
            @(Get-EmulatorRequest $T).Count | Should -Be 0
            @(Get-Job).Count | Should -Be $before
        }
    }

    Context 'Restart-DhubBatch -Wait -AsJob on Prefect' -Skip:($Backend -ne 'Prefect') {
        It 'restarts before returning; Receive-Job yields the batch when its new attempt completes' {
            $done = Start-DhubBatch -PipelineId 'orders' -Wait -PollingInterval 0.2 -Timeout 60
            $job = $done | Restart-DhubBatch -Wait -AsJob -PollingInterval 0.2 -Timeout 60
            $job | Should -BeOfType ([DhubBatches.DhubJob])
            $null = $job | Wait-Job -Timeout 60
            $job.State | Should -Be 'Completed'
            $result = Receive-TestJob $job
            $result.ErrorIds | Should -BeNullOrEmpty
            $result.Output.Count | Should -Be 1
            $result.Output[0].Id | Should -Be $done.Id
            $result.Output[0].Outcome | Should -Be 'Succeeded'
            @(Get-EmulatorRequest $T -Operation Stop).Count | Should -BeGreaterThan 0 -Because 'the restart is a set_state, sent by the command'
        }

        It 'a restarted batch that fails again gets DhubBatchFailed in Receive-Job' {
            $done = Start-DhubBatch -PipelineId 'failing-pipeline' -Wait -PollingInterval 0.2 -Timeout 60 -ErrorAction SilentlyContinue
            $job = $done | Restart-DhubBatch -Wait -AsJob -PollingInterval 0.2 -Timeout 60
            $null = $job | Wait-Job -Timeout 60
            $job.State | Should -Be 'Completed'
            (Receive-TestJob $job).ErrorIds | Should -Be @('DhubBatchFailed')
        }

        It 'without -Wait is DhubBadRequest before any request' {
            { Restart-DhubBatch -PipelineId 'orders' -BatchId $T.MissingBatchId -AsJob -ErrorAction Stop } | Should -Throw -ErrorId 'DhubBadRequest*'
        }
    }

    Context 'Get-DhubBatchLog -Follow -AsJob on dhub' -Skip:($Backend -ne 'Dhub') {
        It 'is DhubNotSupported before any request, and makes no job' {
            $batch = Start-DhubBatch -PipelineId 'orders'
            Clear-EmulatorRequest $T
            $before = @(Get-Job).Count
            $out = @($batch | Get-DhubBatchLog -Follow -AsJob -ErrorVariable errors -ErrorAction SilentlyContinue)
            $out.Count | Should -Be 0
            Get-TestErrorId $errors[0] | Should -Be 'DhubNotSupported'
            @(Get-EmulatorRequest $T).Count | Should -Be 0
            @(Get-Job).Count | Should -Be $before
        }
    }

    Context 'Get-DhubBatchLog -Follow -AsJob on Prefect' -Skip:($Backend -ne 'Prefect') {
        It 'Receive-Job yields the whole log, as -Follow without -AsJob reads it, once the batch is complete' {
            $batch = Start-DhubBatch -PipelineId 'orders'
            $job = $batch | Get-DhubBatchLog -Follow -AsJob -PollingInterval 0.2
            $job | Should -BeOfType ([DhubBatches.DhubJob])
            $null = $job | Wait-Job -Timeout 60
            $job.State | Should -Be 'Completed'
            $result = Receive-TestJob $job
            $result.ErrorIds | Should -BeNullOrEmpty
            $expected = @($batch | Get-DhubBatchLog)
            $expected.Count | Should -BeGreaterThan 0
            @($result.Output | ForEach-Object Message) | Should -Be @($expected | ForEach-Object Message)
            $result.Output[0] | Should -BeOfType ([DhubBatches.BatchLogEntry])
        }

        It 'Stop-Job ends the following within a second; the batch keeps running' {
            $batch = Start-DhubBatch -PipelineId $Slow
            $job = $batch | Get-DhubBatchLog -Follow -AsJob -PollingInterval 0.2
            Start-Sleep -Milliseconds 500
            $elapsed = Measure-Command { $job | Stop-Job }
            $elapsed.TotalSeconds | Should -BeLessThan 1
            $job.State | Should -Be 'Stopped'
            (Get-DhubBatch -PipelineId $Slow -BatchId $batch.Id).IsComplete | Should -BeFalse
        }

        It 'Disconnect-Dhub while the job reads: it goes on through the connection it started with, every line once' {
            Add-EmulatorPipeline $T 'log-disconnect' -StepSeconds 1
            $batch = Start-DhubBatch -PipelineId 'log-disconnect'
            $job = $batch | Get-DhubBatchLog -Follow -AsJob -PollingInterval 0.2
            Wait-TestCondition { $job.Output.Count -gt 0 } -TimeoutSec 30 | Should -BeTrue -Because 'the worker writes its lines before the tasks run'
            (Get-DhubBatch -PipelineId 'log-disconnect' -BatchId $batch.Id).IsComplete | Should -BeFalse -Because 'lines are still to come'
            $atDisconnect = $job.Output.Count
            Disconnect-Dhub # closes the engine the job's reader was made by
            $null = $job | Wait-Job -Timeout 60
            $job.State | Should -Be 'Completed'
            $result = Receive-TestJob $job
            $result.ErrorIds | Should -BeNullOrEmpty
            Connect-TestBackend $T
            $expected = @(Get-DhubBatchLog -PipelineId 'log-disconnect' -BatchId $batch.Id)
            $expected.Count | Should -BeGreaterThan $atDisconnect -Because 'the job read lines after the disconnect'
            @($result.Output | ForEach-Object Message) | Should -Be @($expected | ForEach-Object Message)
        }

        It 'a missing batch fails in the job as without -AsJob: DhubBatchNotFound in Receive-Job' {
            $expected = @(Get-DhubBatchLog -PipelineId 'orders' -BatchId $T.MissingBatchId -Follow -PollingInterval 0.2 -ErrorVariable direct -ErrorAction SilentlyContinue)
            $job = Get-DhubBatchLog -PipelineId 'orders' -BatchId $T.MissingBatchId -Follow -AsJob -PollingInterval 0.2
            $null = $job | Wait-Job -Timeout 30
            $result = Receive-TestJob $job
            $result.ErrorIds | Should -Be @($direct | ForEach-Object { Get-TestErrorId $_ })
            $result.Output.Count | Should -Be $expected.Count
        }

        It 'without -Follow is DhubBadRequest before any request' {
            { Get-DhubBatchLog -PipelineId 'orders' -BatchId $T.MissingBatchId -AsJob -ErrorAction Stop } | Should -Throw -ErrorId 'DhubBadRequest*'
        }
    }

    Context 'Remove-Module' {
        It 'stops every running job of the session cleanly' {
            $ps = New-TestPowerShell -Context $T
            try {
                $states = @($ps.AddScript(@"
`$script:jobs = @(1..3 | ForEach-Object { Start-DhubBatch -PipelineId $Slow -Wait -AsJob -PollingInterval 0.2 })
Remove-Module DhubBatches
`$script:jobs | ForEach-Object { `$_.State.ToString() }
"@).Invoke())
                $ps.Streams.Error | ForEach-Object { "$_" } | Should -BeNullOrEmpty
                $states | Should -Be @('Stopped', 'Stopped', 'Stopped')
            }
            finally {
                Remove-TestPowerShell $ps
            }
        }
    }
}
