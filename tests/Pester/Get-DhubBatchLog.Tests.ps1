# Get-DhubBatchLog: on Prefect the flow run's log read with POST /logs/filter (filters on the server, oldest first,
# page by page, -Tail from the newest end, -Follow until the run ends); on dhub DhubNotSupported before any request.

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
    function Get-TestLogReadCount($Context) { @(Get-EmulatorRequest $Context | Where-Object rawTarget -Like '*/logs/filter').Count }

    # A flow run's whole log straight from the server, oldest first, each line with the step its task run is of (the
    # task run's name without the suffix Prefect adds: "-<n>" in 2, "-<3 chars>" in 3).
    function Get-TestRawLog($Context, [string] $FlowRunId) {
        $stepOf = @{}
        foreach ($taskRun in Get-TestTaskRun $Context $FlowRunId) { $stepOf[$taskRun.id] = $taskRun.name -replace '-[^-]+$', '' }
        $lines = @(Invoke-TestPrefectApi $Context POST 'logs/filter' @{ logs = @{ flow_run_id = @{ any_ = @($FlowRunId) } }; sort = 'TIMESTAMP_ASC'; limit = 200 })
        $lines.Count | Should -BeLessThan 200 -Because 'the whole log fits one read'
        foreach ($line in $lines) {
            [pscustomobject]@{
                Key       = Get-TestLineKey ([DateTimeOffset]$line.timestamp) $line.level $line.message
                Level     = [int]$line.level
                TaskRunId = $line.task_run_id
                Step      = if ($line.task_run_id) { $stepOf[$line.task_run_id] } else { $null }
            }
        }
    }
    # What identifies a line in order checks: its instant, level and text.
    function Get-TestLineKey([DateTimeOffset] $Timestamp, [int] $Level, [string] $Message) { '{0}|{1}|{2}' -f $Timestamp.UtcTicks, $Level, $Message }
    function Get-TestEntryKey($Entry) { Get-TestLineKey $Entry.Timestamp ([int]$Entry.Level) $Entry.Message }
}

Describe 'Get-DhubBatchLog (<Name>)' -Tag 'Log' -ForEach $Backends {
    BeforeAll {
        $script:SavedEnvironment = Save-TestConnectionEnvironment -EmptyHome (Join-Path $TestDrive 'prefect-home')
        $script:T = Start-TestBackend -Backend $Backend -PrefectVersion $PrefectVersion
        Connect-TestBackend $T
    }
    AfterAll {
        Disconnect-Dhub
        Stop-TestBackend $T
        Restore-TestConnectionEnvironment $SavedEnvironment
    }

    Context 'dhub keeps no logs' -Skip:($Backend -ne 'Dhub') {
        BeforeAll { $script:Batch = Start-DhubBatch -PipelineId 'orders' -Wait -PollingInterval 0.2 -Timeout 60 }

        It 'is DhubNotSupported (NotImplemented) before any request, pointing to the Steps <Label>' -ForEach @(
            @{ Label = 'by id'; Splat = @{} }
            @{ Label = 'with -Follow'; Splat = @{ Follow = $true; PollingInterval = 0.2 } }
            @{ Label = 'with -Tail'; Splat = @{ Tail = 5 } }
            @{ Label = 'with -Step and -MinimumLevel'; Splat = @{ Step = 'extract'; MinimumLevel = 'Error' } }
        ) {
            Clear-EmulatorRequest $T
            $out = @(Get-DhubBatchLog -PipelineId 'orders' -BatchId $Batch.Id @Splat -ErrorVariable errors -ErrorAction SilentlyContinue)
            $out.Count | Should -Be 0
            $errors.Count | Should -Be 1
            Get-TestErrorId $errors[0] | Should -Be 'DhubNotSupported'
            $errors[0].CategoryInfo.Category | Should -Be 'NotImplemented'
            $errors[0].Exception.Message | Should -Match 'Get-DhubBatch' -Because 'it says what to use instead'
            $errors[0].Exception.Message | Should -Match 'Steps'
            @(Get-EmulatorRequest $T).Count | Should -Be 0
        }

        It 'gives one DhubNotSupported per piped batch and sends nothing' {
            $batches = @($Batch, (Start-DhubBatch -PipelineId 'inventory'))
            Clear-EmulatorRequest $T
            $out = @($batches | Get-DhubBatchLog -ErrorVariable errors -ErrorAction SilentlyContinue)
            $out.Count | Should -Be 0
            $errors.Count | Should -Be 2
            $errors | ForEach-Object { Get-TestErrorId $_ | Should -Be 'DhubNotSupported' }
            @(Get-EmulatorRequest $T).Count | Should -Be 0
        }
    }

    Context 'Prefect: a finished flow run' -Skip:($Backend -ne 'Prefect') {
        BeforeAll {
            Reset-Emulator $T
            $script:Failed = Start-DhubBatch -PipelineId 'failing-pipeline' -Wait -PollingInterval 0.2 -Timeout 60 -ErrorAction SilentlyContinue
            $script:Done = Start-DhubBatch -PipelineId 'sales-pipeline' -Wait -PollingInterval 0.2 -Timeout 60
            $script:FailedLog = @(Get-TestRawLog $T $Failed.Id)
            $script:DoneLog = @(Get-TestRawLog $T $Done.Id)
        }

        It 'both runs are finished and wrote flow-level and task-level lines' {
            $Failed.Outcome | Should -Be ([DhubBatches.BatchOutcome]::Failed)
            $Done.Outcome | Should -Be ([DhubBatches.BatchOutcome]::Succeeded)
            foreach ($log in $FailedLog, $DoneLog) {
                @($log | Where-Object { -not $_.TaskRunId }).Count | Should -BeGreaterThan 0
                @($log | Where-Object { $_.TaskRunId }).Count | Should -BeGreaterThan 0
            }
        }

        It 'outputs every line of the run once, oldest first, as DhubBatches.BatchLogEntry' {
            $out = @(Get-DhubBatchLog -PipelineId 'sales-pipeline' -BatchId $Done.Id)
            $out.Count | Should -Be $DoneLog.Count
            $out | ForEach-Object { $_ | Should -BeOfType ([DhubBatches.BatchLogEntry]) }
            $out[0].PSObject.TypeNames[0] | Should -Be 'DhubBatches.BatchLogEntry'
            @($out | ForEach-Object { Get-TestEntryKey $_ }) | Should -Be @($DoneLog.Key)
            for ($i = 1; $i -lt $out.Count; $i++) { $out[$i].Timestamp | Should -BeGreaterOrEqual $out[$i - 1].Timestamp }
            @($out.PipelineId | Sort-Object -Unique) | Should -Be 'sales-pipeline'
            @($out.BatchId | Sort-Object -Unique) | Should -Be $Done.Id
            $out[0].Connection | Should -Be (Get-DhubConnection)
        }

        It 'names each task-level line by its step, as Steps does, and leaves flow-level lines without one' {
            $out = @(Get-DhubBatchLog -PipelineId 'sales-pipeline' -BatchId $Done.Id)
            @($out.Step) | Should -Be @($DoneLog.Step)
            $named = @($out | Where-Object Step | ForEach-Object Step | Sort-Object -Unique)
            $named | Should -Be @($Done.Steps.Name | Sort-Object) -Because 'each step logged, under the clean step name (no task run suffix)'
            @($out | Where-Object { -not $_.Step }).Count | Should -Be @($DoneLog | Where-Object { -not $_.TaskRunId }).Count
        }

        It 'reads with POST /logs/filter by the flow run id, oldest first, with no other filter' {
            $mark = Get-TestPrefectBodyCount $T
            $null = Get-DhubBatchLog -PipelineId 'sales-pipeline' -BatchId $Done.Id
            $reads = @(Get-TestPrefectBody $T '*/logs/filter' -Skip $mark)
            $reads.Count | Should -Be 1
            @($reads[0].logs.flow_run_id.any_) | Should -Be @($Done.Id)
            $reads[0].sort | Should -Be 'TIMESTAMP_ASC'
            $reads[0].logs.PSObject.Properties.Name | Should -Not -Contain 'task_run_id'
            $reads[0].logs.PSObject.Properties.Name | Should -Not -Contain 'level'
        }

        It 'binds a piped batch by PipelineId and Id' {
            $out = @($Done | Get-DhubBatchLog)
            @($out | ForEach-Object { Get-TestEntryKey $_ }) | Should -Be @($DoneLog.Key)
        }

        It 'the default view is a table of time, level, step and message' {
            $text = Get-DhubBatchLog -PipelineId 'sales-pipeline' -BatchId $Done.Id | Select-Object -First 3 | Format-Table | Out-String -Width 250
            $header = @($text -split "`r?`n" | Where-Object { $_.Trim() })[0]
            @($header -split '\s+' | Where-Object { $_ }) | Should -Be @('Timestamp', 'Level', 'Step', 'Message')
        }

        It '-MinimumLevel <Level> sends level.ge_ <Number> and outputs only lines at that level or above' -ForEach @(
            @{ Level = 'Debug'; Number = 10 }
            @{ Level = 'Info'; Number = 20 }
            @{ Level = 'Warning'; Number = 30 }
            @{ Level = 'Error'; Number = 40 }
            @{ Level = 'Critical'; Number = 50 }
        ) {
            $mark = Get-TestPrefectBodyCount $T
            $out = @(Get-DhubBatchLog -PipelineId 'failing-pipeline' -BatchId $Failed.Id -MinimumLevel $Level)
            $reads = @(Get-TestPrefectBody $T '*/logs/filter' -Skip $mark)
            $reads.Count | Should -BeGreaterThan 0
            $reads | ForEach-Object { $_.logs.level.ge_ | Should -Be $Number }
            @($out | ForEach-Object { Get-TestEntryKey $_ }) | Should -Be @($FailedLog | Where-Object Level -GE $Number | ForEach-Object Key)
            $out | ForEach-Object { [int]$_.Level | Should -BeGreaterOrEqual $Number }
        }

        It '-MinimumLevel Error shows why a batch failed: the failed step and the batch' {
            $out = @(Get-DhubBatchLog -PipelineId 'failing-pipeline' -BatchId $Failed.Id -MinimumLevel Error)
            $out.Count | Should -BeGreaterThan 0
            @($out.Level | Sort-Object -Unique) | Should -Be @([DhubBatches.BatchLogLevel]::Error)
            @($out | Where-Object Step -EQ 'transform' | Where-Object Message -Match 'RuntimeError: transform failed').Count | Should -BeGreaterThan 0
            @($out | Where-Object { -not $_.Step } | Where-Object Message -Match 'Flow run encountered an exception').Count | Should -BeGreaterThan 0
            @($out | Where-Object Step -In 'extract', 'load').Count | Should -Be 0
        }

        It '-Step <Steps> sends the task run ids of those steps and outputs only their lines' -ForEach @(
            @{ Steps = @('transform') }
            @{ Steps = @('extract', 'load') }
        ) {
            $taskRunIds = @(Get-TestTaskRun $T $Failed.Id | Where-Object { ($_.name -replace '-[^-]+$', '') -in $Steps } | ForEach-Object id)
            $taskRunIds.Count | Should -BeGreaterThan 0
            $mark = Get-TestPrefectBodyCount $T
            $out = @(Get-DhubBatchLog -PipelineId 'failing-pipeline' -BatchId $Failed.Id -Step $Steps)
            $reads = @(Get-TestPrefectBody $T '*/logs/filter' -Skip $mark)
            $reads.Count | Should -BeGreaterThan 0
            foreach ($body in $reads) {
                @($body.logs.task_run_id.any_ | Sort-Object) | Should -Be @($taskRunIds | Sort-Object)
                @($body.logs.flow_run_id.any_) | Should -Be @($Failed.Id)
            }
            $expected = @($FailedLog | Where-Object { $_.TaskRunId -in $taskRunIds })
            @($out | ForEach-Object { Get-TestEntryKey $_ }) | Should -Be @($expected.Key)
            $out | ForEach-Object { $_.Step | Should -BeIn $Steps }
        }

        It '-Step and -MinimumLevel combine on the server' {
            $mark = Get-TestPrefectBodyCount $T
            $out = @(Get-DhubBatchLog -PipelineId 'failing-pipeline' -BatchId $Failed.Id -Step transform -MinimumLevel Error)
            $body = @(Get-TestPrefectBody $T '*/logs/filter' -Skip $mark)[0]
            $body.logs.level.ge_ | Should -Be 40
            @($body.logs.task_run_id.any_).Count | Should -BeGreaterThan 0
            $out.Count | Should -Be @($FailedLog | Where-Object { $_.Step -eq 'transform' -and $_.Level -ge 40 }).Count
            $out.Count | Should -BeGreaterThan 0
        }

        It '-Step offers the batch''s step names on Tab' {
            $line = "Get-DhubBatchLog -PipelineId failing-pipeline -BatchId $($Failed.Id) -Step "
            $found = @((TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText)
            @($found | Sort-Object) | Should -Be @('extract', 'load', 'transform')
            $line = "Get-DhubBatchLog -PipelineId failing-pipeline -BatchId $($Failed.Id) -Step tr"
            @((TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText) | Should -Be @('transform')
        }

        It 'a -Step the batch does not have is DhubBadRequest naming its steps, and no log is read' {
            Clear-EmulatorRequest $T
            $out = @(Get-DhubBatchLog -PipelineId 'failing-pipeline' -BatchId $Failed.Id -Step 'publish' -ErrorVariable errors -ErrorAction SilentlyContinue)
            $out.Count | Should -Be 0
            $errors.Count | Should -Be 1
            Get-TestErrorId $errors[0] | Should -Be 'DhubBadRequest'
            $errors[0].Exception.Message | Should -Match "'publish'"
            foreach ($step in 'extract', 'transform', 'load') { $errors[0].Exception.Message | Should -Match "'$step'" }
            Get-TestLogReadCount $T | Should -Be 0
        }

        It '-Tail <Count> asks for the newest <Count> only (TIMESTAMP_DESC) and outputs them oldest first' -ForEach @(
            @{ Count = 1 }
            @{ Count = 4 }
        ) {
            $mark = Get-TestPrefectBodyCount $T
            $out = @(Get-DhubBatchLog -PipelineId 'failing-pipeline' -BatchId $Failed.Id -Tail $Count)
            $reads = @(Get-TestPrefectBody $T '*/logs/filter' -Skip $mark)
            $reads.Count | Should -Be 1
            $reads[0].sort | Should -Be 'TIMESTAMP_DESC'
            $reads[0].limit | Should -Be $Count
            $reads[0].offset | Should -Be 0
            @($out | ForEach-Object { Get-TestEntryKey $_ }) | Should -Be @($FailedLog | Select-Object -Last $Count | ForEach-Object Key)
        }

        It '-Tail larger than the log outputs the whole log, oldest first' {
            $out = @(Get-DhubBatchLog -PipelineId 'failing-pipeline' -BatchId $Failed.Id -Tail 1000)
            @($out | ForEach-Object { Get-TestEntryKey $_ }) | Should -Be @($FailedLog.Key)
        }

        It 'errors are non-terminating, one per piped batch: <Case>' -ForEach @(
            @{ Case = 'an unknown batch'; Pipeline = 'sales-pipeline'; Id = '0badc0de-0000-4000-8000-000000000404'; ErrorId = 'DhubBatchNotFound' }
            @{ Case = 'an unknown pipeline'; Pipeline = 'no-such-pipeline'; Id = $null; ErrorId = 'DhubPipelineNotFound' }
        ) {
            $bad = [pscustomobject]@{ PipelineId = $Pipeline; Id = ($Id ?? $Done.Id) }
            $out = @($bad, $Done | Get-DhubBatchLog -ErrorVariable errors -ErrorAction SilentlyContinue)
            $errors.Count | Should -Be 1
            Get-TestErrorId $errors[0] | Should -Be $ErrorId
            @($out | ForEach-Object { Get-TestEntryKey $_ }) | Should -Be @($DoneLog.Key) -Because 'the good batch is still read'
        }
    }

    Context 'Prefect: a log longer than a page' -Skip:($Backend -ne 'Prefect') {
        BeforeAll {
            Reset-Emulator $T
            Connect-TestBackend $T
            $script:Long = Start-DhubBatch -PipelineId 'failing-pipeline' -Wait -PollingInterval 0.2 -Timeout 60 -ErrorAction SilentlyContinue
            $script:LongLog = @(Get-TestRawLog $T $Long.Id)
            # Two lines a page: many pages, each read from the last line's timestamp on (inclusive), so the line at the
            # cursor comes back and must not be output twice.
            Set-EmulatorPrefectSetting $T @{ defaultLimit = 2 }
        }
        AfterAll {
            Set-EmulatorPrefectSetting $T @{ defaultLimit = 200 }
            Connect-TestBackend $T # a fresh connection, which has not learnt the lowered limit
        }

        It 'the log is more than five pages long' {
            $LongLog.Count | Should -BeGreaterThan 10
        }

        It 'outputs every line once and in order, streaming: the first line comes before the last page is read' {
            Clear-EmulatorRequest $T
            $mark = Get-TestPrefectBodyCount $T
            $readsAtFirst = $null
            $out = @(Get-DhubBatchLog -PipelineId 'failing-pipeline' -BatchId $Long.Id | ForEach-Object {
                    if ($null -eq $readsAtFirst) { $readsAtFirst = Get-TestLogReadCount $T }
                    $_
                })
            $readsAtEnd = Get-TestLogReadCount $T
            @($out | ForEach-Object { Get-TestEntryKey $_ }) | Should -Be @($LongLog.Key) -Because 'all lines, none twice, in order'
            $readsAtEnd | Should -BeGreaterOrEqual ([math]::Ceiling($LongLog.Count / 2))
            $readsAtFirst | Should -BeLessThan $readsAtEnd -Because 'lines are output page by page as pages arrive'
            $bodies = @(Get-TestPrefectBody $T '*/logs/filter' -Skip $mark)
            $bodies.Count | Should -Be $readsAtEnd
            $bodies | ForEach-Object { $_.limit | Should -BeLessOrEqual 2; $_.sort | Should -Be 'TIMESTAMP_ASC' }
        }

        It '-Tail more than a page reads newest pages until it has them, and outputs them oldest first' {
            $out = @(Get-DhubBatchLog -PipelineId 'failing-pipeline' -BatchId $Long.Id -Tail 7)
            @($out | ForEach-Object { Get-TestEntryKey $_ }) | Should -Be @($LongLog | Select-Object -Last 7 | ForEach-Object Key)
        }

        It '-Step over several pages outputs all of the step''s lines once' {
            $out = @(Get-DhubBatchLog -PipelineId 'failing-pipeline' -BatchId $Long.Id -Step extract, transform)
            @($out | ForEach-Object { Get-TestEntryKey $_ }) | Should -Be @($LongLog | Where-Object Step -In 'extract', 'transform' | ForEach-Object Key)
        }
    }

    Context 'Prefect: -Follow' -Skip:($Backend -ne 'Prefect') {
        BeforeAll {
            Reset-Emulator $T
            Connect-TestBackend $T
        }

        It 'keeps reading new lines while the batch runs, and returns once it is complete with every line once' {
            Add-EmulatorPipeline $T 'paced' -StepSeconds 1
            $batch = Start-DhubBatch -PipelineId 'paced'
            $statesSeen = [System.Collections.Generic.List[string]]::new()
            $out = @(Get-DhubBatchLog -PipelineId 'paced' -BatchId $batch.Id -Follow -PollingInterval 0.2 | ForEach-Object {
                    $statesSeen.Add((Invoke-EmulatorControl $T GET "prefect/runs/$($batch.Id)").stateType)
                    $_
                })
            (Invoke-EmulatorControl $T GET "prefect/runs/$($batch.Id)").stateType | Should -Be 'COMPLETED' -Because '-Follow returns when the batch is complete'
            $statesSeen[0] | Should -Not -Be 'COMPLETED' -Because 'lines were output while the batch still ran'
            $full = @(Get-TestRawLog $T $batch.Id)
            @($out | ForEach-Object { Get-TestEntryKey $_ }) | Should -Be @($full.Key) -Because 'every line once, in order, the last ones included'
            @($out.Step | Where-Object { $_ } | Sort-Object -Unique) | Should -Be @('extract', 'load', 'transform')
            Get-TestLogReadCount $T | Should -BeGreaterThan 2
        }

        It '-Tail with -Follow outputs the newest lines first, then what follows, each once' {
            Add-EmulatorPipeline $T 'paced-tail' -StepSeconds 1
            $batch = Start-DhubBatch -PipelineId 'paced-tail'
            # Wait until the run has written a few lines, so -Tail has more to choose from than it keeps.
            Wait-TestCondition -TimeoutSec 30 { @(Get-TestRawLog $T $batch.Id).Count -ge 4 } | Should -BeTrue
            $out = @(Get-DhubBatchLog -PipelineId 'paced-tail' -BatchId $batch.Id -Tail 2 -Follow -PollingInterval 0.2)
            $full = @(Get-TestRawLog $T $batch.Id)
            $keys = @($out | ForEach-Object { Get-TestEntryKey $_ })
            @($keys | Sort-Object -Unique).Count | Should -Be $keys.Count -Because 'no line twice'
            $keys | Should -Be @($full.Key | Select-Object -Last $keys.Count) -Because 'a tail, then everything after it, in order'
            $keys.Count | Should -BeLessThan $full.Count -Because 'the lines before the tail are left out'
        }

        It 'Ctrl+C stops following within a second, stops reading, and leaves the batch running' {
            Add-EmulatorPipeline $T 'slow-follow' -StepSeconds 60
            $batch = Start-DhubBatch -PipelineId 'slow-follow'
            Move-EmulatorClock $T 150 # in its first task, writing lines
            $ps = New-TestPowerShell $T
            try {
                # The default polling interval (2 s): Ctrl+C must not wait for it.
                $null = $ps.AddCommand('Get-DhubBatchLog').AddParameter('PipelineId', 'slow-follow').AddParameter('BatchId', $batch.Id).AddParameter('Follow')
                Clear-EmulatorRequest $T
                $async = $ps.BeginInvoke()
                Wait-TestCondition -TimeoutSec 20 { (Get-TestLogReadCount $T) -ge 2 } | Should -BeTrue -Because 'it is following'
                $ps.InvocationStateInfo.State | Should -Be 'Running'
                $stopwatch = [Diagnostics.Stopwatch]::StartNew()
                $ps.Stop()
                $stopwatch.Stop()
                $stopwatch.Elapsed.TotalSeconds | Should -BeLessThan 1 -Because 'Ctrl+C stops following within a second'
                $ps.InvocationStateInfo.State | Should -Be 'Stopped'
                try { $null = $ps.EndInvoke($async) } catch { $null = $_ } # a stopped pipeline throws PipelineStoppedException

                $readsAfterStop = Get-TestLogReadCount $T
                Start-Sleep -Seconds 3
                Get-TestLogReadCount $T | Should -Be $readsAfterStop -Because 'nothing keeps reading after the stop'
                (Invoke-EmulatorControl $T GET "prefect/runs/$($batch.Id)").stateType | Should -Be 'RUNNING' -Because 'Ctrl+C stops following, not the batch'
                @(Get-EmulatorRequest $T -Operation Stop).Count | Should -Be 0
            }
            finally { Remove-TestPowerShell $ps }
        }
    }
}
