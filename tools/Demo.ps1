<#
.SYNOPSIS
    The main job, against the bundled emulator: connect, start a batch and wait for it with a progress bar, list
    the pipeline's batches as a table and export them to CSV. Run through `./build.ps1 Demo`.
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
    $null = Invoke-RestMethod -Method Post -Uri "$($emulator.Url)/_emulator/pipelines/sales-pipeline/seed" -ContentType 'application/json' -Body '{"count":5}'

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
}
finally {
    Stop-DhubEmulator $emulator
}
