# How the module reads what a real Prefect server shows: generated and custom task run names, attempts, every artifact
# form, parameter checks, schedules, the state names Prefect uses, list limits and paging, connection checks and stuck
# cancels. Each runs end to end (module cmdlets against the emulator) in Prefect 3 and Prefect 2 mode; docs/prefect.md
# says why each expectation is what it is. Long-lived states are reached with 30-second steps and the emulator's clock.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'DhubBatchesTestUtils.psm1')
    $PrefectBackends = Get-TestBackend -PrefectOnly
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'DhubBatchesTestUtils.psm1')
    Import-TestModule

    function Get-PrefectStat([Parameter(Mandatory)] $Context) { Invoke-EmulatorControl $Context GET 'prefect/stats' }

    function Get-RequestPath($Request) { '/' + ($Request.pathSegments -join '/') }

    # Prefect request bodies the emulator kept, oldest first, for one API path (e.g. '/task_runs/filter').
    function Get-PrefectBody([Parameter(Mandatory)] $Context, [Parameter(Mandatory)][string] $PathEnd) {
        @(Invoke-EmulatorControl $Context GET 'prefect/bodies' | ForEach-Object { $_ } |
            Where-Object { $_.path -like "*$PathEnd" } | ForEach-Object { $_.body | ConvertFrom-Json })
    }

    # A time from a JSON answer: ConvertFrom-Json may already have made it a DateTime (keep its precision and kind).
    function ConvertTo-TestTime($Value) {
        if ($Value -is [datetime]) { return [DateTimeOffset]$Value }
        [DateTimeOffset]::Parse($Value, [Globalization.CultureInfo]::InvariantCulture)
    }

    function Get-EmulatorNow([Parameter(Mandatory)] $Context) { ConvertTo-TestTime (Invoke-EmulatorControl $Context GET 'clock').now }

    function Get-RawArtifact([Parameter(Mandatory)] $Context, [Parameter(Mandatory)][string] $FlowRunId) {
        @(Invoke-TestPrefectApi $Context POST 'artifacts/filter' @{ artifacts = @{ flow_run_id = @{ any_ = @($FlowRunId) } }; sort = 'CREATED_DESC' })
    }

    # What one artifact's data says per partition, read the way Prefect's helpers store it: an object, a JSON string of
    # one, or a table (a list of such objects, itself maybe a JSON string).
    function ConvertFrom-ArtifactData($Data) {
        $value = if ($Data -is [string]) { $Data | ConvertFrom-Json -NoEnumerate } else { $Data }
        $result = @{}
        foreach ($row in @($value)) {
            foreach ($property in $row.PSObject.Properties) { $result[$property.Name] = [long]$property.Value }
        }
        $result
    }

    # The offsets a step should show, from the raw answers: per task run of the step the newest offsets-shaped
    # artifact, merged by partition. Returns the merged offsets and the task runs' older (overtaken) ones.
    function Get-ExpectedOffset([Parameter(Mandatory)] $Context, [Parameter(Mandatory)][string] $FlowRunId, [Parameter(Mandatory)][string[]] $TaskRunId) {
        $artifacts = Get-RawArtifact $Context $FlowRunId | Where-Object {
            $_.task_run_id -in $TaskRunId -and $_.type -notin 'result', 'progress', 'image' -and ($_.type -eq 'offsets' -or $_.key -eq 'offsets' -or "$($_.key)" -like '*-offsets')
        }
        $merged = @{}
        $older = @()
        foreach ($group in $artifacts | Group-Object task_run_id) {
            $sorted = @($group.Group | Sort-Object { (ConvertTo-TestTime $_.created).UtcTicks } -Descending)
            $newest = ConvertFrom-ArtifactData $sorted[0].data
            foreach ($key in $newest.Keys) { $merged[$key] = $newest[$key] }
            $older += @($sorted | Select-Object -Skip 1 | ForEach-Object { ConvertFrom-ArtifactData $_.data })
        }
        [pscustomobject]@{ Merged = $merged; Older = $older }
    }

    function ConvertTo-OffsetTable($Offsets) {
        $table = @{}
        foreach ($key in $Offsets.Keys) { $table[$key] = [long]$Offsets[$key] }
        $table
    }

    function Format-Offset($Table) { (@($Table.Keys | Sort-Object | ForEach-Object { "$_=$($Table[$_])" }) -join '; ') }

    # The name the module should give a task run (docs/prefect.md, Step names).
    function Get-StrippedName($TaskRun) {
        $name = $TaskRun.name; $key = "$($TaskRun.dynamic_key)"
        if ($key -and $name.EndsWith("-$key")) { return $name.Substring(0, $name.Length - $key.Length - 1) }
        if ($key.Length -gt 3 -and $name.EndsWith('-' + $key.Substring(0, 3))) { return $name.Substring(0, $name.Length - 4) }
        $name
    }

    function Wait-TestBatch([Parameter(Mandatory)] $Batch) {
        Wait-DhubBatch -PipelineId $Batch.PipelineId -BatchId $Batch.Id -Timeout 60 -PollingInterval 0.2 -ErrorAction SilentlyContinue
    }
}

Describe 'Prefect as a real server shows it (<Name>)' -Tag 'PrefectRealServer' -ForEach $PrefectBackends {
    BeforeAll {
        $script:SavedEnvironment = Save-TestConnectionEnvironment -EmptyHome (Join-Path $TestDrive 'prefect-home')
        $script:T = Start-TestBackend -Backend Prefect -PrefectVersion $PrefectVersion
        Connect-TestBackend $T
    }
    AfterAll {
        Disconnect-Dhub
        Stop-TestBackend $T
        Restore-TestConnectionEnvironment $SavedEnvironment
    }

    Context 'Step names and order' {
        BeforeAll {
            Reset-Emulator $T
            Connect-TestBackend $T
        }

        It 'a custom task_run_name is kept whole; a task that never started keeps its generated name, which strips to the task' {
            Register-EmulatorPipeline $T 'custom-names' @{
                tasks = @(@{ name = 'extract'; runName = 'extract-eu-west' }, @{ name = 'transform'; fails = $true }, @{ name = 'load'; runName = 'load-eu-west' })
            }
            $batch = Start-DhubBatch -PipelineId 'custom-names' -Wait -PollingInterval 0.2 -Timeout 60 -ErrorAction SilentlyContinue
            $raw = Get-TestTaskRun $T $batch.Id
            $raw.name | Should -Contain 'extract-eu-west' -Because 'Prefect uses a resolved task_run_name exactly, without a suffix'
            $load = @($raw | Where-Object { $_.name -like 'load*' })
            $load.Count | Should -Be 1
            $load[0].state_name | Should -Be 'NotReady'
            $load[0].name | Should -Not -Be 'load-eu-west' -Because 'the rename happens as a task starts, and this one never did'
            $batch.Steps.Name | Should -Be @('extract-eu-west', 'transform', 'load')
            $batch.Steps[2].State | Should -Be ([DhubBatches.StepState]::Pending)
        }

        It 'a mapped task is one step: its task runs'' states combined and their offsets merged by partition' {
            $batch = Start-DhubBatch -PipelineId 'mapped-pipeline' -Wait -PollingInterval 0.2 -Timeout 60
            $raw = Get-TestTaskRun $T $batch.Id
            $mapped = @($raw | Where-Object { (Get-StrippedName $_) -eq 'transform' })
            $mapped.Count | Should -Be 3 -Because 'transform.map over 3 partitions makes three task runs'
            @($mapped.name | Select-Object -Unique).Count | Should -BeGreaterThan 1 -Because 'each element has a suffix of its own'
            $batch.Steps.Name | Should -Be @('extract', 'transform', 'load')
            $step = $batch.Steps[1]
            $step.State | Should -Be ([DhubBatches.StepState]::Success)
            $expected = Get-ExpectedOffset $T $batch.Id $mapped.id
            $expected.Merged.Count | Should -Be 3 -Because 'each element writes its own partition'
            Format-Offset (ConvertTo-OffsetTable $step.Offsets) | Should -Be (Format-Offset $expected.Merged)
        }

        It 'a mapped task whose elements failed is one Failed step; the mapped step before it stays Success' {
            Register-EmulatorPipeline $T 'mapped-one-fails' @{ tasks = @(@{ name = 'extract' }, @{ name = 'transform'; map = 3 }, @{ name = 'check'; map = 2; fails = $true }) }
            $batch = Start-DhubBatch -PipelineId 'mapped-one-fails' -Wait -PollingInterval 0.2 -Timeout 60 -ErrorAction SilentlyContinue
            $raw = Get-TestTaskRun $T $batch.Id
            @($raw | Where-Object { (Get-StrippedName $_) -eq 'check' -and $_.state_type -eq 'FAILED' }).Count | Should -Be 2
            @($batch.Steps | Where-Object Name -EQ 'check').Count | Should -Be 1
            ($batch.Steps | Where-Object Name -EQ 'check').State | Should -Be ([DhubBatches.StepState]::Failed)
            ($batch.Steps | Where-Object Name -EQ 'transform').State | Should -Be ([DhubBatches.StepState]::Success)
        }

        It 'steps are ordered by their first expected start, a task called twice being one step where it first ran' {
            Register-EmulatorPipeline $T 'called-twice' @{ tasks = @(@{ name = 'extract' }, @{ name = 'transform' }, @{ name = 'extract' }, @{ name = 'load' }) }
            $batch = Start-DhubBatch -PipelineId 'called-twice' -Wait -PollingInterval 0.2 -Timeout 60
            $raw = Get-TestTaskRun $T $batch.Id
            @($raw | Where-Object { (Get-StrippedName $_) -eq 'extract' }).Count | Should -Be 2
            $firstStart = { ($_.Group | ForEach-Object { (ConvertTo-TestTime $_.expected_start_time).UtcTicks } | Measure-Object -Minimum).Minimum }
            $byFirstStart = @($raw | Group-Object { Get-StrippedName $_ } | Sort-Object $firstStart | ForEach-Object Name)
            $batch.Steps.Name | Should -Be $byFirstStart
            $batch.Steps.Name | Should -Be @('extract', 'transform', 'load')
        }
    }

    Context 'Current attempt' {
        BeforeAll {
            Reset-Emulator $T
            Connect-TestBackend $T
        }

        It 'a retried run shows its last attempt: the transform that failed in attempt 1 does not fail the finished batch' {
            $batch = Start-DhubBatch -PipelineId 'retry-pipeline' -Wait -PollingInterval 0.2 -Timeout 60
            $run = Invoke-TestPrefectApi $T -Path "flow_runs/$($batch.Id)"
            $run.run_count | Should -Be 2
            $raw = Get-TestTaskRun $T $batch.Id
            $transform = @($raw | Where-Object { (Get-StrippedName $_) -eq 'transform' })
            if ($PrefectVersion -eq 2) {
                $transform.Count | Should -Be 1 -Because 'Prefect 2 reuses the task run (same task key and dynamic key) and runs it again'
                $transform[0].flow_run_run_count | Should -Be 2
                $raw.Count | Should -Be 3
            }
            else {
                $transform.Count | Should -Be 2 -Because 'Prefect 3 makes new task runs in every attempt'
                @($transform | Where-Object state_type -EQ 'FAILED').Count | Should -Be 1
            }
            $batch.Outcome | Should -Be ([DhubBatches.BatchOutcome]::Succeeded)
            $batch.Steps.Name | Should -Be @('extract', 'transform', 'load')
            $batch.Steps.State | Should -Be @('Success', 'Success', 'Success')
        }

        It 'a failed run''s downstream task (NotReady, count 0) is a Pending step, not missing' {
            $batch = Start-DhubBatch -PipelineId 'failing-pipeline' -Wait -PollingInterval 0.2 -Timeout 60 -ErrorAction SilentlyContinue
            $load = @(Get-TestTaskRun $T $batch.Id | Where-Object { (Get-StrippedName $_) -eq 'load' })
            $load.Count | Should -Be 1
            $load[0].state_type | Should -Be 'PENDING'
            $load[0].state_name | Should -Be 'NotReady'
            $load[0].flow_run_run_count | Should -Be 0
            $batch.Outcome | Should -Be ([DhubBatches.BatchOutcome]::Failed)
            $batch.Steps.Name | Should -Be @('extract', 'transform', 'load')
            $batch.Steps.State | Should -Be @('Success', 'Failed', 'Pending')
        }

        It 'a subflow''s tracking task run is a step named after the subflow' {
            $batch = Start-DhubBatch -PipelineId 'subflow-pipeline' -Wait -PollingInterval 0.2 -Timeout 60
            $raw = Get-TestTaskRun $T $batch.Id
            $tracking = @($raw | Where-Object { $_.state.state_details.child_flow_run_id })
            $tracking.Count | Should -Be 1
            $tracking[0].flow_run_run_count | Should -Be 0 -Because 'forced task states skip UpdateFlowRunTrackerOnTasks'
            if ($PrefectVersion -eq 2) {
                $tracking[0].name | Should -Not -Match '^publish' -Because 'Prefect 2 gives the tracking task run a random word pair'
            }
            else {
                $tracking[0].name | Should -Match '^publish-.{3}$' -Because 'Prefect 3 names it <subflow>-<3 characters of the dynamic key>'
            }
            $batch.Steps.Name | Should -Be @('extract', 'publish') -Because 'the name comes from the task key when the task run name is not the subflow''s'
            $batch.Steps[1].State | Should -Be ([DhubBatches.StepState]::Success)
        }
    }

    Context 'Offsets' {
        BeforeAll {
            Reset-Emulator $T
            Connect-TestBackend $T
        }

        It 'offsets from <Pipeline> (<Form>): the newest artifact of each task run' -ForEach @(
            @{ Pipeline = 'orders'; Form = 'markdown, key offsets, data a JSON string' }
            @{ Pipeline = 'table-pipeline'; Form = 'table, data a JSON string of a list' }
            @{ Pipeline = 'keyed-pipeline'; Form = 'key <pipeline>-offsets' }
            @{ Pipeline = 'object-data-pipeline'; Form = 'type offsets, data an object' }
        ) {
            $batch = Start-DhubBatch -PipelineId $Pipeline -Wait -PollingInterval 0.2 -Timeout 60 -WarningVariable warnings -ErrorVariable errors
            $warnings.Count | Should -Be 0
            $errors.Count | Should -Be 0
            $raw = Get-TestTaskRun $T $batch.Id
            $batch.Steps.Count | Should -Be 3
            foreach ($step in $batch.Steps) {
                $ids = @($raw | Where-Object { (Get-StrippedName $_) -eq $step.Name }).id
                $expected = Get-ExpectedOffset $T $batch.Id $ids
                $expected.Merged.Count | Should -BeGreaterThan 0 -Because "$Pipeline writes offsets for step $($step.Name)"
                $expected.Older.Count | Should -BeGreaterThan 0 -Because 'each task writes its offsets several times'
                $actual = Format-Offset (ConvertTo-OffsetTable $step.Offsets)
                $actual | Should -Be (Format-Offset $expected.Merged)
                foreach ($older in $expected.Older) { $actual | Should -Not -Be (Format-Offset $older) -Because 'an earlier write is not the final position' }
            }
            # The raw artifacts really have the form named.
            $artifacts = Get-RawArtifact $T $batch.Id
            $offsets = @($artifacts | Where-Object { $_.task_run_id -and $_.type -ne 'result' })
            switch ($Pipeline) {
                'orders' {
                    $offsets.type | Select-Object -Unique | Should -Be 'markdown' -Because 'create_markdown_artifact(json.dumps(...), key="offsets") writes this'
                    $offsets.key | Select-Object -Unique | Should -Be 'offsets'
                    $offsets[0].data | Should -BeOfType ([string])
                    @($artifacts | Where-Object key -EQ 'report').Count | Should -Be 1 -Because 'a link artifact (markdown, no task run) is there to be ignored'
                }
                'table-pipeline' {
                    $offsets.type | Select-Object -Unique | Should -Be 'table'
                    $offsets[0].data | Should -BeOfType ([string]) -Because 'create_table_artifact stores json.dumps(table)'
                    ($offsets[0].data | ConvertFrom-Json -NoEnumerate) -is [array] | Should -BeTrue
                }
                'keyed-pipeline' { $offsets.key | Select-Object -Unique | Should -Be 'keyed-pipeline-offsets' }
                'object-data-pipeline' {
                    $offsets.type | Select-Object -Unique | Should -Be 'offsets'
                    $offsets[0].data | Should -Not -BeOfType ([string]) -Because 'a direct POST /artifacts/ can store an object'
                }
            }
            @($artifacts | Where-Object type -EQ 'result').Count | Should -BeGreaterThan 0 -Because 'result artifacts are there to be ignored'
        }

        It 'a progress artifact keyed offsets, newest of its task run, is ignored without a warning or an error' {
            $batch = Start-DhubBatch -PipelineId 'orders' -Wait -PollingInterval 0.2 -Timeout 60
            $artifacts = Get-RawArtifact $T $batch.Id
            $offsets = @($artifacts | Where-Object key -EQ 'offsets')
            # create_progress_artifact(progress=75.0, key="offsets") written last by the transform task: the emulator's
            # flows write no progress artifacts, so this one is added to the server's real answer.
            $transformId = (Get-TestTaskRun $T $batch.Id | Where-Object { (Get-StrippedName $_) -eq 'transform' }).id
            $template = $offsets | Where-Object task_run_id -EQ $transformId | Select-Object -First 1
            $progress = $template | ConvertTo-Json -Depth 10 | ConvertFrom-Json
            $progress.id = [guid]::NewGuid().ToString()
            $progress.type = 'progress'
            $progress.data = 75.0
            $progress.created = [DateTimeOffset]::UtcNow.AddMinutes(5).ToString('o')
            $answer = @($progress) + @($artifacts)
            $null = Add-EmulatorFault $T -Rule @{ method = 'POST'; pathPattern = '^/prefect/api/artifacts/filter$'; status = 200; times = 1; body = (ConvertTo-Json -InputObject $answer -Depth 10 -Compress) }
            try {
                $again = Get-DhubBatch -PipelineId 'orders' -Id $batch.Id -WarningVariable warnings -ErrorVariable errors
            }
            finally { Clear-EmulatorFault $T }
            $warnings.Count | Should -Be 0
            $errors.Count | Should -Be 0
            $step = $again.Steps | Where-Object Name -EQ 'transform'
            $step.Offsets.Count | Should -BeGreaterThan 0 -Because 'the progress number is not offsets, so the task run''s last offsets stand'
            Format-Offset (ConvertTo-OffsetTable $step.Offsets) | Should -Be (Format-Offset (ConvertTo-OffsetTable ($batch.Steps | Where-Object Name -EQ 'transform').Offsets))
        }
    }

    Context 'Parameters' {
        BeforeAll { Connect-TestBackend $T }
        BeforeEach {
            Reset-Emulator $T
            Clear-EmulatorRequest $T
        }

        It '<Case> is DhubBadRequest naming it and the declared ones, and creates no run' -ForEach @(
            @{ Case = '-PipelineVersion on a flow without pipeline_version'; Pipeline = 'strict-pipeline'; Splat = @{ PipelineVersion = '2.0' }; Undeclared = 'pipeline_version' }
            @{ Case = 'an undeclared -Parameter'; Pipeline = 'orders'; Splat = @{ Parameter = @{ region = 'eu' } }; Undeclared = 'region' }
            @{ Case = 'an undeclared top-level name for a **kwargs flow'; Pipeline = 'kwargs-pipeline'; Splat = @{ Parameter = @{ extra = 1 } }; Undeclared = 'extra' }
        ) {
            $deployment = Invoke-TestPrefectApi $T -Path "deployments/name/run-pipeline/$Pipeline"
            $declared = @($deployment.parameter_openapi_schema.properties.PSObject.Properties.Name)
            $declared.Count | Should -BeGreaterThan 0
            $declared | Should -Not -Contain $Undeclared
            Clear-EmulatorRequest $T
            $batch = Start-DhubBatch -PipelineId $Pipeline @Splat -ErrorVariable errors -ErrorAction SilentlyContinue
            $batch | Should -BeNullOrEmpty
            $errors.Count | Should -Be 1
            Get-TestErrorId $errors[0] | Should -Be 'DhubBadRequest'
            "$($errors[0])" | Should -Match ([regex]::Escape($Undeclared))
            foreach ($name in $declared) { "$($errors[0])" | Should -Match ([regex]::Escape($name)) }
            @(Get-EmulatorRequest $T -Operation Start).Count | Should -Be 0 -Because 'no create_flow_run is sent'
            (Get-EmulatorStat $T $Pipeline).created | Should -Be 0
        }

        It 'a **kwargs flow takes extra values nested under kwargs, and the run completes' {
            $batch = Start-DhubBatch -PipelineId 'kwargs-pipeline' -Parameter @{ kwargs = @{ extra = 1 } } -Wait -PollingInterval 0.2 -Timeout 60
            (Invoke-TestPrefectApi $T -Path "flow_runs/$($batch.Id)").parameters.kwargs.extra | Should -Be 1
            $batch.Outcome | Should -Be ([DhubBatches.BatchOutcome]::Succeeded)
        }

        It 'an open schema lets an undeclared name through, and the run completes' {
            $batch = Start-DhubBatch -PipelineId 'open-pipeline' -Parameter @{ region = 'eu' } -Wait -PollingInterval 0.2 -Timeout 60
            $batch.Outcome | Should -Be ([DhubBatches.BatchOutcome]::Succeeded)
            (Get-EmulatorStat $T 'open-pipeline').created | Should -Be 1
        }
    }

    Context 'Schedules' {
        BeforeAll {
            Reset-Emulator $T
            Connect-TestBackend $T
            # Slow steps: a run started by the test stays active while it checks -IfActive.
            Add-EmulatorPipeline $T 'scheduled-pipeline' -StepSeconds 60
            $deployment = Invoke-TestPrefectApi $T -Path 'deployments/name/run-pipeline/scheduled-pipeline'

            function Get-ScheduledRun {
                $now = Get-EmulatorNow $T
                $all = @(Invoke-TestPrefectApi $T POST 'flow_runs/filter' @{ flow_runs = @{ deployment_id = @{ any_ = @($deployment.id) } }; sort = 'EXPECTED_START_TIME_DESC' })
                $due = { param($r) (ConvertTo-TestTime $r.expected_start_time) -le $now }
                [pscustomobject]@{
                    All    = $all
                    Past   = @($all | Where-Object { & $due $_ })
                    Future = @($all | Where-Object { -not (& $due $_) })
                }
            }
        }

        It 'the latest batch and -All leave out runs scheduled for later; -IncludeUpcoming adds them first' {
            $runs = Get-ScheduledRun
            $runs.Future.Count | Should -BeGreaterOrEqual 3 -Because 'the scheduler keeps future runs'
            @($runs.Future | Where-Object state_type -NE 'SCHEDULED').Count | Should -Be 0
            $runs.Past.Count | Should -BeGreaterThan 0
            (Get-DhubBatch -PipelineId 'scheduled-pipeline').Id | Should -Be $runs.Past[0].id
            @(Get-DhubBatch -PipelineId 'scheduled-pipeline' -All).Id | Should -Be @($runs.Past.id)
            $upcoming = @(Get-DhubBatch -PipelineId 'scheduled-pipeline' -All -IncludeUpcoming)
            $upcoming.Id | Should -Be @($runs.All.id)
            @($upcoming | Select-Object -First $runs.Future.Count).Id | Should -Be @($runs.Future.id)
        }

        It 'tab completion of -BatchId offers only runs expected to start by now' {
            $runs = Get-ScheduledRun
            $script:Line = 'Get-DhubBatch -PipelineId scheduled-pipeline -BatchId '
            $offered = @((TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches.CompletionText)
            $offered.Count | Should -BeGreaterThan 0
            foreach ($future in $runs.Future) { $offered | Should -Not -Contain $future.id }
            foreach ($id in $offered) { $runs.Past.id | Should -Contain $id }
            $offered[0] | Should -Be $runs.Past[0].id
        }

        It '-IfActive Skip and Fail look only at runs expected to start by now' {
            # Only finished past runs and future SCHEDULED ones exist: nothing is active yet.
            @((Get-ScheduledRun).Past | Where-Object { $_.state_type -notin 'COMPLETED', 'FAILED', 'CANCELLED', 'CRASHED' }).Count | Should -Be 0
            $started = Start-DhubBatch -PipelineId 'scheduled-pipeline' -IfActive Fail -ErrorVariable errors
            $errors.Count | Should -Be 0 -Because 'a future SCHEDULED run is not an active batch'
            $started | Should -Not -BeNullOrEmpty
            $skipped = Start-DhubBatch -PipelineId 'scheduled-pipeline' -IfActive Skip
            $skipped.Id | Should -Be $started.Id -Because 'the run started just now is active'
            (Get-EmulatorStat $T 'scheduled-pipeline').created | Should -Be 1
        }
    }

    Context 'States' {
        BeforeAll {
            Reset-Emulator $T
            Connect-TestBackend $T
            foreach ($p in 'late-pipeline', 'retry-pipeline', 'paused-pipeline', 'suspend-pipeline', 'limited-pipeline', 'crash-pipeline', 'slow-pipeline') {
                Add-EmulatorPipeline $T $p -StepSeconds 30
            }

            # Runs of 30-second steps: SCHEDULED [0, 30), PENDING [30, 60), one task per step from 60 s.
            function Get-Now([Parameter(Mandatory)] $Batch) { Get-DhubBatch -PipelineId $Batch.PipelineId -Id $Batch.Id }
        }

        It 'Late: a run nobody picks up is Scheduled, SCHEDULED/Late once overdue' {
            $batch = Start-DhubBatch -PipelineId 'late-pipeline'
            (Get-Now $batch).EngineState | Should -Be 'SCHEDULED'
            Move-EmulatorClock $T 45
            $late = Get-Now $batch
            $late.EngineState | Should -Be 'SCHEDULED/Late'
            $late.State | Should -Be ([DhubBatches.BatchState]::Scheduled)
            $late.IsComplete | Should -BeFalse
        }

        It 'AwaitingRetry, then the next attempt running (its re-run task runs named Retrying on Prefect 2)' {
            $batch = Start-DhubBatch -PipelineId 'retry-pipeline'
            Move-EmulatorClock $T 135 # transform failed at 120 s
            $awaiting = Get-Now $batch
            $awaiting.EngineState | Should -Be 'SCHEDULED/AwaitingRetry'
            $awaiting.State | Should -Be ([DhubBatches.BatchState]::Scheduled)
            $awaiting.IsComplete | Should -BeFalse
            ($awaiting.Steps | Where-Object Name -EQ 'transform').State | Should -Be ([DhubBatches.StepState]::Failed) -Because 'attempt 1 is still the current one'
            Move-EmulatorClock $T 30 # attempt 2, extract running
            $retrying = Get-Now $batch
            $retrying.EngineState | Should -Be 'RUNNING' -Because 'the flow engine proposes Running(); only task runs are renamed Retrying'
            $retrying.State | Should -Be ([DhubBatches.BatchState]::Running)
            $extract = @(Get-TestTaskRun $T $batch.Id | Where-Object { (Get-StrippedName $_) -eq 'extract' -and $_.flow_run_run_count -eq 2 })
            $extract.Count | Should -Be 1
            if ($PrefectVersion -eq 2) {
                $extract[0].state_name | Should -Be 'Retrying' -Because 'the reused task run leaves its terminal state for the flow retry'
            }
            else {
                $extract[0].state_name | Should -Be 'Running' -Because 'Prefect 3 made a new task run for attempt 2'
            }
            $retrying.Steps[0].Name | Should -Be 'extract'
            $retrying.Steps[0].State | Should -Be ([DhubBatches.StepState]::Running)
        }

        It 'Paused and Suspended are Pending, with the name in EngineState' -ForEach @(
            @{ Pipeline = 'paused-pipeline'; EngineState = 'PAUSED' }
            @{ Pipeline = 'suspend-pipeline'; EngineState = 'PAUSED/Suspended' }
        ) {
            $batch = Start-DhubBatch -PipelineId $Pipeline
            Move-EmulatorClock $T 105 # extract done at 90 s, then paused
            $paused = Get-Now $batch
            $paused.EngineState | Should -Be $EngineState
            $paused.State | Should -Be ([DhubBatches.BatchState]::Pending)
            $paused.IsComplete | Should -BeFalse
            $paused.Steps.Name | Should -Be @('extract')
            $paused.Steps[0].State | Should -Be ([DhubBatches.StepState]::Success)
        }

        It 'a run beyond the deployment''s concurrency limit waits Scheduled: AwaitingConcurrencySlot (Prefect 2: Late)' {
            $first = Start-DhubBatch -PipelineId 'limited-pipeline'
            $second = Start-DhubBatch -PipelineId 'limited-pipeline'
            Move-EmulatorClock $T 45
            (Get-Now $first).EngineState | Should -Be 'PENDING'
            $waiting = Get-Now $second
            $waiting.State | Should -Be ([DhubBatches.BatchState]::Scheduled)
            if ($PrefectVersion -eq 2) {
                $waiting.EngineState | Should -Be 'SCHEDULED/Late' -Because 'Prefect 2 has no deployment concurrency limit; a work queue limit leaves the run until it is Late'
            }
            else {
                $waiting.EngineState | Should -Be 'SCHEDULED/AwaitingConcurrencySlot'
            }
            $waiting.IsComplete | Should -BeFalse
        }

        It 'Crashed: the batch is stopped and failed, the crashed task''s step Failed' {
            $batch = Start-DhubBatch -PipelineId 'crash-pipeline'
            Move-EmulatorClock $T 150
            $crashed = Get-Now $batch
            $crashed.EngineState | Should -Be 'CRASHED'
            $crashed.State | Should -Be ([DhubBatches.BatchState]::Stop)
            $crashed.Outcome | Should -Be ([DhubBatches.BatchOutcome]::Failed)
            (Get-TestTaskRun $T $batch.Id | Where-Object { (Get-StrippedName $_) -eq 'transform' }).state_type | Should -Be 'CRASHED'
            ($crashed.Steps | Where-Object Name -EQ 'transform').State | Should -Be ([DhubBatches.StepState]::Failed)
        }

        It 'a cancelled run is Stopped; the task run that was running ended CRASHED or stays RUNNING, and its step says which' {
            $batches = @(1..2 | ForEach-Object { Start-DhubBatch -PipelineId 'slow-pipeline' })
            Move-EmulatorClock $T 75 # extract running
            $batches | Stop-DhubBatch -ErrorVariable errors
            $errors.Count | Should -Be 0
            Move-EmulatorClock $T 45 # the worker acts one step after CANCELLING
            $seen = foreach ($batch in $batches) {
                $stopped = Get-Now $batch
                $stopped.EngineState | Should -Be 'CANCELLED'
                $stopped.Outcome | Should -Be ([DhubBatches.BatchOutcome]::Stopped)
                $extract = @(Get-TestTaskRun $T $batch.Id | Where-Object { (Get-StrippedName $_) -eq 'extract' })
                $extract.Count | Should -Be 1
                $expected = if ($extract[0].state_type -eq 'CRASHED') { 'Failed' } else { $extract[0].state_type | Should -Be 'RUNNING'; 'Running' }
                ($stopped.Steps | Where-Object Name -EQ 'extract').State | Should -Be $expected
                $extract[0].state_type
            }
            if ($PrefectVersion -eq 2) {
                $seen | Should -Be @('CRASHED', 'CRASHED') -Because 'the 2.16.8 recording ended the running task run CRASHED'
            }
            else {
                @($seen | Sort-Object -Unique) | Should -Be @('CRASHED', 'RUNNING') -Because 'Prefect 3 often leaves it RUNNING; the emulator shows both'
            }
        }
    }

    Context 'List limits and paging' {
        BeforeAll {
            Reset-Emulator $T
            Add-EmulatorSeed $T 'orders' 120
        }
        AfterEach { Set-EmulatorPrefectSetting $T @{ defaultLimit = 200 } }

        It 'a server limit of 50: the module learns it from the 422 and lists every run' {
            Set-EmulatorPrefectSetting $T @{ defaultLimit = 50 }
            Connect-TestBackend $T # a fresh engine pages at 200
            Clear-EmulatorRequest $T
            $all = @(Get-DhubBatch -PipelineId 'orders' -All -ErrorVariable errors)
            $errors.Count | Should -Be 0
            $all.Count | Should -Be 120
            @($all.Id | Select-Object -Unique).Count | Should -Be 120
            $lists = @(Get-EmulatorRequest $T -Operation List)
            @($lists | Where-Object status -EQ 422).Count | Should -Be 1 -Because 'the limit is learned once'
            $limits = @(Get-PrefectBody $T '/flow_runs/filter' | ForEach-Object limit)
            $limits[0] | Should -BeGreaterThan 50 -Because 'nothing was known of the server''s limit yet'
            @($limits | Select-Object -Skip 1 | Where-Object { $_ -ne 50 }).Count | Should -Be 0
            # One refused request, then 120 runs at 50 a page; after two full pages the listing reads one page ahead,
            # so the page after the short third one (offset 150) is asked for too, and comes back empty.
            # The page read ahead past the end is cancelled as the listing ends: it may or may not reach the server.
            $limits.Count | Should -BeIn @(4, 5) -Because 'one refused request, three pages of 50, and at most one read ahead past the end'
            $offsets = @(Get-PrefectBody $T '/flow_runs/filter' | Select-Object -Skip 1 | ForEach-Object offset | Sort-Object)
            @($offsets | Where-Object { $_ -le 100 }) | Should -Be @(0, 50, 100)
            $past = @($offsets | Where-Object { $_ -gt 100 })
            $past.Count | Should -BeLessOrEqual 1
            if ($past.Count) { $past[0] | Should -Be 150 }
        }

        It 'a long listing asks for the page after next while it reads the next: every run once, in order, each page asked for once' {
            Connect-TestBackend $T
            $deployment = Invoke-TestPrefectApi $T -Path 'deployments/name/run-pipeline/orders'
            $expected = @(Invoke-TestPrefectApi $T POST 'flow_runs/filter' @{ flow_runs = @{ deployment_id = @{ any_ = @($deployment.id) } }; sort = 'EXPECTED_START_TIME_DESC'; limit = 200 })
            $before = @(Get-PrefectBody $T '/flow_runs/filter').Count
            # Each page takes 150 ms: two asked for at once arrive together.
            Add-EmulatorFault $T -Rule @{ method = 'POST'; pathPattern = 'flow_runs/filter'; mode = 'delay'; delayMs = 150; times = 0 }
            try { $all = @(Get-DhubBatch -PipelineId 'orders' -All -PageSize 20 -NoSteps) }
            finally { Clear-EmulatorFault $T }
            $all.Id | Should -Be @($expected.id) -Because 'pages read ahead are written in their order'
            $offsets = @(Get-PrefectBody $T '/flow_runs/filter' | Select-Object -Skip $before | ForEach-Object offset | Sort-Object)
            # Six full pages and the empty one after them, none asked for twice. The page read ahead past the end (140)
            # is cancelled as the listing ends, so it reaches the server or not, depending on timing.
            @($offsets | Where-Object { $_ -le 120 }) | Should -Be @(0, 20, 40, 60, 80, 100, 120)
            $past = @($offsets | Where-Object { $_ -gt 120 })
            $past.Count | Should -BeLessOrEqual 1 -Because 'at most one request past the end'
            if ($past.Count) { $past[0] | Should -Be 140 }
            $requests = @(Get-EmulatorRequest $T | Where-Object { $_.rawTarget -like '*/flow_runs/filter' } | Select-Object -Last 8)
            $starts = @($requests | ForEach-Object { ([DateTimeOffset]$_.timestamp).AddMilliseconds(-$_.elapsedMs) })
            $overlapping = @(for ($i = 1; $i -lt $starts.Count; $i++) { if (($starts[$i] - $starts[$i - 1]).TotalMilliseconds -lt 100) { $i } })
            $overlapping.Count | Should -BeGreaterThan 0 -Because 'after two full pages, two pages are in flight at once'
        }

        It '-First reads no page ahead that it does not need' {
            Connect-TestBackend $T
            $before = @(Get-PrefectBody $T '/flow_runs/filter').Count
            $some = @(Get-DhubBatch -PipelineId 'orders' -All -PageSize 20 -First 50 -NoSteps)
            $some.Count | Should -Be 50
            $lists = @(Get-PrefectBody $T '/flow_runs/filter' | Select-Object -Skip $before)
            @($lists | ForEach-Object offset) | Should -Be @(0, 20, 40)
            $lists[2].limit | Should -Be 10 -Because 'the last page asks for what is still wanted'
        }

        It '-Skip is the server-side offset; -Skip 100 -First 1 reads one run and the steps of that run only' {
            Connect-TestBackend $T
            # (runs before the wide run's many pages: the bodies log keeps the last 1,000)
            $deployment = Invoke-TestPrefectApi $T -Path 'deployments/name/run-pipeline/orders'
            $expected = @(Invoke-TestPrefectApi $T POST 'flow_runs/filter' @{ flow_runs = @{ deployment_id = @{ any_ = @($deployment.id) } }; sort = 'EXPECTED_START_TIME_DESC'; offset = 100; limit = 1 })
            $before = @(Get-PrefectBody $T '/flow_runs/filter').Count
            $beforeTasks = @(Get-PrefectBody $T '/task_runs/filter').Count
            $output = @(Get-DhubBatch -PipelineId 'orders' -All -Skip 100 -First 1)
            $output.Id | Should -Be @($expected.id)
            $lists = @(Get-PrefectBody $T '/flow_runs/filter' | Select-Object -Skip $before)
            $lists.Count | Should -Be 1
            $lists[0].offset | Should -Be 100
            $lists[0].limit | Should -Be 1 -Because 'no more runs are read than are output'
            $tasks = @(Get-PrefectBody $T '/task_runs/filter' | Select-Object -Skip $beforeTasks)
            $tasks.Count | Should -Be 1
            @($tasks[0].task_runs.flow_run_id.any_) | Should -Be @($expected.id)
        }

        It 'every page of task runs and artifacts is read for a run with more of them than the limit' {
            Register-EmulatorPipeline $T 'wide' @{ tasks = @(@{ name = 'extract' }, @{ name = 'transform'; map = 12 }, @{ name = 'load' }) }
            $done = Start-DhubBatch -PipelineId 'wide' -Wait -PollingInterval 0.2 -Timeout 60
            $raw = Get-TestTaskRun $T $done.Id
            $raw.Count | Should -Be 14
            $expected = Get-ExpectedOffset $T $done.Id @($raw | Where-Object { (Get-StrippedName $_) -eq 'transform' }).id
            $expected.Merged.Count | Should -Be 12
            Set-EmulatorPrefectSetting $T @{ defaultLimit = 5 }
            Connect-TestBackend $T
            $batch = Get-DhubBatch -PipelineId 'wide' -Id $done.Id -ErrorVariable errors
            $errors.Count | Should -Be 0
            $batch.Steps.Name | Should -Be @('extract', 'transform', 'load')
            Format-Offset (ConvertTo-OffsetTable $batch.Steps[1].Offsets) | Should -Be (Format-Offset $expected.Merged)
            foreach ($step in $batch.Steps) { $step.Offsets.Count | Should -BeGreaterThan 0 }
            $taskPages = @(Get-PrefectBody $T '/task_runs/filter' | Where-Object { $_.PSObject.Properties['limit'] -and $_.limit -eq 5 })
            @($taskPages.offset) | Should -Contain 10 -Because '14 task runs at 5 a page are three pages'
            @(Get-PrefectBody $T '/artifacts/filter' | Where-Object { $_.PSObject.Properties['limit'] -and $_.limit -eq 5 }).Count | Should -BeGreaterThan 3
        }
    }

    Context 'Connection checks' {
        BeforeAll { Reset-Emulator $T }
        AfterAll { Connect-TestBackend $T }

        It '-Backend Dhub at the Prefect API URL is DhubInvalidResponse pointing to -Backend Prefect' {
            $caught = $null
            try { Connect-Dhub -Uri $T.ApiUri -Backend Dhub -Token $T.Token }
            catch { $caught = $_ }
            Get-TestErrorId $caught | Should -Be 'DhubInvalidResponse'
            "$caught" | Should -Match 'FastAPI'
            "$caught" | Should -Match '-Backend Prefect'
        }

        It '-Backend Prefect at the server root (the UI page) is DhubInvalidResponse suggesting the URL ending in /api' {
            $root = "$($T.Url)/prefect"
            $caught = $null
            try { Connect-Dhub -Uri $root -Backend Prefect -Token $T.Token }
            catch { $caught = $_ }
            Get-TestErrorId $caught | Should -Be 'DhubInvalidResponse'
            "$caught" | Should -Match 'HTML'
            "$caught" | Should -Match ([regex]::Escape("$root/api"))
        }

        It 'the right URL costs one cheap authenticated call' {
            Clear-EmulatorRequest $T
            Connect-TestBackend $T
            $log = @(Get-EmulatorRequest $T)
            $log.Count | Should -Be 1
            Get-RequestPath $log[0] | Should -Be '/prefect/api/admin/version'
            $log[0].authorization | Should -Be 'present'
        }
    }

    Context 'Stuck cancels' {
        BeforeAll {
            Reset-Emulator $T
            Connect-TestBackend $T
            Add-EmulatorPipeline $T 'stuck-pipeline' -StepSeconds 30

            function New-StuckCancellingRun {
                $batch = Start-DhubBatch -PipelineId 'stuck-pipeline'
                Move-EmulatorClock $T 105 # transform running; the worker is gone
                Stop-DhubBatch -PipelineId 'stuck-pipeline' -Id $batch.Id
                Move-EmulatorClock $T 120
                $batch
            }
        }

        It 'Stop-DhubBatch leaves the run CANCELLING (Running); again without -Force only warns; -Force marks it CANCELLED' {
            $batch = New-StuckCancellingRun
            $stuck = Get-DhubBatch -PipelineId 'stuck-pipeline' -Id $batch.Id
            $stuck.EngineState | Should -Be 'CANCELLING'
            $stuck.State | Should -Be ([DhubBatches.BatchState]::Running)
            $calls = (Get-PrefectStat $T).setStateCalls
            Stop-DhubBatch -PipelineId 'stuck-pipeline' -Id $batch.Id -WarningVariable warnings -WarningAction SilentlyContinue -ErrorVariable errors
            $errors.Count | Should -Be 0
            $warnings.Count | Should -Be 1
            (Get-PrefectStat $T).setStateCalls | Should -Be $calls -Because 'nothing new is asked of a run already stopping'
            $done = Stop-DhubBatch -PipelineId 'stuck-pipeline' -Id $batch.Id -Force -PassThru -ErrorVariable errors2
            $errors2.Count | Should -Be 0
            (Get-PrefectStat $T).setStateCalls | Should -Be ($calls + 1)
            $done.EngineState | Should -Be 'CANCELLED'
            $done.Outcome | Should -Be ([DhubBatches.BatchOutcome]::Stopped)
        }

        It 'Remove-DhubBatch gives up on it with DhubConflict; with -Force it marks it CANCELLED and deletes it' {
            $batch = New-StuckCancellingRun
            Remove-DhubBatch -PipelineId 'stuck-pipeline' -Id $batch.Id -Confirm:$false -Timeout 1 -ErrorVariable errors -ErrorAction SilentlyContinue
            Get-TestErrorId $errors[0] | Should -Be 'DhubConflict'
            "$($errors[0])" | Should -Match '-Force'
            (Get-DhubBatch -PipelineId 'stuck-pipeline' -Id $batch.Id).EngineState | Should -Be 'CANCELLING'
            Remove-DhubBatch -PipelineId 'stuck-pipeline' -Id $batch.Id -Force -Timeout 1 -ErrorVariable errors2
            $errors2.Count | Should -Be 0
            (Get-PrefectStat $T).deletedRuns.flowRunId | Should -Contain $batch.Id
            Get-DhubBatch -PipelineId 'stuck-pipeline' -Id $batch.Id -ErrorVariable notFound -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            Get-TestErrorId $notFound[0] | Should -Be 'DhubBatchNotFound'
        }
    }
}
