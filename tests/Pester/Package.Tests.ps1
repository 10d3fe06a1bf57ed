# The Gallery package (build.ps1 Package): installs with Install-PSResource from a local file repository into a
# temporary user scope, imports in a fresh pwsh, and works against the emulator.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'DhubBatchesTestUtils.psm1')
}

Describe 'Gallery package' -Tag 'Package' {
    BeforeAll {
        Import-Module (Join-Path $PSScriptRoot 'DhubBatchesTestUtils.psm1')
        $packageDir = $env:DHUBBATCHES_TEST_PACKAGE
        if (-not $packageDir) { $packageDir = Join-Path (Get-TestRepoRoot) 'out/package' }
        $script:Package = Get-ChildItem $packageDir -Filter 'DhubBatches.*.nupkg' -ErrorAction SilentlyContinue | Select-Object -First 1
        $script:Emulator = Start-DhubEmulator -EmulatorDll (Get-TestEmulatorDll) -ArgumentList '--step-seconds', '0.2'
    }

    AfterAll {
        if ($script:Emulator) { Stop-DhubEmulator $script:Emulator }
    }

    It 'exists and carries the manifest metadata in its nuspec' {
        $Package | Should -Not -BeNullOrEmpty -Because 'build.ps1 Test runs Package before the tests'
        Add-Type -AssemblyName System.IO.Compression.FileSystem
        $zip = [IO.Compression.ZipFile]::OpenRead($Package.FullName)
        try {
            $names = $zip.Entries.FullName
            $names | Should -Contain 'DhubBatches.psd1' -Because 'module files sit at the package root'
            $names | Should -Contain 'DhubBatches.dll'
            $names | Should -Contain 'deps/DhubBatches.Engine.dll'
            $reader = [IO.StreamReader]::new(($zip.Entries | Where-Object FullName -EQ 'DhubBatches.nuspec').Open())
            [xml]$nuspec = $reader.ReadToEnd()
            $reader.Dispose()
        }
        finally { $zip.Dispose() }
        $manifest = Import-PowerShellDataFile (Join-Path (Get-TestModulePath) 'DhubBatches.psd1')
        $nuspec.package.metadata.version | Should -Be $manifest.ModuleVersion
        $nuspec.package.metadata.projectUrl | Should -Be $manifest.PrivateData.PSData.ProjectUri
        $nuspec.package.metadata.licenseUrl | Should -Be $manifest.PrivateData.PSData.LicenseUri
        $nuspec.package.metadata.releaseNotes | Should -Be $manifest.PrivateData.PSData.ReleaseNotes
        $nuspec.package.metadata.tags -split ' ' | Should -Contain 'Prefect'
    }

    It 'installs with Install-PSResource into a temporary scope, imports in a fresh pwsh and starts a batch' {
        $repo = New-Item -ItemType Directory (Join-Path $TestDrive 'repo')
        Copy-Item $Package.FullName $repo
        $fakeHome = New-Item -ItemType Directory (Join-Path $TestDrive 'home')
        $resultFile = Join-Path $TestDrive 'result.json'
        $script = Join-Path $TestDrive 'install.ps1'
        Set-Content $script -Value @'
param($Repo, $Url, $ResultFile)
$ErrorActionPreference = 'Stop'
Register-PSResourceRepository -Name DhubBatchesTest -Uri $Repo -Trusted
Install-PSResource -Name DhubBatches -Repository DhubBatchesTest -Scope CurrentUser -TrustRepository -Quiet
Import-Module DhubBatches
$module = Get-Module DhubBatches
Connect-Dhub -Uri $Url -Token (ConvertTo-SecureString 'emulator-token' -AsPlainText -Force)
$batch = Start-DhubBatch -PipelineId orders
@{ ModuleBase = $module.ModuleBase; Version = "$($module.Version)"; Type = $batch.GetType().FullName; Id = $batch.Id } |
    ConvertTo-Json | Set-Content $ResultFile
'@
        # A HOME of its own moves the CurrentUser scope (modules and the repository list) into the test drive,
        # so the machine's own PowerShell set-up is neither used nor changed.
        $command = @(Get-ChildPwshCommand)
        $previous = @{ HOME = $env:HOME; XDG_DATA_HOME = $env:XDG_DATA_HOME }
        try {
            $env:HOME = $fakeHome.FullName
            $env:XDG_DATA_HOME = $null
            $output = & $command[0] @($command | Select-Object -Skip 1) -NoProfile -NonInteractive -File $script `
                -Repo $repo.FullName -Url $Emulator.Url -ResultFile $resultFile 2>&1
        }
        finally {
            $env:HOME = $previous.HOME
            $env:XDG_DATA_HOME = $previous.XDG_DATA_HOME
        }
        $LASTEXITCODE | Should -Be 0 -Because ($output | Out-String)

        $result = Get-Content -Raw $resultFile | ConvertFrom-Json
        $result.ModuleBase | Should -BeLike "$($fakeHome.FullName)*" -Because 'the module came from the installed package, not out/'
        $result.Type | Should -Be 'DhubBatches.Batch'
        $result.Id | Should -Match '^batch-'
    }
}
