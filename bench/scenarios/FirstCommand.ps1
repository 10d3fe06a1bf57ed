# Child process: import, connect, then time the first and the second Get-DhubBatch (engine load + JIT vs warm).
param([string] $ModulePath, [string] $ApiUri, [string] $Backend, [string] $Token, [string] $PipelineId)
$ErrorActionPreference = 'Stop'
$import = [Diagnostics.Stopwatch]::StartNew()
Import-Module $ModulePath
$import.Stop()
$secure = if ($Token) { ConvertTo-SecureString $Token -AsPlainText -Force }
$connect = [Diagnostics.Stopwatch]::StartNew()
if ($secure) { Connect-Dhub -Uri $ApiUri -Backend $Backend -Token $secure } else { Connect-Dhub -Uri $ApiUri -Backend $Backend }
$connect.Stop()
$first = [Diagnostics.Stopwatch]::StartNew()
$null = Get-DhubBatch -PipelineId $PipelineId
$first.Stop()
$second = [Diagnostics.Stopwatch]::StartNew()
$null = Get-DhubBatch -PipelineId $PipelineId
$second.Stop()
@{ ImportMs = $import.Elapsed.TotalMilliseconds; ConnectMs = $connect.Elapsed.TotalMilliseconds; FirstGetMs = $first.Elapsed.TotalMilliseconds; SecondGetMs = $second.Elapsed.TotalMilliseconds } | ConvertTo-Json -Compress
