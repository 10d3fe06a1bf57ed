<#
.SYNOPSIS
    Measures DhubBatches side by side with its alternatives against the emulator on loopback and writes
    bench/results.md. Run through `./build.ps1 Bench` (not part of Test).
.DESCRIPTION
    1. Import cost and first-command cost.   2. Per-call cost against Invoke-RestMethod and a raw HttpClient loop.
    3. Get-DhubBatch -All at 1,000 / 10,000 / 100,000 batches, and what the 100,000-run Prefect listing's time is made of.
    4. Wait-DhubBatch on 10 / 100 / 1,000 running batches: requests per round and client CPU.
    2, 3 and 4 on both backends. Each figure is the median of several runs, each run in a fresh pwsh.
#>
param(
    [Parameter(Mandatory)][string] $ModulePath,
    [Parameter(Mandatory)][string] $EmulatorDll,
    [Parameter(Mandatory)][string] $ResultPath,
    [int] $Runs = 3,
    [int] $WaitSeconds = 60
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
Import-Module (Join-Path $PSScriptRoot '../tools/BuildTools.psm1') -Force

$ModulePath = (Resolve-Path $ModulePath).Path
$EmulatorDll = (Resolve-Path $EmulatorDll).Path
$token = 'bench-token'
$scenarios = Join-Path $PSScriptRoot 'scenarios'
$pwsh = @(Get-ChildPwshCommand)
$started = Get-Date

function Invoke-Scenario([string] $Name, [hashtable] $Arguments) {
    $argList = @()
    foreach ($key in $Arguments.Keys) { $argList += "-$key"; $argList += [string]$Arguments[$key] }
    $lines = & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -File (Join-Path $scenarios "$Name.ps1") @argList 2>&1
    if ($LASTEXITCODE -ne 0) { throw "Scenario $Name failed: $($lines | Out-String)" }
    ($lines | Where-Object { "$_".StartsWith('{') } | Select-Object -Last 1) | ConvertFrom-Json
}

function Measure-CommandLine([string] $Command) {
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $lines = & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -Command $Command 2>&1
    $sw.Stop()
    if ($LASTEXITCODE -ne 0) { throw "pwsh -Command failed: $($lines | Out-String)" }
    [pscustomobject]@{ WallMs = $sw.Elapsed.TotalMilliseconds; Result = (($lines | Where-Object { "$_".StartsWith('{') } | Select-Object -Last 1) | ConvertFrom-Json) }
}

function Get-Median([double[]] $Values) {
    $sorted = @($Values | Sort-Object)
    if ($sorted.Count -eq 0) { return [double]::NaN }
    if ($sorted.Count % 2 -eq 1) { return $sorted[[int][math]::Floor($sorted.Count / 2)] }
    return ($sorted[$sorted.Count / 2 - 1] + $sorted[$sorted.Count / 2]) / 2
}

function Invoke-Control([string] $Method, [string] $Path, $Body) { Invoke-DhubEmulatorControl $emulator $Method $Path $Body }

function Test-Target([double] $Value, [double] $Limit) { if ($Value -le $Limit) { 'met' } else { '**missed**' } }

$emulator = Start-DhubEmulator -EmulatorDll $EmulatorDll -ArgumentList '--token', $token, '--step-seconds', '1'
$md = [Collections.Generic.List[string]]::new()
try {
    $backends = [ordered]@{
        Dhub    = @{ ApiUri = $emulator.Url; RawPath = { param($p, $b) "/api/v1/batches/$p/$b" }; Seed = { param($p, $n) Invoke-Control Post "pipelines/$p/seed" @{ count = $n } } }
        Prefect = @{ ApiUri = "$($emulator.Url)/prefect/api"; RawPath = { param($p, $b) "/flow_runs/$b" }; Seed = { param($p, $n) Invoke-Control Post "prefect/pipelines/$p/seed" @{ count = $n } } }
    }
    $sizes = 1000, 10000, 100000
    foreach ($p in @('bench-warm') + ($sizes | ForEach-Object { "bench-$_" })) { $null = Invoke-Control Post "pipelines/$p" @{} }
    # Waiting: one slow pipeline per size, so that each wait's batches are all that pipeline has.
    foreach ($n in 10, 100, 1000) { $null = Invoke-Control Post "pipelines/bench-slow-$n" @{ stepSeconds = 100000 } }
    foreach ($backend in $backends.Keys) {
        $null = & $backends[$backend].Seed 'bench-warm' 50
        foreach ($size in $sizes) { $null = & $backends[$backend].Seed "bench-$size" $size }
    }

    $md.Add('# DhubBatches benchmarks')
    $md.Add('')
    $md.Add("Measured $(Get-Date -Format 'yyyy-MM-dd HH:mm') UTC on $([Environment]::ProcessorCount) cores ($([Runtime.InteropServices.RuntimeInformation]::OSDescription)), PowerShell $($PSVersionTable.PSVersion), against the bundled emulator on loopback. Every figure is the median of $Runs runs, each in a fresh ``pwsh -NoProfile`` (unless noted). Re-run with ``./build.ps1 Bench``.")
    $md.Add('')

    # 1. Import cost ---------------------------------------------------------------------------------------------
    Write-Host 'Import cost...'
    # The two command lines of the issue, each printing its own peak memory (VmHWM); interleaved so drift hits both.
    $peak = "[long]((Get-Content /proc/self/status | Where-Object { `$_ -like 'VmHWM:*' }) -replace '\D', '') * 1024"
    $bareCommand = "1 | Out-Null; @{ PeakBytes = $peak } | ConvertTo-Json -Compress"
    $withCommand = "Import-Module '$ModulePath'; Get-Command Start-DhubBatch | Out-Null; @{ PeakBytes = $peak } | ConvertTo-Json -Compress"
    $bare = @(); $with = @()
    for ($i = 0; $i -lt 11; $i++) {
        $bare += Measure-CommandLine $bareCommand
        $with += Measure-CommandLine $withCommand
    }
    $importMs = (Get-Median ($with.WallMs)) - (Get-Median ($bare.WallMs))
    $importMb = ((Get-Median ($with | ForEach-Object { $_.Result.PeakBytes })) - (Get-Median ($bare | ForEach-Object { $_.Result.PeakBytes }))) / 1MB
    $first = @(); for ($i = 0; $i -lt $Runs; $i++) { $first += Invoke-Scenario FirstCommand @{ ModulePath = $ModulePath; ApiUri = $emulator.Url; Backend = 'Dhub'; Token = $token; PipelineId = 'bench-warm' } }
    $md.Add('## 1. Import and first command')
    $md.Add('')
    $md.Add('| measure | value | target | |')
    $md.Add('|---|---|---|---|')
    $md.Add(('| `pwsh -NoProfile -Command ''Import-Module …; Get-Command Start-DhubBatch''` over `pwsh -NoProfile -Command ''1''`: wall time (medians of 11 interleaved runs) | {0:N0} ms (bare {1:N0} ms, with module {2:N0} ms; a difference below zero is start-up noise: the import itself is smaller than it) | < 250 ms | {3} |' -f $importMs, (Get-Median ($bare.WallMs)), (Get-Median ($with.WallMs)), (Test-Target $importMs 250)))
    $md.Add(('| same: peak memory (VmHWM) | {0:N1} MB | < 40 MB | {1} |' -f $importMb, (Test-Target $importMb 40)))
    $md.Add(('| first `Get-DhubBatch` after import and connect (loads the engine) | {0:N0} ms (Connect-Dhub {1:N0} ms; second call {2:N1} ms) | | |' -f (Get-Median ($first.FirstGetMs)), (Get-Median ($first.ConnectMs)), (Get-Median ($first.SecondGetMs))))
    $md.Add('')

    # 2 + 5. Per-call cost ----------------------------------------------------------------------------------------
    $md.Add('## 2. Per-call cost (1,000 sequential reads of one batch)')
    $md.Add('')
    $md.Add('Steady state: median of 5 interleaved repeats of 1,000 calls, each after 1,000 warm-up calls, following 2 discarded rounds of all five (tiered JIT keeps speeding every figure up for a few thousand calls). "Engine alone" is the module''s engine (Refit, the resilience pipeline, JSON, mapping to a Batch) called from a C# loop, without PowerShell. "Cmdlet floor" is `Get-DhubConnection`, a command that does no I/O: what PowerShell itself charges for any command call in this loop.')
    $md.Add('')
    $md.Add('| backend | Get-DhubBatch | Invoke-RestMethod | raw HttpClient | engine alone | cmdlet floor | IRM / module (target ≥ 2) | module / raw (target ≤ 1.5) | module / (raw + floor) |')
    $md.Add('|---|---|---|---|---|---|---|---|---|')
    foreach ($backend in $backends.Keys) {
        Write-Host "Per-call cost ($backend)..."
        $def = $backends[$backend]
        $list = if ($backend -eq 'Dhub') {
            (Invoke-RestMethod -Uri "$($emulator.Url)/api/v1/batches/bench-warm" -Headers @{ Authorization = "Bearer $token" }).id
        } else {
            $deployment = (Invoke-RestMethod -Uri "$($def.ApiUri)/deployments/name/run-pipeline/bench-warm").id
            $query = @{ flow_runs = @{ deployment_id = @{ any_ = @($deployment) } }; limit = 1; sort = 'EXPECTED_START_TIME_DESC' } | ConvertTo-Json -Depth 5 -Compress
            (Invoke-RestMethod -Method Post -Uri "$($def.ApiUri)/flow_runs/filter" -ContentType 'application/json' -Body $query)[0].id
        }
        # Prefect: the module reads the run, then its task runs (steps) and offsets artifacts; the alternatives do the same.
        $extra = if ($backend -eq 'Prefect') {
            ConvertTo-Json -Compress -Depth 6 @(
                @{ path = '/task_runs/filter'; body = (@{ task_runs = @{ flow_run_id = @{ any_ = @($list) } }; sort = 'EXPECTED_START_TIME_ASC'; limit = 200; offset = 0 } | ConvertTo-Json -Compress -Depth 5) },
                @{ path = '/artifacts/filter'; body = (@{ artifacts = @{ flow_run_id = @{ any_ = @($list) }; type = @{ any_ = @('offsets') } }; sort = 'CREATED_DESC'; limit = 200; offset = 0 } | ConvertTo-Json -Compress -Depth 5) })
        } else { '[]' }
        $perCall = @{ ModulePath = $ModulePath; ApiUri = $def.ApiUri; Backend = $backend; Token = $token; PipelineId = 'bench-warm'; BatchId = $list; RawPath = (& $def.RawPath 'bench-warm' $list); Extra = $extra }
        # The emulator is a .NET process too: one discarded pass compiles its endpoints before anything is measured.
        $null = Invoke-Scenario PerCall ($perCall + @{ Repeats = 1; WarmupRepeats = 0; Calls = 300 })
        $r = Invoke-Scenario PerCall ($perCall + @{ Repeats = [math]::Max($Runs, 5) })
        $note = if ($backend -eq 'Prefect') { ' (3 requests per batch, all three ways: the run, its task runs, its offsets artifacts; the module sends the last two at once)' } else { '' }
        $md.Add(('| {0}{1} | {2:N0} µs | {3:N0} µs | {4:N0} µs | {11:N0} µs | {5:N0} µs | {6:N2} {7} | {8:N2} {9} | {10:N2} |' -f $backend, $note, $r.ModuleUs, $r.InvokeRestMethodUs, $r.RawHttpClientUs, $r.CmdletFloorUs,
            ($r.InvokeRestMethodUs / $r.ModuleUs), $(if ($r.InvokeRestMethodUs / $r.ModuleUs -ge 2) { 'met' } else { '**missed**' }),
            ($r.ModuleUs / $r.RawHttpClientUs), $(if ($r.ModuleUs / $r.RawHttpClientUs -le 1.5) { 'met' } else { '**missed**' }),
            ($r.ModuleUs / ($r.RawHttpClientUs + $r.CmdletFloorUs)), $r.EngineUs))
    }
    $md.Add('')

    # 3. Listing at scale -----------------------------------------------------------------------------------------
    $md.Add('## 3. `Get-DhubBatch -All` at scale')
    $md.Add('')
    $md.Add('| backend | batches | total | first object | peak memory growth | objects | runs |')
    $md.Add('|---|---|---|---|---|---|---|')
    $growth = @{}
    $breakdown = $null
    foreach ($backend in $backends.Keys) {
        foreach ($size in $sizes) {
            Write-Host "Listing $size ($backend)..."
            $runsHere = if ($size -ge 100000) { [math]::Min($Runs, 2) } else { $Runs }
            $rs = @(); for ($i = 0; $i -lt $runsHere; $i++) {
                $rs += Invoke-Scenario Listing @{ ModulePath = $ModulePath; ApiUri = $backends[$backend].ApiUri; ControlUri = $emulator.Url; Backend = $backend; Token = $token; PipelineId = "bench-$size"; WarmPipelineId = 'bench-warm' }
            }
            $growth["$backend-$size"] = (Get-Median ($rs.PeakGrowthBytes)) / 1MB
            $md.Add(('| {0} | {1:N0} | {2:N2} s | {3:N0} ms | {4:N1} MB | {5:N0} | {6} |' -f $backend, $size, ((Get-Median ($rs.TotalMs)) / 1000), (Get-Median ($rs.FirstObjectMs)), $growth["$backend-$size"], (Get-Median ($rs.Objects)), $runsHere))
            if ($backend -eq 'Prefect' -and $size -eq 100000) { $breakdown = $rs | Sort-Object TotalMs | Select-Object -First 1 }
        }
    }
    $md.Add('')
    $md.Add('Targets (100,000 batches): total < 20 s, first object < 200 ms on dhub and < 300 ms on Prefect, peak growth < 100 MB, growth from 10,000 to 100,000 < 20 MB.')
    $md.Add(('Growth from 10,000 to 100,000 (dhub): {0:N1} MB; (Prefect): {1:N1} MB.' -f ($growth['Dhub-100000'] - $growth['Dhub-10000']), ($growth['Prefect-100000'] - $growth['Prefect-10000'])))
    $md.Add('')
    if ($breakdown) {
        $server = ($breakdown.Routes | Measure-Object totalMs -Sum).Sum
        $requests = ($breakdown.Routes | Measure-Object count -Sum).Sum
        $md.Add(('### What the 100,000-run Prefect listing is made of ({0:N1} s, the faster run)' -f ($breakdown.TotalMs / 1000)))
        $md.Add('')
        $md.Add('Each page of 200 runs is one `flow_runs/filter`, then the task runs and the offsets artifacts of those 200 runs, read at the same time, every page of each (3 task runs and 4 offsets artifacts per task run in this history: a task writes its position as it goes). The next page is read while this one is written. Server time is the emulator''s, from each request''s arrival to its answer''s first byte.')
        $md.Add('')
        $md.Add('| route | requests | server time | per request |')
        $md.Add('|---|---|---|---|')
        foreach ($route in $breakdown.Routes) {
            $md.Add(('| `{0}` | {1:N0} | {2:N1} s | {3:N2} ms |' -f $route.route, $route.count, ($route.totalMs / 1000), ($route.totalMs / [math]::Max(1, $route.count))))
        }
        $md.Add(('| all | {0:N0} | {1:N1} s | {2:N2} ms |' -f $requests, ($server / 1000), ($server / [math]::Max(1, $requests))))
        $md.Add('')
        $md.Add(('Client: {0:N1} s of CPU in the listing process (HTTP, JSON, mapping, PowerShell''s pipeline), over {1:N1} s of wall time; the server''s {2:N1} s overlap it (two requests at a time, and the next page while this one is written).' -f ($breakdown.ClientCpuMs / 1000), ($breakdown.TotalMs / 1000), ($server / 1000)))
        $md.Add('')
    }

    # 4. Waiting at scale ------------------------------------------------------------------------------------------
    $md.Add("## 4. ``Wait-DhubBatch`` on running batches (-PollingInterval 5)")
    $md.Add('')
    $md.Add("Steady state: a $WaitSeconds s window inside a wait, after a 10 s warm-up wait polling every 0.1 s in the same process (tiered JIT settled), without the wait's start and its final output. CPU is the median of the window's three consecutive thirds; requests are counted by the emulator over the whole window.")
    $md.Add('')
    function Measure-Waiting([string] $Backend, [string] $PipelineId, [string[]] $Ids, [string] $Mode) {
        $idsFile = Join-Path ([IO.Path]::GetTempPath()) "dhub-bench-ids-$($Ids.Count).txt"
        $Ids | Set-Content $idsFile
        try {
            $r = Invoke-Scenario Waiting @{ ModulePath = $ModulePath; ApiUri = $backends[$Backend].ApiUri; ControlUri = $emulator.Url; Backend = $Backend; Token = $token; PipelineId = $PipelineId; IdsFile = $idsFile; Seconds = $WaitSeconds; Mode = $Mode }
        }
        finally { Remove-Item $idsFile -ErrorAction SilentlyContinue }
        # The emulator keeps the last 10,000 requests: count only the part of the window it still holds.
        $log = @(Invoke-RestMethod -Uri "$($emulator.Url)/_emulator/requests" | ForEach-Object { $_ })
        $from = [DateTimeOffset]::Parse($r.From); $to = [DateTimeOffset]::Parse($r.To)
        if ($log.Count -gt 0 -and [DateTimeOffset]$log[0].timestamp -gt $from) { $from = [DateTimeOffset]$log[0].timestamp }
        $inWindow = @($log | Where-Object { [DateTimeOffset]$_.timestamp -ge $from -and [DateTimeOffset]$_.timestamp -le $to })
        $seconds = ($to - $from).TotalSeconds
        [pscustomobject]@{
            Rate = $inWindow.Count / $seconds; PerRound = $inWindow.Count / ($seconds / 5)
            Routes = ($inWindow | Group-Object { ($_.pathSegments | Select-Object -Last 2) -join '/' } | ForEach-Object { '{0} {1:N1}' -f $_.Name, ($_.Count / ($seconds / 5)) }) -join ', '
            CpuPerMinuteMs = $r.CpuPerMinuteMs; Parts = $r.Parts; Share = $r.CpuPerMinuteMs / 60000 * 100
        }
    }
    $md.Add('### dhub')
    $md.Add('')
    $md.Add('All the batches waited on are one pipeline''s newest, so a round reads them from the list, 100 a page, instead of one GET each (docs/architecture.md, "Polling").')
    $md.Add('')
    $md.Add('| batches | requests per round | expected (⌈N / 100⌉ list pages; one GET each would be N) | client CPU per minute of waiting | share of one core (target < 5%) |')
    $md.Add('|---|---|---|---|---|')
    $dhubIds = @{}
    foreach ($n in 10, 100, 1000) {
        Write-Host "Waiting on $n dhub batches..."
        $dhubIds[$n] = @(for ($i = 0; $i -lt $n; $i++) { (Invoke-RestMethod -Method Post -Uri "$($emulator.Url)/api/v1/batches/bench-slow-$n" -Headers @{ Authorization = "Bearer $token" }).item })
        $w = Measure-Waiting Dhub "bench-slow-$n" $dhubIds[$n] 'Steady'
        $md.Add(('| {0:N0} | {1:N1} | {2} | {3:N0} ms (thirds: {6}) | {4:N2}% {5} |' -f $n, $w.PerRound, [math]::Ceiling($n / 100), $w.CpuPerMinuteMs, $w.Share, (Test-Target $w.Share 5), $w.Parts))
    }
    $md.Add('')
    $md.Add('### Prefect')
    $md.Add('')
    $md.Add('The runs are RUNNING, in their first task. Every round reads all the runs waited on with `flow_runs/filter` by id, 200 at a time; steps and offsets for the runs that changed since the last round, and, in the capacity the round has left, for running runs that did not (Prefect does not touch a run when its task runs move), longest unread first (bound: 3 × ⌈N / 200⌉ requests a round).')
    $md.Add('')
    $md.Add('| batches | requests per round | bound | by route, per round | client CPU per minute of waiting | share of one core (target < 5%) |')
    $md.Add('|---|---|---|---|---|---|')
    # The seeded runs start SCHEDULED; two and a half steps on they are RUNNING, in their first task, for a long time.
    foreach ($n in 10, 100, 1000) { $null = Invoke-Control Post "prefect/pipelines/bench-slow-$n/seed" @{ count = $n; finished = $false } }
    $null = Invoke-Control Post 'clock/advance' @{ seconds = 250000 }
    foreach ($n in 10, 100, 1000) {
        Write-Host "Waiting on $n Prefect batches..."
        $deployment = (Invoke-RestMethod -Uri "$($backends.Prefect.ApiUri)/deployments/name/run-pipeline/bench-slow-$n").id
        $ids = @(for ($offset = 0; $offset -lt $n; $offset += 200) {
            $query = @{ flow_runs = @{ deployment_id = @{ any_ = @($deployment) } }; limit = 200; offset = $offset; sort = 'EXPECTED_START_TIME_DESC' } | ConvertTo-Json -Depth 5 -Compress
            (Invoke-RestMethod -Method Post -Uri "$($backends.Prefect.ApiUri)/flow_runs/filter" -ContentType 'application/json' -Body $query).id
        })
        $w = Measure-Waiting Prefect "bench-slow-$n" $ids 'Steady'
        $bound = 3 * [math]::Ceiling($n / 200)
        $md.Add(('| {0:N0} | {1:N1} | {2} | {3} | {4:N0} ms (thirds: {5}) | {6:N2}% {7} |' -f $n, $w.PerRound, $bound, $w.Routes, $w.CpuPerMinuteMs, $w.Parts, $w.Share, (Test-Target $w.Share 5)))
    }
    Write-Host 'Waiting: a fresh session, and idle pwsh...'
    $fresh = Measure-Waiting Dhub 'bench-slow-1000' $dhubIds[1000] 'Fresh'
    $idle = Invoke-Scenario Waiting @{ ModulePath = $ModulePath; ApiUri = $emulator.Url; ControlUri = $emulator.Url; Backend = 'Dhub'; Token = $token; PipelineId = 'bench-slow-1000'; IdsFile = '-'; Seconds = 30; Mode = 'Idle' }
    $idleShare = $idle.CpuPerMinuteMs / 60000 * 100
    $md.Add('')
    $md.Add(('For comparison: the first {0} s wait on 1,000 dhub batches in a new session, everything included (tier-1 JIT of the framework''s, PowerShell''s and the module''s code in its first seconds, and writing 1,000 timed-out batches and their errors at the end): {1:N0} ms of CPU, {2:N2}% of one core. The same pwsh with the module imported and connected but idle: {3:N0} ms per minute ({4:N2}%) — PowerShell''s own background work (telemetry included), part of every figure above.' -f $WaitSeconds, ($fresh.CpuPerMinuteMs * $WaitSeconds / 60), $fresh.Share, $idle.CpuPerMinuteMs, $idleShare))
    $md.Add('')
    $md.Add(('Whole run: {0:N0} s.' -f ((Get-Date) - $started).TotalSeconds))
}
finally {
    Stop-DhubEmulator $emulator
    # Written even when a later section fails, so a long run's figures are not lost.
    $md | Set-Content -Path $ResultPath -Encoding utf8NoBOM
}
Write-Host "Wrote $ResultPath"
