BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'DhubBatchesTestUtils.psm1')
    $Backends = Get-TestBackend
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'DhubBatchesTestUtils.psm1')
    Import-TestModule
}

Describe 'Get-DhubBatch (<Name>)' -Tag 'Get' -ForEach $Backends {
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

    It '-Verbose shows one line per HTTP call: method, URL, status and milliseconds, and each retry' {
        Add-EmulatorSeed $T 'orders' 3
        $latest = Get-BackendRoute $T Latest
        $null = Add-EmulatorFault $T -Operation Latest -Rule @{ status = 503; times = 1 }
        Clear-EmulatorRequest $T
        $verbose = @(Get-DhubBatch -PipelineId orders -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message)
        $http = '^(GET|POST|PUT|DELETE) http://127\.0\.0\.1:\d+/\S+ -> (\d{3})\b.*\(\d+ ms\)$'
        $lines = @($verbose | Where-Object { $_ -match $http })
        $requests = @(Get-EmulatorRequest $T)
        $lines.Count | Should -Be $requests.Count
        @($lines | ForEach-Object { if ($_ -match $http) { $Matches[2] } }) | Should -Be @($requests | ForEach-Object { [string]$_.status })
        @($lines | Where-Object { $_ -match ' -> 503\b' }).Count | Should -Be 1
        @($verbose | Where-Object { $_ -like "Retrying $($latest.Method) *" }).Count | Should -Be 1
    }

    Context 'latest and by id' {
        BeforeAll {
            Reset-Emulator $T
            $script:First = Start-DhubBatch -PipelineId 'orders'
            $script:Second = Start-DhubBatch -PipelineId 'orders'
            $script:Other = Start-DhubBatch -PipelineId 'inventory'
        }

        It 'returns the latest batch of a pipeline' {
            $latest = Get-DhubBatch -PipelineId 'orders'
            @($latest).Count | Should -Be 1
            $latest | Should -BeOfType ([DhubBatches.Batch])
            $latest.Id | Should -Be $Second.Id
            $latest.PipelineId | Should -Be 'orders'
            # Prefect lists a step only once its task run exists, so a just-started run may have none yet.
            Wait-TestCondition { (Get-DhubBatch -PipelineId 'orders').Steps.Count -gt 0 } | Should -BeTrue
            (Get-DhubBatch -PipelineId 'orders').Id | Should -Be $Second.Id
        }

        It 'returns the latest batch of each piped pipeline id' {
            $latest = @('orders', 'inventory' | Get-DhubBatch)
            $latest.Id | Should -Be @($Second.Id, $Other.Id)
        }

        It 'returns a batch by -BatchId, by the -Id alias and positionally' {
            (Get-DhubBatch -PipelineId 'orders' -BatchId $First.Id).Id | Should -Be $First.Id
            (Get-DhubBatch -PipelineId 'orders' -Id $First.Id).Id | Should -Be $First.Id
            (Get-DhubBatch 'orders' $First.Id).Id | Should -Be $First.Id
        }

        It 'several ids with one bad: output for the good ones and a non-terminating DhubBatchNotFound for the bad one' {
            $missing = $T.MissingBatchId
            $batches = @(Get-DhubBatch -PipelineId 'orders' -Id $First.Id, $missing, $Second.Id -ErrorVariable errors -ErrorAction SilentlyContinue)
            $batches.Id | Should -Be @($First.Id, $Second.Id)
            $errors.Count | Should -Be 1
            Get-TestErrorId $errors[0] | Should -Be 'DhubBatchNotFound'
            $errors[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
            "$($errors[0].TargetObject)" | Should -Match ([regex]::Escape($missing))
            "$($errors[0])" | Should -Match 'GET'
            "$($errors[0])" | Should -Match '404'
            "$($errors[0])" | Should -Match ([regex]::Escape($missing))
        }

        It 'an unknown pipeline is DhubPipelineNotFound' {
            Get-DhubBatch -PipelineId 'no-such-pipeline' -ErrorVariable errors -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            Get-TestErrorId $errors[0] | Should -Be 'DhubPipelineNotFound'
            $errors[0].TargetObject | Should -Be 'no-such-pipeline'
        }

        It 'a pipeline without batches is DhubBatchNotFound' {
            Get-DhubBatch -PipelineId 'sales-pipeline' -ErrorVariable errors -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            Get-TestErrorId $errors[0] | Should -Be 'DhubBatchNotFound'
        }

        It 'refreshes batches piped in (by property name PipelineId + Id)' {
            $started = Start-DhubBatch -PipelineId 'orders'
            $started.IsComplete | Should -BeFalse
            Wait-TestCondition { (Get-DhubBatch -PipelineId 'orders' -Id $started.Id).IsComplete } | Should -BeTrue
            $refreshed = @($started | Get-DhubBatch)
            $refreshed.Count | Should -Be 1
            $refreshed[0].Id | Should -Be $started.Id
            $refreshed[0].IsComplete | Should -BeTrue
            $refreshed[0].Outcome | Should -Be ([DhubBatches.BatchOutcome]::Succeeded)
            $started.IsComplete | Should -BeFalse -Because 'the piped object is not modified; a new one is output'
        }

        It 'refreshes piped batches by id, not as the latest batch of their pipeline' {
            $First.Id | Should -Not -Be (Get-DhubBatch -PipelineId 'orders').Id -Because 'the test needs an older batch'
            $refreshed = @($First | Get-DhubBatch)
            $refreshed.Id | Should -Be @($First.Id)
        }

        It 'refreshes several piped batches in order' {
            $refreshed = @($First, $Other, $Second | Get-DhubBatch)
            $refreshed.Id | Should -Be @($First.Id, $Other.Id, $Second.Id)
            $refreshed.PipelineId | Should -Be @('orders', 'inventory', 'orders')
        }

        It 'rejects the batch id ''<Id>'' with DhubBadRequest before any request' -ForEach @(@{ Id = '.' }, @{ Id = '..' }) {
            Clear-EmulatorRequest $T
            Get-DhubBatch -PipelineId 'orders' -BatchId $Id -ErrorVariable errors -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            Get-TestErrorId $errors[0] | Should -Be 'DhubBadRequest'
            $errors[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
            Get-DhubBatch -PipelineId $Id -ErrorVariable errors2 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            Get-TestErrorId $errors2[0] | Should -Be 'DhubBadRequest'
            @(Get-EmulatorRequest $T).Count | Should -Be 0
        }

        It 'round-trips a pipeline whose id contains / ? # % space and non-ASCII' {
            $weird = 'we/ird?p#1%2 ü'
            Add-EmulatorPipeline $T $weird
            $started = Start-DhubBatch -PipelineId $weird
            $started.PipelineId | Should -Be $weird
            (Get-DhubBatch -PipelineId $weird -Id $started.Id).Id | Should -Be $started.Id
            (Get-DhubBatch -PipelineId $weird).Id | Should -Be $started.Id
            @(Get-DhubBatch -PipelineId $weird -All).Id | Should -Be @($started.Id)
        }
    }

    Context '-All and paging' {
        BeforeAll {
            Reset-Emulator $T
            $script:SeedCount = 250
            Add-EmulatorSeed $T 'orders' $SeedCount
            $script:AllBatches = @(Get-DhubBatch -PipelineId 'orders' -All)
        }
        BeforeEach {
            Clear-EmulatorRequest $T
        }

        It 'returns every batch exactly once' {
            $AllBatches.Count | Should -Be $SeedCount
            @($AllBatches.Id | Sort-Object -Unique).Count | Should -Be $SeedCount
            @($AllBatches | Where-Object { $_ -isnot [DhubBatches.Batch] }).Count | Should -Be 0
            $AllBatches.PipelineId | Sort-Object -Unique | Should -Be 'orders'
        }

        It 'parses every listed batch completely (state and steps)' {
            # Aggregate first: one Should per batch would make this test slow.
            @($AllBatches | Where-Object State -NE ([DhubBatches.BatchState]::Stop)).Count | Should -Be 0
            @($AllBatches | Where-Object { $_.Steps.Count -ne 3 }).Count | Should -Be 0
            @($AllBatches | Where-Object Outcome -NE ([DhubBatches.BatchOutcome]::Succeeded)).Count | Should -Be 0
            @($AllBatches | Where-Object { -not $_.Name -or -not $_.Deployment }).Count | Should -Be 0
        }

        It '-First 5 returns the first 5' {
            $five = @(Get-DhubBatch -PipelineId 'orders' -All -First 5)
            $five.Id | Should -Be @($AllBatches[0..4].Id)
        }

        It '-Skip 10 -First 5 returns items 11 to 15' {
            $page = @(Get-DhubBatch -PipelineId 'orders' -All -Skip 10 -First 5)
            $page.Id | Should -Be @($AllBatches[10..14].Id)
        }

        It '-Skip 245 returns the last 5' {
            $tail = @(Get-DhubBatch -PipelineId 'orders' -All -Skip 245)
            $tail.Id | Should -Be @($AllBatches[245..249].Id)
        }

        It '-PageSize <PageSize> returns the same batches in the same order' -ForEach @(@{ PageSize = 7 }, @{ PageSize = 1000 }) {
            $paged = @(Get-DhubBatch -PipelineId 'orders' -All -PageSize $PageSize)
            $paged.Id | Should -Be @($AllBatches.Id)
        }

        It '| Select-Object -First 3 stops early without an error' {
            $errorsBefore = $Error.Count
            $three = @(Get-DhubBatch -PipelineId 'orders' -All -PageSize 10 -ErrorVariable errors | Select-Object -First 3)
            $three.Id | Should -Be @($AllBatches[0..2].Id)
            $errors.Count | Should -Be 0
            $Error.Count | Should -Be $errorsBefore
            Start-Sleep -Milliseconds 500
            @(Get-EmulatorRequest $T -Operation List).Count | Should -BeLessOrEqual 2 -Because '25 pages exist; only the first (and at most one prefetched) may be read'
        }

        It '-IncludeTotalCount emits a total-count object first' {
            $output = @(Get-DhubBatch -PipelineId 'orders' -All -IncludeTotalCount -First 3)
            $output.Count | Should -Be 4
            $output[0] | Should -Not -BeOfType ([DhubBatches.Batch])
            $output[0].ToString() | Should -Match 'total count'
            $output[1..3] | ForEach-Object { $_ | Should -BeOfType ([DhubBatches.Batch]) }
            $output[1..3].Id | Should -Be @($AllBatches[0..2].Id)
        }

        It 'Where-Object State -eq ''stop'' / ''running'' filter on the wire values' {
            @($AllBatches | Where-Object State -EQ 'stop').Count | Should -Be $SeedCount
            @($AllBatches | Where-Object State -EQ 'running').Count | Should -Be 0
        }
    }

    Context 'output formats' {
        BeforeAll {
            Reset-Emulator $T
            Add-EmulatorSeed $T 'inventory' 4
            $script:Batches = @(Get-DhubBatch -PipelineId 'inventory' -All)
            $script:TypeNamePattern = 'DhubBatches\.|System\.'
        }

        It 'ConvertTo-Csv gives one readable row per batch with no type names' {
            $rows = @($Batches | ConvertTo-Csv | ConvertFrom-Csv)
            $rows.Count | Should -Be $Batches.Count
            foreach ($row in $rows) {
                foreach ($property in $row.PSObject.Properties) {
                    "$($property.Value)" | Should -Not -Match $TypeNamePattern -Because "column $($property.Name)"
                }
            }
            $rows[0].Id | Should -Be $Batches[0].Id
            $rows[0].PipelineId | Should -Be 'inventory'
            $rows[0].Steps | Should -Match 'extract=success'
            $rows[0].StepSummary | Should -Be $Batches[0].StepSummary
        }

        It 'Export-Csv writes one readable row per batch with no type names' {
            $path = Join-Path $TestDrive 'batches.csv'
            $Batches | Export-Csv -Path $path
            $text = Get-Content -Raw $path
            $text | Should -Not -Match $TypeNamePattern
            $rows = @(Import-Csv $path)
            $rows.Count | Should -Be $Batches.Count
            $rows.Id | Should -Be @($Batches.Id)
        }

        It 'ForEach-Object Steps | ConvertTo-Csv gives one readable row per step' {
            $rows = @($Batches | ForEach-Object Steps | ConvertTo-Csv | ConvertFrom-Csv)
            $rows.Count | Should -Be ($Batches.Count * 3)
            foreach ($row in $rows) {
                foreach ($property in $row.PSObject.Properties) {
                    "$($property.Value)" | Should -Not -Match $TypeNamePattern -Because "column $($property.Name)"
                }
            }
            $rows[0].Name | Should -Be 'extract'
            $rows[0].BatchId | Should -Be $Batches[0].Id
            $rows[0].PipelineId | Should -Be 'inventory'
            $rows[0].Offsets | Should -Match 'partition_0=\d+'
            $rows.Name[0..2] | Should -Be @('extract', 'transform', 'load')
        }

        It 'ConvertTo-Json works and round-trips the main properties' {
            $json = $Batches[0] | ConvertTo-Json -Depth 5
            $back = $json | ConvertFrom-Json
            $back.Id | Should -Be $Batches[0].Id
            $back.PipelineId | Should -Be 'inventory'
            @($back.Steps).Count | Should -Be 3
            $json | Should -Not -Match 'System\.'
        }

        It 'the default table view shows PipelineId, Id, State, Outcome and Steps' {
            $table = $Batches | Format-Table | Out-String -Width 250
            $header = ($table -split "`r?`n" | Where-Object { $_ -match '\S' } | Select-Object -First 1)
            $columns = @($header -split '\s+' | Where-Object { $_ })
            $columns | Should -Be @('PipelineId', 'Id', 'State', 'Outcome', 'Steps')
            $table | Should -Match ([regex]::Escape($Batches[0].Id))
        }

        It 'Where-Object State -eq ''running'' finds a running batch' {
            Add-EmulatorPipeline $T 'paced' -StepSeconds 0.4
            $started = Start-DhubBatch -PipelineId 'paced'
            $found = Wait-TestCondition -TimeoutSec 20 -IntervalMs 50 {
                @(Get-DhubBatch -PipelineId 'paced' | Where-Object State -EQ 'running').Count -eq 1
            }
            $found | Should -BeTrue
            (Get-DhubBatch -PipelineId 'paced' -Id $started.Id).Id | Should -Be $started.Id
        }
    }

    Context 'dhub wire' -Tag 'Dhub' -Skip:($Backend -ne 'Dhub') {
        BeforeAll {
            Reset-Emulator $T
            Add-EmulatorSeed $T 'orders' 250
        }
        BeforeEach {
            Clear-EmulatorFault $T
            Clear-EmulatorRequest $T
        }

        It 'parses the list quirk (items as JSON strings) in the server''s order' {
            $raw = Invoke-RestMethod -Uri "$($T.Url)/api/v1/batches/orders/?limit=1000" -Headers @{ Authorization = "Bearer $($T.TokenText)" }
            $raw.items.PSObject.Properties.Value[0] | Should -BeOfType ([string]) -Because 'the emulator serves the quirk'
            $expected = @($raw.items.PSObject.Properties.Name)
            $expected.Count | Should -Be 250
            $listed = @(Get-DhubBatch -PipelineId 'orders' -All)
            $listed.Id | Should -Be $expected
            $first = $raw.items.PSObject.Properties.Value[0] | ConvertFrom-Json
            $listed[0].Name | Should -Be $first.name
            $listed[0].Deployment | Should -Be $first.deployment
            $listed[0].Steps.Name | Should -Be @($first.state.steps.PSObject.Properties.Name)
        }

        It '-All -First 5 makes a single list request with limit=5' {
            $null = Get-DhubBatch -PipelineId 'orders' -All -First 5
            $lists = @(Get-EmulatorRequest $T -Operation List)
            $lists.Count | Should -Be 1
            $lists[0].rawTarget | Should -Match '[?&]limit=5(&|$)'
        }

        It '-PageSize 50 pages with limit=50 and the continuation token' {
            $all = @(Get-DhubBatch -PipelineId 'orders' -All -PageSize 50)
            $all.Count | Should -Be 250
            $lists = @(Get-EmulatorRequest $T -Operation List)
            $lists.Count | Should -BeIn 5, 6
            $lists | ForEach-Object { $_.rawTarget | Should -Match '[?&]limit=50(&|$)' }
            @($lists | Where-Object rawTarget -Match '[?&]token=').Count | Should -Be ($lists.Count - 1)
        }

        It 'an id with / ? # % space and ü reaches the server as one segment' {
            $id = 'a/b?c#d%e f ü'
            Get-DhubBatch -PipelineId 'orders' -Id $id -ErrorVariable errors -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            Get-TestErrorId $errors[0] | Should -Be 'DhubBatchNotFound'
            $requests = @(Get-EmulatorRequest $T)
            $requests.Count | Should -Be 1
            $requests[0].pathSegments.Count | Should -Be 5
            $requests[0].pathSegments[3] | Should -Be 'orders'
            $requests[0].pathSegments[4] | Should -Be $id
            $requests[0].rawTarget | Should -Not -Match '\?'
        }

        It 'a GET answered 503 with Retry-After 1 once is retried and succeeds' {
            $latest = Get-DhubBatch -PipelineId 'orders' -All -First 1
            $null = Add-EmulatorFault $T -Operation Get @{ status = 503; retryAfter = '1'; times = 1 }
            Clear-EmulatorRequest $T
            $batch = Get-DhubBatch -PipelineId 'orders' -Id $latest.Id -ErrorVariable errors
            $errors.Count | Should -Be 0
            $batch.Id | Should -Be $latest.Id
            $gets = @(Get-EmulatorRequest $T -Operation Get)
            $gets.Count | Should -Be 2
            $gets[0].status | Should -Be 503
            $gets[0].fault | Should -Not -BeNullOrEmpty
            $gets[1].status | Should -Be 200
            ([DateTimeOffset]$gets[1].timestamp - [DateTimeOffset]$gets[0].timestamp).TotalSeconds | Should -BeGreaterThan 0.5 -Because 'Retry-After: 1 is honoured'
        }
    }
}
