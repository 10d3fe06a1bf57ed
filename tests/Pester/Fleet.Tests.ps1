# The fleet view: every pipeline at a glance (Get-DhubPipeline), every pipeline's batches in one stream
# (Get-DhubBatch -All without -PipelineId), a bare flow run id looked up, batches read without their steps (-NoSteps),
# and how long each batch and step took. Prefect paths run in Prefect 3 and Prefect 2 mode; dhub, which addresses every
# batch under its pipeline and cannot list pipelines, says so before any request.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'DhubBatchesTestUtils.psm1')
    $PrefectBackends = Get-TestBackend -PrefectOnly
    $AllBackends = Get-TestBackend
    $DhubBackends = @(Get-TestBackend | Where-Object Backend -EQ 'Dhub')
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'DhubBatchesTestUtils.psm1')
    Import-TestModule

    # API requests to one Prefect endpoint (e.g. 'flow_runs/filter'), oldest first.
    function Get-PrefectCall([Parameter(Mandatory)] $Context, [Parameter(Mandatory)][string] $Endpoint) {
        @(Get-EmulatorRequest $Context | Where-Object { ('/' + ($_.pathSegments -join '/')) -like "*/$Endpoint" })
    }

    # Bodies the emulator received for one endpoint, parsed.
    function Get-PrefectBody([Parameter(Mandatory)] $Context, [Parameter(Mandatory)][string] $Endpoint) {
        @(Invoke-EmulatorControl $Context GET 'prefect/bodies' | ForEach-Object { $_ } |
            Where-Object { $_.path -like "*/$Endpoint" } | ForEach-Object { $_.body | ConvertFrom-Json })
    }
}

Describe 'Get-DhubPipeline (<Name>)' -Tag 'Fleet' -ForEach $PrefectBackends {
    BeforeAll {
        $script:SavedEnvironment = Save-TestConnectionEnvironment -EmptyHome (Join-Path $TestDrive 'prefect-home')
        $script:T = Start-TestBackend -Backend Prefect -PrefectVersion $PrefectVersion
        Connect-TestBackend $T
        Register-EmulatorPipeline $T 'nightly-sales' @{
            tasks = @(@{ name = 'extract' }, @{ name = 'load' })
            parameters = @(@{ name = 'pipeline_id'; type = 'string'; default = 'nightly-sales' }, @{ name = 'partitions'; type = 'integer'; default = 4 })
            schedule = @{ cron = '0 2 * * *'; timezone = 'UTC' }
            description = 'Loads the sales of the day.'
            tags = @('nightly', 'sales')
        }
        Register-EmulatorPipeline $T 'nightly-paused' @{ tasks = @(@{ name = 'extract' }); paused = $true }
        # Another flow with a deployment named like a pipeline: it is never one.
        Register-EmulatorFlowDeployment -Context $T -Flow 'maintenance' -Name 'nightly-sales'
        Register-EmulatorFlowDeployment -Context $T -Flow 'maintenance' -Name 'vacuum'
        $script:All = @(Get-DhubPipeline)
    }
    AfterAll {
        Disconnect-Dhub
        Stop-TestBackend $T
        Restore-TestConnectionEnvironment $SavedEnvironment
    }
    BeforeEach { Clear-EmulatorRequest $T }

    It 'lists every deployment of the flow, sorted by name, and none of another flow' {
        $All.Count | Should -BeGreaterThan 10
        $All.PipelineId | Should -Be @($All.PipelineId | Sort-Object)
        @($All | Where-Object PipelineId -EQ 'nightly-sales').Count | Should -Be 1
        $All.PipelineId | Should -Not -Contain 'vacuum'
        ($All | Where-Object PipelineId -EQ 'nightly-sales').Deployment | Should -Be 'run-pipeline/nightly-sales'
        $All[0] | Should -BeOfType ([DhubBatches.Pipeline])
        $All[0].Backend | Should -Be 'Prefect'
    }

    It 'reads parameters, defaults, schedule, paused, tags and description as Prefect sends them' {
        $p = Get-DhubPipeline 'nightly-sales'
        $p.Parameters.ToString() | Should -Be 'pipeline_id=string; partitions=integer'
        $p.Parameters['partitions'] | Should -Be 'integer'
        $p.Defaults['partitions'] | Should -Be 4
        $p.Defaults.ToString() | Should -Be 'pipeline_id=nightly-sales; partitions=4'
        $p.Schedule | Should -Be 'cron 0 2 * * * (UTC)'
        $p.Paused | Should -BeFalse
        $p.Tags | Should -Be @('nightly', 'sales')
        $p.Description | Should -Be 'Loads the sales of the day.'
        (Get-DhubPipeline 'nightly-paused').Paused | Should -BeTrue
        (Get-DhubPipeline 'scheduled-pipeline').Schedule | Should -Be 'every 1h (UTC)'
        (Get-DhubPipeline 'orders').Schedule | Should -BeNullOrEmpty
    }

    It 'asks the server by name for names alone, and filters by the flow' {
        $null = Get-DhubPipeline 'orders', 'inventory'
        $body = @(Get-PrefectBody $T 'deployments/filter')[-1]
        $body.flows.name.any_ | Should -Be @('run-pipeline')
        @($body.deployments.name.any_ | Sort-Object) | Should -Be @('inventory', 'orders')
    }

    It 'an unknown exact name is DhubPipelineNotFound; a wildcard that matches nothing outputs nothing' {
        $found = Get-DhubPipeline 'orders', 'no-such-pipeline' -ErrorVariable errors -ErrorAction SilentlyContinue
        @($found).PipelineId | Should -Be @('orders')
        @($errors).Count | Should -Be 1
        Get-TestErrorId $errors[0] | Should -Be 'DhubPipelineNotFound'
        $errors[0].TargetObject | Should -Be 'no-such-pipeline'
        Get-DhubPipeline 'zz*' -ErrorVariable none | Should -BeNullOrEmpty
        @($none).Count | Should -Be 0
        # A deployment of another flow is not found by its name either.
        Get-DhubPipeline 'vacuum' -ErrorAction SilentlyContinue -ErrorVariable other | Should -BeNullOrEmpty
        Get-TestErrorId $other[0] | Should -Be 'DhubPipelineNotFound'
    }

    It 'wildcards match case-insensitively, and each pipeline is output once' {
        @(Get-DhubPipeline 'NIGHTLY-*', '*-sales').PipelineId | Should -Be @('nightly-paused', 'nightly-sales')
    }

    It 'pages with the server limit and still lists every deployment' {
        Set-EmulatorPrefectSetting $T @{ defaultLimit = 5 }
        try {
            $paged = @(Get-DhubPipeline)
            $paged.PipelineId | Should -Be $All.PipelineId
            # One request a page, plus the one that learns the server's limit is 5, not 200 (docs/prefect.md, "List limit").
            @(Get-PrefectCall $T 'deployments/filter').Count | Should -Be ([math]::Ceiling(($All.Count + 1) / 5) + 1)
        }
        finally { Set-EmulatorPrefectSetting $T @{ defaultLimit = 200 } }
    }

    It 'pipes into the batch commands by PipelineId and Connection' {
        Add-EmulatorSeed $T 'nightly-sales' -Count 2
        $latest = @(Get-DhubPipeline 'nightly-sales', 'orders' | Get-DhubBatch -ErrorAction SilentlyContinue)
        $latest.PipelineId | Should -Contain 'nightly-sales'
        (Get-DhubPipeline 'nightly-sales' | Start-DhubBatch -WhatIf) | Should -BeNullOrEmpty
        (Get-DhubPipeline 'nightly-sales' | Get-DhubBatch -All).Count | Should -Be 2
    }

    It 'shows PipelineId, Paused, Schedule and Parameters in its table, and readable CSV cells' {
        $table = Get-DhubPipeline 'nightly-sales' | Format-Table | Out-String -Width 250
        $table | Should -Match 'PipelineId\s+Paused\s+Schedule\s+Parameters'
        $table | Should -Match 'nightly-sales\s+False\s+cron 0 2 \* \* \* \(UTC\)\s+pipeline_id=string; partitions=integer'
        $csv = Get-DhubPipeline 'nightly-sales' | ConvertTo-Csv -NoTypeInformation | ConvertFrom-Csv
        $csv.Parameters | Should -Be 'pipeline_id=string; partitions=integer'
        $csv.Defaults | Should -Be 'pipeline_id=nightly-sales; partitions=4'
        (Get-DhubPipeline 'nightly-sales' | ConvertTo-Csv -NoTypeInformation) -join "`n" | Should -Not -Match 'DhubBatches\.|System\.'
    }

    It '-PipelineId completion reuses the list Get-DhubPipeline read' {
        $null = Get-DhubPipeline
        Clear-EmulatorRequest $T
        $line = 'Get-DhubBatch -PipelineId nightly-'
        $matches = (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText
        $matches | Should -Contain 'nightly-sales'
        @(Get-PrefectCall $T 'deployments/filter').Count | Should -Be 0
    }
}

Describe 'Get-DhubPipeline on dhub' -Tag 'Fleet' -ForEach $DhubBackends {
    BeforeAll {
        $script:T = Start-TestBackend -Backend Dhub
        Connect-TestBackend $T
    }
    AfterAll {
        Disconnect-Dhub
        Stop-TestBackend $T
    }

    It 'is DhubNotSupported before any request' {
        Clear-EmulatorRequest $T
        Get-DhubPipeline -ErrorVariable errors -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Get-TestErrorId $errors[0] | Should -Be 'DhubNotSupported'
        @(Get-EmulatorRequest $T).Count | Should -Be 0
    }
}

Describe 'Every pipeline''s batches in one stream (<Name>)' -Tag 'Fleet' -ForEach $PrefectBackends {
    BeforeAll {
        $script:SavedEnvironment = Save-TestConnectionEnvironment -EmptyHome (Join-Path $TestDrive 'prefect-home')
        $script:T = Start-TestBackend -Backend Prefect -PrefectVersion $PrefectVersion
        Connect-TestBackend $T
        foreach ($name in 'sales-pipeline', 'orders', 'failing-pipeline') { Add-EmulatorSeed $T $name -Count 30 }
        # Runs of another flow never appear.
        Register-EmulatorFlowDeployment -Context $T -Flow 'maintenance' -Name 'orders'
        Add-EmulatorFlowSeed -Context $T -Flow 'maintenance' -Name 'orders' -Count 10
        $script:Fleet = @(Get-DhubBatch -All)
        # The built-in scheduled pipeline has past runs of its own in every history.
        $script:Seeded = @($Fleet | Where-Object PipelineId -In 'sales-pipeline', 'orders', 'failing-pipeline')
    }
    AfterAll {
        Disconnect-Dhub
        Stop-TestBackend $T
        Restore-TestConnectionEnvironment $SavedEnvironment
    }
    BeforeEach { Clear-EmulatorRequest $T }

    It 'lists the batches of every pipeline of the flow, newest first, each named after its deployment' {
        $Seeded.Count | Should -Be 90
        @($Fleet.PipelineId | Sort-Object -Unique) | Should -Be @('failing-pipeline', 'orders', 'sales-pipeline', 'scheduled-pipeline')
        $starts = @($Fleet | ForEach-Object { $_.StartTime })
        $starts | Should -Be @($starts | Sort-Object -Descending)
        ($Fleet | Where-Object PipelineId -EQ 'orders')[0].Deployment | Should -Be 'run-pipeline/orders'
        @($Fleet.Id | Sort-Object -Unique).Count | Should -Be $Fleet.Count
    }

    It 'filters by flow on the server and names the deployments in one bulk read, cached for the connection' {
        $null = Get-DhubBatch -All -PageSize 20
        $body = @(Get-PrefectBody $T 'flow_runs/filter')[-1]
        $body.flows.name.any_ | Should -Be @('run-pipeline')
        $body.flow_runs.deployment_id.is_null_ | Should -BeFalse
        # One request a page, no deployment read (the first listing taught the names), no GET per run. After two full
        # pages a listing reads one page ahead, which costs at most one request past the end (cancelled as the listing
        # ends, so it may not reach the server).
        $pages = [math]::Ceiling(($Fleet.Count + 1) / 20)
        @(Get-PrefectCall $T 'flow_runs/filter').Count | Should -BeIn @($pages, ($pages + [int]($pages -ge 3)))
        @(Get-PrefectCall $T 'deployments/filter').Count | Should -Be 0
        @(Get-EmulatorRequest $T -Method GET | Where-Object { $_.pathSegments -contains 'deployments' }).Count | Should -Be 0
    }

    It 'a new connection reads the names once, for the whole page' {
        Connect-TestBackend $T
        Clear-EmulatorRequest $T
        $null = Get-DhubBatch -All -First 50
        @(Get-PrefectCall $T 'deployments/filter').Count | Should -Be 1
        @(Get-PrefectBody $T 'deployments/filter')[-1].deployments.id.any_.Count | Should -Be 3
    }

    It '-State, -Since, -First, -Skip and -IncludeTotalCount are done by the server' {
        $failed = @(Get-DhubBatch -All -State Stop -Since (Get-Date).AddDays(-1) | Where-Object Outcome -EQ Failed)
        $failed.Count | Should -Be 30
        @($failed.PipelineId | Sort-Object -Unique) | Should -Be @('failing-pipeline')
        Clear-EmulatorRequest $T
        $page = @(Get-DhubBatch -All -IncludeTotalCount -Skip 10 -First 5)
        $page[0].ToString() | Should -Match "Total count: $($Fleet.Count)\b"
        @($page | Select-Object -Skip 1).Id | Should -Be @($Fleet[10..14].Id)
        $body = @(Get-PrefectBody $T 'flow_runs/filter')[-1]
        $body.offset | Should -Be 10
        $body.limit | Should -Be 5
    }

    It 'the -BatchId of a fleet batch finds it alone, and it names its pipeline' {
        $one = Get-DhubBatch -BatchId $Fleet[3].Id
        $one.PipelineId | Should -Be $Fleet[3].PipelineId
        $one.StepSummary | Should -Be $Fleet[3].StepSummary
        @(Get-DhubBatch -Id $Fleet[0].Id, $Fleet[1].Id).Id | Should -Be @($Fleet[0].Id, $Fleet[1].Id)
    }

    It 'an unknown id and a run of another flow are DhubBatchNotFound' {
        $other = @(Invoke-TestPrefectApi $T POST 'flow_runs/filter' @{ flows = @{ name = @{ any_ = @('maintenance') } }; limit = 1 })[0]
        $other | Should -Not -BeNullOrEmpty
        Get-DhubBatch -BatchId $other.id, $T.MissingBatchId -ErrorVariable errors -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        @($errors | ForEach-Object { Get-TestErrorId $_ }) | Should -Be @('DhubBatchNotFound', 'DhubBatchNotFound')
        "$($errors[0])" | Should -Match 'not a run of flow'
    }

    It '-BatchId Tab without a pipeline completes the newest batches of every pipeline' {
        $line = 'Get-DhubBatch -BatchId '
        $completions = (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches
        $completions.CompletionText | Should -Contain $Fleet[0].Id
        ($completions | Where-Object CompletionText -EQ $Fleet[0].Id).ToolTip | Should -Match $Fleet[0].PipelineId
    }

    It 'a wildcard -PipelineId is DhubBadRequest before any request, pointing to Get-DhubPipeline' {
        Get-DhubBatch -PipelineId 'sales*' -All -ErrorVariable errors -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Get-TestErrorId $errors[0] | Should -Be 'DhubBadRequest'
        "$($errors[0])" | Should -Match ([regex]::Escape("Get-DhubPipeline 'sales*' | Get-DhubBatch -All"))
        @(Get-EmulatorRequest $T).Count | Should -Be 0
        # ? and [ ] may be in a real id: tried, then pointed to Get-DhubPipeline when no such pipeline exists.
        Get-DhubBatch -PipelineId 'sales?pipeline' -ErrorVariable errors2 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Get-TestErrorId $errors2[0] | Should -Be 'DhubBadRequest'
    }
}

Describe 'Runs of a deleted deployment, and damaged deployments (<Name>)' -Tag 'Fleet' -ForEach $PrefectBackends {
    BeforeAll {
        $script:SavedEnvironment = Save-TestConnectionEnvironment -EmptyHome (Join-Path $TestDrive 'prefect-home')
        $script:T = Start-TestBackend -Backend Prefect -PrefectVersion $PrefectVersion
        Connect-TestBackend $T
    }
    AfterAll {
        Disconnect-Dhub
        Stop-TestBackend $T
        Restore-TestConnectionEnvironment $SavedEnvironment
    }
    BeforeEach {
        Reset-Emulator $T
        Connect-TestBackend $T # a fresh connection: nothing cached
    }

    It 'still lists them, as (deleted) and the deployment id, and piped on they still work' {
        Register-EmulatorPipeline $T 'retired' @{ tasks = @(@{ name = 'extract' }) }
        Add-EmulatorSeed $T 'retired' -Count 2
        Add-EmulatorSeed $T 'orders' -Count 2
        $deploymentId = (Invoke-TestPrefectApi $T GET 'deployments/name/run-pipeline/retired').id
        $null = Invoke-TestPrefectApi $T DELETE "deployments/$deploymentId"
        $all = @(Get-DhubBatch -All)
        $orphans = @($all | Where-Object PipelineId -EQ "(deleted) $deploymentId")
        $orphans.Count | Should -Be 2
        $orphans[0].Name | Should -BeNullOrEmpty
        $orphans[0].Deployment | Should -BeNullOrEmpty
        @($all | Where-Object PipelineId -EQ 'orders').Count | Should -Be 2
        ($orphans[0] | Get-DhubBatch).Id | Should -Be $orphans[0].Id
        (Get-DhubBatch -BatchId $orphans[0].Id).PipelineId | Should -Be "(deleted) $deploymentId"
        $orphans[1] | Remove-DhubBatch -Force
        @(Get-DhubBatch -All | Where-Object PipelineId -Like '(deleted)*').Count | Should -Be 1
    }

    It 'a damaged deployment record costs its runs only' {
        Add-EmulatorSeed $T 'orders' -Count 3
        Add-EmulatorSeed $T 'inventory' -Count 2
        $damaged = (Invoke-TestPrefectApi $T GET 'deployments/name/run-pipeline/inventory').id
        $null = Add-EmulatorFault $T -Rule @{ method = 'POST'; pathPattern = 'deployments/filter'; mode = 'corruptItem'; targetId = $damaged; times = 1 }
        # (The scheduled pipeline's own past runs are in every listing: only these two pipelines are looked at.)
        $listed = @(Get-DhubBatch -All -ErrorVariable errors -ErrorAction SilentlyContinue | Where-Object PipelineId -In 'orders', 'inventory')
        @($listed.PipelineId | Sort-Object -Unique) | Should -Be @('orders')
        $listed.Count | Should -Be 3
        @($errors).Count | Should -Be 2
        @($errors | ForEach-Object { Get-TestErrorId $_ } | Sort-Object -Unique) | Should -Be @('DhubInvalidResponse')
        "$($errors[0])" | Should -Match 'could not be named'
        # Not cached as gone: the next listing names them.
        @(Get-DhubBatch -All | Where-Object PipelineId -In 'orders', 'inventory').Count | Should -Be 5
    }
}

Describe '-PipelineId a, b -All (<Name>)' -Tag 'Fleet' -ForEach $AllBackends {
    BeforeAll {
        $script:SavedEnvironment = Save-TestConnectionEnvironment -EmptyHome (Join-Path $TestDrive 'prefect-home')
        $script:T = Start-TestBackend -Backend $Backend -PrefectVersion $PrefectVersion
        Connect-TestBackend $T
        Add-EmulatorSeed $T 'orders' -Count 3
        Add-EmulatorSeed $T 'inventory' -Count 2
    }
    AfterAll {
        Disconnect-Dhub
        Stop-TestBackend $T
        Restore-TestConnectionEnvironment $SavedEnvironment
    }

    It 'lists one pipeline after another, -First across them' {
        $both = @(Get-DhubBatch -PipelineId 'orders', 'inventory' -All)
        $both.PipelineId | Should -Be @('orders', 'orders', 'orders', 'inventory', 'inventory')
        @(Get-DhubBatch -PipelineId 'orders', 'inventory' -All -First 4).PipelineId | Should -Be @('orders', 'orders', 'orders', 'inventory')
    }

    It '-IncludeTotalCount gives one total for all of them' -Skip:($Backend -eq 'Dhub') {
        $out = @(Get-DhubBatch -PipelineId 'orders', 'inventory' -All -IncludeTotalCount -First 1)
        $out[0].ToString() | Should -Match 'Total count: 5'
        $out.Count | Should -Be 2
    }
}

Describe 'The fleet forms on dhub' -Tag 'Fleet' -ForEach $DhubBackends {
    BeforeAll {
        $script:T = Start-TestBackend -Backend Dhub
        Connect-TestBackend $T
        Add-EmulatorSeed $T 'orders' -Count 2
    }
    AfterAll {
        Disconnect-Dhub
        Stop-TestBackend $T
    }
    BeforeEach { Clear-EmulatorRequest $T }

    It '-All without -PipelineId is DhubNotSupported before any request' {
        Get-DhubBatch -All -ErrorVariable errors -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Get-TestErrorId $errors[0] | Should -Be 'DhubNotSupported'
        "$($errors[0])" | Should -Match '-PipelineId'
        @(Get-EmulatorRequest $T).Count | Should -Be 0
    }

    It '-BatchId without -PipelineId is DhubNotSupported naming -PipelineId' {
        $id = (Get-DhubBatch -PipelineId 'orders').Id
        Clear-EmulatorRequest $T
        Get-DhubBatch -BatchId $id -ErrorVariable errors -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Get-TestErrorId $errors[0] | Should -Be 'DhubNotSupported'
        "$($errors[0])" | Should -Match "Get-DhubBatch -PipelineId <id> -BatchId $id"
        @(Get-EmulatorRequest $T).Count | Should -Be 0
    }

    It 'neither form can prompt for -PipelineId: it is not mandatory there' {
        $parameter = (Get-Command Get-DhubBatch).Parameters['PipelineId']
        $parameter.ParameterSets['All'].IsMandatory | Should -BeFalse
        $parameter.ParameterSets['ById'].IsMandatory | Should -BeFalse
        $parameter.ParameterSets['Latest'].IsMandatory | Should -BeTrue
    }

    It 'a wildcard -PipelineId is DhubBadRequest before any request' {
        Get-DhubBatch -PipelineId 'ord*' -ErrorVariable errors -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Get-TestErrorId $errors[0] | Should -Be 'DhubBadRequest'
        @(Get-EmulatorRequest $T).Count | Should -Be 0
    }
}

Describe '-NoSteps (<Name>)' -Tag 'Fleet' -ForEach $AllBackends {
    BeforeAll {
        $script:SavedEnvironment = Save-TestConnectionEnvironment -EmptyHome (Join-Path $TestDrive 'prefect-home')
        $script:T = Start-TestBackend -Backend $Backend -PrefectVersion $PrefectVersion
        Connect-TestBackend $T
        Add-EmulatorSeed $T 'orders' -Count 3
        Add-EmulatorSeed $T 'failing-pipeline' -Count 2
    }
    AfterAll {
        Disconnect-Dhub
        Stop-TestBackend $T
        Restore-TestConnectionEnvironment $SavedEnvironment
    }
    BeforeEach { Clear-EmulatorRequest $T }

    It 'Prefect reads only flow_runs/filter; the outcome comes from the run''s state' -Skip:($Backend -eq 'Dhub') {
        $null = Get-DhubPipeline # the deployments are resolved: what is left is the listing itself
        Clear-EmulatorRequest $T
        $bare = @(Get-DhubBatch -PipelineId 'failing-pipeline', 'orders' -All -NoSteps)
        $bare.Count | Should -Be 5
        @(Get-EmulatorRequest $T | Where-Object { ('/' + ($_.pathSegments -join '/')) -notlike '*/flow_runs/filter' } | ForEach-Object { $_.pathSegments -join '/' }) | Should -BeNullOrEmpty
        $bare[0].Steps.Count | Should -Be 0
        $bare[0].StepSummary | Should -BeNullOrEmpty
        $bare[0].Outcome | Should -Be ([DhubBatches.BatchOutcome]::Failed)
        $bare[0].IsComplete | Should -BeTrue
        ($bare | Where-Object PipelineId -EQ 'orders')[0].Outcome | Should -Be ([DhubBatches.BatchOutcome]::Succeeded)
        @(Get-DhubBatch -All -NoSteps | Where-Object PipelineId -In 'failing-pipeline', 'orders').Count | Should -Be 5
    }

    It 'a -NoSteps batch piped into Get-DhubBatch comes back whole' -Skip:($Backend -eq 'Dhub') {
        $whole = Get-DhubBatch -PipelineId 'failing-pipeline' -All -NoSteps -First 1 | Get-DhubBatch
        $whole.StepSummary | Should -Be 'extract=success; transform=failed; load=pending'
        $whole.Outcome | Should -Be ([DhubBatches.BatchOutcome]::Failed)
    }

    It 'on dhub the steps come in the same record, so they are kept' -Skip:($Backend -ne 'Dhub') {
        $kept = @(Get-DhubBatch -PipelineId 'orders' -All -NoSteps)
        $kept.Count | Should -Be 3
        $kept[0].StepSummary | Should -Be 'extract=success; transform=success; load=success'
    }
}

Describe 'How long batches and steps took (<Name>)' -Tag 'Fleet' -ForEach $AllBackends {
    BeforeAll {
        $script:SavedEnvironment = Save-TestConnectionEnvironment -EmptyHome (Join-Path $TestDrive 'prefect-home')
        $script:T = Start-TestBackend -Backend $Backend -PrefectVersion $PrefectVersion
        Connect-TestBackend $T
        $script:Done = Start-DhubBatch -PipelineId 'orders' -Wait -PollingInterval 0.2 -Timeout 60
    }
    AfterAll {
        Disconnect-Dhub
        Stop-TestBackend $T
        Restore-TestConnectionEnvironment $SavedEnvironment
    }

    It 'Prefect: a batch has Duration and Attempt, each step its start, end, duration and attempt' -Skip:($Backend -eq 'Dhub') {
        $Done.Duration | Should -Be ($Done.EndTime - $Done.StartTime)
        $Done.Duration | Should -BeGreaterThan ([TimeSpan]::Zero)
        $Done.Attempt | Should -Be 1
        foreach ($step in $Done.Steps) {
            $step.StartTime | Should -Not -BeNullOrEmpty
            $step.EndTime | Should -BeGreaterOrEqual $step.StartTime
            $step.Duration | Should -Be ($step.EndTime - $step.StartTime)
            $step.Attempt | Should -Be 1
        }
        $Done.Steps[1].StartTime | Should -BeGreaterOrEqual $Done.Steps[0].StartTime
    }

    It 'Prefect: each step''s times and attempt are its task run''s' -Skip:($Backend -eq 'Dhub') {
        $raw = Get-TestTaskRun $T $Done.Id
        foreach ($step in $Done.Steps) {
            $run = @($raw | Where-Object { $_.name -like "$($step.Name)-*" })[0]
            $step.StartTime | Should -Be ([DateTimeOffset]$run.start_time)
            $step.EndTime | Should -Be ([DateTimeOffset]$run.end_time)
            $step.Attempt | Should -Be $run.run_count
        }
    }

    It 'Prefect: Restart-DhubBatch grows Attempt' -Skip:($Backend -eq 'Dhub') {
        $again = Restart-DhubBatch -PipelineId 'orders' -BatchId $Done.Id -Wait -PollingInterval 0.2 -Timeout 60 -PassThru
        $again.Attempt | Should -Be 2
    }

    It 'a step not started yet has no times' -Skip:($Backend -eq 'Dhub') {
        Register-EmulatorPipeline $T 'slow-two' @{ tasks = @(@{ name = 'extract' }, @{ name = 'load'; hangs = $true }) }
        $running = Start-DhubBatch -PipelineId 'slow-two'
        $null = Wait-TestCondition { (Get-DhubBatch -PipelineId 'slow-two' -Id $running.Id).Steps.Count -ge 2 }
        $now = Get-DhubBatch -PipelineId 'slow-two' -Id $running.Id
        $now.Duration | Should -BeNullOrEmpty
        ($now.Steps | Where-Object Name -EQ 'load').EndTime | Should -BeNullOrEmpty
        ($now.Steps | Where-Object Name -EQ 'load').Duration | Should -BeNullOrEmpty
        Stop-DhubBatch -PipelineId 'slow-two' -BatchId $running.Id
    }

    It 'dhub has no times: every timing is null' -Skip:($Backend -ne 'Dhub') {
        $Done.Duration | Should -BeNullOrEmpty
        $Done.Attempt | Should -BeNullOrEmpty
        $Done.Steps[0].StartTime | Should -BeNullOrEmpty
        $Done.Steps[0].Duration | Should -BeNullOrEmpty
        $Done.Steps[0].Attempt | Should -BeNullOrEmpty
    }

    It 'the step table shows Duration, and CSV cells read like 00:00:00.4000000' {
        $table = $Done.Steps | Format-Table | Out-String -Width 200
        $table | Should -Match 'BatchId\s+Name\s+State\s+Duration\s+Offsets'
        $csv = $Done.Steps | ConvertTo-Csv -NoTypeInformation | ConvertFrom-Csv
        if ($Backend -eq 'Prefect') {
            $table | Should -Match '\d\d:\d\d:\d\d\.\d'
            $csv[0].Duration | Should -Match '^\d\d:\d\d:\d\d(\.\d{7})?$'
            ($Done | ConvertTo-Csv -NoTypeInformation | ConvertFrom-Csv).Duration | Should -Match '^\d\d:\d\d:\d\d(\.\d{7})?$'
        }
        else {
            $csv[0].Duration | Should -Be ''
        }
        ($Done.Steps | ConvertTo-Csv -NoTypeInformation) -join "`n" | Should -Not -Match 'System\.|DhubBatches\.'
    }
}
