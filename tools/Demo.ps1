<#
.SYNOPSIS
    The main job, against the bundled emulator: connect, start a batch and wait for it with a progress bar, list
    the pipeline's batches as a table and export them to CSV; then on the emulator's Prefect side, a batch that
    fails, why (its error log lines), and running it again. Run through `./build.ps1 Demo`.
#>
param(
    [Parameter(Mandatory)][string] $ModulePath,
    [Parameter(Mandatory)][string] $EmulatorDll,
    [Parameter(Mandatory)][string] $OutputDirectory
)
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot 'BuildTools.psm1')

$emulator = Start-DhubEmulator -EmulatorDll $EmulatorDll -ArgumentList '--step-seconds', '1'
try {
    Write-Host "Emulator listening on $($emulator.Url)" -ForegroundColor Cyan
    # Some history, as a real pipeline would have (the control endpoint is the emulator's, not dhub's).
    $null = Invoke-DhubEmulatorControl $emulator Post 'pipelines/sales-pipeline/seed' @{ count = 5 }

    Import-Module $ModulePath
    $token = ConvertTo-SecureString 'emulator-token' -AsPlainText -Force
    Connect-Dhub -Uri $emulator.Url -Token $token -PassThru | Format-Table

    Write-Host '> Start-DhubBatch -PipelineId sales-pipeline -Wait -PollingInterval 0.5' -ForegroundColor Cyan
    $ProgressPreference = 'Continue'
    $batch = Start-DhubBatch -PipelineId sales-pipeline -Wait -PollingInterval 0.5 -Timeout 120
    $batch | Format-List PipelineId, Id, State, Outcome, StepSummary
    Write-Host '> $batch.Steps' -ForegroundColor Cyan
    $batch.Steps | Format-Table

    Write-Host '> Get-DhubBatch -PipelineId sales-pipeline -All' -ForegroundColor Cyan
    Get-DhubBatch -PipelineId sales-pipeline -All | Format-Table

    $null = New-Item -ItemType Directory -Force $OutputDirectory
    $csv = Join-Path $OutputDirectory 'sales-pipeline-batches.csv'
    Write-Host "> Get-DhubBatch -PipelineId sales-pipeline -All | Export-Csv $csv" -ForegroundColor Cyan
    Get-DhubBatch -PipelineId sales-pipeline -All | Export-Csv -Path $csv
    Get-Content $csv | Select-Object -First 3 | Write-Host
    Write-Host "Exported $((Import-Csv $csv).Count) batches to $csv" -ForegroundColor Green
    if ($batch.Outcome -ne 'Succeeded') { throw "The demo batch ended $($batch.Outcome)." }

    # Prefect: a second connection; batches remember theirs, so piping them on stays on Prefect.
    $null = Invoke-DhubEmulatorControl $emulator Put 'prefect/pipelines/nightly-sales' @{
        tasks = @(@{ name = 'extract' }, @{ name = 'transform'; failsOnAttempts = @(1) }, @{ name = 'load' })
    }
    $prefect = Connect-Dhub -Backend Prefect -Uri "$($emulator.Url)/prefect/api" -Token $token -PassThru
    Write-Host '> $prefect = Connect-Dhub -Backend Prefect -Uri .../prefect/api -Token $token -PassThru' -ForegroundColor Cyan
    Write-Host '> Start-DhubBatch nightly-sales -Connection $prefect -Wait -PollingInterval 0.5' -ForegroundColor Cyan
    $failed = Start-DhubBatch nightly-sales -Connection $prefect -Wait -PollingInterval 0.5 -Timeout 120 -ErrorAction SilentlyContinue -ErrorVariable failure
    $failed | Format-List PipelineId, Id, State, Outcome, StepSummary
    Write-Host "(error: $($failure[0].FullyQualifiedErrorId -replace ',.*'))" -ForegroundColor Yellow
    Write-Host '> $failed | Get-DhubBatchLog -MinimumLevel Error' -ForegroundColor Cyan
    $failed | Get-DhubBatchLog -MinimumLevel Error | Format-Table -Wrap
    Write-Host '> $failed | Restart-DhubBatch -Wait -PollingInterval 0.5' -ForegroundColor Cyan
    $rerun = $failed | Restart-DhubBatch -Wait -PollingInterval 0.5 -Timeout 120
    $rerun | Format-List PipelineId, Id, State, Outcome, StepSummary, Connection
    if ($rerun.Outcome -ne 'Succeeded') { throw "The restarted Prefect batch ended $($rerun.Outcome)." }
}
finally {
    Stop-DhubEmulator $emulator
}
