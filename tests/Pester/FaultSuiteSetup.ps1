# Helpers of FaultSuite.Tests.ps1 only (dot-sourced; they build on DhubBatchesTestUtils.psm1).

function Invoke-FaultCase {
    <#
    Runs a command under a fault and returns what a user would see: Output (objects), Errors (ErrorRecords, whether
    non-terminating or terminating) and Seconds (wall time). Output written before a terminating error is kept.
    #>
    param([Parameter(Mandatory)][scriptblock] $Command)
    $ErrorActionPreference = 'Continue'
    $items = [System.Collections.Generic.List[object]]::new()
    $watch = [Diagnostics.Stopwatch]::StartNew()
    try {
        & $Command 2>&1 | ForEach-Object { $items.Add($_) }
    }
    catch {
        $items.Add($_)
    }
    $watch.Stop()
    [pscustomobject]@{
        Output  = @($items | Where-Object { $_ -isnot [System.Management.Automation.ErrorRecord] })
        Errors  = @($items | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] })
        Seconds = $watch.Elapsed.TotalSeconds
    }
}

function Get-FaultRequestCount {
    <# Logged API requests of one operation (and, with -Containing, only those whose target contains that text). #>
    param([Parameter(Mandatory)] $Context, [string] $Operation, [string] $Containing)
    $splat = @{ Context = $Context }
    if ($Operation) { $splat.Operation = $Operation }
    $all = @(Get-EmulatorRequest @splat)
    if ($Containing) { $all = @($all | Where-Object { $_.rawTarget.Contains($Containing) }) }
    $all.Count
}

function Get-FaultRule {
    <# The emulator's fault rules with their matched/hits counters. #>
    param([Parameter(Mandatory)] $Context)
    @(Invoke-EmulatorControl $Context GET 'faults' | ForEach-Object { $_ })
}

function Get-PrefectRunCount {
    <# Prefect side of one pipeline: runs (existing), created (new runs create_flow_run made), idempotentRepeats. #>
    param([Parameter(Mandatory)] $Context, [Parameter(Mandatory)][string] $PipelineId)
    $stats = Invoke-EmulatorControl $Context GET 'prefect/stats'
    $entry = $stats.pipelines.PSObject.Properties[$PipelineId]
    if (-not $entry) { return [pscustomobject]@{ runs = 0; created = 0; idempotentRepeats = 0 } }
    $entry.Value
}

function Get-RawBatchJson {
    <#
    The API's own JSON text for one batch (dhub GET /api/v1/batches/{p}/{id}; Prefect GET /flow_runs/{id}), read with
    the test token, so a test can craft a fault body from a real answer.
    #>
    param([Parameter(Mandatory)] $Context, [Parameter(Mandatory)][string] $PipelineId, [Parameter(Mandatory)][string] $BatchId)
    $uri = if ($Context.Backend -eq 'Prefect') {
        "$($Context.ApiUri)/flow_runs/$([Uri]::EscapeDataString($BatchId))"
    }
    else {
        "$($Context.ApiUri)/api/v1/batches/$([Uri]::EscapeDataString($PipelineId))/$([Uri]::EscapeDataString($BatchId))"
    }
    $headers = @{ Authorization = "Bearer $($Context.TokenText)"; 'X-PREFECT-API-VERSION' = '0.8.4' }
    $response = Invoke-WebRequest -Uri $uri -Headers $headers -ErrorAction Stop -Verbose:$false -Debug:$false
    [string]$response.Content
}

function Stop-FaultPowerShell {
    <#
    Presses Ctrl+C on a running [powershell]: returns the seconds Stop() took. Collects the stopped invocation so the
    same [powershell] can run the next command.
    #>
    param([Parameter(Mandatory)] $PowerShell, [Parameter(Mandatory)] $AsyncResult)
    $watch = [Diagnostics.Stopwatch]::StartNew()
    $PowerShell.Stop()
    $watch.Stop()
    try { $null = $PowerShell.EndInvoke($AsyncResult) } catch { $null = $_ } # a stopped pipeline throws PipelineStoppedException
    $watch.Elapsed.TotalSeconds
}
