<#
.SYNOPSIS
Installs the official Nomad binary from releases.hashicorp.com, checked
against the release's SHA256SUMS. Safe to run again.

.PARAMETER Version
The Nomad version, such as 1.6.3 (the one tools/nomad/go.mod pins).

.PARAMETER Destination
The directory that receives nomad.exe.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)]
    [ValidatePattern('^\d+\.\d+\.\d+$')]
    [string] $Version,

    [Parameter(Mandatory = $true)]
    [string] $Destination
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
[Net.ServicePointManager]::SecurityProtocol = [Net.SecurityProtocolType]::Tls12

$nomad = Join-Path $Destination 'nomad.exe'
if ((Test-Path $nomad) -and ((& $nomad version | Select-Object -First 1) -eq "Nomad v$Version")) {
    Write-Host "Nomad $Version is already installed in $Destination."
    return
}

$base = "https://releases.hashicorp.com/nomad/$Version"
$file = "nomad_${Version}_windows_amd64.zip"
$zip = Join-Path $env:TEMP $file
Invoke-WebRequest -Uri "$base/$file" -OutFile $zip -UseBasicParsing
$sums = (Invoke-WebRequest -Uri "$base/nomad_${Version}_SHA256SUMS" -UseBasicParsing).Content
$want = ($sums -split "`n" | Where-Object { $_ -match "\s$([regex]::Escape($file))$" } | ForEach-Object { ($_ -split '\s+')[0] })
$sum = (Get-FileHash -Path $zip -Algorithm SHA256).Hash.ToLowerInvariant()
if (-not $want -or $sum -ne $want) {
    throw "checksum mismatch for ${file}: $sum, want $want"
}

New-Item -ItemType Directory -Force -Path $Destination | Out-Null
Expand-Archive -Path $zip -DestinationPath $Destination -Force
Remove-Item $zip
Write-Host "Installed $(& $nomad version | Select-Object -First 1) in $Destination."
