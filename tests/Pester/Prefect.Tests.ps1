# Prefect-only scenarios: what the shared (every-backend) files cannot say because dhub has no counterpart. They run
# against the emulator playing Prefect 3 and Prefect 2; docs/prefect.md says why each expectation is what it is.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'DhubBatchesTestUtils.psm1')
    $PrefectBackends = Get-TestBackend -PrefectOnly
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'DhubBatchesTestUtils.psm1')
    Import-TestModule

    $script:AuthString = 'admin:pa55-word'

    function New-TestCredential([string] $User, [string] $Password) {
        [pscredential]::new($User, (ConvertTo-TestSecureString $Password))
    }

    function Get-PrefectStat([Parameter(Mandatory)] $Context) { Invoke-EmulatorControl $Context GET 'prefect/stats' }

    function Get-RequestPath($Request) { '/' + ($Request.pathSegments -join '/') }

    function Set-TestPrefectProfile([hashtable] $Setting) {
        # A PREFECT_HOME of its own holding one active profile with these settings.
        $prefectHome = Join-Path $TestDrive "home-$([guid]::NewGuid().ToString('n').Substring(0, 8))"
        $null = New-Item -ItemType Directory -Force $prefectHome
        $lines = @('active = "mixed"', '', '[profiles.mixed]') + @($Setting.GetEnumerator() | ForEach-Object { '{0} = "{1}"' -f $_.Key, $_.Value })
        $lines -join "`n" | Set-Content -Path (Join-Path $prefectHome 'profiles.toml') -Encoding utf8NoBOM
        [Environment]::SetEnvironmentVariable('PREFECT_HOME', $prefectHome)
    }
}

Describe 'Prefect backend (<Name>)' -Tag 'Prefect' -ForEach $PrefectBackends {
    BeforeAll {
        $script:SavedEnvironment = Save-TestConnectionEnvironment -EmptyHome (Join-Path $TestDrive 'prefect-home')
        # A Cloud-style key (Bearer) and self-hosted basic auth are both accepted by this emulator.
        $script:T = Start-TestBackend -Backend Prefect -PrefectVersion $PrefectVersion -ExtraArguments @('--prefect-auth-string', $AuthString)
    }
    AfterAll {
        Disconnect-Dhub
        Stop-TestBackend $T
        Restore-TestConnectionEnvironment $SavedEnvironment
    }

    Context 'Connections' {
        BeforeAll { Reset-Emulator $T }
        AfterEach {
            Disconnect-Dhub
            $null = Save-TestConnectionEnvironment -EmptyHome (Join-Path $TestDrive 'prefect-home')
        }

        It 'Connect-Dhub -Token is Bearer (a Cloud API key) and a wrong key is DhubUnauthorized' {
            $connection = Connect-Dhub -Uri $T.ApiUri -Backend Prefect -Token $T.Token -PassThru
            "$($connection.Authentication)" | Should -Be 'Bearer'
            "$($connection.Backend)" | Should -Be 'Prefect'
            (Start-DhubBatch -PipelineId 'orders').Backend | Should -Be 'Prefect'
            Disconnect-Dhub
            $caught = $null
            try { Connect-Dhub -Uri $T.ApiUri -Backend Prefect -Token (ConvertTo-TestSecureString 'pnu_wrong') }
            catch { $caught = $_ }
            Get-TestErrorId $caught | Should -Be 'DhubUnauthorized'
            Get-DhubConnection | Should -BeNullOrEmpty
        }

        It 'Connect-Dhub -Credential is Basic user:pass, verified by an authenticated call (not /health)' {
            Clear-EmulatorRequest $T
            $user, $password = $AuthString -split ':', 2
            $connection = Connect-Dhub -Uri $T.ApiUri -Backend Prefect -Credential (New-TestCredential $user $password) -PassThru
            "$($connection.Authentication)" | Should -Be 'Basic'
            $verify = @(Get-EmulatorRequest $T)
            $verify.Count | Should -BeGreaterThan 0
            @($verify | Where-Object { (Get-RequestPath $_) -notmatch '/health$|/ready$' }).Count | Should -BeGreaterThan 0 -Because '/health is exempt from auth and proves nothing'
            $batch = Start-DhubBatch -PipelineId 'orders'
            (Get-DhubBatch -PipelineId 'orders' -Id $batch.Id).Id | Should -Be $batch.Id
        }

        It 'Connect-Dhub -Credential with a wrong password is DhubUnauthorized' {
            $user = ($AuthString -split ':', 2)[0]
            $caught = $null
            try { Connect-Dhub -Uri $T.ApiUri -Backend Prefect -Credential (New-TestCredential $user 'not-the-password') }
            catch { $caught = $_ }
            $caught | Should -Not -BeNullOrEmpty
            Get-TestErrorId $caught | Should -Be 'DhubUnauthorized'
            $caught.CategoryInfo.Category | Should -Be 'AuthenticationError'
        }

        It 'PREFECT_API_URL + PREFECT_API_KEY connects with Bearer' {
            [Environment]::SetEnvironmentVariable('PREFECT_API_URL', $T.ApiUri)
            [Environment]::SetEnvironmentVariable('PREFECT_API_KEY', $T.TokenText)
            $batch = Start-DhubBatch -PipelineId 'orders'
            $batch.Backend | Should -Be 'Prefect'
            "$((Get-DhubConnection).Authentication)" | Should -Be 'Bearer'
            (Get-DhubConnection).Source | Should -Match 'PREFECT_API_URL'
        }

        It 'PREFECT_API_AUTH_STRING is Basic and wins over PREFECT_API_KEY' {
            [Environment]::SetEnvironmentVariable('PREFECT_API_URL', $T.ApiUri)
            [Environment]::SetEnvironmentVariable('PREFECT_API_KEY', 'pnu_wrong-key')
            [Environment]::SetEnvironmentVariable('PREFECT_API_AUTH_STRING', $AuthString)
            { Start-DhubBatch -PipelineId 'orders' -ErrorAction Stop } | Should -Not -Throw
            "$((Get-DhubConnection).Authentication)" | Should -Be 'Basic'
        }

        It 'a wrong PREFECT_API_AUTH_STRING is used (and refused) even next to a right key' {
            [Environment]::SetEnvironmentVariable('PREFECT_API_URL', $T.ApiUri)
            [Environment]::SetEnvironmentVariable('PREFECT_API_KEY', $T.TokenText)
            [Environment]::SetEnvironmentVariable('PREFECT_API_AUTH_STRING', 'admin:wrong')
            Get-DhubBatch -PipelineId 'orders' -ErrorVariable errors -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            Get-TestErrorId $errors[0] | Should -Be 'DhubUnauthorized'
        }

        It 'profiles.toml at PREFECT_PROFILES_PATH, profile chosen by PREFECT_PROFILE over active' {
            $path = Join-Path $TestDrive 'elsewhere/profiles.toml'
            $null = New-Item -ItemType Directory -Force (Split-Path $path)
            @"
active = "local"

[profiles.local]
PREFECT_API_URL = "$(Get-FreeLoopbackUrl)/api"

[profiles.emulator]
PREFECT_API_URL = "$($T.ApiUri)"
PREFECT_API_KEY = "$($T.TokenText)"
"@ | Set-Content -Path $path -Encoding utf8NoBOM
            [Environment]::SetEnvironmentVariable('PREFECT_PROFILES_PATH', $path)
            [Environment]::SetEnvironmentVariable('PREFECT_PROFILE', 'emulator')
            $batch = Start-DhubBatch -PipelineId 'orders'
            $batch.Backend | Should -Be 'Prefect'
            $current = Get-DhubConnection
            "$($current.Backend)" | Should -Be 'Prefect'
            "$($current.Authentication)" | Should -Be 'Bearer'
            $current.Source | Should -Match 'emulator'
        }

        It 'profiles.toml in PREFECT_HOME, the active profile, with PREFECT_API_AUTH_STRING' {
            $home2 = Join-Path $TestDrive 'home-with-profile'
            $null = New-Item -ItemType Directory -Force $home2
            @"
active = "secured"

[profiles.secured]
PREFECT_API_URL = "$($T.ApiUri)"
PREFECT_API_AUTH_STRING = "$AuthString"
"@ | Set-Content -Path (Join-Path $home2 'profiles.toml') -Encoding utf8NoBOM
            [Environment]::SetEnvironmentVariable('PREFECT_HOME', $home2)
            { Start-DhubBatch -PipelineId 'orders' -ErrorAction Stop } | Should -Not -Throw
            "$((Get-DhubConnection).Authentication)" | Should -Be 'Basic'
            (Get-DhubConnection).Source | Should -Match 'secured'
        }

        # Each setting comes from the first place that sets it, environment before profile, as Prefect's SDK reads them.
        It 'PREFECT_API_URL from the environment with the key from the active profile' {
            Set-TestPrefectProfile -Setting @{ PREFECT_API_URL = "$(Get-FreeLoopbackUrl)/api"; PREFECT_API_KEY = $T.TokenText }
            [Environment]::SetEnvironmentVariable('PREFECT_API_URL', $T.ApiUri)
            (Start-DhubBatch -PipelineId 'orders').Backend | Should -Be 'Prefect' -Because 'the profile''s URL points nowhere; the environment''s wins'
            $current = Get-DhubConnection
            "$($current.Uri)".TrimEnd('/') | Should -Be $T.ApiUri.TrimEnd('/')
            "$($current.Authentication)" | Should -Be 'Bearer' -Because 'the key came from the profile'
        }

        It 'the URL from the active profile with PREFECT_API_KEY from the environment' {
            Set-TestPrefectProfile -Setting @{ PREFECT_API_URL = $T.ApiUri; PREFECT_API_KEY = 'pnu_wrong-in-profile' }
            [Environment]::SetEnvironmentVariable('PREFECT_API_KEY', $T.TokenText)
            { Start-DhubBatch -PipelineId 'orders' -ErrorAction Stop } | Should -Not -Throw -Because 'the environment''s right key wins over the profile''s wrong one'
            "$((Get-DhubConnection).Authentication)" | Should -Be 'Bearer'
            (Get-DhubConnection).Source | Should -Match 'mixed'
        }

        It 'an auth string in the profile wins over PREFECT_API_KEY in the environment' {
            Set-TestPrefectProfile -Setting @{ PREFECT_API_URL = $T.ApiUri; PREFECT_API_AUTH_STRING = $AuthString }
            [Environment]::SetEnvironmentVariable('PREFECT_API_KEY', 'pnu_wrong-key')
            { Start-DhubBatch -PipelineId 'orders' -ErrorAction Stop } | Should -Not -Throw
            "$((Get-DhubConnection).Authentication)" | Should -Be 'Basic' -Because 'Prefect''s client sends the auth string whenever one is set'
        }
    }

    Context 'Start' {
        BeforeAll { Connect-TestBackend $T }
        BeforeEach { Reset-Emulator $T }

        It 'a create_flow_run whose answer is lost is retried with the same key: one run, answered 200' {
            $null = Add-EmulatorFault $T -Operation Start @{ mode = 'applyThenDrop'; times = 1 }
            Clear-EmulatorRequest $T
            $batch = Start-DhubBatch -PipelineId 'orders' -ErrorVariable errors
            $errors.Count | Should -Be 0
            $posts = @(Get-EmulatorRequest $T -Operation Start)
            $posts.Count | Should -Be 2
            $posts[1].status | Should -Be 200 -Because 'the existing run comes back with 200, not 201'
            $stat = Get-EmulatorStat $T 'orders'
            $stat.batches | Should -Be 1
            $stat.created | Should -Be 1
            $stat.idempotentRepeats | Should -Be 1
            @(Get-DhubBatch -PipelineId 'orders' -All).Id | Should -Be @($batch.Id)
        }

        It '-PipelineVersion reaches the run as parameters.pipeline_version and tag pv:(version)' {
            $batch = Start-DhubBatch -PipelineId 'orders' -PipelineVersion '2.1 beta'
            $run = Invoke-TestPrefectApi $T -Path "flow_runs/$($batch.Id)"
            $run.parameters.pipeline_version | Should -Be '2.1 beta'
            $run.tags | Should -Contain 'pv:2.1 beta'
            $run.idempotency_key | Should -Match '^orders:[0-9a-f-]{36}$' -Because 'keys are per flow, so the key names the pipeline'
        }

        It '-Parameter reaches the run''s parameters' {
            # open-pipeline's schema takes any key; the others would (rightly) refuse undeclared names.
            $batch = Start-DhubBatch -PipelineId 'open-pipeline' -Parameter @{ region = 'eu'; partitions = 4; full_refresh = $true }
            $run = Invoke-TestPrefectApi $T -Path "flow_runs/$($batch.Id)"
            $run.parameters.region | Should -Be 'eu'
            $run.parameters.partitions | Should -Be 4
            $run.parameters.full_refresh | Should -BeTrue
            $run.parameters.PSObject.Properties.Name | Should -Not -Contain 'pipeline_version'
        }

        It 'a malformed flow run id is DhubBatchNotFound without a request' {
            Clear-EmulatorRequest $T
            Get-DhubBatch -PipelineId 'orders' -Id 'batch-doesnotexist' -ErrorVariable errors -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            Get-TestErrorId $errors[0] | Should -Be 'DhubBatchNotFound'
            "$($errors[0])" | Should -Match 'batch-doesnotexist'
            @(Get-EmulatorRequest $T).Count | Should -Be 0
        }
    }

    Context 'Stop and remove' {
        BeforeAll { Connect-TestBackend $T }
        BeforeEach {
            Reset-Emulator $T
            Add-EmulatorPipeline $T 'slow-pipeline' -StepSeconds 60
            # Scheduled 1 s, pending 1 s, then running (the simulated worker cancels one step after CANCELLING).
            Add-EmulatorPipeline $T 'paced' -StepSeconds 1
        }

        It 'a scheduled run: REJECT with CANCELLED is success' {
            $batch = Start-DhubBatch -PipelineId 'slow-pipeline'
            Stop-DhubBatch -PipelineId 'slow-pipeline' -Id $batch.Id -ErrorVariable errors -WarningVariable warnings
            $errors.Count | Should -Be 0
            $warnings.Count | Should -Be 0
            $after = Get-DhubBatch -PipelineId 'slow-pipeline' -Id $batch.Id
            $after.EngineState | Should -Be 'CANCELLED'
            $after.Outcome | Should -Be ([DhubBatches.BatchOutcome]::Stopped)
            (Get-PrefectStat $T).setStateCalls | Should -Be 1
        }

        It 'a running run: ACCEPT -> CANCELLING (State Running), then -Wait returns when CANCELLED' {
            $batch = Start-DhubBatch -PipelineId 'paced'
            Wait-TestCondition -TimeoutSec 10 { (Get-DhubBatch -PipelineId 'paced' -Id $batch.Id).EngineState -eq 'RUNNING' } | Should -BeTrue
            Stop-DhubBatch -PipelineId 'paced' -Id $batch.Id -ErrorVariable errors
            $errors.Count | Should -Be 0
            $cancelling = Get-DhubBatch -PipelineId 'paced' -Id $batch.Id
            $cancelling.EngineState | Should -Be 'CANCELLING'
            $cancelling.State | Should -Be ([DhubBatches.BatchState]::Running)
            $cancelling.IsComplete | Should -BeFalse
            $done = Stop-DhubBatch -PipelineId 'paced' -Id $batch.Id -Wait -Timeout 30 -PassThru -ErrorVariable errors2
            $errors2.Count | Should -Be 0
            $done.EngineState | Should -Be 'CANCELLED'
            $done.State | Should -Be ([DhubBatches.BatchState]::Stop)
            $done.Outcome | Should -Be ([DhubBatches.BatchOutcome]::Stopped)
        }

        It 'a finished run: ABORT is a warning, not an error' {
            Add-EmulatorSeed $T 'orders' 1
            $finished = Get-DhubBatch -PipelineId 'orders'
            $finished.IsComplete | Should -BeTrue
            Stop-DhubBatch -PipelineId 'orders' -Id $finished.Id -ErrorVariable errors -WarningVariable warnings -WarningAction SilentlyContinue
            $errors.Count | Should -Be 0
            $warnings.Count | Should -Be 1
            "$($warnings[0])" | Should -Match 'already finished'
            (Get-DhubBatch -PipelineId 'orders' -Id $finished.Id).EngineState | Should -Be 'COMPLETED'
        }

        It 'WAIT is answered, then the proposal is retried after its delay' {
            $batch = Start-DhubBatch -PipelineId 'slow-pipeline'
            $null = Invoke-EmulatorControl $T POST 'prefect/set-state-wait' @{ count = 1 }
            $elapsed = Measure-Command { Stop-DhubBatch -PipelineId 'slow-pipeline' -Id $batch.Id -ErrorVariable script:errors }
            $errors.Count | Should -Be 0
            (Get-PrefectStat $T).setStateCalls | Should -Be 2
            $elapsed.TotalSeconds | Should -BeGreaterThan 0.8 -Because 'the WAIT asked for delay_seconds 1'
            (Get-DhubBatch -PipelineId 'slow-pipeline' -Id $batch.Id).EngineState | Should -Be 'CANCELLED'
        }

        It 'Remove-DhubBatch -Force of a running run cancels, waits for CANCELLED, then DELETE -> 204' {
            $batch = Start-DhubBatch -PipelineId 'paced'
            Wait-TestCondition -TimeoutSec 10 { (Get-DhubBatch -PipelineId 'paced' -Id $batch.Id).EngineState -eq 'RUNNING' } | Should -BeTrue
            Clear-EmulatorRequest $T
            Remove-DhubBatch -PipelineId 'paced' -Id $batch.Id -Force -ErrorVariable errors
            $errors.Count | Should -Be 0
            $log = @(Get-EmulatorRequest $T)
            $stopAt = [array]::FindIndex($log, [Predicate[object]] { param($r) $r.method -eq 'POST' -and (Get-RequestPath $r) -match '/set_state$' })
            $deleteAt = [array]::FindIndex($log, [Predicate[object]] { param($r) $r.method -eq 'DELETE' })
            $stopAt | Should -BeGreaterOrEqual 0
            $deleteAt | Should -BeGreaterThan $stopAt
            $log[$deleteAt].status | Should -Be 204
            @($log | Where-Object method -EQ 'DELETE').Count | Should -Be 1
            (Invoke-EmulatorControl $T GET 'prefect/stats').deletedRuns.Count | Should -Be 1
            Get-DhubBatch -PipelineId 'paced' -Id $batch.Id -ErrorVariable notFound -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            Get-TestErrorId $notFound[0] | Should -Be 'DhubBatchNotFound'
        }
    }

    Context 'Steps and offsets' {
        BeforeAll {
            Connect-TestBackend $T
            Reset-Emulator $T
            $script:StringRun = Start-DhubBatch -PipelineId 'orders' -Wait -PollingInterval 0.2 -Timeout 60
        }

        It 'offsets from markdown artifacts keyed offsets whose data is a JSON string' {
            $raw = @(Invoke-TestPrefectApi $T POST 'artifacts/filter' @{ artifacts = @{ flow_run_id = @{ any_ = @($StringRun.Id) }; key = @{ any_ = @('offsets') } } })
            $raw.Count | Should -BeGreaterThan 0
            $raw.type | Select-Object -Unique | Should -Be 'markdown' -Because 'create_markdown_artifact(json.dumps(...), key="offsets") writes this'
            $raw[0].data | Should -BeOfType ([string])
            $StringRun.Steps.Name | Should -Be @('extract', 'transform', 'load')
            foreach ($step in $StringRun.Steps) {
                $step.Offsets['partition_0'] | Should -Be 1000
                $step.Offsets['partition_1'] | Should -Be 500
            }
            $StringRun.Steps[0].OffsetSummary | Should -Be 'partition_0=1000; partition_1=500'
        }

        It 'step names drop the suffix the engine gives each task run' {
            $tasks = @(Invoke-TestPrefectApi $T POST 'task_runs/filter' @{ task_runs = @{ flow_run_id = @{ any_ = @($StringRun.Id) } }; sort = 'EXPECTED_START_TIME_ASC' })
            if ($PrefectVersion -eq 2) {
                $tasks.name | Should -Be @('extract-0', 'transform-0', 'load-0') -Because 'Prefect 2 appends the per-run counter'
            }
            else {
                foreach ($task in $tasks) {
                    $task.name | Should -Match '^(extract|transform|load)-[0-9a-f]{3}$' -Because 'Prefect 3 appends three characters of a uuid4 dynamic_key'
                    $task.name | Should -Be "$($task.name.Split('-')[0])-$($task.dynamic_key.Substring(0, 3))"
                }
            }
            $StringRun.Steps.Name | Should -Be @('extract', 'transform', 'load')
        }

        It 'only task runs of the current run_count count; runs sharing a name form one step' {
            # The emulator never retries a flow run, so the server's answers are replaced: run_count 2, with a failed task run of attempt 1.
            $run = Invoke-TestPrefectApi $T -Path "flow_runs/$($StringRun.Id)"
            $run.run_count = 2
            $run.state_type = 'RUNNING'; $run.state_name = 'Running'; $run.state.type = 'RUNNING'; $run.state.name = 'Running'
            $t0 = [DateTimeOffset]::UtcNow.AddMinutes(-5)
            function New-TaskRun([string] $Name, [string] $Key, [int] $Attempt, [string] $Type, [int] $Minute) {
                [ordered]@{
                    id = [guid]::NewGuid().ToString(); name = "$Name-$Key"; flow_run_id = $StringRun.Id; task_key = "$Name-1a2b"; dynamic_key = $Key
                    state_type = $Type; state_name = $Type.Substring(0, 1) + $Type.Substring(1).ToLowerInvariant(); run_count = 1; flow_run_run_count = $Attempt
                    expected_start_time = $t0.AddMinutes($Minute).ToString('o')
                }
            }
            $taskRuns = @(
                New-TaskRun 'extract' '0' 1 'FAILED' 0
                New-TaskRun 'extract' '0' 2 'COMPLETED' 1
                New-TaskRun 'load_partition' '0' 2 'COMPLETED' 2
                New-TaskRun 'load_partition' '1' 2 'RUNNING' 3
            )
            # Read once as it really is (COMPLETED): that teaches the deployment's steps, so the faked read below sends
            # only its own task_runs/filter, which the fault answers.
            $null = Get-DhubBatch -PipelineId 'orders' -Id $StringRun.Id
            $null = Add-EmulatorFault $T -Rule @{ method = 'GET'; pathPattern = "^/prefect/api/flow_runs/$($StringRun.Id)$"; status = 200; times = 1; body = ($run | ConvertTo-Json -Depth 10 -Compress) }
            $null = Add-EmulatorFault $T -Rule @{ method = 'POST'; pathPattern = '^/prefect/api/task_runs/filter$'; status = 200; times = 1; body = (ConvertTo-Json -InputObject $taskRuns -Depth 5 -Compress) }
            try {
                $batch = Get-DhubBatch -PipelineId 'orders' -Id $StringRun.Id
            }
            finally { Clear-EmulatorFault $T }
            # transform and load are the deployment's expected steps with no task run in this (faked) run: Pending.
            $batch.Steps.Name | Should -Be @('extract', 'transform', 'load', 'load_partition')
            $batch.Steps[0].State | Should -Be ([DhubBatches.StepState]::Success) -Because 'the FAILED task run belongs to attempt 1'
            $batch.Steps[1].State, $batch.Steps[2].State | Should -Be @([DhubBatches.StepState]::Pending, [DhubBatches.StepState]::Pending)
            $batch.Steps[3].State | Should -Be ([DhubBatches.StepState]::Running) -Because 'one of the two load_partition task runs is running'
            $batch.State | Should -Be ([DhubBatches.BatchState]::Running)
        }
    }

    Context 'Lists' {
        BeforeAll {
            Connect-TestBackend $T
            Reset-Emulator $T
            Add-EmulatorSeed $T 'orders' 250
        }
        BeforeEach { Clear-EmulatorRequest $T }

        It '-PageSize 1000 never asks for more than 200' {
            $all = @(Get-DhubBatch -PipelineId 'orders' -All -PageSize 1000 -ErrorVariable errors)
            $errors.Count | Should -Be 0
            $all.Count | Should -Be 250
            $lists = @(Get-EmulatorRequest $T -Operation List)
            $lists.Count | Should -Be 2 -Because '250 runs at limit 200 are two pages (the log does not keep bodies)'
            # (the only 422 allowed is /csrf-token saying CSRF protection is off)
            @(Get-EmulatorRequest $T | Where-Object { $_.status -eq 422 -and (Get-RequestPath $_) -notmatch '/csrf-token$' }).Count | Should -Be 0
        }

        It 'lists newest first by EXPECTED_START_TIME_DESC, not the default ID_DESC' {
            $listed = @(Get-DhubBatch -PipelineId 'orders' -All -First 50)
            $deployment = Invoke-TestPrefectApi $T -Path 'deployments/name/run-pipeline/orders'
            $byTime = @(Invoke-TestPrefectApi $T POST 'flow_runs/filter' @{ flow_runs = @{ deployment_id = @{ any_ = @($deployment.id) } }; sort = 'EXPECTED_START_TIME_DESC'; limit = 50 })
            $byId = @(Invoke-TestPrefectApi $T POST 'flow_runs/filter' @{ flow_runs = @{ deployment_id = @{ any_ = @($deployment.id) } }; limit = 50 })
            $listed.Id | Should -Be @($byTime.id)
            ($listed.Id -join ',') | Should -Not -Be ($byId.id -join ',') -Because 'random UUIDs are not chronological'
        }

        It 'the latest run is the newest started one' {
            $newest = @(1..3 | ForEach-Object { Start-DhubBatch -PipelineId 'orders' })[-1]
            (Get-DhubBatch -PipelineId 'orders').Id | Should -Be $newest.Id
        }

        It '-IncludeTotalCount gives the exact count from /flow_runs/count' {
            $deployment = Invoke-TestPrefectApi $T -Path 'deployments/name/run-pipeline/orders'
            $count = Invoke-TestPrefectApi $T POST 'flow_runs/count' @{ flow_runs = @{ deployment_id = @{ any_ = @($deployment.id) } } }
            $count | Should -BeGreaterOrEqual 250
            $output = @(Get-DhubBatch -PipelineId 'orders' -All -IncludeTotalCount -First 2)
            $output.Count | Should -Be 3
            $output[0].ToString() | Should -Match "total count: $count\b"
            $output[0].ToString() | Should -Not -Match 'unknown|estimate'
        }
    }

    Context 'Headers' {
        BeforeAll {
            Connect-TestBackend $T
            Reset-Emulator $T
            Add-EmulatorPipeline $T 'slow-pipeline' -StepSeconds 60
        }

        It 'every request carries X-PREFECT-API-VERSION 0.8.4' {
            Clear-EmulatorRequest $T
            Connect-TestBackend $T
            $batch = Start-DhubBatch -PipelineId 'slow-pipeline'
            $null = Get-DhubBatch -PipelineId 'slow-pipeline'
            $null = Get-DhubBatch -PipelineId 'slow-pipeline' -All -IncludeTotalCount
            $batch | Stop-DhubBatch
            $batch | Remove-DhubBatch -Force
            $log = @(Get-EmulatorRequest $T)
            $log.Count | Should -BeGreaterThan 8
            @($log | Where-Object prefectApiVersion -NE '0.8.4').Count | Should -Be 0 -Because (($log | Where-Object prefectApiVersion -NE '0.8.4' | ForEach-Object { "$($_.method) $($_.rawTarget)" }) -join ', ')
        }
    }

    Context 'CSRF on' {
        BeforeAll {
            Disconnect-Dhub
            $script:C = Start-TestBackend -Backend Prefect -PrefectVersion $PrefectVersion -ExtraArguments @('--prefect-csrf')
            Connect-TestBackend $C
            Add-EmulatorPipeline $C 'slow-pipeline' -StepSeconds 60
        }
        AfterAll {
            Disconnect-Dhub
            Stop-TestBackend $C
        }

        It 'start, stop and remove work: a token is fetched once and sent on every change request' {
            Clear-EmulatorRequest $C
            $batch = Start-DhubBatch -PipelineId 'slow-pipeline' -ErrorVariable errors
            $errors.Count | Should -Be 0
            Stop-DhubBatch -PipelineId 'slow-pipeline' -Id $batch.Id -ErrorVariable errors2
            $errors2.Count | Should -Be 0
            Remove-DhubBatch -PipelineId 'slow-pipeline' -Id $batch.Id -Force -ErrorVariable errors3
            $errors3.Count | Should -Be 0
            $log = @(Get-EmulatorRequest $C)
            @($log | Where-Object status -EQ 403).Count | Should -Be 0
            @($log | Where-Object { (Get-RequestPath $_) -match '/csrf-token$' }).Count | Should -Be 1
            (Get-EmulatorStat $C 'slow-pipeline').batches | Should -Be 0
        }

        It 'after the token expires on the server, the next change request renews it and succeeds' {
            $null = Invoke-EmulatorControl $C POST 'prefect/csrf/expire'
            Clear-EmulatorRequest $C
            $batch = Start-DhubBatch -PipelineId 'orders' -ErrorVariable errors
            $errors.Count | Should -Be 0
            $batch.Id | Should -Not -BeNullOrEmpty
            $log = @(Get-EmulatorRequest $C)
            @($log | Where-Object status -EQ 403).Count | Should -Be 1 -Because 'the expired token is refused once'
            @($log | Where-Object { (Get-RequestPath $_) -match '/csrf-token$' }).Count | Should -Be 1
            (Get-EmulatorStat $C 'orders').created | Should -Be 1
        }
    }

    Context 'CSRF off' {
        BeforeAll {
            Connect-TestBackend $T
            Reset-Emulator $T
            Add-EmulatorPipeline $T 'slow-pipeline' -StepSeconds 60
        }

        It 'the server''s 422 to /csrf-token switches the headers off: asked at most once, change requests still work' {
            Connect-TestBackend $T # a fresh engine: nothing known about CSRF yet
            Clear-EmulatorRequest $T
            $batches = @(1..3 | ForEach-Object { Start-DhubBatch -PipelineId 'slow-pipeline' })
            $batches | Stop-DhubBatch -ErrorVariable errors
            $errors.Count | Should -Be 0
            $asks = @(Get-EmulatorRequest $T | Where-Object { (Get-RequestPath $_) -match '/csrf-token$' })
            $asks.Count | Should -BeLessOrEqual 1
            @($asks | Where-Object status -NE 422).Count | Should -Be 0
            (Get-EmulatorStat $T 'slow-pipeline').created | Should -Be 3
        }
    }
}
