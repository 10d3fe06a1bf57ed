# Child process: Get-DhubBatch -All over a seeded pipeline (or, with no -PipelineId, every pipeline: the fleet view):
# total time, time to first object, objects seen, peak memory growth over the connected (warm) process, and the
# emulator's requests and server time per route during the listing (what the time is made of).
param([string] $ModulePath, [string] $ApiUri, [string] $ControlUri, [string] $Backend, [string] $Token, [string] $PipelineId, [string] $WarmPipelineId, [int] $PageSize = 1000, [switch] $NoSteps)
$ErrorActionPreference = 'Stop'
function Get-PeakBytes { [long]((Get-Content /proc/self/status | Where-Object { $_ -like 'VmHWM:*' }) -replace '\D', '') * 1024 }
Import-Module $ModulePath
Connect-Dhub -Uri $ApiUri -Backend $Backend -Token (ConvertTo-SecureString $Token -AsPlainText -Force)
# Warm up on a small pipeline so the baseline includes the loaded engine, JIT and the connection.
$null = Get-DhubBatch -PipelineId $WarmPipelineId -All -PageSize $PageSize -NoSteps:$NoSteps
$listing = @{ All = $true; PageSize = $PageSize; NoSteps = $NoSteps }
if ($PipelineId) { $listing.PipelineId = $PipelineId }
[GC]::Collect()
$baseline = Get-PeakBytes
$null = Invoke-RestMethod -Method Delete -Uri "$ControlUri/_emulator/requests"
$script:first = $null
$script:count = 0
$process = [Diagnostics.Process]::GetCurrentProcess()
$cpuBefore = $process.TotalProcessorTime
$sw = [Diagnostics.Stopwatch]::StartNew()
Get-DhubBatch @listing | ForEach-Object {
    if ($null -eq $script:first) { $script:first = $sw.Elapsed.TotalMilliseconds }
    $script:count++
}
$sw.Stop()
$process.Refresh()
$routes = @(Invoke-RestMethod -Uri "$ControlUri/_emulator/requests/summary" | ForEach-Object { $_ })
@{
    TotalMs = $sw.Elapsed.TotalMilliseconds; FirstObjectMs = $script:first; Objects = $script:count
    PeakGrowthBytes = (Get-PeakBytes) - $baseline; BaselineBytes = $baseline
    ClientCpuMs = ($process.TotalProcessorTime - $cpuBefore).TotalMilliseconds
    Routes = $routes
} | ConvertTo-Json -Compress -Depth 4
