# Bulk polling: a wait reads all of its unfinished batches in as few requests as the API allows, each round.
# Prefect: one flow_runs/filter by id per chunk of the server's limit, then task runs and offsets artifacts in bulk,
# only for the runs that changed. dhub: list pages or GETs, whichever costs fewer requests. Runs are made to move
# on with the emulator's clock (pipelines with 1000 s steps), so which round saw which change is under the test's
# control; the requests of each round are read back from the emulator's logs.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'DhubBatchesTestUtils.psm1')
    $PrefectBackends = Get-TestBackend -PrefectOnly
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'DhubBatchesTestUtils.psm1')
    Import-TestModule

    # One step of the test pipelines: long enough that wall time never moves a run on, only Move-EmulatorClock.
    $script:Step = 1000

    function Get-PrefectBody {
        <# The Prefect request bodies the emulator logged after the first $Since of them, parsed. #>
        param([Parameter(Mandatory)] $Context, [int] $Since = 0)
        @(Invoke-EmulatorControl $Context GET 'prefect/bodies' | ForEach-Object { $_ } | Select-Object -Skip $Since |
            ForEach-Object { [pscustomobject]@{ Path = $_.path; Json = ($_.body | ConvertFrom-Json -AsHashtable) } })
    }

    function Get-PrefectBodyCount([Parameter(Mandatory)] $Context) {
        @(Invoke-EmulatorControl $Context GET 'prefect/bodies' | ForEach-Object { $_ }).Count
    }

    function Get-PrefectPollRound {
        <#
        Splits the bodies of a wait into its polling rounds. A round reads runs by id (flow_runs/filter, one request
        per chunk, disjoint chunks), then task runs and artifacts of the runs that changed; so a flow_runs/filter
        after a details read, or one naming a run already read this round, starts the next round.
        #>
        param([Parameter(Mandatory)][AllowEmptyCollection()] [object[]] $Bodies)
        $rounds = [System.Collections.Generic.List[object]]::new()
        $current = $null
        foreach ($body in $Bodies) {
            $json = $body.Json
            $kind = switch -Wildcard ($body.Path) {
                '*/flow_runs/filter' { if ($json['flow_runs'] -and $json['flow_runs']['id']) { 'Runs' } else { 'Other' } }
                '*/task_runs/filter' { 'TaskRuns' }
                '*/artifacts/filter' { 'Artifacts' }
                default { 'Other' }
            }
            $ids = switch ($kind) {
                'Runs' { @($json['flow_runs']['id']['any_']) }
                'TaskRuns' { @($json['task_runs']['flow_run_id']['any_']) }
                'Artifacts' { @($json['flow_runs']['id']['any_']) }
                default { @() }
            }
            if ($kind -eq 'Runs' -and ($null -eq $current -or ($current.TaskRuns.Count + $current.Artifacts.Count) -gt 0 -or
                    @($ids | Where-Object { $current.RunIds.Contains($_) }).Count -gt 0)) {
                $current = [pscustomobject]@{
                    Runs = [System.Collections.Generic.List[object]]::new(); RunIds = [System.Collections.Generic.HashSet[string]]::new()
                    TaskRuns = [System.Collections.Generic.List[object]]::new(); Artifacts = [System.Collections.Generic.List[object]]::new()
                    Other = [System.Collections.Generic.List[object]]::new()
                }
                $rounds.Add($current)
            }
            if ($null -eq $current) { throw "The wait's first request was a $($body.Path), not a read of its runs." }
            $request = [pscustomobject]@{ Ids = $ids; Limit = $json['limit']; Offset = [int]$json['offset']; Json = $json }
            switch ($kind) {
                'Runs' { $current.Runs.Add($request); foreach ($id in $ids) { $null = $current.RunIds.Add($id) } }
                'TaskRuns' { $current.TaskRuns.Add($request) }
                'Artifacts' { $current.Artifacts.Add($request) }
                default { $current.Other.Add($body.Path) }
            }
        }
        , $rounds.ToArray()
    }

    function Get-PageSequence {
        <# Details requests grouped by the runs they name: one group per chunk, its pages by offset. #>
        param([AllowEmptyCollection()] [object[]] $Requests)
        @($Requests | Group-Object { ($_.Ids | Sort-Object) -join ',' } | ForEach-Object {
                [pscustomobject]@{ Ids = @($_.Group[0].Ids); Limit = $_.Group[0].Limit; Offsets = @($_.Group.Offset | Sort-Object); Json = $_.Group[0].Json }
            })
    }

    function Assert-PollRound {
        <#
        The shape every round must have: the unfinished runs read by id in ceil(n / limit) disjoint requests of at
        most the limit; details only for runs read this round, at most the limit of them per request, paged by offset
        0, limit, 2 * limit, ... and never more pages than the records need; nothing else. A round whose details fit one
        page each costs at most 3 * ceil(N / limit) requests. Returns how many rounds read details.
        #>
        param([Parameter(Mandatory)] $Context, [Parameter(Mandatory)] [object[]] $Rounds, [Parameter(Mandatory)][int] $Limit, [Parameter(Mandatory)] [string[]] $AllIds)
        $Rounds.Count | Should -BeGreaterThan 0
        @($Rounds[0].RunIds | Sort-Object) | Should -Be @($AllIds | Sort-Object) -Because 'the first round reads every waited run'
        $bound = 3 * [math]::Ceiling($AllIds.Count / $Limit)
        $previous = $null
        $detailRounds = 0
        foreach ($round in $Rounds) {
            $n = $round.RunIds.Count
            $round.Other.Count | Should -Be 0 -Because "a round makes no other request ($($round.Other -join ', '))"
            $round.Runs.Count | Should -Be ([math]::Ceiling($n / $Limit)) -Because "$n runs at limit $Limit"
            ($round.Runs | ForEach-Object { $_.Ids.Count } | Measure-Object -Sum).Sum | Should -Be $n -Because 'the chunks are disjoint'
            foreach ($request in $round.Runs) {
                $request.Ids.Count | Should -BeLessOrEqual $Limit
                $request.Limit | Should -BeLessOrEqual $Limit
            }
            if ($previous) {
                @($round.RunIds | Where-Object { -not $previous.RunIds.Contains($_) }).Count | Should -Be 0 -Because 'a finished run is not read again'
            }
            $singlePage = $true
            foreach ($kind in 'TaskRuns', 'Artifacts') {
                foreach ($sequence in (Get-PageSequence $round.$kind)) {
                    $sequence.Ids.Count | Should -BeLessOrEqual $Limit
                    @($sequence.Ids | Where-Object { -not $round.RunIds.Contains($_) }).Count | Should -Be 0 -Because 'details are read only for runs read this round'
                    $expected = @(0..($sequence.Offsets.Count - 1) | ForEach-Object { $_ * $sequence.Limit })
                    $sequence.Offsets | Should -Be $expected -Because "$kind pages follow each other by the limit"
                    if ($sequence.Offsets.Count -gt 1) {
                        $singlePage = $false
                        # A further page only when the previous one was full: never more pages than the records need.
                        $records = Get-PrefectRecordCount $Context $kind $sequence
                        $sequence.Offsets.Count | Should -BeLessOrEqual ([math]::Floor($records / $sequence.Limit) + 1)
                    }
                }
            }
            $detailChunks = @(Get-PageSequence $round.TaskRuns).Count
            $detailChunks | Should -Be @(Get-PageSequence $round.Artifacts).Count -Because 'task runs and offsets are read together'
            $detailChunks | Should -BeLessOrEqual ([math]::Ceiling($n / $Limit))
            if ($detailChunks -gt 0) { $detailRounds++ }
            if ($singlePage) {
                ($round.Runs.Count + $round.TaskRuns.Count + $round.Artifacts.Count) | Should -BeLessOrEqual $bound
            }
            $previous = $round
        }
        $detailRounds
    }

    function Get-PrefectRecordCount {
        <# How many task runs or artifacts the server holds now for a details query (the same filter, counted). #>
        param($Context, [string] $Kind, $Sequence)
        $filter = @{} + $Sequence.Json
        foreach ($key in 'limit', 'offset', 'sort') { $filter.Remove($key) }
        $path = if ($Kind -eq 'TaskRuns') { 'task_runs/count' } else { 'artifacts/count' }
        [int](Invoke-TestPrefectApi $Context POST $path $filter)
    }

    function Start-BackgroundWait {
        <# Runs a script in its own runspace (connected to the context), with the batches as its argument. #>
        param([Parameter(Mandatory)] $Context, [Parameter(Mandatory)][string] $Script, [object[]] $Batches = @())
        $ps = New-TestPowerShell $Context
        $null = $ps.AddScript($Script).AddArgument($Batches)
        [pscustomobject]@{ PowerShell = $ps; Async = $ps.BeginInvoke() }
    }

    function Complete-BackgroundWait {
        <# Collects a background wait: Output, Errors, Warnings; disposes the runspace. #>
        param([Parameter(Mandatory)] $Wait)
        try {
            $output = @($Wait.PowerShell.EndInvoke($Wait.Async))
            [pscustomobject]@{ Output = $output; Errors = @($Wait.PowerShell.Streams.Error); Warnings = @($Wait.PowerShell.Streams.Warning) }
        }
        finally { Remove-TestPowerShell $Wait.PowerShell }
    }
}

Describe 'Bulk polling on Prefect (<Name>)' -Tag 'BulkPolling' -ForEach $PrefectBackends {
    BeforeAll {
        $script:SavedEnvironment = Save-TestConnectionEnvironment -EmptyHome (Join-Path $TestDrive 'prefect-home')
        $script:T = Start-TestBackend -Backend Prefect -PrefectVersion $PrefectVersion

        function Step-UntilDetailsRead {
            <# Moves the clock one step and waits until some round has read details after that (it saw the change). #>
            param([int] $Since)
            $before = @(Get-PrefectBody $T -Since $Since | Where-Object Path -Like '*/task_runs/filter').Count
            Move-EmulatorClock $T $Step
            Wait-TestCondition -TimeoutSec 60 { @(Get-PrefectBody $T -Since $Since | Where-Object Path -Like '*/task_runs/filter').Count -gt $before } |
                Should -BeTrue -Because 'a round reads the details of runs that changed'
        }

        function Wait-QuietRound {
            <# Waits until at least $Count more rounds read the runs (nothing changing meanwhile). #>
            param([int] $Since, [int] $Count = 2)
            $start = @(Get-PrefectBody $T -Since $Since).Count
            Wait-TestCondition -TimeoutSec 60 { @(Get-PrefectBody $T -Since ($Since + $start) | Where-Object Path -Like '*/flow_runs/filter').Count -ge $Count } |
                Should -BeTrue
        }
    }
    AfterAll {
        Disconnect-Dhub
        Stop-TestBackend $T
        Restore-TestConnectionEnvironment $SavedEnvironment
    }
    BeforeEach {
        Reset-Emulator $T
        # A new connection each time: a connection keeps the lower limit it learned from the server.
        Connect-TestBackend $T -Parameters @{ RetryIntervalSec = 0 }
        Add-EmulatorPipeline $T 'bulk' -StepSeconds $Step
    }

    It 'a wait on <Count> batches at limit <Limit> reads them by id in <Chunks> request(s) a round, details in bulk only for runs that changed; each batch is output once' -ForEach @(
        @{ Count = 10; Limit = 200; Chunks = 1 }
        @{ Count = 250; Limit = 200; Chunks = 2 }
        @{ Count = 250; Limit = 60; Chunks = 5 }
    ) {
        if ($Limit -ne 200) { Set-EmulatorPrefectSetting $T @{ defaultLimit = $Limit } }
        Add-EmulatorSeed $T -PipelineId 'bulk' -Count $Count -Running
        $batches = @(Get-DhubBatch -PipelineId 'bulk' -All)
        $batches.Count | Should -Be $Count
        Clear-EmulatorRequest $T
        $since = Get-PrefectBodyCount $T

        $wait = Start-BackgroundWait $T 'param($b) $b | Wait-DhubBatch -PollingInterval 0.2 -Timeout 300' $batches
        Wait-QuietRound -Since $since -Count (3 * $Chunks)
        Step-UntilDetailsRead -Since $since   # pending
        Wait-QuietRound -Since $since -Count (2 * $Chunks)
        Step-UntilDetailsRead -Since $since   # running, first task
        Move-EmulatorClock $T (10 * $Step)    # every run completes
        $result = Complete-BackgroundWait $wait

        $result.Errors.Count | Should -Be 0 -Because ($result.Errors | Out-String)
        $result.Output.Count | Should -Be $Count -Because 'each batch is output exactly once'
        @($result.Output.Id | Sort-Object -Unique) | Should -Be @($batches.Id | Sort-Object)
        @($result.Output | Where-Object { -not $_.IsComplete -or $_.Outcome -ne 'Succeeded' }).Count | Should -Be 0
        @($result.Output | Where-Object { $_.Steps.Count -ne 3 }).Count | Should -Be 0 -Because 'completed runs carry their steps'

        $rounds = Get-PrefectPollRound (Get-PrefectBody $T -Since $since)
        $detailRounds = Assert-PollRound $T $rounds $Limit $batches.Id
        $detailRounds | Should -BeGreaterOrEqual 3 -Because 'three changes were seen: pending, running, completed'
        @($rounds | Where-Object { $_.TaskRuns.Count -eq 0 }).Count | Should -BeGreaterOrEqual 3 -Because 'rounds without a change read only the runs'
        $largest = ($rounds | ForEach-Object { $_.TaskRuns } | ForEach-Object { $_.Ids.Count } | Measure-Object -Maximum).Maximum
        $largest | Should -Be ([math]::Min($Count, $Limit)) -Because 'details of many runs are read in one request'
        # Everything the wait sent is in the rounds above: no GET of single runs, task runs or artifacts.
        $reads = @(Get-EmulatorRequest $T | Where-Object { $_.method -eq 'GET' -and $_.rawTarget -match '^/prefect/api/(flow_runs|task_runs|artifacts)/' })
        $reads.Count | Should -Be 0 -Because (($reads | ForEach-Object rawTarget) -join ', ')
    }

    It 'Start-DhubBatch -Wait over several pipelines polls all their runs in one request a round' {
        foreach ($p in 'bulk-a', 'bulk-b', 'bulk-c') { Add-EmulatorPipeline $T $p -StepSeconds $Step }
        $since = Get-PrefectBodyCount $T
        $wait = Start-BackgroundWait $T '''bulk-a'', ''bulk-b'', ''bulk-c'' | Start-DhubBatch -Wait -PollingInterval 0.2 -Timeout 300'
        Wait-TestCondition -TimeoutSec 60 { @(Get-PrefectBody $T -Since $since | Where-Object { $_.Path -like '*/flow_runs/filter' -and $_.Json['flow_runs'] -and $_.Json['flow_runs']['id'] }).Count -ge 3 } |
            Should -BeTrue
        Step-UntilDetailsRead -Since $since
        Move-EmulatorClock $T (10 * $Step)
        $result = Complete-BackgroundWait $wait

        $result.Errors.Count | Should -Be 0 -Because ($result.Errors | Out-String)
        $result.Output.Count | Should -Be 3
        @($result.Output.PipelineId | Sort-Object) | Should -Be @('bulk-a', 'bulk-b', 'bulk-c')
        # Start's own reads (the create, and each deployment's expected steps, once) come before the wait's rounds.
        $bodies = @(Get-PrefectBody $T -Since $since | Where-Object { $_.Path -notlike '*/create_flow_run' -and -not ($_.Path -like '*/task_runs/filter' -and $_.Json['flow_runs']) })
        $rounds = Get-PrefectPollRound $bodies
        $null = Assert-PollRound $T $rounds 200 $result.Output.Id
    }

    It 'under injected 503s (every 3rd poll) the rounds keep their shape and each batch is output once' {
        Add-EmulatorSeed $T -PipelineId 'bulk' -Count 250 -Running
        $batches = @(Get-DhubBatch -PipelineId 'bulk' -All)
        Clear-EmulatorRequest $T
        $since = Get-PrefectBodyCount $T
        $rule = Add-EmulatorFault $T -Rule @{ method = 'POST'; pathPattern = '^/prefect/api/(flow_runs|task_runs|artifacts)/filter$'; status = 503; every = 3; times = 0 }

        $wait = Start-BackgroundWait $T 'param($b) $b | Wait-DhubBatch -PollingInterval 0.2 -Timeout 300' $batches
        Wait-QuietRound -Since $since -Count 6
        Step-UntilDetailsRead -Since $since
        Move-EmulatorClock $T (10 * $Step)
        $result = Complete-BackgroundWait $wait

        $result.Errors.Count | Should -Be 0 -Because ($result.Errors | Out-String)
        $result.Output.Count | Should -Be 250
        @($result.Output.Id | Sort-Object -Unique) | Should -Be @($batches.Id | Sort-Object)
        @($result.Output | Where-Object { -not $_.IsComplete }).Count | Should -Be 0
        $faulted = @(Get-EmulatorRequest $T | Where-Object { $_.fault -eq $rule.id })
        $faulted.Count | Should -BeGreaterThan 0
        # Each 503 was retried once: the answered requests (the bodies) make whole rounds of the usual shape.
        $rounds = Get-PrefectPollRound (Get-PrefectBody $T -Since $since)
        $null = Assert-PollRound $T $rounds 200 $batches.Id
        # Besides the connection check of the waiting runspace, nothing but the rounds and their retries.
        $answered = @(Get-EmulatorRequest $T | Where-Object { $_.rawTarget -like '/prefect/api/*' -and $_.rawTarget -notlike '*/admin/version' -and -not $_.fault }).Count
        $answered | Should -Be (@(Get-PrefectBody $T -Since $since).Count) -Because 'no request beyond the rounds and their retries'
    }

    It 'a 429 with Retry-After holds the whole round: no request starts until it has passed; each batch is output once' {
        Add-EmulatorSeed $T -PipelineId 'bulk' -Count 250 -Running
        $batches = @(Get-DhubBatch -PipelineId 'bulk' -All)
        $since = Get-PrefectBodyCount $T
        $wait = Start-BackgroundWait $T 'param($b) $b | Wait-DhubBatch -PollingInterval 0.2 -Timeout 300' $batches
        Wait-QuietRound -Since $since -Count 4
        # The next artifacts read is in the round where every run completes: its task runs take several pages,
        # read while the artifacts request is held.
        Clear-EmulatorRequest $T
        $rule = Add-EmulatorFault $T -Rule @{ method = 'POST'; pathPattern = '^/prefect/api/artifacts/filter$'; status = 429; retryAfter = '3'; times = 1 }
        Move-EmulatorClock $T (10 * $Step)
        $result = Complete-BackgroundWait $wait

        $result.Errors.Count | Should -Be 0 -Because ($result.Errors | Out-String)
        $result.Output.Count | Should -Be 250
        @($result.Output.Id | Sort-Object -Unique) | Should -Be @($batches.Id | Sort-Object)
        $log = @(Get-EmulatorRequest $T | Where-Object { $_.rawTarget -like '/prefect/api/*' })
        $throttled = @($log | Where-Object fault -EQ $rule.id)
        $throttled.Count | Should -Be 1
        $at = [DateTimeOffset]$throttled[0].timestamp
        # Requests already on their way when the 429 came may still arrive; none starts later within Retry-After.
        $during = @($log | Where-Object { $t = [DateTimeOffset]$_.timestamp; $t -gt $at.AddSeconds(0.5) -and $t -lt $at.AddSeconds(2.5) })
        $during.Count | Should -Be 0 -Because "the whole round waits out Retry-After ($(($during | ForEach-Object rawTarget) -join ', '))"
        @($log | Where-Object { [DateTimeOffset]$_.timestamp -ge $at.AddSeconds(2.5) }).Count | Should -BeGreaterThan 0 -Because 'the round goes on afterwards'
    }
}

Describe 'Bulk polling on dhub' -Tag 'BulkPolling' {
    BeforeAll {
        $script:SavedEnvironment = Save-TestConnectionEnvironment -EmptyHome (Join-Path $TestDrive 'prefect-home')
        $script:T = Start-TestBackend -Backend Dhub
        Connect-TestBackend $T -Parameters @{ RetryIntervalSec = 0 }

        function Get-DhubPollRound {
            <# The wait's requests by round: each round that uses the list starts with its first page (no page token). #>
            param([Parameter(Mandatory)][AllowEmptyCollection()] [object[]] $Requests)
            $rounds = [System.Collections.Generic.List[object]]::new()
            $current = $null
            foreach ($request in $Requests) {
                $isList = $request.rawTarget -match '^/api/v1/batches/[^/]+/(\?.*)?$'
                if (-not $current -or ($isList -and $request.rawTarget -notmatch '[?&]token=' -and ($current.Lists.Count + $current.Gets.Count) -gt 0)) {
                    $current = [pscustomobject]@{ Lists = [System.Collections.Generic.List[object]]::new(); Gets = [System.Collections.Generic.List[object]]::new() }
                    $rounds.Add($current)
                }
                if ($isList) { $current.Lists.Add($request) } else { $current.Gets.Add($request) }
            }
            , $rounds.ToArray()
        }

        function Get-WaitRequest {
            @(Get-EmulatorRequest $T -Operation Poll | Where-Object { -not $_.fault })
        }
    }
    AfterAll {
        Disconnect-Dhub
        Stop-TestBackend $T
        Restore-TestConnectionEnvironment $SavedEnvironment
    }
    BeforeEach {
        Reset-Emulator $T
        Add-EmulatorPipeline $T 'bulk' -StepSeconds $Step
    }

    It 'many waited batches of one pipeline are read from list pages, never one GET each' {
        Add-EmulatorSeed $T -PipelineId 'bulk' -Count 250 -Running
        $batches = @(Get-DhubBatch -PipelineId 'bulk' -All -PageSize 1000)
        $batches.Count | Should -Be 250
        Clear-EmulatorRequest $T
        $wait = Start-BackgroundWait $T 'param($b) $b | Wait-DhubBatch -PollingInterval 0.2 -Timeout 300' $batches
        Wait-TestCondition -TimeoutSec 60 { @(Get-WaitRequest).Count -ge 12 } | Should -BeTrue
        Move-EmulatorClock $T $Step
        Move-EmulatorClock $T (10 * $Step)
        $result = Complete-BackgroundWait $wait

        $result.Errors.Count | Should -Be 0 -Because ($result.Errors | Out-String)
        $result.Output.Count | Should -Be 250
        @($result.Output.Id | Sort-Object -Unique) | Should -Be @($batches.Id | Sort-Object)
        @($result.Output | Where-Object { -not $_.IsComplete }).Count | Should -Be 0
        $rounds = Get-DhubPollRound (Get-WaitRequest)
        $rounds.Count | Should -BeGreaterOrEqual 3
        foreach ($round in $rounds) {
            $round.Gets.Count | Should -Be 0 -Because 'each list page answers many waited batches'
            # 100 a page: 250 batches cost 3 requests a round instead of 250 GETs.
            $round.Lists.Count | Should -BeLessOrEqual 3
        }
    }

    It 'waited batches behind newer ones are read by GET after one list page that answered fewer than two of them' {
        Add-EmulatorSeed $T -PipelineId 'bulk' -Count 2 -Running
        $old = @(Get-DhubBatch -PipelineId 'bulk' -All)
        Add-EmulatorSeed $T -PipelineId 'bulk' -Count 150 -Running
        $listed = @(Get-DhubBatch -PipelineId 'bulk' -All -PageSize 1000)
        $listed.Count | Should -Be 152
        @($listed | Select-Object -Last 2).Id | Sort-Object | Should -Be @($old.Id | Sort-Object) -Because 'the list is newest first'
        Clear-EmulatorRequest $T
        $wait = Start-BackgroundWait $T 'param($b) $b | Wait-DhubBatch -PollingInterval 0.2 -Timeout 300' $old
        Wait-TestCondition -TimeoutSec 60 { @(Get-WaitRequest).Count -ge 9 } | Should -BeTrue
        Move-EmulatorClock $T (10 * $Step)
        $result = Complete-BackgroundWait $wait

        $result.Errors.Count | Should -Be 0 -Because ($result.Errors | Out-String)
        @($result.Output.Id | Sort-Object) | Should -Be @($old.Id | Sort-Object)
        $rounds = Get-DhubPollRound (Get-WaitRequest)
        $rounds.Count | Should -BeGreaterOrEqual 3
        foreach ($round in $rounds) {
            $round.Lists.Count | Should -Be 1 -Because 'the newest page did not pay for itself: no second page'
            @($round.Gets | Get-RequestBatchId $T | Sort-Object) | Should -Be @($old.Id | Sort-Object)
        }
    }

    It 'a single waited batch of a pipeline is read by GET, without a list page' {
        Add-EmulatorSeed $T -PipelineId 'bulk' -Count 3 -Running
        $one = @(Get-DhubBatch -PipelineId 'bulk' -All)[1]
        Clear-EmulatorRequest $T
        $wait = Start-BackgroundWait $T 'param($b) $b | Wait-DhubBatch -PollingInterval 0.2 -Timeout 300' @($one)
        Wait-TestCondition -TimeoutSec 60 { @(Get-WaitRequest).Count -ge 3 } | Should -BeTrue
        Move-EmulatorClock $T (10 * $Step)
        $result = Complete-BackgroundWait $wait
        $result.Output.Count | Should -Be 1
        $requests = @(Get-WaitRequest)
        @($requests | Where-Object { $_.rawTarget -match '^/api/v1/batches/[^/]+/(\?.*)?$' }).Count | Should -Be 0
        @($requests | Get-RequestBatchId $T | Sort-Object -Unique) | Should -Be @($one.Id)
    }

    It 'a 429 with Retry-After on one GET holds the other GETs of the round; each batch is output once' {
        Add-EmulatorSeed $T -PipelineId 'bulk' -Count 40 -Running
        $old = @(Get-DhubBatch -PipelineId 'bulk' -All -PageSize 1000)
        Add-EmulatorSeed $T -PipelineId 'bulk' -Count 150 -Running
        $wait = Start-BackgroundWait $T 'param($b) $b | Wait-DhubBatch -PollingInterval 0.2 -Timeout 300' $old
        Wait-TestCondition -TimeoutSec 60 { @(Get-WaitRequest).Count -ge 41 } | Should -BeTrue
        Clear-EmulatorRequest $T
        # The 6th GET of a round: 16 are in flight at once, so the rest of the round is still to be sent.
        $rule = Add-EmulatorFault $T -Operation Get @{ status = 429; retryAfter = '3'; times = 1; skip = 5 }
        Wait-TestCondition -TimeoutSec 60 { @(Get-EmulatorRequest $T | Where-Object fault -EQ $rule.id).Count -eq 1 } | Should -BeTrue
        Move-EmulatorClock $T (10 * $Step)
        $result = Complete-BackgroundWait $wait

        $result.Errors.Count | Should -Be 0 -Because ($result.Errors | Out-String)
        $result.Output.Count | Should -Be 40
        @($result.Output.Id | Sort-Object -Unique) | Should -Be @($old.Id | Sort-Object)
        $log = @(Get-EmulatorRequest $T | Where-Object { $_.rawTarget -like '/api/*' })
        $at = [DateTimeOffset]($log | Where-Object fault -EQ $rule.id)[0].timestamp
        $during = @($log | Where-Object { $t = [DateTimeOffset]$_.timestamp; $t -gt $at.AddSeconds(0.5) -and $t -lt $at.AddSeconds(2.5) })
        $during.Count | Should -Be 0 -Because "the whole round waits out Retry-After ($(($during | ForEach-Object rawTarget) -join ', '))"
        @($log | Where-Object { [DateTimeOffset]$_.timestamp -ge $at.AddSeconds(2.5) }).Count | Should -BeGreaterThan 0
    }
}
