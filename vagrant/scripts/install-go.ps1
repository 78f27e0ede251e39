<#
.SYNOPSIS
Installs Go into C:\go and puts it on the machine's PATH. Safe to run again.

.PARAMETER Version
The Go version, such as 1.26.0 (the go directive of the repository's go.mod).
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)]
    [ValidatePattern('^\d+\.\d+(\.\d+)?$')]
    [string] $Version,

    [string] $Destination = 'C:\go'
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
[Net.ServicePointManager]::SecurityProtocol = [Net.SecurityProtocolType]::Tls12

$go = Join-Path $Destination 'bin\go.exe'
if ((Test-Path $go) -and ((& $go version) -match "go$([regex]::Escape($Version)) ")) {
    Write-Host "Go $Version is already installed."
} else {
    $file = "go$Version.windows-amd64.zip"
    $release = Invoke-RestMethod -Uri 'https://go.dev/dl/?mode=json&include=all' |
        ForEach-Object { $_ } | Where-Object { $_.version -eq "go$Version" } | Select-Object -First 1
    $meta = $release.files | Where-Object { $_.filename -eq $file }
    if (-not $meta) {
        throw "go.dev does not list $file"
    }
    $zip = Join-Path $env:TEMP $file
    Invoke-WebRequest -Uri "https://go.dev/dl/$file" -OutFile $zip -UseBasicParsing
    $sum = (Get-FileHash -Path $zip -Algorithm SHA256).Hash.ToLowerInvariant()
    if ($sum -ne $meta.sha256) {
        throw "checksum mismatch for ${file}: $sum, want $($meta.sha256)"
    }
    if (Test-Path $Destination) {
        Remove-Item -Recurse -Force $Destination
    }
    # The archive holds one top-level directory, go\.
    $parent = Split-Path -Parent $Destination
    Expand-Archive -Path $zip -DestinationPath $parent -Force
    if ((Join-Path $parent 'go') -ne $Destination) {
        Move-Item (Join-Path $parent 'go') $Destination
    }
    Remove-Item $zip
    Write-Host "Installed $(& $go version)."
}

$bin = Join-Path $Destination 'bin'
$path = [Environment]::GetEnvironmentVariable('Path', 'Machine')
if (($path -split ';') -notcontains $bin) {
    [Environment]::SetEnvironmentVariable('Path', "$bin;$path", 'Machine')
}
