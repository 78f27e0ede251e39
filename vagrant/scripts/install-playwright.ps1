<#
.SYNOPSIS
Prepares the Playwright driver the Management API's screenshots use: Node.js
and playwright-core 1.52.0 in one directory, as playwright-go v0.5200.1
expects it. The browser is the machine's Edge or Chrome; nothing is
downloaded at request time. Safe to run again.

.PARAMETER Destination
The driver directory: it receives node.exe and package\ (playwright-core).

.PARAMETER NodeVersion
The Node.js version installed into C:\nodejs when node is not on the PATH.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)]
    [string] $Destination,

    [ValidatePattern('^\d+\.\d+\.\d+$')]
    [string] $NodeVersion = '20.18.0'
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
[Net.ServicePointManager]::SecurityProtocol = [Net.SecurityProtocolType]::Tls12

$node = Get-Command node -ErrorAction SilentlyContinue
if (-not $node) {
    $name = "node-v$NodeVersion-win-x64"
    $zip = Join-Path $env:TEMP "$name.zip"
    Invoke-WebRequest -Uri "https://nodejs.org/dist/v$NodeVersion/$name.zip" -OutFile $zip -UseBasicParsing
    $sums = (Invoke-WebRequest -Uri "https://nodejs.org/dist/v$NodeVersion/SHASUMS256.txt" -UseBasicParsing).Content
    $want = ($sums -split "`n" | Where-Object { $_ -match "\s$([regex]::Escape("$name.zip"))$" } | ForEach-Object { ($_ -split '\s+')[0] })
    $sum = (Get-FileHash -Path $zip -Algorithm SHA256).Hash.ToLowerInvariant()
    if (-not $want -or $sum -ne $want) {
        throw "checksum mismatch for ${name}.zip: $sum, want $want"
    }
    Expand-Archive -Path $zip -DestinationPath 'C:\' -Force
    if (Test-Path 'C:\nodejs') {
        Remove-Item -Recurse -Force 'C:\nodejs'
    }
    Move-Item "C:\$name" 'C:\nodejs'
    Remove-Item $zip
    $path = [Environment]::GetEnvironmentVariable('Path', 'Machine')
    [Environment]::SetEnvironmentVariable('Path', "C:\nodejs;$path", 'Machine')
    $env:Path = "C:\nodejs;$env:Path"
    $node = Get-Command node
}

New-Item -ItemType Directory -Force -Path $Destination | Out-Null
$cli = Join-Path $Destination 'package\cli.js'
if (-not (Test-Path $cli)) {
    & npm install --prefix $Destination --no-audit --no-fund --silent --ignore-scripts 'playwright-core@1.52.0'
    if ($LASTEXITCODE -ne 0) {
        throw "npm install playwright-core failed with exit code $LASTEXITCODE"
    }
    $package = Join-Path $Destination 'package'
    if (Test-Path $package) {
        Remove-Item -Recurse -Force $package
    }
    New-Item -ItemType Junction -Path $package -Target (Join-Path $Destination 'node_modules\playwright-core') | Out-Null
}
Copy-Item -Force $node.Source (Join-Path $Destination 'node.exe')
$version = & (Join-Path $Destination 'node.exe') $cli --version
Write-Host "Playwright driver ready in ${Destination}: $version"

# The plugin finds the driver through these variables (the agent passes its
# environment on to the plugin).
[Environment]::SetEnvironmentVariable('PLAYWRIGHT_DRIVER_PATH', $Destination, 'Machine')
[Environment]::SetEnvironmentVariable('NOMAD_IIS_PLAYWRIGHT_DRIVER', $Destination, 'Machine')
