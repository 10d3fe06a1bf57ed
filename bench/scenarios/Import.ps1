# Child process: optionally import the module, then report this process's peak resident memory (VmHWM, bytes).
param([string] $ModulePath)
if ($ModulePath) {
    Import-Module $ModulePath
    $null = Get-Command Start-DhubBatch
}
$hwm = (Get-Content /proc/self/status | Where-Object { $_ -like 'VmHWM:*' }) -replace '\D', ''
@{ PeakBytes = [long]$hwm * 1024 } | ConvertTo-Json -Compress
