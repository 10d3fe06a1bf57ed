# Damaged records: one record the server sends that cannot be read costs only itself. Listing goes on past it (and
# to the following pages), the record gets its own non-terminating DhubInvalidResponse, a bad step or offsets entry
# costs only that part with one warning, odd but valid number spellings are read, and -Verbose shows the record's
# raw text (shortened, without the secret). The emulator's damage fault modes produce each case.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'DhubBatchesTestUtils.psm1')
    $Backends = Get-TestBackend
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'DhubBatchesTestUtils.psm1')
    Import-TestModule

    function Invoke-Damaged {
        <# Runs a command and sorts what it wrote: Output, Errors, Warnings, Verbose (messages). #>
        param([Parameter(Mandatory)][scriptblock] $Command)
        $ErrorActionPreference = 'Continue'
        $items = @(& $Command 2>&1 3>&1 4>&1)
        [pscustomobject]@{
            Output   = @($items | Where-Object { $_ -is [DhubBatches.Batch] })
            Errors   = @($items | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] })
            Warnings = @($items | Where-Object { $_ -is [System.Management.Automation.WarningRecord] } | ForEach-Object Message)
            Verbose  = @($items | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message)
        }
    }
}

Describe 'Damaged records (<Name>)' -Tag 'DamagedRecords' -ForEach $Backends {
    BeforeDiscovery {
        # What each backend can be sent, and whether the damaged record still names its id.
        $ListCases = if ($Backend -eq 'Dhub') {
            @(
                @{ Case = 'an items string cut short'; Rule = @{ mode = 'corruptItem' }; NamesId = $true }
                @{ Case = 'a state that is a number'; Rule = @{ mode = 'wrongType' }; NamesId = $true }
                @{ Case = 'a batch without its id'; Rule = @{ mode = 'missingField'; variant = 'id' }; NamesId = $true }
                @{ Case = 'a batch without its state'; Rule = @{ mode = 'missingField'; variant = 'state' }; NamesId = $true }
            )
        }
        else {
            @(
                @{ Case = 'a flow run with wrong-typed fields'; Rule = @{ mode = 'wrongType' }; NamesId = $true }
                # Replaced by an object whose id is a number: nothing can tell which run it was.
                @{ Case = 'an element no model accepts'; Rule = @{ mode = 'corruptItem' }; NamesId = $false }
                @{ Case = 'a flow run without its id'; Rule = @{ mode = 'missingField'; variant = 'id' }; NamesId = $false }
            )
        }
    }
    BeforeAll {
        $script:SavedEnvironment = Save-TestConnectionEnvironment -EmptyHome (Join-Path $TestDrive 'prefect-home')
        $script:T = Start-TestBackend -Backend $Backend -PrefectVersion $PrefectVersion
        # The route a listing and a wait read batches by.
        $script:ListRule = if ($Backend -eq 'Dhub') { @{ method = 'GET'; pathPattern = '^/api/v1/batches/[^/]+/[^/]*(\?.*)?$' } }
        else { @{ method = 'POST'; pathPattern = '^/prefect/api/flow_runs/filter$' } }

        function Add-ListDamage {
            <# A damage rule on the batch reads (list pages, dhub GETs, Prefect flow_runs/filter) aimed at one batch. #>
            param([hashtable] $Rule, [string] $TargetId, [int] $Times = 0)
            $body = $ListRule + $Rule + @{ times = $Times }
            if ($TargetId) { $body.targetId = $TargetId }
            Add-EmulatorFault $T -Rule $body
        }
    }
    AfterAll {
        Disconnect-Dhub
        Stop-TestBackend $T
        Restore-TestConnectionEnvironment $SavedEnvironment
    }
    BeforeEach {
        Reset-Emulator $T
        Connect-TestBackend $T -Parameters @{ RetryIntervalSec = 0 }
        Add-EmulatorSeed $T -PipelineId 'orders' -Count 8
        # The clean listing, newest first; the damaged record is the 5th: on page 2 of 3 at -PageSize 3.
        $script:Clean = @(Get-DhubBatch -PipelineId 'orders' -All -PageSize 1000)
        $Clean.Count | Should -Be 8
        $script:Target = $Clean[4].Id
    }

    Context 'Listing with -All' {
        It '<Case> on page 2: every other batch of that page and the pages after it is output, the bad one is a non-terminating DhubInvalidResponse' -ForEach $ListCases {
            $null = Add-ListDamage $Rule $Target
            $r = Invoke-Damaged { Get-DhubBatch -PipelineId 'orders' -All -PageSize 3 }
            @($r.Output.Id) | Should -Be @($Clean.Id | Where-Object { $_ -ne $Target }) -Because 'paging goes on past the bad record, in order'
            $r.Errors.Count | Should -Be 1
            Get-TestErrorId $r.Errors[0] | Should -Be 'DhubInvalidResponse'
            $r.Errors[0].CategoryInfo.Category | Should -Be 'InvalidResult'
            if ($NamesId) {
                "$($r.Errors[0])" | Should -Match ([regex]::Escape($Target))
                $r.Errors[0].TargetObject.Id | Should -Be $Target
                $r.Errors[0].TargetObject.PipelineId | Should -Be 'orders'
            }
            else {
                # Without a readable id the message says where in the page it was, and the target is the pipeline.
                "$($r.Errors[0])" | Should -Match "entry \d+ of the page|has no id"
                $r.Errors[0].TargetObject | Should -Be 'orders'
            }
        }

        It '<Case> within -First 6: the readable ones of the first 6 records are output, then the listing stops' -ForEach $ListCases {
            $null = Add-ListDamage $Rule $Target
            $r = Invoke-Damaged { Get-DhubBatch -PipelineId 'orders' -All -First 6 -PageSize 3 }
            $r.Errors.Count | Should -Be 1
            Get-TestErrorId $r.Errors[0] | Should -Be 'DhubInvalidResponse'
            $r.Output.Id | Should -Not -Contain $Target
            # -First counts the batches output, so the listing may read one record further to make up for the bad one.
            @($r.Output.Id) | Should -Be @($Clean.Id | Where-Object { $_ -ne $Target } | Select-Object -First $r.Output.Count)
            $r.Output.Count | Should -BeIn 5, 6
        }

        It '-Verbose shows the raw text of the bad record' {
            $null = Add-ListDamage @{ mode = 'wrongType' } $Target
            $r = Invoke-Damaged { Get-DhubBatch -PipelineId 'orders' -All -PageSize 3 -Verbose }
            $lines = @($r.Verbose | Where-Object { $_ -like 'Unreadable record:*' })
            $lines.Count | Should -Be 1
            $lines[0] | Should -Match ([regex]::Escape($Target))
        }

        It '-Verbose cuts a long bad record to a sensible length, says how long it was, and never shows the token' {
            # A record that echoes the connection's token back, padded far beyond what a log line should hold.
            $pad = 'x' * 5000
            $id = if ($Backend -eq 'Dhub') { 'batch-echo' } else { '0badc0de-0000-4000-8000-00000000ec40' }
            $inner = "{`"id`":`"$id`",`"note`":`"$($T.TokenText)`",`"state`":{`"state`":7},`"pad`":`"$pad`"}"
            $body = if ($Backend -eq 'Dhub') {
                @{ items = @{ $id = $inner } } | ConvertTo-Json -Compress -Depth 5
            }
            else {
                "[{`"id`":`"$id`",`"name`":`"$($T.TokenText)`",`"state_type`":7,`"pad`":`"$pad`"}]"
            }
            $null = Add-EmulatorFault $T -Rule ($ListRule + @{ mode = 'respond'; status = 200; contentType = 'application/json'; body = $body; times = 1 })
            $r = Invoke-Damaged { Get-DhubBatch -PipelineId 'orders' -All -Verbose }
            $r.Errors.Count | Should -Be 1
            "$($r.Errors[0])" | Should -Match ([regex]::Escape($id))
            $line = @($r.Verbose | Where-Object { $_ -like 'Unreadable record:*' })
            $line.Count | Should -Be 1
            $line[0].Length | Should -BeLessThan 1000 -Because 'a log line, not the whole record'
            $line[0] | Should -Match ([regex]::Escape($id))
            $line[0] | Should -Match '\((\d+) characters\)'
            $null = $line[0] -match '\((\d+) characters\)'
            [int]$Matches[1] | Should -BeGreaterOrEqual 5000 -Because 'the length told is the record''s, not the shortened text''s'
            ($r.Verbose -join "`n") | Should -Not -Match ([regex]::Escape($T.TokenText))
            ($r.Errors | ForEach-Object { "$_" }) -join "`n" | Should -Not -Match ([regex]::Escape($T.TokenText))
        }

        It 'a missing or unknown state stays Unknown: a flow run <Case> is output with State Unknown, without an error' -Skip:($Backend -eq 'Dhub') -ForEach @(
            @{ Case = 'without any state field'; Rule = @{ mode = 'missingField'; variant = 'state' } }
        ) {
            $null = Add-ListDamage $Rule $Target
            $r = Invoke-Damaged { Get-DhubBatch -PipelineId 'orders' -All -PageSize 3 }
            $r.Errors.Count | Should -Be 0
            @($r.Output.Id) | Should -Be @($Clean.Id)
            $damaged = $r.Output | Where-Object Id -EQ $Target
            $damaged.State | Should -Be 'Unknown'
            $damaged.IsComplete | Should -BeFalse
            @($r.Output | Where-Object State -EQ 'Unknown').Count | Should -Be 1
        }
    }

    Context 'Prefect steps and offsets' -Skip:($Backend -eq 'Dhub') {
        It 'a task run with wrong-typed fields costs only its step, with one warning on its batch' {
            $null = Add-EmulatorFault $T -Rule @{ method = 'POST'; pathPattern = '^/prefect/api/task_runs/filter$'; mode = 'wrongType'; index = 1; times = 1 }
            $r = Invoke-Damaged { Get-DhubBatch -PipelineId 'orders' -All -PageSize 3 }
            $r.Errors.Count | Should -Be 0
            @($r.Output.Id) | Should -Be @($Clean.Id)
            $short = @($r.Output | Where-Object { $_.Steps.Count -ne 3 })
            $short.Count | Should -Be 1 -Because 'one task run is one step of one batch'
            $short[0].Steps.Count | Should -Be 2
            $r.Warnings.Count | Should -Be 1
            $r.Warnings[0] | Should -Match ([regex]::Escape($short[0].Id))
            $r.Warnings[0] | Should -Match 'task run'
        }

        It 'a task run without its state is a step in state Unknown, without an error or warning' {
            $null = Add-EmulatorFault $T -Rule @{ method = 'POST'; pathPattern = '^/prefect/api/task_runs/filter$'; mode = 'missingField'; variant = 'state'; index = 0; times = 1 }
            $r = Invoke-Damaged { Get-DhubBatch -PipelineId 'orders' -All -PageSize 3 }
            $r.Errors.Count | Should -Be 0
            $r.Warnings.Count | Should -Be 0
            @($r.Output.Id) | Should -Be @($Clean.Id)
            $unknown = @($r.Output | ForEach-Object { $_.Steps } | Where-Object State -EQ 'Unknown')
            $unknown.Count | Should -Be 1
        }

        It 'an offsets artifact no model accepts costs only that record, with one warning' {
            $null = Add-EmulatorFault $T -Rule @{ method = 'POST'; pathPattern = '^/prefect/api/artifacts/filter$'; mode = 'corruptItem'; times = 1 }
            $r = Invoke-Damaged { Get-DhubBatch -PipelineId 'orders' -All -PageSize 3 }
            $r.Errors.Count | Should -Be 0
            @($r.Output.Id) | Should -Be @($Clean.Id)
            @($r.Output | Where-Object { $_.Steps.Count -ne 3 }).Count | Should -Be 0 -Because 'no step is lost for an artifact'
            $r.Warnings.Count | Should -Be 1
            $r.Warnings[0] | Should -Match 'artifact'
        }
    }

    Context 'Offsets' {
        BeforeAll {
            # Where offsets are damaged: dhub, in the batch reads (every step of the target); Prefect, in the first
            # offsets artifact of one artifacts answer (one step of one batch).
            function Add-OffsetDamage([hashtable] $Rule, [int] $Times = 0) {
                if ($Backend -eq 'Dhub') { Add-ListDamage $Rule $Target -Times $Times }
                else { Add-EmulatorFault $T -Rule (@{ method = 'POST'; pathPattern = '^/prefect/api/artifacts/filter$'; times = 1 } + $Rule) }
            }
            function Get-OffsetText($Batches) {
                @($Batches | ForEach-Object { $b = $_; $b.Steps | ForEach-Object { $s = $_; $s.Offsets.Keys | Sort-Object | ForEach-Object { "$($b.Id).$($s.Name).${_}=$($s.Offsets[$_])" } } })
            }
        }

        It 'offsets spelled as <Variant> (1e3 / 1000.0) are read as the same whole numbers, without a warning' -ForEach @(
            @{ Variant = 'exponent' }, @{ Variant = 'decimal' }
        ) {
            $null = Add-OffsetDamage @{ mode = 'numberSpelling'; variant = $Variant }
            $r = Invoke-Damaged { Get-DhubBatch -PipelineId 'orders' -All -PageSize 3 }
            $r.Errors.Count | Should -Be 0
            $r.Warnings.Count | Should -Be 0
            Get-OffsetText $r.Output | Should -Be (Get-OffsetText $Clean)
            (Get-EmulatorRequest $T | Where-Object fault).Count | Should -BeGreaterThan 0 -Because 'the spelling was changed on the wire'
        }

        It 'an offset that is a <Variant> leaves that one partition out, with one warning naming the step and the partition' -ForEach @(
            @{ Variant = 'fraction' }, @{ Variant = 'string' }, @{ Variant = 'object' }
        ) {
            $null = Add-OffsetDamage @{ mode = 'nonIntegerOffset'; variant = $Variant }
            $r = Invoke-Damaged { Get-DhubBatch -PipelineId 'orders' -All -PageSize 3 }
            $r.Errors.Count | Should -Be 0
            @($r.Output.Id) | Should -Be @($Clean.Id)
            $r.Warnings.Count | Should -Be 1
            $r.Warnings[0] | Should -Match "\b(extract|transform|load)\.progress\b"
            Get-OffsetText $r.Output | Should -Be (Get-OffsetText $Clean) -Because 'only the bad partition is left out; every whole offset is kept'
            if ($Backend -eq 'Dhub') { $r.Warnings[0] | Should -Match ([regex]::Escape($Target)) }
        }
    }

    Context 'Waiting' {
        BeforeEach {
            Add-EmulatorPipeline $T 'slow' -StepSeconds 1000
            Add-EmulatorSeed $T -PipelineId 'slow' -Count 4 -Running
            $script:Running = @(Get-DhubBatch -PipelineId 'slow' -All)
            $Running.Count | Should -Be 4
            $script:WaitTarget = $Running[1].Id
        }

        It 'a record damaged for a few polls: the wait warns naming it and goes on; every batch is output once' {
            $rule = if ($Backend -eq 'Dhub') { @{ mode = 'corruptItem' } } else { @{ mode = 'wrongType' } }
            $null = Add-ListDamage $rule $WaitTarget -Times 2
            Move-EmulatorClock $T 10000
            $r = Invoke-Damaged { $Running | Wait-DhubBatch -PollingInterval 0.2 -Timeout 60 }
            $r.Errors.Count | Should -Be 0 -Because ($r.Errors | Out-String)
            @($r.Output.Id | Sort-Object) | Should -Be @($Running.Id | Sort-Object) -Because 'each batch once, the damaged one too once it reads well'
            @($r.Output | Where-Object { -not $_.IsComplete }).Count | Should -Be 0
            $r.Warnings.Count | Should -BeGreaterThan 0
            $r.Warnings | ForEach-Object { $_ | Should -Match ([regex]::Escape($WaitTarget)) }
        }

        It 'a record damaged for good: the others are output, the damaged one ends in DhubWaitTimeout naming it' {
            # wrongType damages every read of it (dhub: list items and GETs alike), so it never reads well.
            $null = Add-ListDamage @{ mode = 'wrongType' } $WaitTarget
            Move-EmulatorClock $T 10000
            $r = Invoke-Damaged { $Running | Wait-DhubBatch -PollingInterval 0.2 -Timeout 3 -ErrorAction Continue }
            @($r.Output | Where-Object IsComplete).Id | Sort-Object | Should -Be @($Running.Id | Where-Object { $_ -ne $WaitTarget } | Sort-Object)
            $r.Errors.Count | Should -Be 1
            Get-TestErrorId $r.Errors[0] | Should -Be 'DhubWaitTimeout'
            $r.Errors[0].TargetObject.Id | Should -Be $WaitTarget
            $r.Warnings.Count | Should -BeGreaterThan 0
            $r.Warnings[0] | Should -Match ([regex]::Escape($WaitTarget))
        }

        It 'an offset that is not a whole number warns once per wait, not once per poll' {
            # Every read of the target is damaged (dhub: every poll; Prefect: every details read) while it runs.
            $null = if ($Backend -eq 'Dhub') { Add-ListDamage @{ mode = 'nonIntegerOffset' } $WaitTarget }
            else { Add-EmulatorFault $T -Rule @{ method = 'POST'; pathPattern = '^/prefect/api/artifacts/filter$'; mode = 'nonIntegerOffset'; times = 0 } }
            Move-EmulatorClock $T 3500 # every run is in its first task, with offsets written
            $ps = New-TestPowerShell $T
            try {
                $null = $ps.AddScript('param($b) $b | Wait-DhubBatch -PollingInterval 0.2 -Timeout 120').AddArgument($Running)
                $async = $ps.BeginInvoke()
                Clear-EmulatorRequest $T
                # Several rounds read the target while it runs (Prefect reads its offsets again only when it changes).
                Wait-TestCondition -TimeoutSec 60 { @(Get-EmulatorRequest $T -Operation Poll).Count -ge 6 -or $async.IsCompleted } | Should -BeTrue
                Move-EmulatorClock $T 10000
                $output = @($ps.EndInvoke($async))
                $warnings = @($ps.Streams.Warning | ForEach-Object Message)
                $output.Count | Should -Be 4
                $ps.Streams.Error.Count | Should -Be 0
                $warnings.Count | Should -BeGreaterThan 0
                @($warnings | Sort-Object -Unique).Count | Should -Be $warnings.Count -Because 'the same warning is never repeated within one wait'
                $warnings | ForEach-Object { $_ | Should -Match '\.progress\b' }
                if ($Backend -eq 'Dhub') {
                    $warnings.Count | Should -Be 1 -Because 'the target was read damaged on every poll, with the same damage'
                }
                @($output | ForEach-Object { $_.Steps } | Where-Object { $_.Offsets.Keys -contains 'progress' }).Count | Should -Be 0
            }
            finally { Remove-TestPowerShell $ps }
        }
    }
}
