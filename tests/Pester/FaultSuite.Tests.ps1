# The reliability fault suite: the ASSEMBLED module against the emulator's fault injection, on both backends.
# For each fault, the outcome a user needs: success after bounded retries, or the interface.md error id within a
# bounded time; no request that could duplicate work retried; pipeline output consistent (no duplicates, no half
# objects). Run alone with: tests/Pester/Invoke-PesterSuite.ps1 ... -Tag FaultSuite

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'DhubBatchesTestUtils.psm1')
    $Backends = Get-TestBackend -PrefectVersion 3
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'DhubBatchesTestUtils.psm1')
    . (Join-Path $PSScriptRoot 'FaultSuiteSetup.ps1')
    Import-TestModule
}

Describe 'Fault suite (<Name>)' -Tag 'FaultSuite' -ForEach $Backends {
    BeforeAll {
        $script:SavedEnvironment = Save-TestConnectionEnvironment -EmptyHome (Join-Path $TestDrive 'prefect-home')
        $script:T = Start-TestBackend -Backend $Backend -PrefectVersion $PrefectVersion
        # 1 attempt + 2 retries, no back-off, 2 s per attempt: persistent faults fail fast.
        $script:Fast = @{ RetryIntervalSec = 0; MaximumRetryCount = 2; TimeoutSec = 2 }
    }
    AfterAll {
        Disconnect-Dhub
        Stop-TestBackend $T
        Restore-TestConnectionEnvironment $SavedEnvironment
    }
    BeforeEach {
        Reset-Emulator $T
        Connect-TestBackend $T -Parameters $Fast
        $script:Batch = Start-DhubBatch -PipelineId 'orders'
        Clear-EmulatorRequest $T
    }

    Context 'Retry-After and maintenance answers' -Tag 'FaultSuite' {
        It '429 with Retry-After in seconds waits that long, then succeeds' {
            $null = Add-EmulatorFault $T -Operation Get @{ status = 429; retryAfter = '2'; times = 1 }
            $result = Invoke-FaultCase { Get-DhubBatch -PipelineId 'orders' -Id $Batch.Id }
            $result.Errors | Should -BeNullOrEmpty
            $result.Output.Count | Should -Be 1
            $result.Output[0].Id | Should -Be $Batch.Id
            $result.Seconds | Should -BeGreaterOrEqual 1.9 -Because 'Retry-After: 2 is honoured (RetryIntervalSec is 0)'
            $result.Seconds | Should -BeLessThan 10
            Get-FaultRequestCount $T -Operation Get | Should -Be 2
        }

        It '429 with Retry-After as an HTTP date waits until then, then succeeds' {
            $until = [DateTimeOffset]::UtcNow.AddSeconds(4).ToString('r', [Globalization.CultureInfo]::InvariantCulture)
            $null = Add-EmulatorFault $T -Operation Get @{ status = 429; retryAfter = $until; times = 1 }
            $result = Invoke-FaultCase { Get-DhubBatch -PipelineId 'orders' -Id $Batch.Id }
            $result.Errors | Should -BeNullOrEmpty
            $result.Output.Count | Should -Be 1
            # The date has whole seconds and the server's Date header may be up to a second old: >= 3 s of the 4.
            $result.Seconds | Should -BeGreaterOrEqual 2.5 -Because "Retry-After: $until is honoured"
            $result.Seconds | Should -BeLessThan 12
            Get-FaultRequestCount $T -Operation Get | Should -Be 2
        }

        It '503 with Prefect-Maintenance: true does not use up a retry' -Skip:($Backend -ne 'Prefect') {
            Connect-TestBackend $T -Parameters @{ RetryIntervalSec = 0; MaximumRetryCount = 1; TimeoutSec = 2 }
            $null = Add-EmulatorFault $T -Operation Get @{ status = 503; times = 2; headers = @{ 'Prefect-Maintenance' = 'true' } }
            $result = Invoke-FaultCase { Get-DhubBatch -PipelineId 'orders' -Id $Batch.Id }
            $result.Errors | Should -BeNullOrEmpty
            $result.Output.Count | Should -Be 1
            $result.Output[0].Id | Should -Be $Batch.Id
            Get-FaultRequestCount $T -Operation Get | Should -Be 3
        }

        It 'the same two 503s without Prefect-Maintenance exhaust MaximumRetryCount 1' -Skip:($Backend -ne 'Prefect') {
            Connect-TestBackend $T -Parameters @{ RetryIntervalSec = 0; MaximumRetryCount = 1; TimeoutSec = 2 }
            $null = Add-EmulatorFault $T -Operation Get @{ status = 503; times = 2 }
            $result = Invoke-FaultCase { Get-DhubBatch -PipelineId 'orders' -Id $Batch.Id }
            $result.Output | Should -BeNullOrEmpty
            Get-TestErrorId $result.Errors[0] | Should -Be 'DhubServiceUnavailable'
            Get-FaultRequestCount $T -Operation Get | Should -Be 2
        }
    }

    Context 'Server errors' -Tag 'FaultSuite' {
        It '<Status> once is retried and succeeds' -ForEach @(@{ Status = 500 }, @{ Status = 502 }, @{ Status = 504 }) {
            $null = Add-EmulatorFault $T -Operation Get @{ status = $Status; times = 1 }
            $result = Invoke-FaultCase { Get-DhubBatch -PipelineId 'orders' -Id $Batch.Id }
            $result.Errors | Should -BeNullOrEmpty
            $result.Output.Count | Should -Be 1
            $result.Output[0].Id | Should -Be $Batch.Id
            Get-FaultRequestCount $T -Operation Get | Should -Be 2
        }

        It 'persistent <Status> is DhubServiceUnavailable after MaximumRetryCount+1 attempts' -ForEach @(@{ Status = 500 }, @{ Status = 502 }, @{ Status = 504 }) {
            $null = Add-EmulatorFault $T -Operation Get @{ status = $Status; times = 0 }
            $result = Invoke-FaultCase { Get-DhubBatch -PipelineId 'orders' -Id $Batch.Id }
            $result.Output | Should -BeNullOrEmpty
            $result.Errors.Count | Should -Be 1
            Get-TestErrorId $result.Errors[0] | Should -Be 'DhubServiceUnavailable'
            $result.Errors[0].CategoryInfo.Category | Should -Be 'ConnectionError'
            "$($result.Errors[0])" | Should -Match "\b$Status\b"
            $result.Seconds | Should -BeLessThan 10
            Get-FaultRequestCount $T -Operation Get | Should -Be 3
        }
    }

    Context 'Network failures' -Tag 'FaultSuite' {
        It 'connection refused is DhubServiceUnavailable, fast' {
            $url = Get-FreeLoopbackUrl
            $uri = if ($Backend -eq 'Prefect') { "$url/prefect/api" } else { $url }
            $result = Invoke-FaultCase { Connect-Dhub -Uri $uri -Backend $Backend -Token $T.Token -RetryIntervalSec 0 -MaximumRetryCount 2 -TimeoutSec 2 }
            $result.Output | Should -BeNullOrEmpty
            $result.Errors.Count | Should -Be 1
            Get-TestErrorId $result.Errors[0] | Should -Be 'DhubServiceUnavailable'
            $result.Errors[0].CategoryInfo.Category | Should -Be 'ConnectionError'
            $result.Seconds | Should -BeLessThan 10
        }

        It 'connection refused on every command of a connection whose server went away is DhubServiceUnavailable' {
            $gone = Start-TestBackend -Backend $Backend -PrefectVersion $PrefectVersion
            try {
                $connection = Connect-TestBackend $gone -Parameters $Fast -PassThru
                Connect-TestBackend $T -Parameters $Fast # the session default stays on the live emulator
            }
            finally {
                Stop-TestBackend $gone
            }
            $id = if ($Backend -eq 'Prefect') { [guid]::NewGuid().ToString() } else { 'batch-gone' }
            foreach ($command in @(
                    { Get-DhubBatch -PipelineId 'orders' -Id $id -Connection $connection }
                    { Start-DhubBatch -PipelineId 'orders' -Connection $connection }
                )) {
                $result = Invoke-FaultCase $command
                $result.Output | Should -BeNullOrEmpty
                $result.Errors.Count | Should -Be 1
                Get-TestErrorId $result.Errors[0] | Should -Be 'DhubServiceUnavailable' -Because "$command"
                $result.Seconds | Should -BeLessThan 10
            }
            $connection.Dispose()
        }

        It 'a body cut short once is retried (GET) and succeeds' {
            $null = Add-EmulatorFault $T -Operation Get @{ mode = 'truncate'; times = 1 }
            $result = Invoke-FaultCase { Get-DhubBatch -PipelineId 'orders' -Id $Batch.Id }
            $result.Errors | Should -BeNullOrEmpty
            $result.Output.Count | Should -Be 1
            $result.Output[0].Id | Should -Be $Batch.Id
            $result.Output[0].State | Should -Not -Be 'Unknown' -Because 'no half object'
            Get-FaultRequestCount $T -Operation Get | Should -Be 2
            $result.Output[0].Steps.Count | Should -Be (Get-DhubBatch -PipelineId 'orders' -Id $Batch.Id).Steps.Count
        }

        It 'a body always cut short is DhubInvalidResponse after the retries' {
            $null = Add-EmulatorFault $T -Operation Get @{ mode = 'truncate'; times = 0 }
            $result = Invoke-FaultCase { Get-DhubBatch -PipelineId 'orders' -Id $Batch.Id }
            $result.Output | Should -BeNullOrEmpty
            $result.Errors.Count | Should -Be 1
            Get-TestErrorId $result.Errors[0] | Should -Be 'DhubInvalidResponse'
            $result.Errors[0].CategoryInfo.Category | Should -Be 'InvalidResult'
            $result.Seconds | Should -BeLessThan 10
            Get-FaultRequestCount $T -Operation Get | Should -Be 3
        }

        It 'an answer slower than -TimeoutSec is DhubServiceUnavailable within the attempts'' timeouts' {
            Connect-TestBackend $T -Parameters @{ RetryIntervalSec = 0; MaximumRetryCount = 1; TimeoutSec = 1 }
            $null = Add-EmulatorFault $T -Operation Get @{ mode = 'delay'; delayMs = 4000; times = 0 }
            $result = Invoke-FaultCase { Get-DhubBatch -PipelineId 'orders' -Id $Batch.Id }
            $result.Output | Should -BeNullOrEmpty
            $result.Errors.Count | Should -Be 1
            Get-TestErrorId $result.Errors[0] | Should -Be 'DhubServiceUnavailable'
            $result.Errors[0].CategoryInfo.Category | Should -Be 'ConnectionError'
            $result.Seconds | Should -BeGreaterOrEqual 1.9 -Because 'two attempts of 1 s each'
            $result.Seconds | Should -BeLessThan 6 -Because 'not two 4 s waits'
            (Get-FaultRule $T)[0].hits | Should -Be 2
        }

        It 'a dropped connection once is retried (GET) and succeeds' {
            $null = Add-EmulatorFault $T -Operation Get @{ mode = 'drop'; times = 1 }
            $result = Invoke-FaultCase { Get-DhubBatch -PipelineId 'orders' -Id $Batch.Id }
            $result.Errors | Should -BeNullOrEmpty
            $result.Output.Count | Should -Be 1
            Get-FaultRequestCount $T -Operation Get | Should -Be 2
        }
    }

    Context 'Stop, remove and wait under faults' -Tag 'FaultSuite' {
        It 'a stop whose answer is lost (applyThenDrop) is retried and succeeds, without an error' {
            Add-EmulatorPipeline $T -PipelineId 'slow-stop' -StepSeconds 30
            $slow = Start-DhubBatch -PipelineId 'slow-stop'
            Clear-EmulatorRequest $T
            $null = Add-EmulatorFault $T -Operation Stop @{ mode = 'applyThenDrop'; times = 1 }
            $result = Invoke-FaultCase { Stop-DhubBatch -PipelineId 'slow-stop' -BatchId $slow.Id -PassThru -WarningAction SilentlyContinue }
            $result.Errors | Should -BeNullOrEmpty
            $result.Output.Count | Should -Be 1
            $result.Output[0].Id | Should -Be $slow.Id
            Get-FaultRequestCount $T -Operation Stop | Should -Be 2
            $null = Wait-TestCondition { (Get-DhubBatch -PipelineId 'slow-stop' -Id $slow.Id).IsComplete } -TimeoutSec 10
            (Get-DhubBatch -PipelineId 'slow-stop' -Id $slow.Id).State | Should -Be 'Stop'
        }

        It 'a delete whose answer is lost (applyThenDrop) is retried; the 404 of the retry is success, not DhubBatchNotFound' {
            $null = Wait-TestCondition { (Get-DhubBatch -PipelineId 'orders' -Id $Batch.Id).IsComplete } -TimeoutSec 10
            Clear-EmulatorRequest $T
            $null = Add-EmulatorFault $T -Operation Remove @{ mode = 'applyThenDrop'; times = 1 }
            $result = Invoke-FaultCase { Remove-DhubBatch -PipelineId 'orders' -BatchId $Batch.Id -Force }
            $result.Errors | Should -BeNullOrEmpty -Because 'deleting twice has the same effect as once'
            $result.Output | Should -BeNullOrEmpty
            Get-FaultRequestCount $T -Operation Remove | Should -Be 2
            $gone = Invoke-FaultCase { Get-DhubBatch -PipelineId 'orders' -Id $Batch.Id }
            Get-TestErrorId $gone.Errors[0] | Should -Be 'DhubBatchNotFound'
        }

        It 'a delete of a batch that does not exist is still DhubBatchNotFound (no fault, no retry)' {
            $missing = if ($Backend -eq 'Prefect') { '0badc0de-0000-4000-8000-000000000404' } else { 'batch-doesnotexist' }
            $result = Invoke-FaultCase { Remove-DhubBatch -PipelineId 'orders' -BatchId $missing -Force }
            Get-TestErrorId $result.Errors[0] | Should -Be 'DhubBatchNotFound'
        }

        It 'Wait-DhubBatch -Timeout 3 under <Name> ends on time: the batch once, in its last state, and DhubWaitTimeout' -ForEach @(
            @{ Name = 'a server slower than -TimeoutSec'; Rule = @{ mode = 'delay'; delayMs = 10000; times = 0 } }
            @{ Name = 'persistent 503s'; Rule = @{ status = 503; times = 0 } }
        ) {
            Add-EmulatorPipeline $T -PipelineId 'slow-wait' -StepSeconds 30
            $slow = Start-DhubBatch -PipelineId 'slow-wait'
            $null = Add-EmulatorFault $T -Operation Get $Rule
            $result = Invoke-FaultCase { Wait-DhubBatch -InputObject $slow -Timeout 3 -PollingInterval 0.5 -WarningAction SilentlyContinue }
            $result.Output.Count | Should -Be 1
            $result.Output[0].Id | Should -Be $slow.Id
            $result.Errors.Count | Should -Be 1
            Get-TestErrorId $result.Errors[0] | Should -Be 'DhubWaitTimeout'
            $result.Errors[0].CategoryInfo.Category | Should -Be 'OperationTimeout'
            $result.Seconds | Should -BeGreaterOrEqual 2.9
            $result.Seconds | Should -BeLessThan 4.5 -Because '-Timeout bounds the whole call, retries of a slow server included'
        }

        It 'Get-DhubBatch -All with every 3rd page <Name> returns each batch exactly once' -ForEach @(
            @{ Name = 'cut short'; Rule = @{ mode = 'truncate'; every = 3; times = 0 } }
            @{ Name = 'dropped'; Rule = @{ mode = 'drop'; every = 3; times = 0 } }
        ) {
            Add-EmulatorPipeline $T -PipelineId 'pages'
            Add-EmulatorSeed $T -PipelineId 'pages' -Count 1000
            $null = Add-EmulatorFault $T -Operation List $Rule
            $result = Invoke-FaultCase { Get-DhubBatch -PipelineId 'pages' -All -PageSize 100 }
            $result.Errors | Should -BeNullOrEmpty
            $result.Output.Count | Should -Be 1000
            @($result.Output.Id | Sort-Object -Unique).Count | Should -Be 1000
            (Get-FaultRule $T)[0].hits | Should -BeGreaterThan 0
        }

        It 'Get-DhubBatch -All whose server fails for good after 3 pages outputs those pages once, then DhubServiceUnavailable' {
            Add-EmulatorPipeline $T -PipelineId 'pages'
            Add-EmulatorSeed $T -PipelineId 'pages' -Count 1000
            $null = Add-EmulatorFault $T -Operation List @{ status = 503; skip = 3; times = 0 }
            $result = Invoke-FaultCase { Get-DhubBatch -PipelineId 'pages' -All -PageSize 100 }
            $result.Output.Count | Should -Be 300
            @($result.Output.Id | Sort-Object -Unique).Count | Should -Be 300
            $result.Errors.Count | Should -Be 1
            Get-TestErrorId $result.Errors[0] | Should -Be 'DhubServiceUnavailable'
        }
    }

    Context 'Answers that are not the expected JSON' -Tag 'FaultSuite' {
        It 'an HTML page with status 200 is DhubInvalidResponse, not retried' {
            $null = Add-EmulatorFault $T -Operation Get @{ status = 200; times = 0; contentType = 'text/html; charset=utf-8'; body = '<!DOCTYPE html><html><body><h1>Welcome to nginx</h1></body></html>' }
            $result = Invoke-FaultCase { Get-DhubBatch -PipelineId 'orders' -Id $Batch.Id }
            $result.Output | Should -BeNullOrEmpty
            $result.Errors.Count | Should -Be 1
            Get-TestErrorId $result.Errors[0] | Should -Be 'DhubInvalidResponse'
            $result.Errors[0].CategoryInfo.Category | Should -Be 'InvalidResult'
            Get-FaultRequestCount $T -Operation Get | Should -Be 1
        }

        It 'an HTML error page with status 503 once is retried and succeeds' {
            $null = Add-EmulatorFault $T -Operation Get @{ status = 503; times = 1; contentType = 'text/html' }
            $result = Invoke-FaultCase { Get-DhubBatch -PipelineId 'orders' -Id $Batch.Id }
            $result.Errors | Should -BeNullOrEmpty
            $result.Output.Count | Should -Be 1
            $result.Output[0].Id | Should -Be $Batch.Id
            Get-FaultRequestCount $T -Operation Get | Should -Be 2
        }

        It 'JSON of the wrong shape (<Body>) is DhubInvalidResponse' -ForEach @(@{ Body = '[]' }, @{ Body = '{"id":5}' }, @{ Body = '"batch"' }) {
            $null = Add-EmulatorFault $T -Operation Get @{ status = 200; times = 0; body = $Body }
            $result = Invoke-FaultCase { Get-DhubBatch -PipelineId 'orders' -Id $Batch.Id }
            $result.Output | Should -BeNullOrEmpty
            $result.Errors.Count | Should -Be 1
            Get-TestErrorId $result.Errors[0] | Should -Be 'DhubInvalidResponse'
            $result.Errors[0].CategoryInfo.Category | Should -Be 'InvalidResult'
            Get-FaultRequestCount $T -Operation Get | Should -Be 1
        }

        It 'a state value never seen ("exploding") is State Unknown, without an error' {
            $json = Get-RawBatchJson $T -PipelineId 'orders' -BatchId $Batch.Id
            if ($Backend -eq 'Prefect') {
                $crafted = $json -replace '"state_type"\s*:\s*"[A-Z]+"', '"state_type":"exploding"' -replace '"type"\s*:\s*"(SCHEDULED|PENDING|RUNNING|COMPLETED)"', '"type":"exploding"'
            }
            else {
                $crafted = $json -replace '"state"\s*:\s*"[a-z]+"', '"state":"exploding"'
            }
            $crafted | Should -Match 'exploding'
            $null = Add-EmulatorFault $T -Operation Get @{ status = 200; times = 0; body = $crafted }
            $result = Invoke-FaultCase { Get-DhubBatch -PipelineId 'orders' -Id $Batch.Id }
            $result.Errors | Should -BeNullOrEmpty
            $result.Output.Count | Should -Be 1
            $result.Output[0].Id | Should -Be $Batch.Id
            $result.Output[0].State | Should -Be 'Unknown'
            $result.Output[0].IsComplete | Should -BeFalse
            if ($Backend -eq 'Dhub') {
                $result.Output[0].Steps.Count | Should -BeGreaterThan 0
                $result.Output[0].Steps | ForEach-Object { $_.State | Should -Be 'Unknown' }
            }
            else {
                $result.Output[0].EngineState | Should -Match 'exploding'
            }
        }

        It 'a 200 with an empty body is DhubInvalidResponse' {
            $null = Add-EmulatorFault $T -Operation Get @{ status = 200; times = 0; body = '' }
            $result = Invoke-FaultCase { Get-DhubBatch -PipelineId 'orders' -Id $Batch.Id }
            $result.Output | Should -BeNullOrEmpty
            $result.Errors.Count | Should -Be 1
            Get-TestErrorId $result.Errors[0] | Should -Be 'DhubInvalidResponse'
            $result.Errors[0].CategoryInfo.Category | Should -Be 'InvalidResult'
        }
    }

    Context 'A start is never duplicated (dhub: no idempotency)' -Tag 'FaultSuite' -Skip:($Backend -ne 'Dhub') {
        It 'start under <Name>: exactly one POST, at most one batch, DhubServiceUnavailable' -ForEach @(
            @{ Name = '503'; Rule = @{ status = 503; times = 0 }; Created = 0; Connect = @{} }
            @{ Name = 'a timeout'; Rule = @{ mode = 'delay'; delayMs = 4000; times = 0 }; Created = 0; Connect = @{ TimeoutSec = 1 } }
            @{ Name = 'applyThenDrop'; Rule = @{ mode = 'applyThenDrop'; times = 0 }; Created = 1; Connect = @{} }
        ) {
            $parameters = @{} + $Fast
            foreach ($key in $Connect.Keys) { $parameters[$key] = $Connect[$key] }
            Connect-TestBackend $T -Parameters $parameters
            $null = Add-EmulatorFault $T -Operation Start $Rule
            $result = Invoke-FaultCase { Start-DhubBatch -PipelineId 'inventory' }
            $result.Output | Should -BeNullOrEmpty
            $result.Errors.Count | Should -Be 1
            Get-TestErrorId $result.Errors[0] | Should -Be 'DhubServiceUnavailable'
            $result.Errors[0].TargetObject | Should -Be 'inventory'
            $result.Seconds | Should -BeLessThan 8
            # An aborted request is logged when the server notices the abort: give it a moment, then count.
            $null = Wait-TestCondition { (Get-FaultRequestCount $T -Operation Start) -ge 1 } -TimeoutSec 6
            Start-Sleep -Milliseconds 500
            Get-FaultRequestCount $T -Operation Start | Should -Be 1 -Because 'the dhub start POST is never retried once it may have reached the server'
            (Get-EmulatorStat $T 'inventory').created | Should -Be $Created
            (Get-EmulatorStat $T 'inventory').batches | Should -BeLessOrEqual 1
        }
    }

    Context 'A start is never duplicated (Prefect: idempotency key)' -Tag 'FaultSuite' -Skip:($Backend -ne 'Prefect') {
        It 'create_flow_run under <Name> is retried with the same key: one run' -ForEach @(
            @{ Name = '503'; Rule = @{ status = 503; times = 1 }; Repeats = 0; Connect = @{} }
            @{ Name = 'drop'; Rule = @{ mode = 'drop'; times = 1 }; Repeats = 0; Connect = @{} }
            @{ Name = 'applyThenDrop'; Rule = @{ mode = 'applyThenDrop'; times = 1 }; Repeats = 1; Connect = @{} }
            @{ Name = 'a timeout'; Rule = @{ mode = 'delay'; delayMs = 3000; times = 1 }; Repeats = 0; Connect = @{ TimeoutSec = 1 } }
        ) {
            $parameters = @{} + $Fast
            foreach ($key in $Connect.Keys) { $parameters[$key] = $Connect[$key] }
            Connect-TestBackend $T -Parameters $parameters
            $null = Add-EmulatorFault $T -Operation Start $Rule
            $result = Invoke-FaultCase { Start-DhubBatch -PipelineId 'inventory' }
            $result.Errors | Should -BeNullOrEmpty
            $result.Output.Count | Should -Be 1
            $result.Seconds | Should -BeLessThan 8
            Get-FaultRequestCount $T -Operation Start | Should -Be 2
            $counts = Get-PrefectRunCount $T 'inventory'
            $counts.runs | Should -Be 1
            $counts.created | Should -Be 1
            # applyThenDrop created the run on the first attempt: only the same key makes the retry return it.
            $counts.idempotentRepeats | Should -Be $Repeats
            (Get-DhubBatch -PipelineId 'inventory').Id | Should -Be $result.Output[0].Id
        }
    }

    Context 'Load' -Tag 'FaultSuite' {
        It 'Wait-DhubBatch on 200 batches with polls answered 503 now and then reports every batch exactly once' {
            Add-EmulatorPipeline $T -PipelineId 'load-wait' -StepSeconds 0.3
            Add-EmulatorSeed $T -PipelineId 'load-wait' -Count 200 -Running
            $batches = @(Get-DhubBatch -PipelineId 'load-wait' -All -PageSize 200)
            $batches.Count | Should -Be 200
            # Prefect reads all 200 in one request a round (dhub in two list pages), so its rounds need a 503 more often.
            $every = if ($Backend -eq 'Prefect') { 2 } else { 5 }
            $null = Add-EmulatorFault $T -Operation Poll @{ status = 503; every = $every; times = 0 }
            $result = Invoke-FaultCase { $batches | Wait-DhubBatch -PollingInterval 0.5 -Timeout 90 -WarningAction SilentlyContinue }
            $result.Errors | Should -BeNullOrEmpty
            $result.Output.Count | Should -Be 200
            @($result.Output.Id | Sort-Object -Unique).Count | Should -Be 200
            @($result.Output | Where-Object { -not $_.IsComplete }).Count | Should -Be 0
            @($result.Output | Where-Object { $_.Steps.Count -eq 0 }).Count | Should -Be 0 -Because 'no half objects'
            (Get-FaultRule $T)[0].hits | Should -BeGreaterThan 0
            $result.Seconds | Should -BeLessThan 60
        }

        It 'Get-DhubBatch -All over <Count> batches with every 7th page answered 503 returns each exactly once, in order' -ForEach @(
            @{ Count = 20000 }
        ) {
            Add-EmulatorPipeline $T -PipelineId 'load-list'
            Add-EmulatorSeed $T -PipelineId 'load-list' -Count $Count
            $pageSize = if ($Backend -eq 'Prefect') { 200 } else { 500 }
            if ($Backend -eq 'Dhub') {
                # The order the server lists them in, without faults (dhub ids say nothing about order).
                $clean = @((Get-DhubBatch -PipelineId 'load-list' -All -PageSize $pageSize).Id)
                $clean.Count | Should -Be $Count
            }
            Clear-EmulatorRequest $T
            $null = Add-EmulatorFault $T -Operation List @{ status = 503; every = 7; times = 0 }
            $result = Invoke-FaultCase { Get-DhubBatch -PipelineId 'load-list' -All -PageSize $pageSize }
            $result.Errors | Should -BeNullOrEmpty
            $ids = @($result.Output.Id)
            $ids.Count | Should -Be $Count
            @($ids | Sort-Object -Unique).Count | Should -Be $Count
            if ($Backend -eq 'Dhub') {
                ($ids -join ',') -ceq ($clean -join ',') | Should -BeTrue -Because 'the faulted listing is the clean listing, in the same order'
            }
            else {
                # newest first (seeded runs are a second apart): one listing is enough to check the order.
                $times = @($result.Output | ForEach-Object { $_.StartTime })
                @($times | Where-Object { $null -eq $_ }).Count | Should -Be 0
                $outOfOrder = 0
                for ($i = 1; $i -lt $times.Count; $i++) { if ($times[$i] -gt $times[$i - 1]) { $outOfOrder++ } }
                $outOfOrder | Should -Be 0 -Because 'newest first, in order'
            }
            (Get-FaultRule $T)[0].hits | Should -BeGreaterThan 0
        }
    }

    Context 'Ctrl+C' -Tag 'FaultSuite' {
        BeforeEach {
            $script:Ps = New-TestPowerShell $T
        }
        AfterEach {
            Remove-TestPowerShell $Ps
        }

        It 'during a request: Stop() within a second, nothing keeps polling, the next command works' {
            $null = Add-EmulatorFault $T -Operation Get @{ mode = 'delay'; delayMs = 10000; times = 0 }
            $null = $Ps.AddCommand('Get-DhubBatch').AddParameter('PipelineId', 'orders').AddParameter('BatchId', $Batch.Id)
            $async = $Ps.BeginInvoke()
            Wait-TestCondition { (Get-FaultRule $T)[0].hits -ge 1 } -TimeoutSec 10 | Should -BeTrue -Because 'the request is in flight'
            Start-Sleep -Milliseconds 200
            Stop-FaultPowerShell $Ps $async | Should -BeLessThan 1
            $Ps.InvocationStateInfo.State | Should -Be 'Stopped'
            Start-Sleep -Milliseconds 300
            $before = Get-FaultRequestCount $T -Containing $Batch.Id
            Start-Sleep -Seconds 2
            Get-FaultRequestCount $T -Containing $Batch.Id | Should -Be $before -Because 'no background thread keeps polling'
            (Get-FaultRule $T)[0].hits | Should -Be 1 -Because 'the stopped request was not retried'

            Clear-EmulatorFault $T
            $Ps.Commands.Clear()
            $Ps.Streams.ClearStreams()
            $null = $Ps.AddCommand('Get-DhubBatch').AddParameter('PipelineId', 'orders').AddParameter('BatchId', $Batch.Id)
            $output = @($Ps.Invoke())
            $Ps.Streams.Error | Should -BeNullOrEmpty
            $output.Count | Should -Be 1
            $output[0].Id | Should -Be $Batch.Id
        }

        It 'during a retry back-off (Retry-After: 30): Stop() within a second, nothing keeps polling, the next command works' {
            $null = Add-EmulatorFault $T -Operation Get @{ status = 503; retryAfter = '30'; times = 0 }
            $null = $Ps.AddCommand('Get-DhubBatch').AddParameter('PipelineId', 'orders').AddParameter('BatchId', $Batch.Id)
            $async = $Ps.BeginInvoke()
            Wait-TestCondition { (Get-FaultRule $T)[0].hits -ge 1 } -TimeoutSec 10 | Should -BeTrue -Because 'the first attempt was answered 503'
            Start-Sleep -Milliseconds 500
            $Ps.InvocationStateInfo.State | Should -Be 'Running' -Because 'it is waiting the 30 s the server asked for'
            Stop-FaultPowerShell $Ps $async | Should -BeLessThan 1
            $Ps.InvocationStateInfo.State | Should -Be 'Stopped'
            $before = Get-FaultRequestCount $T -Containing $Batch.Id
            Start-Sleep -Seconds 2
            Get-FaultRequestCount $T -Containing $Batch.Id | Should -Be $before -Because 'no background thread keeps retrying'
            (Get-FaultRule $T)[0].hits | Should -Be 1

            Clear-EmulatorFault $T
            $Ps.Commands.Clear()
            $Ps.Streams.ClearStreams()
            $null = $Ps.AddCommand('Get-DhubBatch').AddParameter('PipelineId', 'orders').AddParameter('BatchId', $Batch.Id)
            $output = @($Ps.Invoke())
            $Ps.Streams.Error | Should -BeNullOrEmpty
            $output.Count | Should -Be 1
        }

        It 'during paging (Get-DhubBatch -All, a page request stalls): Stop() within a second, no page is fetched after it' {
            Add-EmulatorPipeline $T -PipelineId 'pages-stop'
            Add-EmulatorSeed $T -PipelineId 'pages-stop' -Count 100
            Clear-EmulatorRequest $T
            $null = Add-EmulatorFault $T -Operation List @{ mode = 'delay'; delayMs = 10000; skip = 2; times = 0 }
            $null = $Ps.AddCommand('Get-DhubBatch').AddParameter('PipelineId', 'pages-stop').AddParameter('All').AddParameter('PageSize', 10)
            $async = $Ps.BeginInvoke()
            Wait-TestCondition { (Get-FaultRule $T)[0].hits -ge 1 } -TimeoutSec 10 | Should -BeTrue -Because 'a page request is stalled'
            Start-Sleep -Milliseconds 200
            Stop-FaultPowerShell $Ps $async | Should -BeLessThan 1
            $Ps.InvocationStateInfo.State | Should -Be 'Stopped'
            Start-Sleep -Milliseconds 300
            $before = Get-FaultRequestCount $T -Operation List
            $matched = (Get-FaultRule $T)[0].matched
            Start-Sleep -Seconds 2
            Get-FaultRequestCount $T -Operation List | Should -Be $before -Because 'no background thread keeps paging'
            (Get-FaultRule $T)[0].matched | Should -Be $matched

            Clear-EmulatorFault $T
            $Ps.Commands.Clear()
            $Ps.Streams.ClearStreams()
            $null = $Ps.AddCommand('Get-DhubBatch').AddParameter('PipelineId', 'pages-stop').AddParameter('All').AddParameter('PageSize', 10)
            $output = @($Ps.Invoke())
            $Ps.Streams.Error | Should -BeNullOrEmpty
            $output.Count | Should -Be 100
            @($output.Id | Sort-Object -Unique).Count | Should -Be 100
        }

        It 'during a wait: Stop() within a second, nothing keeps polling, the batch keeps running, the next command works' {
            Add-EmulatorPipeline $T -PipelineId 'slow-fault' -StepSeconds 60
            $slow = Start-DhubBatch -PipelineId 'slow-fault'
            $null = $Ps.AddCommand('Wait-DhubBatch').AddParameter('PipelineId', 'slow-fault').AddParameter('BatchId', $slow.Id).AddParameter('PollingInterval', 0.2)
            $async = $Ps.BeginInvoke()
            Wait-TestCondition { (Get-EmulatorPollCount $T -BatchId $slow.Id) -ge 3 } -TimeoutSec 10 | Should -BeTrue -Because 'it is polling'
            $Ps.InvocationStateInfo.State | Should -Be 'Running'
            Stop-FaultPowerShell $Ps $async | Should -BeLessThan 1
            $Ps.InvocationStateInfo.State | Should -Be 'Stopped'
            Start-Sleep -Milliseconds 300
            $before = Get-EmulatorPollCount $T -BatchId $slow.Id
            Start-Sleep -Seconds 2
            Get-EmulatorPollCount $T -BatchId $slow.Id | Should -Be $before -Because 'no background thread keeps polling'
            (Get-DhubBatch -PipelineId 'slow-fault' -Id $slow.Id).IsComplete | Should -BeFalse -Because 'Ctrl+C stops the waiting, never the batch'

            $Ps.Commands.Clear()
            $Ps.Streams.ClearStreams()
            $null = $Ps.AddCommand('Get-DhubBatch').AddParameter('PipelineId', 'slow-fault').AddParameter('BatchId', $slow.Id)
            $output = @($Ps.Invoke())
            $Ps.Streams.Error | Should -BeNullOrEmpty
            $output.Count | Should -Be 1
            $output[0].Id | Should -Be $slow.Id
        }
    }
}
