# Tab completion through TabExpansion2 in a real pwsh session, against the emulator.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'DhubBatchesTestUtils.psm1')
    $Backends = Get-TestBackend
}

Describe 'Tab completion (<Name>)' -Tag 'Completion' -ForEach $Backends {
    BeforeAll {
        Import-Module (Join-Path $PSScriptRoot 'DhubBatchesTestUtils.psm1')
        Import-TestModule
        $T = Start-TestBackend -Backend $Backend -PrefectVersion $PrefectVersion
        Connect-TestBackend $T
        Add-EmulatorPipeline $T 'needs quoting'
        # Three batches of orders, oldest first, so "newest first" is checkable.
        $script:Started = @(1..3 | ForEach-Object { Start-DhubBatch -PipelineId orders; Start-Sleep -Milliseconds 30 })
        $null = Start-DhubBatch -PipelineId 'needs quoting' # on dhub, the pipelines offered are those the connection has used

        function Complete([string] $InputScript) {
            (TabExpansion2 -inputScript $InputScript -cursorColumn $InputScript.Length).CompletionMatches
        }
    }

    AfterAll {
        Disconnect-Dhub
        Stop-TestBackend $T
    }

    It '-PipelineId offers pipelines, filtered by what was typed' {
        $found = Complete 'Get-DhubBatch -PipelineId ord'
        $found.CompletionText | Should -Contain 'orders'
        $found.CompletionText | Should -Not -Contain 'sales-pipeline' -Because 'it does not start with "ord"'
    }

    It 'quotes a pipeline id that would not survive as a bare word' {
        $found = Complete 'Start-DhubBatch -PipelineId needs'
        $found.CompletionText | Should -Contain "'needs quoting'"
    }

    It '-BatchId offers recent batches of the chosen pipeline, newest first, with the state in the tooltip' {
        $found = @(Complete 'Stop-DhubBatch -PipelineId orders -BatchId ')
        $ids = $found.CompletionText
        foreach ($batch in $Started) { $ids | Should -Contain $batch.Id }
        $ids[0] | Should -Be $Started[-1].Id -Because 'the newest batch comes first'
        $found[0].ToolTip | Should -Match 'scheduled|pending|running|stop|SCHEDULED|PENDING|RUNNING|COMPLETED'
        $found[0].ResultType | Should -Be 'ParameterValue'
    }

    It 'offers nothing, quickly and without an error, when the server does not answer' {
        $before = $Error.Count
        Add-EmulatorFault $T -Operation Any -Rule @{ mode = 'delay'; delayMs = 10000; times = 0 }
        try {
            $clock = [Diagnostics.Stopwatch]::StartNew()
            $found = @(Complete 'Get-DhubBatch -PipelineId inventory -BatchId ')
            $clock.Stop()
            $found.Count | Should -Be 0
            $clock.Elapsed.TotalSeconds | Should -BeLessThan 5 -Because 'completers give up after about two seconds'
            $Error.Count | Should -Be $before
        }
        finally { Clear-EmulatorFault $T }
    }

    It 'offers nothing when not connected, without an error' {
        $saved = Save-TestConnectionEnvironment -EmptyHome (Join-Path $TestDrive 'empty-home')
        Disconnect-Dhub
        try {
            @(Complete 'Get-DhubBatch -PipelineId ').Count | Should -Be 0
        }
        finally {
            Restore-TestConnectionEnvironment $saved
            Connect-TestBackend $T
        }
    }
}
