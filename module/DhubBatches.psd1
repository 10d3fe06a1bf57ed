@{
    # The binary module; the engine loads from deps/ into its own load context on first use.
    RootModule           = 'DhubBatches.dll'

    # Stamped by build.ps1 from Directory.Build.props <Version>: edit the version there.
    ModuleVersion        = '0.1.0'

    GUID                 = 'e7af484c-c699-49e4-9ba7-df900fd7bd7d'
    Author               = 'DhubBatches contributors'
    CompanyName          = 'DhubBatches'
    Copyright            = '(c) DhubBatches contributors. MIT License.'
    Description          = 'Start, watch, stop, list and delete data-pipeline batches from PowerShell, against the dhub Batches API or directly against a Prefect server or Prefect Cloud.'

    CompatiblePSEditions = @('Core')
    PowerShellVersion    = '7.4'

    FormatsToProcess     = @('DhubBatches.Format.ps1xml')

    # Explicit lists: discovery reads them without loading the assembly.
    CmdletsToExport      = @(
        'Connect-Dhub'
        'Disconnect-Dhub'
        'Get-DhubConnection'
        'Start-DhubBatch'
        'Get-DhubBatch'
        'Get-DhubPipeline'
        'Stop-DhubBatch'
        'Remove-DhubBatch'
        'Wait-DhubBatch'
        'Restart-DhubBatch'
        'Get-DhubBatchLog'
    )
    FunctionsToExport    = @()
    VariablesToExport    = @()
    AliasesToExport      = @()

    PrivateData          = @{
        PSData = @{
            Tags         = @('dhub', 'Prefect', 'pipeline', 'batch', 'data', 'orchestration', 'PSEdition_Core', 'Windows', 'Linux', 'MacOS')
            ProjectUri   = 'https://github.com/dhub/DhubBatches'
            LicenseUri   = 'https://github.com/dhub/DhubBatches/blob/main/LICENSE'
            ReleaseNotes = 'Connect-Dhub, Get-DhubConnection, Disconnect-Dhub; Start-, Get-, Stop-, Remove-, Wait- and Restart-DhubBatch and Get-DhubBatchLog on the dhub Batches API and on Prefect (self-hosted or Cloud), with retries, paging, progress and -WhatIf.'
        }
    }
}
