<#
.SYNOPSIS
Runs the Pester 5 tests of the PowerShell module (scripts/tests) in Windows
PowerShell 5.1, the backend the plugin starts.

.DESCRIPTION
Windows ships Pester 3.4, which cannot run Pester 5 tests; when no Pester 5
is installed, the newest 5.x is installed side by side for the current user
from the PowerShell Gallery (Pester 6 changed the test syntax, so 5.x is
pinned). Then every *.Tests.ps1 of the directory runs. The tests of the
certificate chain add a test intermediate CA to LocalMachine\CA and remove
it again, so the shell must be elevated. Exits with 0 when every test passed.

.PARAMETER Path
The directory of the tests.
#>
[CmdletBinding()]
param(
    [Parameter()]
    [string] $Path = (Join-Path -Path $PSScriptRoot -ChildPath '..\..\scripts\tests')
)

$ErrorActionPreference = 'Stop'

$minimum = [version] '5.5.0'
$maximum = [version] '5.99.99'
$installed = @(Get-Module -ListAvailable -Name Pester | Where-Object -FilterScript { $_.Version -ge $minimum -and $_.Version -le $maximum })
if ($installed.Count -eq 0) {
    [Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12
    $null = Install-PackageProvider -Name NuGet -MinimumVersion 2.8.5.201 -Force -Scope CurrentUser
    # -SkipPublisherCheck: the Pester that ships with Windows is signed with
    # another certificate than today's releases.
    Install-Module -Name Pester -MinimumVersion $minimum -MaximumVersion $maximum -Scope CurrentUser -Force -SkipPublisherCheck -AllowClobber
}
Import-Module -Name Pester -MinimumVersion $minimum -MaximumVersion $maximum -Force

$configuration = New-PesterConfiguration
$configuration.Run.Path = (Resolve-Path -LiteralPath $Path).Path
$configuration.Run.Exit = $true
$configuration.Output.Verbosity = 'Detailed'
Invoke-Pester -Configuration $configuration
