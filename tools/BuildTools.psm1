# Shared by build.ps1, the Pester suite and the benchmarks: run a child pwsh, and start/stop the emulator.
Set-StrictMode -Version Latest

function Get-ChildPwshCommand {
    <# The command line that starts a fresh pwsh like the current one (the dotnet tool runs as `dotnet pwsh.dll`). #>
    $process = [Environment]::ProcessPath
    if ([IO.Path]::GetFileNameWithoutExtension($process) -eq 'dotnet') {
        return @($process, (Join-Path $PSHOME 'pwsh.dll'))
    }
    return @($process)
}

function Invoke-ChildPwsh {
    <# Runs a script file in a fresh `pwsh -NoProfile -NonInteractive`; returns its exit code. #>
    param(
        [Parameter(Mandatory)][string] $File,
        [string[]] $ArgumentList = @()
    )
    $command = @(Get-ChildPwshCommand)
    $exe = $command[0]
    $arguments = @($command | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-File', $File) + $ArgumentList
    & $exe @arguments | Out-Host
    return $LASTEXITCODE
}

function Start-DhubEmulator {
    <#
    Starts the emulator on a free loopback port and returns an object with Url and Process.
    Arguments after -ArgumentList go to the emulator (e.g. '--step-seconds', '0.2').
    #>
    param(
        [Parameter(Mandatory)][string] $EmulatorDll,
        [string[]] $ArgumentList = @(),
        [int] $StartTimeoutSec = 30
    )
    if (-not (Test-Path $EmulatorDll)) { throw "Emulator not built: $EmulatorDll (run ./build.ps1 Build)" }
    $info = [Diagnostics.ProcessStartInfo]::new('dotnet')
    $info.ArgumentList.Add($EmulatorDll)
    $info.ArgumentList.Add('--urls')
    $info.ArgumentList.Add('http://127.0.0.1:0')
    foreach ($a in $ArgumentList) { $info.ArgumentList.Add($a) }
    $info.RedirectStandardOutput = $true
    $info.RedirectStandardError = $true
    $info.UseShellExecute = $false
    $process = [Diagnostics.Process]::Start($info)
    $deadline = [DateTime]::UtcNow.AddSeconds($StartTimeoutSec)
    $readLine = $process.StandardOutput.ReadLineAsync()
    while ([DateTime]::UtcNow -lt $deadline) {
        if ($readLine.Wait(200)) {
            $line = $readLine.Result
            if ($null -eq $line) { break }
            if ($line -match '^DHUB_EMULATOR_URL=(.+)$') {
                # Keep draining stdout/stderr so the emulator never blocks on a full pipe.
                $null = $process.StandardOutput.ReadToEndAsync()
                $null = $process.StandardError.ReadToEndAsync()
                return [pscustomobject]@{ Url = $Matches[1].TrimEnd('/'); Process = $process }
            }
            $readLine = $process.StandardOutput.ReadLineAsync()
        }
        if ($process.HasExited) { break }
    }
    $errorText = if ($process.HasExited) { $process.StandardError.ReadToEnd() } else { '' }
    if (-not $process.HasExited) { $process.Kill($true) }
    throw "The emulator did not start within $StartTimeoutSec s. $errorText"
}

function Stop-DhubEmulator {
    param([Parameter(Mandatory)] $Emulator)
    if ($Emulator -and -not $Emulator.Process.HasExited) {
        $Emulator.Process.Kill($true)
        $null = $Emulator.Process.WaitForExit(10000)
    }
}

function Invoke-DhubEmulatorControl {
    <# Calls the emulator's control API (`/_emulator/...`, docs/emulator.md): the body, if any, is sent as JSON. #>
    param(
        [Parameter(Mandatory)] $Emulator,
        [Parameter(Mandatory)][string] $Method,
        [Parameter(Mandatory)][string] $Path,
        $Body
    )
    $splat = @{ Method = $Method; Uri = "$($Emulator.Url)/_emulator/$Path"; ErrorAction = 'Stop'; Debug = $false; Verbose = $false }
    if ($null -ne $Body) {
        $splat.Body = ($Body | ConvertTo-Json -Depth 5 -Compress)
        $splat.ContentType = 'application/json'
    }
    Invoke-RestMethod @splat
}

function Get-NuGetPackageRoot {
    $root = $env:NUGET_PACKAGES
    if (-not $root) { $root = Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget/packages' }
    return $root
}

Export-ModuleMember -Function Get-ChildPwshCommand, Invoke-ChildPwsh, Start-DhubEmulator, Stop-DhubEmulator, Invoke-DhubEmulatorControl, Get-NuGetPackageRoot
