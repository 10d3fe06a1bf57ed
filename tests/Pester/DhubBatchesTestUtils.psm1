# Helpers every *.Tests.ps1 imports (once per session): where the assembled module and the emulator are, the backends
# the command scenarios run on and how to start and connect to an emulator for each, and small wrappers over the
# emulator's control API (/_emulator/...). DHUBBATCHES_TEST_MODULE / DHUBBATCHES_TEST_EMULATOR (set by
# Invoke-PesterSuite.ps1) say where the module and emulator are; by hand, out/ of this repository is used.

Set-StrictMode -Version Latest

$script:TestRepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path

function Get-TestRepoRoot { $script:TestRepoRoot }
Import-Module (Join-Path $script:TestRepoRoot 'tools/BuildTools.psm1') -Force -Global

# The default token of the emulator (EmulatorOptions.Token); tests pass their own where it matters.
$script:DefaultTestToken = 'emulator-token'

$script:TestBackends = @{
    Dhub = @{
        # Connect-Dhub -Uri: the API root; the module appends /api/v1/batches/...
        ApiUri = { param([string] $EmulatorUrl) $EmulatorUrl }
        # The environment variables that describe this backend's connection without Connect-Dhub.
        Environment = { param($Context) @{ DHUB_API_URL = $Context.ApiUri; DHUB_API_TOKEN = $Context.TokenText } }
        # Method and a regex over the decoded path (or raw target) of each operation.
        Routes = @{
            Start  = @{ Method = 'POST'; PathPattern = '^/api/v1/batches/[^/]+$' }
            Latest = @{ Method = 'GET'; PathPattern = '^/api/v1/batches/[^/]+$' }
            Get    = @{ Method = 'GET'; PathPattern = '^/api/v1/batches/[^/]+/[^/]+$' }
            List   = @{ Method = 'GET'; PathPattern = '^/api/v1/batches/[^/]+/(\?.*)?$' }
            Stop   = @{ Method = 'PUT'; PathPattern = '^/api/v1/batches/[^/]+/[^/]+/stop$' }
            Remove = @{ Method = 'DELETE'; PathPattern = '^/api/v1/batches/[^/]+/[^/]+$' }
            Any    = @{ Method = $null; PathPattern = '^/api/' }
            # A wait's polls: GETs of single batches, or list pages when several batches of a pipeline are waited on.
            Poll   = @{ Method = 'GET'; PathPattern = '^/api/v1/batches/[^/]+/[^/]*(\?.*)?$' }
        }
        # Where the emulator's control API keeps this backend's seeding and stats.
        ControlPrefix = ''
        # Index of the batch id in a logged request's pathSegments (api/v1/batches/<pipeline>/<id>/...).
        BatchIdSegment = 4
        # A well-formed id no batch has: the server answers 404.
        MissingBatchId = 'batch-doesnotexist'
        # The control call that changes the token the API accepts.
        TokenSettings = { param([string] $Token) @{ Path = 'settings'; Body = @{ token = $Token } } }
        # The start POST has no idempotency: a lost answer is reported, never retried (interface.md Behaviour).
        IdempotentStart = $false
    }
    Prefect = @{
        # PREFECT_API_URL includes the API path; the emulator serves Prefect under /prefect/api.
        ApiUri = { param([string] $EmulatorUrl) "$EmulatorUrl/prefect/api" }
        # PREFECT_API_KEY is sent as Bearer (the emulator is started with the same key required).
        Environment = { param($Context) @{ PREFECT_API_URL = $Context.ApiUri; PREFECT_API_KEY = $Context.TokenText } }
        Routes = @{
            Start  = @{ Method = 'POST'; PathPattern = '^/prefect/api/deployments/[^/]+/create_flow_run$' }
            Latest = @{ Method = 'POST'; PathPattern = '^/prefect/api/flow_runs/filter$' }
            Get    = @{ Method = 'GET'; PathPattern = '^/prefect/api/flow_runs/[^/]+$' }
            List   = @{ Method = 'POST'; PathPattern = '^/prefect/api/flow_runs/filter$' }
            Stop   = @{ Method = 'POST'; PathPattern = '^/prefect/api/flow_runs/[^/]+/set_state$' }
            Remove = @{ Method = 'DELETE'; PathPattern = '^/prefect/api/flow_runs/[^/]+$' }
            Any    = @{ Method = $null; PathPattern = '^/prefect/api/' }
            # A wait's polls: one flow_runs/filter by id for many runs.
            Poll   = @{ Method = 'POST'; PathPattern = '^/prefect/api/flow_runs/filter$' }
        }
        ControlPrefix = 'prefect/'
        # prefect/api/flow_runs/<id>/...
        BatchIdSegment = 3
        # flow run ids are UUIDs (a malformed one is rejected client-side); this one exists nowhere -> 404.
        MissingBatchId = '0badc0de-0000-4000-8000-000000000404'
        TokenSettings = { param([string] $Token) @{ Path = 'prefect/settings'; Body = @{ apiKey = $Token } } }
        # create_flow_run with an idempotency key is retried and answered 200 with the same run.
        IdempotentStart = $true
        # The Prefect side needs its own API key option to require the bearer token.
        EmulatorArguments = { param([string] $Token) @('--prefect-api-key', $Token) }
    }
}

function Get-TestBackend {
    <#
    The backends for `Describe '... (<Name>)' -ForEach (Get-TestBackend)`: one hashtable each, with Name (for test
    names), Backend (the module's -Backend: Dhub or Prefect) and, for Prefect, the PrefectVersion the emulator plays
    (3, or 2 with its older naming and its reuse of task runs). -PrefectVersion keeps only those Prefect versions
    (e.g. 3, for suites whose subject does not differ between versions); -PrefectOnly drops dhub.
    #>
    param([int[]] $PrefectVersion = @(3, 2), [switch] $PrefectOnly)
    $all = @(
        @{ Name = 'Dhub'; Backend = 'Dhub'; PrefectVersion = 0 }
        @{ Name = 'Prefect 3'; Backend = 'Prefect'; PrefectVersion = 3 }
        @{ Name = 'Prefect 2'; Backend = 'Prefect'; PrefectVersion = 2 }
    )
    @($all | Where-Object { ($_.Backend -eq 'Dhub' -and -not $PrefectOnly) -or ($_.Backend -eq 'Prefect' -and $_.PrefectVersion -in $PrefectVersion) })
}

function Get-TestModulePath {
    if ($env:DHUBBATCHES_TEST_MODULE) { return $env:DHUBBATCHES_TEST_MODULE }
    return (Join-Path $script:TestRepoRoot 'out/DhubBatches')
}

function Get-TestEmulatorDll {
    if ($env:DHUBBATCHES_TEST_EMULATOR) { return $env:DHUBBATCHES_TEST_EMULATOR }
    return (Join-Path $script:TestRepoRoot 'out/emulator/DhubBatches.Emulator.dll')
}

function Import-TestModule {
    <# Imports the ASSEMBLED module (never src/) into the session, once. #>
    $path = Get-TestModulePath
    $loaded = Get-Module DhubBatches
    if ($loaded -and $loaded.ModuleBase -ne (Resolve-Path $path).Path) {
        throw "DhubBatches is already loaded from $($loaded.ModuleBase), not from $path."
    }
    if (-not $loaded) {
        Import-Module (Join-Path $path 'DhubBatches.psd1') -Global -ErrorAction Stop
    }
}

function ConvertTo-TestSecureString([string] $Text) {
    ConvertTo-SecureString -String $Text -AsPlainText -Force
}

function Start-TestBackend {
    <#
    Starts an emulator for a backend and returns the test context every other helper takes:
    Backend, Url (emulator root, for the control API), ApiUri (for Connect-Dhub), Token (SecureString), TokenText.
    #>
    param(
        [string] $Backend = 'Dhub',
        # Prefect only: the Prefect version the emulator plays (3 by default, or 2).
        [int] $PrefectVersion = 3,
        [string] $Token = $script:DefaultTestToken,
        [double] $StepSeconds = 0.2,
        [string[]] $ExtraArguments = @()
    )
    $definition = $script:TestBackends[$Backend]
    if (-not $definition) { throw "Unknown test backend '$Backend'." }
    $arguments = @('--step-seconds', ([string]$StepSeconds), '--token', $Token) + $ExtraArguments
    if ($Backend -eq 'Prefect' -and $PrefectVersion -ne 3) { $arguments += @('--prefect-version', [string]$PrefectVersion) }
    if ($definition.ContainsKey('EmulatorArguments')) { $arguments += & $definition.EmulatorArguments $Token }
    $emulator = Start-DhubEmulator -EmulatorDll (Get-TestEmulatorDll) -ArgumentList $arguments
    [pscustomobject]@{
        Backend         = $Backend
        PrefectVersion  = if ($Backend -eq 'Prefect') { $PrefectVersion } else { 0 }
        Url             = $emulator.Url
        ApiUri          = [string](& $definition.ApiUri $emulator.Url)
        Token           = ConvertTo-TestSecureString $Token
        TokenText       = $Token
        Emulator        = $emulator
        # Per-backend expectations (see $script:TestBackends).
        BatchIdSegment  = $definition.BatchIdSegment
        MissingBatchId  = $definition.MissingBatchId
        IdempotentStart = $definition.IdempotentStart
    }
}

function Stop-TestBackend {
    param($Context)
    if ($Context) { Stop-DhubEmulator -Emulator $Context.Emulator }
}

function Connect-TestBackend {
    <# Connect-Dhub for the context's backend; extra parameters (e.g. @{ MaximumRetryCount = 0 }) are splatted. #>
    param(
        [Parameter(Mandatory)] $Context,
        [hashtable] $Parameters = @{},
        [switch] $PassThru
    )
    $splat = @{ Uri = $Context.ApiUri; Backend = $Context.Backend; Token = $Context.Token } + $Parameters
    if ($PassThru) { $splat.PassThru = $true }
    Connect-Dhub @splat
}

function Get-BackendRoute {
    <# @{ Method; PathPattern } of an operation (Start, Latest, Get, List, Stop, Remove, Any) on the context's backend. #>
    param([Parameter(Mandatory)] $Context, [Parameter(Mandatory)][string] $Operation)
    $route = $script:TestBackends[$Context.Backend].Routes[$Operation]
    if (-not $route) { throw "No route '$Operation' for backend $($Context.Backend)." }
    $route
}

function Invoke-EmulatorControl {
    param(
        [Parameter(Mandatory)] $Context,
        [Parameter(Mandatory)][string] $Method,
        [Parameter(Mandatory)][string] $Path,
        $Body
    )
    Invoke-DhubEmulatorControl -Emulator $Context -Method $Method -Path $Path -Body $Body
}

function Reset-Emulator {
    <# Back to start-up state: no batches, faults or logged requests. #>
    param([Parameter(Mandatory)] $Context)
    $null = Invoke-EmulatorControl $Context POST 'reset'
}

function Set-EmulatorToken {
    <# Changes the token (Prefect: API key) the emulator accepts from now on, e.g. to simulate a rotated token. #>
    param([Parameter(Mandatory)] $Context, [Parameter(Mandatory)][AllowEmptyString()][string] $Token)
    $call = & $script:TestBackends[$Context.Backend].TokenSettings $Token
    $null = Invoke-EmulatorControl $Context PUT $call.Path $call.Body
}

function Get-RequestBatchId {
    <# The batch id a logged request addresses (its path segment on the context's backend). #>
    param([Parameter(Mandatory)] $Context, [Parameter(Mandatory, ValueFromPipeline)] $Request)
    process { $Request.pathSegments[$Context.BatchIdSegment] }
}

function Clear-EmulatorRequest {
    param([Parameter(Mandatory)] $Context)
    $null = Invoke-EmulatorControl $Context DELETE 'requests'
}

function Get-EmulatorRequest {
    <# Logged API requests, oldest first; -Method and -Operation (a backend route) filter them. #>
    param(
        [Parameter(Mandatory)] $Context,
        [string] $Method,
        [string] $Operation
    )
    # Invoke-RestMethod outputs a JSON array as ONE object: enumerate it.
    $raw = Invoke-EmulatorControl $Context GET 'requests'
    $all = @($raw | ForEach-Object { $_ })
    if ($Operation) {
        $route = Get-BackendRoute $Context $Operation
        $all = @($all | Where-Object {
                (-not $route.Method -or $_.method -eq $route.Method) -and
                (('/' + ($_.pathSegments -join '/')) -match $route.PathPattern -or $_.rawTarget -match $route.PathPattern)
            })
    }
    if ($Method) { $all = @($all | Where-Object method -EQ $Method) }
    $all # enumerated: wrap calls in @() to count or index
}

function Add-EmulatorFault {
    <#
    Adds a fault rule (FaultRule.cs, camelCase JSON): status, retryAfter, body, contentType, delayMs,
    mode (respond|drop|applyThenDrop|truncate|delay), times (0 = unlimited), every, skip.
    -Operation fills method and pathPattern from the backend's route.
    #>
    param(
        [Parameter(Mandatory)] $Context,
        [string] $Operation,
        [hashtable] $Rule = @{}
    )
    $body = @{} + $Rule
    if ($Operation) {
        $route = Get-BackendRoute $Context $Operation
        if (-not $body.ContainsKey('method') -and $route.Method) { $body.method = $route.Method }
        if (-not $body.ContainsKey('pathPattern')) { $body.pathPattern = $route.PathPattern }
    }
    Invoke-EmulatorControl $Context POST 'faults' $body
}

function Clear-EmulatorFault {
    param([Parameter(Mandatory)] $Context)
    $null = Invoke-EmulatorControl $Context DELETE 'faults'
}

function Get-EmulatorStat {
    <# @{ batches; created } for one pipeline (created counts create calls, not seeding). #>
    param([Parameter(Mandatory)] $Context, [Parameter(Mandatory)][string] $PipelineId)
    $prefix = $script:TestBackends[$Context.Backend].ControlPrefix
    $stats = Invoke-EmulatorControl $Context GET "${prefix}stats"
    $entry = $stats.pipelines.PSObject.Properties[$PipelineId]
    if (-not $entry) { return [pscustomobject]@{ batches = 0; created = 0; idempotentRepeats = 0 } }
    if ($Context.Backend -eq 'Prefect') {
        # Runs that exist, and runs create_flow_run made new (an idempotent repeat creates none).
        return [pscustomobject]@{ batches = $entry.Value.runs; created = $entry.Value.created; idempotentRepeats = $entry.Value.idempotentRepeats }
    }
    $entry.Value
}

function Add-EmulatorPipeline {
    <# Registers a pipeline, optionally with its own step duration (a slow pipeline for timeout tests). #>
    param([Parameter(Mandatory)] $Context, [Parameter(Mandatory)][string] $PipelineId, [double] $StepSeconds = -1)
    $body = if ($StepSeconds -ge 0) { @{ stepSeconds = $StepSeconds } } else { @{} }
    $null = Invoke-EmulatorControl $Context POST "pipelines/$([Uri]::EscapeDataString($PipelineId))" $body
}

function Add-EmulatorSeed {
    <# Seeds batches (finished ones dated in the past unless -Running). #>
    param([Parameter(Mandatory)] $Context, [Parameter(Mandatory)][string] $PipelineId, [int] $Count, [switch] $Running)
    $prefix = $script:TestBackends[$Context.Backend].ControlPrefix
    $null = Invoke-EmulatorControl $Context POST "${prefix}pipelines/$([Uri]::EscapeDataString($PipelineId))/seed" @{ count = $Count; finished = (-not $Running) }
}

function Wait-TestCondition {
    <# Polls a condition until it is true or the (generous) timeout passes; returns whether it became true. #>
    param([Parameter(Mandatory)][scriptblock] $Condition, [double] $TimeoutSec = 15, [int] $IntervalMs = 100)
    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSec)
    while ([DateTime]::UtcNow -lt $deadline) {
        if (& $Condition) { return $true }
        Start-Sleep -Milliseconds $IntervalMs
    }
    return [bool](& $Condition)
}

function New-TestPowerShell {
    <#
    A [powershell] in a fresh runspace with the assembled module imported and (unless -NoConnect) connected to the
    context's backend; for progress capture and Ctrl+C tests. Dispose it (and its runspace) when done.
    #>
    param([Parameter(Mandatory)] $Context, [switch] $NoConnect)
    $iss = [System.Management.Automation.Runspaces.InitialSessionState]::CreateDefault2()
    $runspace = [runspacefactory]::CreateRunspace($iss)
    $runspace.Open()
    $ps = [powershell]::Create()
    $ps.Runspace = $runspace
    $null = $ps.AddCommand('Import-Module').AddParameter('Name', (Join-Path (Get-TestModulePath) 'DhubBatches.psd1')).AddParameter('ErrorAction', 'Stop')
    $null = $ps.Invoke()
    $ps.Commands.Clear()
    if (-not $NoConnect) {
        $null = $ps.AddCommand('Connect-Dhub').AddParameter('Uri', $Context.ApiUri).AddParameter('Backend', $Context.Backend).AddParameter('Token', $Context.Token).AddParameter('ErrorAction', 'Stop')
        $null = $ps.Invoke()
        $ps.Commands.Clear()
    }
    $ps
}

function Remove-TestPowerShell {
    param($PowerShell)
    if ($PowerShell) {
        $runspace = $PowerShell.Runspace
        $PowerShell.Dispose()
        if ($runspace) { $runspace.Dispose() }
    }
}

function Get-TestErrorId {
    <# The ErrorId part of an ErrorRecord's FullyQualifiedErrorId ("DhubBatchNotFound,DhubBatches.Cmdlets..." -> "DhubBatchNotFound"). #>
    param([Parameter(Mandatory)] $ErrorRecord)
    ($ErrorRecord.FullyQualifiedErrorId -split ',')[0]
}

$script:ConnectionVariables = @(
    'DHUB_API_URL', 'DHUB_API_TOKEN', 'PREFECT_API_URL', 'PREFECT_API_KEY', 'PREFECT_API_AUTH_STRING',
    'PREFECT_PROFILE', 'PREFECT_PROFILES_PATH', 'PREFECT_HOME'
)

function Save-TestConnectionEnvironment {
    <#
    Saves and clears every variable the module reads a connection from, and points PREFECT_HOME at an empty folder,
    so no connection leaks in from the machine. Returns what Restore-TestConnectionEnvironment needs.
    #>
    param([Parameter(Mandatory)][string] $EmptyHome)
    $saved = @{}
    foreach ($name in $script:ConnectionVariables) {
        $saved[$name] = [Environment]::GetEnvironmentVariable($name)
        [Environment]::SetEnvironmentVariable($name, $null)
    }
    $null = New-Item -ItemType Directory -Force $EmptyHome
    [Environment]::SetEnvironmentVariable('PREFECT_HOME', $EmptyHome)
    $saved
}

function Restore-TestConnectionEnvironment {
    param($Saved)
    if (-not $Saved) { return }
    foreach ($name in $Saved.Keys) { [Environment]::SetEnvironmentVariable($name, $Saved[$name]) }
}

function Set-TestBackendEnvironment {
    <# Sets the environment variables that describe the context's connection (no Connect-Dhub needed). #>
    param([Parameter(Mandatory)] $Context, [string] $TokenText)
    $values = & $script:TestBackends[$Context.Backend].Environment $Context
    if ($PSBoundParameters.ContainsKey('TokenText')) {
        foreach ($key in @($values.Keys)) { if ($key -match 'TOKEN|KEY') { $values[$key] = $TokenText } }
    }
    foreach ($key in $values.Keys) { [Environment]::SetEnvironmentVariable($key, $values[$key]) }
}

function Get-EmulatorPollCount {
    <#
    How many polls named this batch: on dhub, GETs of it; on Prefect, flow_runs/filter requests whose body lists its
    id (a wait reads many runs in one request, so the body says which).
    #>
    param([Parameter(Mandatory)] $Context, [Parameter(Mandatory)][string] $BatchId)
    if ($Context.Backend -eq 'Prefect') {
        @(Invoke-EmulatorControl $Context GET 'prefect/bodies' | ForEach-Object { $_ } |
            Where-Object { $_.path -like '*/flow_runs/filter' -and $_.body.Contains($BatchId) }).Count
    }
    else {
        @(Get-EmulatorRequest $Context -Operation Get | Where-Object { $_.rawTarget.Contains($BatchId) }).Count
    }
}

function Invoke-TestPrefectApi {
    <# A raw call to the emulator's Prefect API (to look at what the module did), authenticated with the context's key. #>
    param([Parameter(Mandatory)] $Context, [string] $Method = 'GET', [Parameter(Mandatory)][string] $Path, $Body)
    $splat = @{
        Method = $Method; Uri = "$($Context.ApiUri)/$Path"; ErrorAction = 'Stop'; Verbose = $false; Debug = $false
        Headers = @{ Authorization = "Bearer $($Context.TokenText)"; 'X-PREFECT-API-VERSION' = '0.8.4' }
    }
    if ($null -ne $Body) { $splat.Body = ($Body | ConvertTo-Json -Depth 10 -Compress); $splat.ContentType = 'application/json' }
    # Invoke-RestMethod outputs a JSON array as ONE object: enumerate it (wrap calls in @() for arrays).
    Invoke-RestMethod @splat | ForEach-Object { $_ }
}

function Get-TestTaskRun {
    <# The raw task runs of a flow run, as the Prefect emulator stores them. #>
    param([Parameter(Mandatory)] $Context, [Parameter(Mandatory)][string] $FlowRunId)
    @(Invoke-TestPrefectApi $Context POST 'task_runs/filter' @{ task_runs = @{ flow_run_id = @{ any_ = @($FlowRunId) } }; sort = 'EXPECTED_START_TIME_ASC' })
}

function Register-EmulatorPipeline {
    <# Registers a Prefect pipeline with a flow definition (docs/emulator.md, "Flow definitions"); @{} takes the built-in. #>
    param([Parameter(Mandatory)] $Context, [Parameter(Mandatory)][string] $PipelineId, [hashtable] $Definition = @{})
    $null = Invoke-EmulatorControl $Context PUT "prefect/pipelines/$([Uri]::EscapeDataString($PipelineId))" $Definition
}

function Register-EmulatorFlowDeployment {
    <#
    Registers a Prefect deployment of any flow (docs/emulator.md, "Other flows"); no -Definition takes the built-in its
    name picks.
    A deployment of a flow other than the pipelines' one is never a pipeline, whatever its name. Returns the answer:
    flow, flowId, deployment, pipeline (null for another flow), deploymentId, definition.
    #>
    param(
        [Parameter(Mandatory)] $Context,
        [Parameter(Mandatory)][string] $Flow,
        [Parameter(Mandatory)][string] $Name,
        [hashtable] $Definition = @{}
    )
    # No body at all (not "{}", which has no tasks) picks the built-in.
    $body = if ($Definition.Count -gt 0) { $Definition } else { $null }
    Invoke-EmulatorControl $Context PUT "prefect/flows/$([Uri]::EscapeDataString($Flow))/deployments/$([Uri]::EscapeDataString($Name))" $body
}

function Add-EmulatorFlowSeed {
    <# Seeds flow runs of a deployment of any flow (finished ones dated in the past unless -Running). #>
    param(
        [Parameter(Mandatory)] $Context,
        [Parameter(Mandatory)][string] $Flow,
        [Parameter(Mandatory)][string] $Name,
        [int] $Count,
        [switch] $Running
    )
    $path = "prefect/flows/$([Uri]::EscapeDataString($Flow))/deployments/$([Uri]::EscapeDataString($Name))/seed"
    $null = Invoke-EmulatorControl $Context POST $path @{ count = $Count; finished = (-not $Running) }
}

function Set-EmulatorPrefectSetting {
    <# Changes Prefect settings of the running emulator, e.g. @{ defaultLimit = 50 }. #>
    param([Parameter(Mandatory)] $Context, [Parameter(Mandatory)][hashtable] $Setting)
    $null = Invoke-EmulatorControl $Context PUT 'prefect/settings' $Setting
}

function Move-EmulatorClock {
    <# Moves the emulator's clock forward: runs move on as if that much time had passed. #>
    param([Parameter(Mandatory)] $Context, [Parameter(Mandatory)][double] $Seconds)
    $null = Invoke-EmulatorControl $Context POST 'clock/advance' @{ seconds = $Seconds }
}

function Set-EmulatorSetStateAnswer {
    <# The next -Count set_state calls are answered ABORT (with -Reason) or WAIT instead of by the rules. #>
    param([Parameter(Mandatory)] $Context, [ValidateSet('Abort', 'Wait')][string] $Answer = 'Abort', [int] $Count = 1, [string] $Reason)
    $body = @{ count = $Count }
    if ($Reason) { $body.reason = $Reason }
    $null = Invoke-EmulatorControl $Context POST "prefect/set-state-$($Answer.ToLowerInvariant())" $body
}

function Invoke-TestChildPwsh {
    <#
    Runs a script in a fresh `pwsh` with the assembled module imported and connected to the context; returns all it
    printed as one string, host output included (the "What if:" lines of -WhatIf go there, out of any stream's reach).
    #>
    param([Parameter(Mandatory)] $Context, [Parameter(Mandatory)][string] $Script)
    $command = @(Get-ChildPwshCommand)
    $prelude = "`$ErrorActionPreference = 'Continue'; Import-Module '$(Join-Path (Get-TestModulePath) 'DhubBatches.psd1')' -ErrorAction Stop; " +
        "Connect-Dhub -Uri '$($Context.ApiUri)' -Backend $($Context.Backend) -Token (ConvertTo-SecureString '$($Context.TokenText)' -AsPlainText -Force) -ErrorAction Stop; "
    $arguments = @($command | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-Command', $prelude + $Script)
    $output = & $command[0] @arguments 2>&1
    ($output | Out-String)
}

function Get-TestClientConnectionCount {
    <# Established TCP connections this machine holds to the context's emulator, counted on the client side. #>
    param([Parameter(Mandatory)] $Context)
    $port = ([Uri]$Context.Url).Port
    @([System.Net.NetworkInformation.IPGlobalProperties]::GetIPGlobalProperties().GetActiveTcpConnections() |
        Where-Object { $_.RemoteEndPoint.Port -eq $port -and $_.State -eq 'Established' }).Count
}

function Get-FreeLoopbackUrl {
    <# An http://127.0.0.1:<port> nobody listens on (bound and released at once): connection refused. #>
    $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
    $listener.Start()
    $port = $listener.LocalEndpoint.Port
    $listener.Stop()
    "http://127.0.0.1:$port"
}

Export-ModuleMember -Function *
