# Get-DhubBatch -All with -State, -Since and -Until: what reaches the server (Prefect filters there, dhub filters the
# pages as they arrive) and that the batches output are exactly those a client-side filter of the full list keeps.

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
}

Describe 'Get-DhubBatch -All filters (<Name>)' -Tag 'Filters' -ForEach $Backends {
    BeforeAll {
        $script:SavedEnvironment = Save-TestConnectionEnvironment -EmptyHome (Join-Path $TestDrive 'prefect-home')
        $script:T = Start-TestBackend -Backend $Backend -PrefectVersion $PrefectVersion
        Connect-TestBackend $T
        $script:Mixed = 'mixed-states'

        # One pipeline holding batches in every state, moved there by the emulator's clock (steps of 60 s):
        # five finished seeded ones, one Running, one Pending and one Scheduled.
        Add-EmulatorPipeline $T $Mixed -StepSeconds 60
        Add-EmulatorSeed $T $Mixed 5
        $script:Running = Start-DhubBatch -PipelineId $Mixed
        Move-EmulatorClock $T 70
        $script:Pending = Start-DhubBatch -PipelineId $Mixed
        Move-EmulatorClock $T 70
        $script:Scheduled = Start-DhubBatch -PipelineId $Mixed
        $script:Everything = @(Get-DhubBatch -PipelineId $Mixed -All)
    }
    AfterAll {
        Disconnect-Dhub
        Stop-TestBackend $T
        Restore-TestConnectionEnvironment $SavedEnvironment
    }

    It 'the pipeline holds batches in every state the filters are tried on' {
        $Everything.Count | Should -Be 8
        (Get-DhubBatch -PipelineId $Mixed -Id $Running.Id).State | Should -Be ([DhubBatches.BatchState]::Running)
        (Get-DhubBatch -PipelineId $Mixed -Id $Pending.Id).State | Should -Be ([DhubBatches.BatchState]::Pending)
        (Get-DhubBatch -PipelineId $Mixed -Id $Scheduled.Id).State | Should -Be ([DhubBatches.BatchState]::Scheduled)
        @($Everything | Where-Object State -EQ ([DhubBatches.BatchState]::Stop)).Count | Should -Be 5
    }

    It '-State <States> outputs exactly the batches in those states, newest first' -ForEach @(
        @{ States = @('Stop') }
        @{ States = @('Running') }
        @{ States = @('Scheduled', 'Pending') }
        @{ States = @('Running', 'Stop') }
    ) {
        $wanted = [DhubBatches.BatchState[]]$States
        $expected = @($Everything | Where-Object { $_.State -in $wanted })
        $found = @(Get-DhubBatch -PipelineId $Mixed -All -State $wanted)
        $found.Count | Should -BeGreaterThan 0
        $found | ForEach-Object { $_ | Should -BeOfType ([DhubBatches.Batch]) }
        $found.Id | Should -Be $expected.Id -Because 'the same batches, in the same order, as filtering the full list'
    }

    It '-State with -First and -Skip pages through the matching batches only' -ForEach @(
        @{ First = 2; Skip = 1 }
        @{ First = 1; Skip = 0 }
        @{ First = 3; Skip = 3 }
    ) {
        $stopped = @($Everything | Where-Object State -EQ ([DhubBatches.BatchState]::Stop))
        $expected = @($stopped | Select-Object -Skip $Skip -First $First)
        $found = @(Get-DhubBatch -PipelineId $Mixed -All -State Stop -First $First -Skip $Skip -PageSize 2)
        $found.Id | Should -Be $expected.Id
    }

    It '-State reads every page when matches are spread over several' {
        $found = @(Get-DhubBatch -PipelineId $Mixed -All -State Stop, Scheduled -PageSize 2)
        $found.Id | Should -Be @($Everything | Where-Object { $_.State -in 'Stop', 'Scheduled' }).Id
    }

    Context 'Prefect: the server filters' -Skip:($Backend -ne 'Prefect') {
        It '-State <Asked> sends state.type any_ <Types>' -ForEach @(
            @{ Asked = @('Stop'); Types = @('COMPLETED', 'FAILED', 'CRASHED', 'CANCELLED') }
            @{ Asked = @('Running'); Types = @('RUNNING', 'CANCELLING') }
            @{ Asked = @('Pending'); Types = @('PENDING', 'PAUSED') }
            @{ Asked = @('Scheduled', 'Running'); Types = @('SCHEDULED', 'RUNNING', 'CANCELLING') }
        ) {
            $mark = Get-TestPrefectBodyCount $T
            $null = Get-DhubBatch -PipelineId $Mixed -All -State $Asked
            $lists = @(Get-TestPrefectBody $T '*/flow_runs/filter' -Skip $mark)
            $lists.Count | Should -BeGreaterThan 0
            foreach ($body in $lists) {
                @($body.flow_runs.state.type.any_ | Sort-Object) | Should -Be @($Types | Sort-Object)
                $body.flow_runs.deployment_id.any_ | Should -Not -BeNullOrEmpty
            }
        }

        It '-State with -First reads no more runs than it outputs' {
            $mark = Get-TestPrefectBodyCount $T
            $found = @(Get-DhubBatch -PipelineId $Mixed -All -State Stop -First 2)
            $found.Count | Should -Be 2
            $lists = @(Get-TestPrefectBody $T '*/flow_runs/filter' -Skip $mark)
            $lists.Count | Should -Be 1 -Because 'the server filters, so the first page holds the two matches'
            $lists[0].limit | Should -Be 2
            $lists[0].offset | Should -Be 0
        }

        It '-State with -Skip skips on the server (offset), counting matching runs only' {
            $mark = Get-TestPrefectBodyCount $T
            $null = @(Get-DhubBatch -PipelineId $Mixed -All -State Stop -Skip 3 -First 1)
            $lists = @(Get-TestPrefectBody $T '*/flow_runs/filter' -Skip $mark)
            $lists[0].offset | Should -Be 3
            @($lists[0].flow_runs.state.type.any_) | Should -Contain 'COMPLETED'
        }

        It '-IncludeTotalCount with -State counts the matching runs on the server' {
            $mark = Get-TestPrefectBodyCount $T
            $out = @(Get-DhubBatch -PipelineId $Mixed -All -State Stop -IncludeTotalCount -First 1)
            $count = @(Get-TestPrefectBody $T '*/flow_runs/count' -Skip $mark)
            $count.Count | Should -Be 1
            @($count[0].flow_runs.state.type.any_) | Should -Contain 'COMPLETED'
            $out[0].ToString() | Should -Match '\b5\b' -Because 'five batches are finished'
        }

        It '-State Unknown (no Prefect state type) is filtered on the client and sends no state filter' {
            $mark = Get-TestPrefectBodyCount $T
            $found = @(Get-DhubBatch -PipelineId $Mixed -All -State Unknown, Running)
            $found.Id | Should -Be @($Everything | Where-Object { $_.State -in 'Unknown', 'Running' }).Id
            $lists = @(Get-TestPrefectBody $T '*/flow_runs/filter' -Skip $mark)
            $lists.Count | Should -BeGreaterThan 0
            foreach ($body in $lists) { $body.flow_runs.PSObject.Properties.Name | Should -Not -Contain 'state' }
        }

        It '-State Unknown with -Skip skips matching batches, not runs (the server cannot tell which match)' {
            $matching = @($Everything | Where-Object { $_.State -in 'Unknown', 'Stop' })
            $matching.Count | Should -BeGreaterThan 1
            $found = @(Get-DhubBatch -PipelineId $Mixed -All -State Unknown, Stop -Skip 1)
            $found.Id | Should -Be @($matching | Select-Object -Skip 1).Id
        }
    }

    Context 'dhub: pages are filtered as they arrive' -Skip:($Backend -ne 'Dhub') {
        It '-State sends the plain list request and drops the other batches of each page' {
            Clear-EmulatorRequest $T
            $found = @(Get-DhubBatch -PipelineId $Mixed -All -State Running -PageSize 2)
            $found.Id | Should -Be @($Running.Id)
            $lists = @(Get-EmulatorRequest $T -Operation List)
            $lists.Count | Should -BeGreaterThan 1 -Because 'the API cannot filter, so every page is read'
            $lists.rawTarget | ForEach-Object { ($_ -split '\?', 2)[1] | Should -Not -Match '(?i)state' -Because 'the API has no state filter' }
        }

        It '-State with -First stops reading pages once enough batches matched' {
            Clear-EmulatorRequest $T
            $found = @(Get-DhubBatch -PipelineId $Mixed -All -State Stop -First 1 -PageSize 2)
            $found.Id | Should -Be @(@($Everything | Where-Object State -EQ ([DhubBatches.BatchState]::Stop))[0].Id)
            # Newest first the first finished batch is the fourth: no batch after it is asked for.
            $asked = 0
            Get-EmulatorRequest $T -Operation List | ForEach-Object { if ($_.rawTarget -match '[?&]limit=(\d+)') { $asked += [int]$Matches[1] } }
            $asked | Should -BeLessOrEqual 4 -Because 'the pages after the first match are never read'
            @(Get-EmulatorRequest $T -Operation List).Count | Should -Be 2 -Because 'with a state filter each page is -PageSize long, not -First'
        }
    }
}

Describe 'Get-DhubBatch -Since and -Until (<Name>)' -Tag 'Filters' -ForEach $Backends {
    BeforeAll {
        $script:SavedEnvironment = Save-TestConnectionEnvironment -EmptyHome (Join-Path $TestDrive 'prefect-home')
        $script:T = Start-TestBackend -Backend $Backend -PrefectVersion $PrefectVersion
        Connect-TestBackend $T
        $script:Dated = 'dated-runs'
        Add-EmulatorPipeline $T $Dated
        # Seeded runs are finished and dated in the past, a second apart.
        Add-EmulatorSeed $T $Dated 6
    }
    AfterAll {
        Disconnect-Dhub
        Stop-TestBackend $T
        Restore-TestConnectionEnvironment $SavedEnvironment
    }

    Context 'Prefect: expected_start_time on the server' -Skip:($Backend -ne 'Prefect') {
        BeforeAll {
            # The runs with their expected start times, newest first, as the server has them.
            $deployment = Invoke-TestPrefectApi $T GET "deployments/name/run-pipeline/$Dated"
            $script:Runs = @(Invoke-TestPrefectApi $T POST 'flow_runs/filter' @{
                    flow_runs = @{ deployment_id = @{ any_ = @($deployment.id) } }; sort = 'EXPECTED_START_TIME_DESC'
                } | ForEach-Object { [pscustomobject]@{ Id = $_.id; Expected = ([DateTimeOffset]$_.expected_start_time).UtcDateTime } })
            function Get-ExpectedIds([Nullable[datetime]] $Since, [Nullable[datetime]] $Until) {
                @($Runs | Where-Object { ($null -eq $Since -or $_.Expected -ge $Since) -and ($null -eq $Until -or $_.Expected -le $Until) }).Id
            }
        }

        It 'the seeded runs are a second apart, in the past' {
            $Runs.Count | Should -Be 6
            for ($i = 1; $i -lt $Runs.Count; $i++) {
                ($Runs[$i - 1].Expected - $Runs[$i].Expected).TotalSeconds | Should -BeGreaterOrEqual 0.9
            }
        }

        It '-Since sends expected_start_time.after_ and outputs the runs expected at or after it' {
            # Half a second before the third newest run: the three newest match.
            $since = $Runs[2].Expected.AddSeconds(-0.5)
            $mark = Get-TestPrefectBodyCount $T
            $found = @(Get-DhubBatch -PipelineId $Dated -All -Since $since)
            $found.Id | Should -Be (Get-ExpectedIds -Since $since)
            $found.Count | Should -Be 3
            $body = @(Get-TestPrefectBody $T '*/flow_runs/filter' -Skip $mark)[0]
            ([DateTimeOffset]$body.flow_runs.expected_start_time.after_).UtcDateTime | Should -Be $since
        }

        It '-Until sends expected_start_time.before_ and outputs the runs expected at or before it' {
            $until = $Runs[3].Expected.AddSeconds(0.5)
            $mark = Get-TestPrefectBodyCount $T
            $found = @(Get-DhubBatch -PipelineId $Dated -All -Until $until)
            $found.Id | Should -Be (Get-ExpectedIds -Until $until)
            $found.Count | Should -Be 3
            $body = @(Get-TestPrefectBody $T '*/flow_runs/filter' -Skip $mark)[0]
            ([DateTimeOffset]$body.flow_runs.expected_start_time.before_).UtcDateTime | Should -Be $until
            $body.flow_runs.expected_start_time.PSObject.Properties.Name | Should -Not -Contain 'after_'
        }

        It '-Since and -Until together send both bounds and output the runs between them' {
            $since = $Runs[4].Expected.AddSeconds(-0.5)
            $until = $Runs[1].Expected.AddSeconds(0.5)
            $mark = Get-TestPrefectBodyCount $T
            $found = @(Get-DhubBatch -PipelineId $Dated -All -Since $since -Until $until)
            $found.Id | Should -Be @($Runs[1..4].Id)
            $body = @(Get-TestPrefectBody $T '*/flow_runs/filter' -Skip $mark)[0]
            ([DateTimeOffset]$body.flow_runs.expected_start_time.after_).UtcDateTime | Should -Be $since
            ([DateTimeOffset]$body.flow_runs.expected_start_time.before_).UtcDateTime | Should -Be $until
        }

        It 'a local -Since is sent as the same instant in UTC' {
            $since = $Runs[1].Expected.AddSeconds(-0.5)
            $local = [datetime]::SpecifyKind($since.ToLocalTime(), [DateTimeKind]::Local)
            $mark = Get-TestPrefectBodyCount $T
            $found = @(Get-DhubBatch -PipelineId $Dated -All -Since $local)
            $found.Id | Should -Be @($Runs[0..1].Id)
            $body = @(Get-TestPrefectBody $T '*/flow_runs/filter' -Skip $mark)[0]
            ([DateTimeOffset]$body.flow_runs.expected_start_time.after_).UtcDateTime | Should -Be $since
        }

        It '-Since with -State and -First combine on the server' {
            $since = $Runs[3].Expected.AddSeconds(-0.5)
            $mark = Get-TestPrefectBodyCount $T
            $found = @(Get-DhubBatch -PipelineId $Dated -All -Since $since -State Stop -First 2 -Skip 1)
            $found.Id | Should -Be @($Runs[1..2].Id)
            $body = @(Get-TestPrefectBody $T '*/flow_runs/filter' -Skip $mark)[0]
            $body.flow_runs.expected_start_time.after_ | Should -Not -BeNullOrEmpty
            @($body.flow_runs.state.type.any_) | Should -Contain 'COMPLETED'
        }

        It 'a -Since later than every run outputs nothing and no error' {
            $found = @(Get-DhubBatch -PipelineId $Dated -All -Since $Runs[0].Expected.AddSeconds(0.5) -ErrorVariable errors)
            $found.Count | Should -Be 0
            $errors.Count | Should -Be 0
        }
    }

    Context 'dhub: no start times to filter on' -Skip:($Backend -ne 'Dhub') {
        It '<Switch> is DhubNotSupported (NotImplemented) before any request and says what to use instead' -ForEach @(
            @{ Switch = '-Since'; Splat = @{ Since = (Get-Date).AddHours(-1) } }
            @{ Switch = '-Until'; Splat = @{ Until = (Get-Date) } }
            @{ Switch = '-Since and -Until'; Splat = @{ Since = (Get-Date).AddHours(-1); Until = (Get-Date) } }
        ) {
            Clear-EmulatorRequest $T
            $found = @(Get-DhubBatch -PipelineId $Dated -All @Splat -ErrorVariable errors -ErrorAction SilentlyContinue)
            $found.Count | Should -Be 0
            $errors.Count | Should -Be 1
            Get-TestErrorId $errors[0] | Should -Be 'DhubNotSupported'
            $errors[0].CategoryInfo.Category | Should -Be 'NotImplemented'
            $errors[0].Exception.Message | Should -Match '-State|filter by state' -Because 'it points to the filter dhub can do'
            @(Get-EmulatorRequest $T).Count | Should -Be 0 -Because 'the refusal comes before any request'
        }
    }
}
