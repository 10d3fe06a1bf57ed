# Child process: Get-DhubPipeline over every deployment of the flow, on a warm connection: median wall time of a few
# listings and how many pipelines each saw.
param([string] $ModulePath, [string] $ApiUri, [string] $Token, [int] $Repeats = 5)
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath
Connect-Dhub -Uri $ApiUri -Backend Prefect -Token (ConvertTo-SecureString $Token -AsPlainText -Force)
$null = Get-DhubPipeline # warm: engine loaded, JIT, connection open
$times = for ($i = 0; $i -lt $Repeats; $i++) {
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $count = @(Get-DhubPipeline).Count
    $sw.Stop()
    $sw.Elapsed.TotalMilliseconds
}
@{ MedianMs = @($times | Sort-Object)[[int][math]::Floor($Repeats / 2)]; Pipelines = $count } | ConvertTo-Json -Compress
