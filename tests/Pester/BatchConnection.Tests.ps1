BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'DhubBatchesTestUtils.psm1')
    $Backends = Get-TestBackend
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'DhubBatchesTestUtils.psm1')
    Import-TestModule
}

# An admin with two servers: staging is the session's default, prod is passed with -Connection. A batch read from prod
# must be read, waited on, stopped and removed on prod, whatever the default is.
Describe 'Batches remember their server (<Name>)' -Tag 'Connection', 'TwoServers' -ForEach $Backends {
    BeforeAll {
        $script:SavedEnvironment = Save-TestConnectionEnvironment -EmptyHome (Join-Path $TestDrive 'prefect-home')
        $script:Staging = Start-TestBackend -Backend $Backend -PrefectVersion $PrefectVersion
        $script:Prod = Start-TestBackend -Backend $Backend -PrefectVersion $PrefectVersion
        $script:ProdConnection = Connect-TestBackend $Prod -PassThru
        $script:StagingConnection = Connect-TestBackend $Staging -PassThru # the default from now on
        $script:Slow = 'slow-pipeline'

        function Get-ServerRequest($Context, [string] $Operation, [string] $Containing) {
            @(Get-EmulatorRequest $Context -Operation $Operation | Where-Object { -not $Containing -or ($_.rawTarget + ' ' + ($_.pathSegments -join '/')) -match [regex]::Escape($Containing) })
        }
    }
    AfterAll {
        Disconnect-Dhub
        Stop-TestBackend $Staging
        Stop-TestBackend $Prod
        Restore-TestConnectionEnvironment $SavedEnvironment
    }
    BeforeEach {
        foreach ($server in $Staging, $Prod) {
            Reset-Emulator $server
            Add-EmulatorPipeline $server $Slow -StepSeconds 60
        }
    }

    It 'the session default is staging, and a batch started with -Connection carries prod' {
        (Get-DhubConnection).Uri | Should -Be $StagingConnection.Uri
        $batch = Start-DhubBatch -PipelineId orders -Connection $ProdConnection
        $batch.Connection | Should -Be $ProdConnection
        (Get-EmulatorStat $Prod 'orders').created | Should -Be 1
        (Get-EmulatorStat $Staging 'orders').created | Should -Be 0
    }

    It 'each step of a batch carries the connection too' {
        $batch = Start-DhubBatch -PipelineId orders -Connection $ProdConnection -Wait -PollingInterval 0.2 -Timeout 60
        @($batch.Steps).Count | Should -BeGreaterThan 0
        $batch.Steps | ForEach-Object { $_.Connection | Should -Be $ProdConnection }
    }

    It 'Get-DhubBatch refreshes a piped prod batch on prod' {
        $batch = Start-DhubBatch -PipelineId $Slow -Connection $ProdConnection
        Clear-EmulatorRequest $Staging
        Clear-EmulatorRequest $Prod
        $refreshed = $batch | Get-DhubBatch
        $refreshed.Id | Should -Be $batch.Id
        $refreshed.Connection | Should -Be $ProdConnection
        @(Get-EmulatorRequest $Prod -Operation Any).Count | Should -BeGreaterThan 0
        @(Get-EmulatorRequest $Staging -Operation Any).Count | Should -Be 0
    }

    It 'Stop-DhubBatch stops a piped prod batch on prod' {
        $batch = Start-DhubBatch -PipelineId $Slow -Connection $ProdConnection
        Clear-EmulatorRequest $Staging
        Get-DhubBatch -PipelineId $Slow -Connection $ProdConnection | Stop-DhubBatch
        @(Get-ServerRequest $Prod -Operation Stop -Containing $batch.Id).Count | Should -Be 1
        @(Get-EmulatorRequest $Staging -Operation Any).Count | Should -Be 0
    }

    It 'Wait-DhubBatch waits for a piped prod batch on prod' {
        $batch = Start-DhubBatch -PipelineId orders -Connection $ProdConnection
        Clear-EmulatorRequest $Staging
        $done = @($batch | Wait-DhubBatch -PollingInterval 0.2 -Timeout 60)
        $done.Count | Should -Be 1
        $done[0].IsComplete | Should -BeTrue
        $done[0].Connection | Should -Be $ProdConnection
        @(Get-EmulatorRequest $Staging -Operation Any).Count | Should -Be 0
    }

    It 'Remove-DhubBatch removes a piped prod batch on prod' {
        $batch = Start-DhubBatch -PipelineId orders -Connection $ProdConnection -Wait -PollingInterval 0.2 -Timeout 60
        Clear-EmulatorRequest $Staging
        $batch | Remove-DhubBatch -Force
        @(Get-ServerRequest $Prod -Operation Remove -Containing $batch.Id).Count | Should -Be 1
        @(Get-EmulatorRequest $Staging -Operation Any).Count | Should -Be 0
        { Get-DhubBatch -PipelineId orders -BatchId $batch.Id -Connection $ProdConnection -ErrorAction Stop } | Should -Throw
    }

    It 'an explicit -Connection on the receiving command wins over the batch''s own' {
        $batch = Start-DhubBatch -PipelineId $Slow -Connection $ProdConnection
        Clear-EmulatorRequest $Prod
        $null = $batch | Get-DhubBatch -Connection $StagingConnection -ErrorVariable errors -ErrorAction SilentlyContinue
        @(Get-EmulatorRequest $Staging -Operation Any).Count | Should -BeGreaterThan 0
        @(Get-EmulatorRequest $Prod -Operation Any).Count | Should -Be 0
        Get-TestErrorId $errors[0] | Should -Be 'DhubBatchNotFound' # staging never had it
    }

    It 'Wait-DhubBatch waits for batches of both servers in one call' {
        $fromProd = Start-DhubBatch -PipelineId orders -Connection $ProdConnection
        $fromStaging = Start-DhubBatch -PipelineId inventory
        $done = @($fromProd, $fromStaging | Wait-DhubBatch -PollingInterval 0.2 -Timeout 60)
        $done.Count | Should -Be 2
        ($done | Where-Object Id -EQ $fromProd.Id).Connection | Should -Be $ProdConnection
        ($done | Where-Object Id -EQ $fromStaging.Id).Connection | Should -Be $StagingConnection
        @($done | Where-Object IsComplete).Count | Should -Be 2
    }
}

Describe 'How a batch and its connection read in output (<Name>)' -Tag 'Output' -ForEach $Backends {
    BeforeAll {
        $script:SavedEnvironment = Save-TestConnectionEnvironment -EmptyHome (Join-Path $TestDrive 'prefect-home')
        $script:T = Start-TestBackend -Backend $Backend -PrefectVersion $PrefectVersion -Token 'secret-token-8c1d4'
        Connect-TestBackend $T
        $script:Batch = Start-DhubBatch -PipelineId orders -Wait -PollingInterval 0.2 -Timeout 60
    }
    AfterAll {
        Disconnect-Dhub
        Stop-TestBackend $T
        Restore-TestConnectionEnvironment $SavedEnvironment
    }

    It 'the default table shows the State property, not the raw engine state, and no Connection column' {
        $table = $Batch | Format-Table | Out-String -Width 200
        $table | Should -Match '(?m)^PipelineId\s+Id\s+State\s+Outcome\s+Steps\s*$'
        $table | Should -Match '\bStop\b'
        $table | Should -Not -Match 'COMPLETED'
        $table | Should -Not -Match 'Connection'
    }

    It 'the default list shows EngineState on its own line and no Connection' {
        $list = $Batch | Format-List | Out-String -Width 200
        $list | Should -Match '(?m)^State\s+: Stop\s*$'
        $list | Should -Match '(?m)^EngineState\s+:'
        $list | Should -Not -Match '(?m)^Connection\s+:'
    }

    It 'Export-Csv writes the connection as its backend and URI, and no secret in any cell' {
        $path = Join-Path $TestDrive 'batches.csv'
        $Batch | Export-Csv -Path $path -NoTypeInformation
        $row = Import-Csv $path
        $row.Connection | Should -Be "$Backend $($Batch.Connection.Uri)"
        $text = Get-Content -Raw $path
        $text | Should -Not -Match 'secret-token-8c1d4'
        $text | Should -Not -Match 'DhubBatches\.'
    }

    It 'ConvertTo-Json writes state, outcome and step-state names, never a secret' {
        $json = $Batch | ConvertTo-Json -Depth 6
        $json | Should -Match '"State":\s*"Stop"'
        $json | Should -Match '"Outcome":\s*"Succeeded"'
        $json | Should -Match '"State":\s*"Success"'
        $json | Should -Match ('"Backend":\s*"' + $Backend + '"')
        $json | Should -Not -Match 'secret-token-8c1d4'
        $parsed = $json | ConvertFrom-Json
        $parsed.Steps[0].State | Should -Be 'Success'
        $parsed.Connection.Authentication | Should -Be 'Bearer'
    }
}
