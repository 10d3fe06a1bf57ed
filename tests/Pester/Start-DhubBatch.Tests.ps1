BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'DhubBatchesTestUtils.psm1')
    $Backends = Get-TestBackend
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'DhubBatchesTestUtils.psm1')
    Import-TestModule
}

Describe 'Start-DhubBatch (<Name>)' -Tag 'Start' -ForEach $Backends {
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
        # A pipeline whose batches stay active for minutes: -IfActive tests must not race the lifecycle.
        Add-EmulatorPipeline $T $Slow -StepSeconds 60
    }

    It 'outputs the new DhubBatches.Batch' {
        $batch = Start-DhubBatch -PipelineId 'orders'
        @($batch).Count | Should -Be 1
        $batch | Should -BeOfType ([DhubBatches.Batch])
        $batch.PipelineId | Should -Be 'orders'
        $batch.Id | Should -Not -BeNullOrEmpty
        $batch.Backend | Should -Be $Backend
        $batch.State | Should -Not -Be ([DhubBatches.BatchState]::Unknown)
        $batch.IsComplete | Should -BeFalse
        $batch.Outcome | Should -Be ([DhubBatches.BatchOutcome]::InProgress)
        (Get-EmulatorStat $T 'orders').created | Should -Be 1
    }

    It 'takes the pipeline id positionally' {
        $batch = Start-DhubBatch 'inventory'
        $batch.PipelineId | Should -Be 'inventory'
        (Get-EmulatorStat $T 'inventory').created | Should -Be 1
    }

    It '-WhatIf starts nothing' {
        Clear-EmulatorRequest $T
        $output = Start-DhubBatch -PipelineId 'orders' -WhatIf
        $output | Should -BeNullOrEmpty
        (Get-EmulatorStat $T 'orders').created | Should -Be 0
        @(Get-EmulatorRequest $T -Operation Start).Count | Should -Be 0
    }

    It 'takes pipeline ids from the pipeline by value' {
        $batches = @('orders', 'inventory' | Start-DhubBatch)
        $batches.Count | Should -Be 2
        $batches.PipelineId | Should -Be @('orders', 'inventory')
        (Get-EmulatorStat $T 'orders').created | Should -Be 1
        (Get-EmulatorStat $T 'inventory').created | Should -Be 1
    }

    It 'takes pipeline ids from the pipeline by property name' {
        $batches = @([pscustomobject]@{ PipelineId = 'orders' }, [pscustomobject]@{ PipelineId = 'sales-pipeline' } | Start-DhubBatch)
        $batches.Count | Should -Be 2
        $batches.PipelineId | Should -Be @('orders', 'sales-pipeline')
        (Get-EmulatorStat $T 'sales-pipeline').created | Should -Be 1
    }

    It 'an unknown pipeline is a non-terminating DhubPipelineNotFound; the other piped pipelines still start' {
        $batches = @('orders', 'no-such-pipeline', 'inventory' | Start-DhubBatch -ErrorVariable errors -ErrorAction SilentlyContinue)
        $batches.PipelineId | Should -Be @('orders', 'inventory')
        $errors.Count | Should -Be 1
        Get-TestErrorId $errors[0] | Should -Be 'DhubPipelineNotFound'
        $errors[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $errors[0].TargetObject | Should -Be 'no-such-pipeline'
        "$($errors[0])" | Should -Match 'no-such-pipeline'
        "$($errors[0])" | Should -Match '404'
    }

    It 'rejects the pipeline id ''<Id>'' with DhubBadRequest before any request' -ForEach @(@{ Id = '.' }, @{ Id = '..' }) {
        Clear-EmulatorRequest $T
        Start-DhubBatch -PipelineId $Id -ErrorVariable errors -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $errors.Count | Should -Be 1
        Get-TestErrorId $errors[0] | Should -Be 'DhubBadRequest'
        $errors[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        @(Get-EmulatorRequest $T).Count | Should -Be 0
    }

    Context '-IfActive' {
        It 'Start (default) starts another batch while one is active' {
            $first = Start-DhubBatch -PipelineId $Slow
            $second = Start-DhubBatch -PipelineId $Slow
            $second.Id | Should -Not -Be $first.Id
            (Get-EmulatorStat $T $Slow).created | Should -Be 2
        }

        It 'Skip returns the active batch without starting one' {
            $first = Start-DhubBatch -PipelineId $Slow
            $skipped = Start-DhubBatch -PipelineId $Slow -IfActive Skip
            @($skipped).Count | Should -Be 1
            $skipped | Should -BeOfType ([DhubBatches.Batch])
            $skipped.Id | Should -Be $first.Id
            (Get-EmulatorStat $T $Slow).created | Should -Be 1
        }

        It 'Skip starts a batch when the pipeline has none' {
            $batch = Start-DhubBatch -PipelineId $Slow -IfActive Skip
            $batch.Id | Should -Not -BeNullOrEmpty
            (Get-EmulatorStat $T $Slow).created | Should -Be 1
        }

        It 'Skip starts a batch when the latest one is complete' {
            Add-EmulatorSeed $T 'orders' 3
            $batch = Start-DhubBatch -PipelineId 'orders' -IfActive Skip
            $batch.IsComplete | Should -BeFalse
            (Get-EmulatorStat $T 'orders').created | Should -Be 1
        }

        It 'Fail writes DhubBatchActive (ResourceExists) and starts nothing' {
            $first = Start-DhubBatch -PipelineId $Slow
            $output = Start-DhubBatch -PipelineId $Slow -IfActive Fail -ErrorVariable errors -ErrorAction SilentlyContinue
            $output | Should -BeNullOrEmpty
            $errors.Count | Should -Be 1
            Get-TestErrorId $errors[0] | Should -Be 'DhubBatchActive'
            $errors[0].CategoryInfo.Category | Should -Be 'ResourceExists'
            $errors[0].TargetObject | Should -Be $Slow
            "$($errors[0])" | Should -Match ([regex]::Escape($first.Id))
            (Get-EmulatorStat $T $Slow).created | Should -Be 1
        }

        It 'Fail with -WhatIf reports that it would fail, writes no error and starts nothing' {
            $first = Start-DhubBatch -PipelineId $Slow
            $output = Start-DhubBatch -PipelineId $Slow -IfActive Fail -WhatIf -ErrorVariable errors
            $output | Should -BeNullOrEmpty
            $errors.Count | Should -Be 0
            (Get-EmulatorStat $T $Slow).created | Should -Be 1
            $text = Invoke-TestChildPwsh $T "Start-DhubBatch -PipelineId '$Slow' -IfActive Fail -WhatIf; 'exit ' + `$?"
            $text | Should -Match "What if: Not starting a batch of pipeline '$Slow'"
            $text | Should -Match ([regex]::Escape($first.Id))
            $text | Should -Match 'exit True'
            (Get-EmulatorStat $T $Slow).created | Should -Be 1
        }

        It 'Fail with -ErrorAction Stop throws' {
            $null = Start-DhubBatch -PipelineId $Slow
            { Start-DhubBatch -PipelineId $Slow -IfActive Fail -ErrorAction Stop } | Should -Throw
        }
    }

    It '-Wait outputs the completed batch' {
        $batch = Start-DhubBatch -PipelineId 'orders' -Wait -PollingInterval 0.2 -Timeout 60
        @($batch).Count | Should -Be 1
        $batch | Should -BeOfType ([DhubBatches.Batch])
        $batch.IsComplete | Should -BeTrue
        $batch.Outcome | Should -Be ([DhubBatches.BatchOutcome]::Succeeded)
        $batch.State | Should -Be ([DhubBatches.BatchState]::Stop)
        (Get-EmulatorStat $T 'orders').created | Should -Be 1
    }

    It '-Wait on a failing pipeline outputs the batch and writes DhubBatchFailed' {
        $batch = Start-DhubBatch -PipelineId 'failing-pipeline' -Wait -PollingInterval 0.2 -Timeout 60 -ErrorVariable errors -ErrorAction SilentlyContinue
        $batch.Outcome | Should -Be ([DhubBatches.BatchOutcome]::Failed)
        $errors.Count | Should -Be 1
        Get-TestErrorId $errors[0] | Should -Be 'DhubBatchFailed'
    }

    It 'a start whose answer is lost creates exactly one batch (dhub: DhubServiceUnavailable; Prefect: retried with its key)' {
        $null = Add-EmulatorFault $T -Operation Start @{ mode = 'applyThenDrop'; times = 1 }
        $output = Start-DhubBatch -PipelineId 'orders' -ErrorVariable errors -ErrorAction SilentlyContinue
        if ($T.IdempotentStart) {
            # the retried create_flow_run carries the same idempotency key and gets the same run back.
            $errors.Count | Should -Be 0
            @($output).Count | Should -Be 1
            $output.Id | Should -Not -BeNullOrEmpty
        }
        else {
            $output | Should -BeNullOrEmpty
            $errors.Count | Should -Be 1
            Get-TestErrorId $errors[0] | Should -Be 'DhubServiceUnavailable'
            $errors[0].CategoryInfo.Category | Should -Be 'ConnectionError'
            $errors[0].TargetObject | Should -Be 'orders'
        }
        (Get-EmulatorStat $T 'orders').created | Should -Be 1
        (Get-EmulatorStat $T 'orders').batches | Should -Be 1
    }

    Context 'dhub wire' -Tag 'Dhub' -Skip:($Backend -ne 'Dhub') {
        It '-PipelineVersion reaches the server as the pipeline_version query' {
            Clear-EmulatorRequest $T
            $null = Start-DhubBatch -PipelineId 'orders' -PipelineVersion '2.1 beta'
            $posts = @(Get-EmulatorRequest $T -Operation Start)
            $posts.Count | Should -Be 1
            $query = ([uri]"http://x$($posts[0].rawTarget)").Query.TrimStart('?') -split '&'
            $query | Should -Contain 'pipeline_version=2.1%20beta'
        }

        It 'without -PipelineVersion no pipeline_version is sent' {
            Clear-EmulatorRequest $T
            $null = Start-DhubBatch -PipelineId 'orders'
            @(Get-EmulatorRequest $T -Operation Start)[0].rawTarget | Should -Not -Match 'pipeline_version'
        }

        It '-Parameter is DhubBadRequest on dhub and sends nothing' {
            Clear-EmulatorRequest $T
            $output = Start-DhubBatch -PipelineId 'orders' -Parameter @{ region = 'eu' } -ErrorVariable errors -ErrorAction SilentlyContinue
            $output | Should -BeNullOrEmpty
            $errors.Count | Should -Be 1
            Get-TestErrorId $errors[0] | Should -Be 'DhubBadRequest'
            "$($errors[0])" | Should -Match 'Prefect'
            @(Get-EmulatorRequest $T -Operation Start).Count | Should -Be 0
            (Get-EmulatorStat $T 'orders').created | Should -Be 0
        }

        It 'a 503 on the POST is not retried (one POST in the request log)' {
            $null = Add-EmulatorFault $T -Operation Start @{ status = 503; retryAfter = '0'; times = 0 }
            Clear-EmulatorRequest $T
            $output = Start-DhubBatch -PipelineId 'orders' -ErrorVariable errors -ErrorAction SilentlyContinue
            $output | Should -BeNullOrEmpty
            Get-TestErrorId $errors[0] | Should -Be 'DhubServiceUnavailable'
            @(Get-EmulatorRequest $T -Operation Start).Count | Should -Be 1
        }

        It 'a lost answer is not retried either (one POST in the request log)' {
            $null = Add-EmulatorFault $T -Operation Start @{ mode = 'applyThenDrop'; times = 0 }
            Clear-EmulatorRequest $T
            $null = Start-DhubBatch -PipelineId 'orders' -ErrorAction SilentlyContinue
            @(Get-EmulatorRequest $T -Operation Start).Count | Should -Be 1
            (Get-EmulatorStat $T 'orders').created | Should -Be 1
        }

        It 'a connection dropped after the request was sent is not retried' {
            # Dropped before the API runs: nothing was applied, but the client cannot know that, so no retry.
            $null = Add-EmulatorFault $T -Operation Start @{ mode = 'drop'; times = 1 }
            Clear-EmulatorRequest $T
            $null = Start-DhubBatch -PipelineId 'orders' -ErrorVariable errors -ErrorAction SilentlyContinue
            Get-TestErrorId $errors[0] | Should -Be 'DhubServiceUnavailable'
            @(Get-EmulatorRequest $T -Operation Start).Count | Should -Be 1
            (Get-EmulatorStat $T 'orders').created | Should -Be 0
        }
    }
}
