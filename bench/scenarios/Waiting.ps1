# Child process: Wait-DhubBatch on running batches for a fixed time; reports this process's CPU time.
param([string] $ModulePath, [string] $ApiUri, [string] $Backend, [string] $Token, [string] $PipelineId, [string] $IdsFile,
      [int] $Seconds = 30, [double] $PollingInterval = 5)
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath
Connect-Dhub -Uri $ApiUri -Backend $Backend -Token (ConvertTo-SecureString $Token -AsPlainText -Force)
$ids = Get-Content $IdsFile
$ProgressPreference = 'SilentlyContinue' # measure the module, not the console's rendering of progress
# A first short wait JIT-compiles the path and lets tiered compilation settle: the figure is steady-state waiting.
$null = Wait-DhubBatch -PipelineId $PipelineId -BatchId $ids -Timeout 6 -PollingInterval $PollingInterval -ErrorAction SilentlyContinue
Start-Sleep -Seconds 10 # background tier-1 JIT of what the warm-up ran finishes here, outside the measured window
# Count only the measured window's requests (the emulator's control API; the dhub API root is the emulator root).
$null = Invoke-RestMethod -Method Delete -Uri "$($ApiUri.TrimEnd('/'))/_emulator/requests"
$process = [Diagnostics.Process]::GetCurrentProcess()
$process.Refresh()
$cpuBefore = $process.TotalProcessorTime
$sw = [Diagnostics.Stopwatch]::StartNew()
$out = Wait-DhubBatch -PipelineId $PipelineId -BatchId $ids -Timeout $Seconds -PollingInterval $PollingInterval -ErrorAction SilentlyContinue -ErrorVariable timeouts
$sw.Stop()
$process.Refresh()
@{ CpuMs = ($process.TotalProcessorTime - $cpuBefore).TotalMilliseconds; WallMs = $sw.Elapsed.TotalMilliseconds; Output = @($out).Count; Timeouts = @($timeouts).Count } | ConvertTo-Json -Compress
