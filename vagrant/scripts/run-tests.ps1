<#
.SYNOPSIS
Runs the unit, contract and end-to-end suites inside the Vagrant machine,
against IIS through the PowerShell backend.

.DESCRIPTION
Copies the shared repository to a local disk first (Go builds and file locks
misbehave on shared folders), then runs:
  go test ./...                  the unit tests
  run-pester.ps1                 the Pester tests of the PowerShell module
  go test ./ps/contract          the contract suite, PowerShell + IIS
  go test -tags e2e ./e2e/...    the end-to-end suites, Nomad + plugin + IIS
The plugin is the Windows build the host made and uploaded (make vagrant-e2e).
Exits with 0 when every suite passes, 1 otherwise.

.PARAMETER Source
The repository as shared from the host.

.PARAMETER Plugin
The nomad_iis.exe under test.
#>
[CmdletBinding()]
param(
    [string] $Source = 'C:\nomad-iis-src',
    [string] $Work = 'C:\nomad-iis',
    [string] $Plugin = 'C:\nomad-iis\nomad_iis.exe',
    [string] $NomadBin = 'C:\nomad\nomad.exe'
)

$ErrorActionPreference = 'Stop'

# Runs go with the arguments and fails when it does.
function Invoke-GoSuite {
    param(
        [Parameter(Mandatory = $true)] [string] $Name,
        [Parameter(Mandatory = $true)] [string[]] $Arguments
    )
    Write-Host "==> $Name"
    & go @Arguments
    if ($LASTEXITCODE -ne 0) {
        throw "$Name failed (exit code $LASTEXITCODE)"
    }
}

try {
    # Provisioning changed the machine's PATH and variables; a WinRM session
    # started before it does not see them.
    $env:Path = [Environment]::GetEnvironmentVariable('Path', 'Machine') + ';' + [Environment]::GetEnvironmentVariable('Path', 'User')
    foreach ($name in @('PLAYWRIGHT_DRIVER_PATH', 'NOMAD_IIS_PLAYWRIGHT_DRIVER')) {
        $value = [Environment]::GetEnvironmentVariable($name, 'Machine')
        if ($value) {
            Set-Item -Path "env:$name" -Value $value
        }
    }
    foreach ($file in @($Plugin, $NomadBin)) {
        if (-not (Test-Path $file)) {
            throw "$file is missing (make vagrant-e2e uploads the plugin; provisioning installs Nomad)"
        }
    }

    $src = Join-Path $Work 'src'
    robocopy $Source $src /MIR /XD .git build .cache node_modules /NFL /NDL /NJH /NJS /NP | Out-Null
    if ($LASTEXITCODE -ge 8) {
        throw "copying the repository failed (robocopy exit code $LASTEXITCODE)"
    }
    Set-Location $src

    Invoke-GoSuite -Name 'unit tests' -Arguments @('test', '-count=1', './...')

    # Windows PowerShell 5.1, as the plugin starts it, whatever runs this script.
    Write-Host '==> Pester tests of the PowerShell module'
    & powershell.exe -NoLogo -NoProfile -NonInteractive -ExecutionPolicy Bypass -File (Join-Path $src 'vagrant\scripts\run-pester.ps1') -Path (Join-Path $src 'scripts\tests')
    if ($LASTEXITCODE -ne 0) {
        throw "Pester tests of the PowerShell module failed (exit code $LASTEXITCODE)"
    }

    $env:NOMAD_IIS_CONTRACT_BACKEND = 'powershell'
    Invoke-GoSuite -Name 'contract suite (PowerShell + IIS)' -Arguments @('test', '-count=1', '-v', './ps/contract')

    $env:NOMAD_BIN = $NomadBin
    $env:NOMAD_IIS_PLUGIN = $Plugin
    $env:NOMAD_IIS_E2E_LOG_DIR = Join-Path $Work 'e2e-logs'
    Invoke-GoSuite -Name 'end-to-end suites (Nomad + IIS)' -Arguments @('test', '-count=1', '-timeout', '30m', '-tags', 'e2e', '-v', './e2e/...')
} catch {
    Write-Host "==> FAILED: $_"
    exit 1
}
Write-Host '==> all suites passed'
exit 0
