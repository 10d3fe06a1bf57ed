BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'DhubBatchesTestUtils.psm1')
    $Commands = @(
        'Connect-Dhub', 'Disconnect-Dhub', 'Get-DhubConnection', 'Start-DhubBatch',
        'Get-DhubBatch', 'Stop-DhubBatch', 'Remove-DhubBatch', 'Wait-DhubBatch',
        'Restart-DhubBatch', 'Get-DhubBatchLog', 'Get-DhubPipeline'
    ) | ForEach-Object { @{ Name = $_ } }
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'DhubBatchesTestUtils.psm1')
    Import-TestModule
    $script:ExpectedCommands = @(
        'Connect-Dhub', 'Disconnect-Dhub', 'Get-DhubConnection', 'Start-DhubBatch',
        'Get-DhubBatch', 'Stop-DhubBatch', 'Remove-DhubBatch', 'Wait-DhubBatch',
        'Restart-DhubBatch', 'Get-DhubBatchLog', 'Get-DhubPipeline'
    )
    $script:ManifestPath = Join-Path (Get-TestModulePath) 'DhubBatches.psd1'
}

Describe 'Module manifest and layout' -Tag 'Module' {
    It 'is loaded from the assembled module folder, not from src' {
        $module = Get-Module DhubBatches
        $module | Should -Not -BeNullOrEmpty
        $module.ModuleBase | Should -Be (Resolve-Path (Get-TestModulePath)).Path
        $module.ModuleBase | Should -Not -Match '[\\/]src[\\/]'
    }

    It 'passes Test-ModuleManifest' {
        { Test-ModuleManifest -Path $ManifestPath -ErrorAction Stop } | Should -Not -Throw
    }

    It 'exports exactly the 11 commands' {
        $manifest = Import-PowerShellDataFile $ManifestPath
        @($manifest.CmdletsToExport) | Sort-Object | Should -Be ($ExpectedCommands | Sort-Object)
        @($manifest.FunctionsToExport).Count | Should -Be 0
        @($manifest.AliasesToExport).Count | Should -Be 0
        @($manifest.VariablesToExport).Count | Should -Be 0
        $exported = (Get-Command -Module DhubBatches).Name | Sort-Object
        $exported | Should -Be ($ExpectedCommands | Sort-Object)
    }

    It 'declares CompatiblePSEditions Core and PowerShellVersion 7.4' {
        $manifest = Import-PowerShellDataFile $ManifestPath
        @($manifest.CompatiblePSEditions) | Should -Be @('Core')
        $manifest.PowerShellVersion | Should -Be '7.4'
    }

    It 'ships the format file named in the manifest' {
        $manifest = Import-PowerShellDataFile $ManifestPath
        foreach ($file in @($manifest.FormatsToProcess)) {
            Join-Path (Get-TestModulePath) $file | Should -Exist
        }
        @($manifest.FormatsToProcess) | Should -Contain 'DhubBatches.Format.ps1xml'
    }
}

Describe 'Command <Name>' -Tag 'Module' -ForEach $Commands {
    It 'declares [OutputType]' {
        $command = Get-Command $Name -Module DhubBatches
        $attributes = $command.ImplementingType.GetCustomAttributes([System.Management.Automation.OutputTypeAttribute], $true)
        @($attributes).Count | Should -BeGreaterThan 0
        @($command.OutputType).Count | Should -BeGreaterThan 0
    }
}

Describe 'Output types' -Tag 'Module' {
    It '<Name> outputs <Type>' -ForEach @(
        @{ Name = 'Connect-Dhub'; Type = 'DhubBatches.DhubConnection' }
        @{ Name = 'Get-DhubConnection'; Type = 'DhubBatches.DhubConnection' }
        @{ Name = 'Start-DhubBatch'; Type = 'DhubBatches.Batch' }
        @{ Name = 'Get-DhubBatch'; Type = 'DhubBatches.Batch' }
        @{ Name = 'Stop-DhubBatch'; Type = 'DhubBatches.Batch' }
        @{ Name = 'Wait-DhubBatch'; Type = 'DhubBatches.Batch' }
    ) {
        (Get-Command $Name).OutputType.Name | Should -Contain $Type
    }
}

Describe 'Assembly isolation' -Tag 'Module', 'Isolation' {
    BeforeAll {
        $script:T = Start-TestBackend -Backend 'Dhub'
        $script:PollyPath = Join-Path (Get-NuGetPackageRoot) 'polly.core/8.1.0/lib/net6.0/Polly.Core.dll'
    }
    AfterAll {
        Stop-TestBackend $T
    }

    It 'imports and works in a session where another Polly.Core (8.1.0) was loaded first' {
        $PollyPath | Should -Exist
        $script = Join-Path $TestDrive 'isolation.ps1'
        Set-Content -Path $script -Encoding utf8NoBOM -Value @'
param($ModulePath, $PollyPath, $Url, $Token)
$ErrorActionPreference = 'Stop'
Add-Type -Path $PollyPath
$polly = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'Polly.Core' }
Import-Module (Join-Path $ModulePath 'DhubBatches.psd1')
Connect-Dhub -Uri $Url -Token (ConvertTo-SecureString $Token -AsPlainText -Force)
$started = Start-DhubBatch -PipelineId 'orders'
$read = Get-DhubBatch -PipelineId 'orders' -BatchId $started.Id
[pscustomobject]@{
    FirstPolly = @($polly | ForEach-Object { $_.Location })
    Started    = $started.Id
    Read       = $read.Id
    ReadType   = $read.GetType().FullName
} | ConvertTo-Json -Compress
'@
        $command = @(Get-ChildPwshCommand)
        $arguments = @($command | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-File', $script,
            '-ModulePath', (Get-TestModulePath), '-PollyPath', $PollyPath, '-Url', $T.ApiUri, '-Token', $T.TokenText)
        $output = & $command[0] @arguments 2>&1
        $exit = $LASTEXITCODE
        $text = ($output | Out-String)
        $exit | Should -Be 0 -Because $text
        $json = $output | Where-Object { "$_" -like '{*' } | Select-Object -Last 1
        $result = "$json" | ConvertFrom-Json
        @($result.FirstPolly).Count | Should -Be 1 -Because 'the test loaded its own Polly.Core before the module'
        $result.FirstPolly | Should -Be $PollyPath
        $result.Started | Should -Match '^batch-'
        $result.Read | Should -Be $result.Started
        $result.ReadType | Should -Be 'DhubBatches.Batch'
    }
}
