BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'DhubBatchesTestUtils.psm1')
    $Backends = Get-TestBackend
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'DhubBatchesTestUtils.psm1')
    Import-TestModule
    # Every ErrorId interface.md names; anything else (or a raw exception) is a defect.
    $script:InterfaceErrorIds = @(
        'DhubBadRequest', 'DhubUnauthorized', 'DhubForbidden', 'DhubPipelineNotFound', 'DhubBatchNotFound',
        'DhubConflict', 'DhubServiceUnavailable', 'DhubInvalidResponse', 'DhubNotConnected', 'DhubBatchActive',
        'DhubBatchFailed', 'DhubWaitTimeout'
    )
}

Describe 'Error records (<Name>)' -Tag 'Fault' -ForEach $Backends {
    BeforeAll {
        $script:SavedEnvironment = Save-TestConnectionEnvironment -EmptyHome (Join-Path $TestDrive 'prefect-home')
        $script:T = Start-TestBackend -Backend $Backend -PrefectVersion $PrefectVersion
        # Fast retries so persistent faults fail quickly: 1 attempt + 2 retries, no back-off.
        $script:FastRetries = @{ RetryIntervalSec = 0; MaximumRetryCount = 2 }

        function Invoke-GetWithFault {
            <# Adds a fault on reading one batch, runs Get-DhubBatch for it, and returns the error records. #>
            param([hashtable] $Rule, [string] $Operation = 'Get')
            $null = Add-EmulatorFault $T -Operation $Operation $Rule
            Clear-EmulatorRequest $T
            $errors = $null
            $output = Get-DhubBatch -PipelineId 'orders' -Id $script:Batch.Id -ErrorVariable errors -ErrorAction SilentlyContinue
            [pscustomobject]@{ Output = $output; Errors = @($errors) }
        }
    }
    AfterAll {
        Disconnect-Dhub
        Stop-TestBackend $T
        Restore-TestConnectionEnvironment $SavedEnvironment
    }
    BeforeEach {
        Reset-Emulator $T
        Connect-TestBackend $T -Parameters $FastRetries
        $script:Batch = Start-DhubBatch -PipelineId 'orders'
    }

    It '<Status> is <ErrorId> (<Category>)' -ForEach @(
        @{ Status = 400; ErrorId = 'DhubBadRequest'; Category = 'InvalidArgument' }
        @{ Status = 422; ErrorId = 'DhubBadRequest'; Category = 'InvalidArgument' }
        @{ Status = 401; ErrorId = 'DhubUnauthorized'; Category = 'AuthenticationError' }
        @{ Status = 403; ErrorId = 'DhubForbidden'; Category = 'PermissionDenied' }
        @{ Status = 409; ErrorId = 'DhubConflict'; Category = 'InvalidOperation' }
        @{ Status = 500; ErrorId = 'DhubServiceUnavailable'; Category = 'ConnectionError' }
        @{ Status = 503; ErrorId = 'DhubServiceUnavailable'; Category = 'ConnectionError' }
        @{ Status = 429; ErrorId = 'DhubServiceUnavailable'; Category = 'ConnectionError' }
    ) {
        $result = Invoke-GetWithFault @{ status = $Status; times = 0; body = '{"message":"words from the server 42"}' }
        $result.Output | Should -BeNullOrEmpty
        $result.Errors.Count | Should -Be 1
        $record = $result.Errors[0]
        Get-TestErrorId $record | Should -Be $ErrorId
        $record.CategoryInfo.Category | Should -Be $Category
        "$($record.TargetObject)" | Should -Match ([regex]::Escape($Batch.Id))
        $message = "$record"
        $message | Should -Match 'GET'
        $message | Should -Match "\b$Status\b"
        $message | Should -Match 'words from the server 42'
    }

    It 'a real 401 (token no longer accepted) is DhubUnauthorized' {
        Set-EmulatorToken $T 'rotated-token'
        Get-DhubBatch -PipelineId 'orders' -ErrorVariable errors -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Get-TestErrorId $errors[0] | Should -Be 'DhubUnauthorized'
        $errors[0].CategoryInfo.Category | Should -Be 'AuthenticationError'
        $errors[0].TargetObject | Should -Be 'orders'
    }

    It 'a persistent 500 is retried MaximumRetryCount times, then DhubServiceUnavailable' {
        $result = Invoke-GetWithFault @{ status = 500; times = 0 }
        Get-TestErrorId $result.Errors[0] | Should -Be 'DhubServiceUnavailable'
        @(Get-EmulatorRequest $T -Operation Get).Count | Should -Be 3
    }

    It 'a 404 is not retried' {
        Get-DhubBatch -PipelineId 'orders' -Id $T.MissingBatchId -ErrorAction SilentlyContinue
        Clear-EmulatorRequest $T
        Get-DhubBatch -PipelineId 'orders' -Id $T.MissingBatchId -ErrorVariable errors -ErrorAction SilentlyContinue
        Get-TestErrorId $errors[0] | Should -Be 'DhubBatchNotFound'
        @(Get-EmulatorRequest $T -Operation Get).Count | Should -Be 1
    }

    It 'a 500 that clears is retried and succeeds' {
        $result = Invoke-GetWithFault @{ status = 500; times = 1 }
        $result.Errors.Count | Should -Be 0
        $result.Output.Id | Should -Be $Batch.Id
        @(Get-EmulatorRequest $T -Operation Get).Count | Should -Be 2
    }

    It 'an HTML page with status 200 is DhubInvalidResponse (InvalidResult)' {
        $result = Invoke-GetWithFault @{ status = 200; times = 0; contentType = 'text/html; charset=utf-8'; body = '<!DOCTYPE html><html><body><h1>Welcome to nginx</h1></body></html>' }
        $result.Output | Should -BeNullOrEmpty
        Get-TestErrorId $result.Errors[0] | Should -Be 'DhubInvalidResponse'
        $result.Errors[0].CategoryInfo.Category | Should -Be 'InvalidResult'
        "$($result.Errors[0])" | Should -Match 'GET'
        "$($result.Errors[0])" | Should -Match '200'
    }

    It 'JSON of the wrong shape is DhubInvalidResponse' {
        $result = Invoke-GetWithFault @{ status = 200; times = 0; body = '[1, 2, 3]' }
        Get-TestErrorId $result.Errors[0] | Should -Be 'DhubInvalidResponse'
    }

    It 'an HTML error page (502 from a proxy) is DhubServiceUnavailable and says it was HTML' {
        $result = Invoke-GetWithFault @{ status = 502; times = 0; contentType = 'text/html' }
        Get-TestErrorId $result.Errors[0] | Should -Be 'DhubServiceUnavailable'
        "$($result.Errors[0])" | Should -Match 'HTML'
    }

    It 'a truncated body is retried, then reported with an interface error id (not a raw exception)' {
        $result = Invoke-GetWithFault @{ mode = 'truncate'; times = 0 }
        $result.Output | Should -BeNullOrEmpty
        $result.Errors.Count | Should -Be 1
        $id = Get-TestErrorId $result.Errors[0]
        $id | Should -BeIn @('DhubInvalidResponse', 'DhubServiceUnavailable')
        $result.Errors[0].Exception | Should -Not -BeOfType ([System.Net.Http.HttpRequestException])
        $result.Errors[0].Exception | Should -Not -BeOfType ([System.Text.Json.JsonException])
        @(Get-EmulatorRequest $T -Operation Get).Count | Should -BeGreaterThan 1 -Because 'a GET with a cut-short body is retried'
    }

    It 'a truncated body once is retried and succeeds' {
        $result = Invoke-GetWithFault @{ mode = 'truncate'; times = 1 }
        $result.Errors.Count | Should -Be 0
        $result.Output.Id | Should -Be $Batch.Id
    }

    It 'an answer slower than -TimeoutSec 1 is DhubServiceUnavailable' {
        Connect-TestBackend $T -Parameters @{ RetryIntervalSec = 0; MaximumRetryCount = 1; TimeoutSec = 1 }
        $elapsed = Measure-Command {
            $script:result = Invoke-GetWithFault @{ mode = 'delay'; delayMs = 5000; times = 0 }
        }
        Get-TestErrorId $result.Errors[0] | Should -Be 'DhubServiceUnavailable'
        $result.Errors[0].CategoryInfo.Category | Should -Be 'ConnectionError'
        $elapsed.TotalSeconds | Should -BeLessThan 8 -Because 'two 1 s attempts, not two 5 s waits'
    }

    It 'a dropped connection on GET is retried, then DhubServiceUnavailable' {
        $result = Invoke-GetWithFault @{ mode = 'drop'; times = 0 }
        Get-TestErrorId $result.Errors[0] | Should -Be 'DhubServiceUnavailable'
        @(Get-EmulatorRequest $T -Operation Get).Count | Should -Be 3
    }

    It 'a 500 on start is DhubServiceUnavailable with the pipeline id as TargetObject' {
        $null = Add-EmulatorFault $T -Operation Start @{ status = 500; times = 0; body = '{"message":"start exploded"}' }
        Start-DhubBatch -PipelineId 'inventory' -ErrorVariable errors -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Get-TestErrorId $errors[0] | Should -Be 'DhubServiceUnavailable'
        $errors[0].TargetObject | Should -Be 'inventory'
        "$($errors[0])" | Should -Match 'POST'
        "$($errors[0])" | Should -Match '500'
        "$($errors[0])" | Should -Match 'start exploded'
    }

    It 'errors of every command carry an interface ErrorId' {
        $null = Add-EmulatorFault $T -Operation Any @{ status = 418; times = 0 }
        $records = @(
            & { Get-DhubBatch -PipelineId 'orders' -ErrorVariable e -ErrorAction SilentlyContinue; $e }
            & { Get-DhubBatch -PipelineId 'orders' -All -ErrorVariable e -ErrorAction SilentlyContinue; $e }
            & { Stop-DhubBatch -PipelineId 'orders' -BatchId $Batch.Id -ErrorVariable e -ErrorAction SilentlyContinue; $e }
            & { Remove-DhubBatch -PipelineId 'orders' -BatchId $Batch.Id -Force -ErrorVariable e -ErrorAction SilentlyContinue; $e }
            & { Wait-DhubBatch -PipelineId 'orders' -BatchId $Batch.Id -Timeout 2 -PollingInterval 0.2 -ErrorVariable e -ErrorAction SilentlyContinue; $e }
            & { Start-DhubBatch -PipelineId 'orders' -ErrorVariable e -ErrorAction SilentlyContinue; $e }
        )
        $records.Count | Should -BeGreaterOrEqual 6
        foreach ($record in $records) {
            $record | Should -BeOfType ([System.Management.Automation.ErrorRecord])
            Get-TestErrorId $record | Should -BeIn $InterfaceErrorIds
        }
    }

    Context 'dhub messages' -Tag 'Dhub' -Skip:($Backend -ne 'Dhub') {
        It 'the message names method, path, status and the server''s message' {
            $result = Invoke-GetWithFault @{ status = 409; times = 0; body = '{"message":"batch is locked by another run"}' }
            $message = "$($result.Errors[0])"
            $message | Should -Match "GET /api/v1/batches/orders/$([regex]::Escape($Batch.Id))"
            $message | Should -Match '409'
            $message | Should -Match 'batch is locked by another run'
        }
    }
}
