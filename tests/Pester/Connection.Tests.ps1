BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'DhubBatchesTestUtils.psm1')
    $Backends = Get-TestBackend
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'DhubBatchesTestUtils.psm1')
    Import-TestModule
}

Describe 'Connections (<Name>)' -Tag 'Connection' -ForEach $Backends {
    BeforeAll {
        $script:SavedEnvironment = Save-TestConnectionEnvironment -EmptyHome (Join-Path $TestDrive 'prefect-home')
        $script:T = Start-TestBackend -Backend $Backend -PrefectVersion $PrefectVersion
    }
    AfterAll {
        Disconnect-Dhub
        Stop-TestBackend $T
        Restore-TestConnectionEnvironment $SavedEnvironment
    }
    AfterEach {
        Disconnect-Dhub
        $null = Save-TestConnectionEnvironment -EmptyHome (Join-Path $TestDrive 'prefect-home') # clears them again
    }

    Context 'Connect-Dhub' {
        It '-PassThru returns a DhubBatches.DhubConnection with Uri, Backend and Authentication, and no secret' {
            $connection = Connect-TestBackend $T -PassThru
            $connection | Should -BeOfType ([DhubBatches.DhubConnection])
            @($connection).Count | Should -Be 1
            $connection.Uri.AbsoluteUri.TrimEnd('/') | Should -Be $T.ApiUri.TrimEnd('/')
            "$($connection.Backend)" | Should -Be $Backend
            "$($connection.Authentication)" | Should -Be 'Bearer'
            $names = $connection.PSObject.Properties.Name
            $names | Should -Not -Contain 'Token'
            $names | Should -Not -Contain 'Secret'
            foreach ($property in $connection.PSObject.Properties) {
                "$($property.Value)" | Should -Not -Match ([regex]::Escape($T.TokenText))
            }
            $connection.ToString() | Should -Not -Match ([regex]::Escape($T.TokenText))
        }

        It 'without -PassThru outputs nothing and sets the default connection' {
            $output = Connect-TestBackend $T
            $output | Should -BeNullOrEmpty
            $current = Get-DhubConnection
            $current | Should -BeOfType ([DhubBatches.DhubConnection])
            $current.Source | Should -Be 'Connect-Dhub'
            $current.Uri.AbsoluteUri.TrimEnd('/') | Should -Be $T.ApiUri.TrimEnd('/')
        }

        It 'verifies the connection with one authenticated request' {
            Clear-EmulatorRequest $T
            Connect-TestBackend $T
            $requests = @(Get-EmulatorRequest $T)
            $requests.Count | Should -BeGreaterOrEqual 1
            $requests.Count | Should -BeLessOrEqual 2
            $requests | ForEach-Object { $_.authorization | Should -Be 'present' }
        }

        It 'sends User-Agent DhubBatches/(module version) PowerShell/(PowerShell version)' {
            Clear-EmulatorRequest $T
            Connect-TestBackend $T
            $version = (Get-Module DhubBatches).Version
            $request = @(Get-EmulatorRequest $T)[0]
            $request.userAgent | Should -Be "DhubBatches/$version PowerShell/$($PSVersionTable.PSVersion)"
        }

        It 'a refused token is a terminating DhubUnauthorized (AuthenticationError)' {
            $caught = $null
            try {
                Connect-Dhub -Uri $T.ApiUri -Backend $Backend -Token (ConvertTo-TestSecureString 'not-the-token')
            }
            catch { $caught = $_ }
            $caught | Should -Not -BeNullOrEmpty -Because 'Connect-Dhub must throw (terminating error)'
            Get-TestErrorId $caught | Should -Be 'DhubUnauthorized'
            $caught.CategoryInfo.Category | Should -Be 'AuthenticationError'
            Get-DhubConnection | Should -BeNullOrEmpty -Because 'a failed Connect-Dhub sets no default'
        }

        It 'an unreachable server is DhubServiceUnavailable' {
            $url = Get-FreeLoopbackUrl
            $caught = $null
            try {
                Connect-Dhub -Uri $url -Backend $Backend -Token $T.Token -MaximumRetryCount 1 -RetryIntervalSec 0
            }
            catch { $caught = $_ }
            $caught | Should -Not -BeNullOrEmpty
            Get-TestErrorId $caught | Should -Be 'DhubServiceUnavailable'
            $caught.CategoryInfo.Category | Should -Be 'ConnectionError'
            $caught.Exception | Should -Not -BeOfType ([System.Net.Http.HttpRequestException]) -Because 'not a raw exception'
        }

        It 'refuses a token over plain http to a non-loopback host' {
            $caught = $null
            $elapsed = Measure-Command {
                try { Connect-Dhub -Uri 'http://example.invalid' -Backend $Backend -Token $T.Token -MaximumRetryCount 0 }
                catch { $script:caught = $_ }
            }
            $caught = $script:caught
            $caught | Should -Not -BeNullOrEmpty
            "$caught" | Should -Match 'AllowUnencryptedAuthentication'
            Get-TestErrorId $caught | Should -Not -Be 'DhubServiceUnavailable' -Because 'the refusal comes before any request'
            $elapsed.TotalSeconds | Should -BeLessThan 10
        }

        It 'with -AllowUnencryptedAuthentication it tries the request (and fails to connect)' {
            $caught = $null
            try {
                Connect-Dhub -Uri 'http://example.invalid' -Backend $Backend -Token $T.Token -AllowUnencryptedAuthentication -MaximumRetryCount 0
            }
            catch { $caught = $_ }
            $caught | Should -Not -BeNullOrEmpty
            Get-TestErrorId $caught | Should -Be 'DhubServiceUnavailable'
            "$caught" | Should -Not -Match 'AllowUnencryptedAuthentication'
        }
    }

    Context 'Disconnect-Dhub and Get-DhubConnection' {
        It 'Get-DhubConnection returns the connection Connect-Dhub made' {
            $made = Connect-TestBackend $T -PassThru
            $current = Get-DhubConnection
            $current | Should -BeOfType ([DhubBatches.DhubConnection])
            $current.Uri | Should -Be $made.Uri
            $current.Backend | Should -Be $made.Backend
        }

        It 'after Disconnect-Dhub, Get-DhubConnection returns nothing and a batch command fails with DhubNotConnected' {
            Connect-TestBackend $T
            Disconnect-Dhub
            Get-DhubConnection -ErrorVariable errors -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $errors.Count | Should -Be 0
            $caught = $null
            try { Get-DhubBatch -PipelineId 'orders' -ErrorAction Stop }
            catch { $caught = $_ }
            $caught | Should -Not -BeNullOrEmpty
            Get-TestErrorId $caught | Should -Be 'DhubNotConnected'
            $caught.CategoryInfo.Category | Should -Be 'ConnectionError'
            "$caught $($caught.ErrorDetails.RecommendedAction)" | Should -Match 'Connect-Dhub'
        }

        It 'DhubNotConnected stops the command even without -ErrorAction Stop' {
            $caught = $null
            $reached = $false
            try {
                Start-DhubBatch -PipelineId 'orders'
                $reached = $true
            }
            catch { $caught = $_ }
            $reached | Should -BeFalse
            Get-TestErrorId $caught | Should -Be 'DhubNotConnected'
            (Get-EmulatorStat $T 'orders').created | Should -Be 0
        }

        It '-Connection uses a connection other than the default' {
            $connection = Connect-TestBackend $T -PassThru
            Disconnect-Dhub
            Reset-Emulator $T
            $batch = Start-DhubBatch -PipelineId 'orders' -Connection $connection
            $batch.Id | Should -Not -BeNullOrEmpty
            (Get-DhubBatch -PipelineId 'orders' -BatchId $batch.Id -Connection $connection).Id | Should -Be $batch.Id
        }
    }

    Context 'Connection from the environment' {
        It 'a batch command connects from the environment without Connect-Dhub' {
            Disconnect-Dhub
            Reset-Emulator $T
            Set-TestBackendEnvironment $T
            $batch = Start-DhubBatch -PipelineId 'orders'
            $batch | Should -BeOfType ([DhubBatches.Batch])
            (Get-EmulatorStat $T 'orders').created | Should -Be 1
            $current = Get-DhubConnection
            "$($current.Backend)" | Should -Be $Backend
            "$($current.Authentication)" | Should -Be 'Bearer'
            $current.Source | Should -Match 'Environment'
        }

        It 'a wrong token in the environment is DhubUnauthorized' {
            Disconnect-Dhub
            Set-TestBackendEnvironment $T -TokenText 'wrong-environment-token'
            Get-DhubBatch -PipelineId 'orders' -ErrorVariable errors -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $errors.Count | Should -Be 1
            Get-TestErrorId $errors[0] | Should -Be 'DhubUnauthorized'
        }

        It 'Connect-Dhub wins over the environment' {
            Set-TestBackendEnvironment $T -TokenText 'wrong-environment-token'
            Connect-TestBackend $T
            (Get-DhubConnection).Source | Should -Be 'Connect-Dhub'
            { Start-DhubBatch -PipelineId 'orders' -ErrorAction Stop } | Should -Not -Throw
        }
    }

    # A connection holds pooled HTTP connections; one that is replaced, cleared or unloaded must close them, not leave
    # them to the garbage collector. Seen from the outside: the TCP connections to the server go away.
    Context 'Lifetimes' {
        BeforeAll {
            # A server of their own, so only these tests' connections go there.
            $script:Own = Start-TestBackend -Backend $Backend -PrefectVersion $PrefectVersion
        }
        AfterAll { Stop-TestBackend $Own }

        It 'Disconnect-Dhub closes the connection''s TCP connections' {
            Connect-TestBackend $Own
            $null = Get-DhubBatch -PipelineId orders -ErrorAction SilentlyContinue
            Get-TestClientConnectionCount $Own | Should -BeGreaterThan 0
            Disconnect-Dhub
            Wait-TestCondition { (Get-TestClientConnectionCount $Own) -eq 0 } -TimeoutSec 5 | Should -BeTrue
        }

        It 'a connection replaced by Connect-Dhub closes its TCP connections' {
            Connect-TestBackend $Own
            $null = Get-DhubBatch -PipelineId orders -ErrorAction SilentlyContinue
            Connect-TestBackend $T # the new default is another server
            Wait-TestCondition { (Get-TestClientConnectionCount $Own) -eq 0 } -TimeoutSec 5 | Should -BeTrue
        }

        It 'Remove-Module DhubBatches closes every connection it made' {
            $ps = New-TestPowerShell $Own
            try {
                $null = $ps.AddScript('Get-DhubBatch -PipelineId orders -ErrorAction SilentlyContinue').Invoke()
                $ps.Commands.Clear()
                Get-TestClientConnectionCount $Own | Should -BeGreaterThan 0
                $null = $ps.AddScript('Remove-Module DhubBatches').Invoke()
                Wait-TestCondition { (Get-TestClientConnectionCount $Own) -eq 0 } -TimeoutSec 5 | Should -BeTrue
            }
            finally {
                Remove-TestPowerShell $ps
            }
        }
    }
}
