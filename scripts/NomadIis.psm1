#Requires -Version 5.1
<#
    NomadIis: the IIS operations of the nomad-iis task driver.

    One exported function per operation of the contract (the Go table
    ps.Operations): the operation "GetAppPool" is served by
    Get-NomadIisAppPool, and so on. host.ps1 calls them with the request's
    JSON arguments splatted as parameters and writes what they return as the
    result. Every error a function raises on purpose carries one of the
    contract's kinds (see New-NomadIisError in NomadIis.Common.ps1).

    The module runs on Windows PowerShell 5.1, the default backend, and on
    PowerShell 7 where the IISAdministration module loads natively. It uses
    IISAdministration for the server manager and its commit delay, and the
    Microsoft.Web.Administration objects for everything else.

    Files (dot-sourced below, one concern each):
      NomadIis.Common.ps1       errors, argument checks, IIS access
      NomadIis.Config.ps1       configuration attributes and pool settings
      NomadIis.Server.ps1       connection, server information, managed objects
      NomadIis.TaskSitePlan.ps1 the checks of a task's site before it is made
      NomadIis.TaskSite.ps1     a task's pools, site, applications, bindings
      NomadIis.AppPool.ps1      pool state and start/stop/recycle
      NomadIis.WasEvent.ps1     service start, worker crashes, rapid-fail stops
      NomadIis.Certificate.ps1  certificate import and removal
      NomadIis.Pem.ps1          PEM certificates and keys
      NomadIis.Acl.ps1          task directory ACLs
      NomadIis.Extension.ps1    admin extension hooks
      NomadIis.Deploy.ps1       the zero-downtime deploy's switch
#>

# Terminate on every error, in the module scope and (set again in each
# function) in every operation: a half-applied change must never be
# reported as success.
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 1.0

. (Join-Path -Path $PSScriptRoot -ChildPath 'NomadIis.Common.ps1')
. (Join-Path -Path $PSScriptRoot -ChildPath 'NomadIis.Config.ps1')
. (Join-Path -Path $PSScriptRoot -ChildPath 'NomadIis.Server.ps1')
. (Join-Path -Path $PSScriptRoot -ChildPath 'NomadIis.TaskSitePlan.ps1')
. (Join-Path -Path $PSScriptRoot -ChildPath 'NomadIis.TaskSite.ps1')
. (Join-Path -Path $PSScriptRoot -ChildPath 'NomadIis.AppPool.ps1')
. (Join-Path -Path $PSScriptRoot -ChildPath 'NomadIis.WasEvent.ps1')
. (Join-Path -Path $PSScriptRoot -ChildPath 'NomadIis.Certificate.ps1')
. (Join-Path -Path $PSScriptRoot -ChildPath 'NomadIis.Pem.ps1')
. (Join-Path -Path $PSScriptRoot -ChildPath 'NomadIis.Acl.ps1')
. (Join-Path -Path $PSScriptRoot -ChildPath 'NomadIis.Extension.ps1')
. (Join-Path -Path $PSScriptRoot -ChildPath 'NomadIis.Deploy.ps1')

Initialize-IisAdministration

Export-ModuleMember -Function @(
    'Test-NomadIisConnection'
    'Get-NomadIisServerInfo'
    'New-NomadIisTaskSite'
    'Remove-NomadIisTaskSite'
    'Get-NomadIisWebsite'
    'Get-NomadIisAppPool'
    'Start-NomadIisAppPool'
    'Stop-NomadIisAppPool'
    'Restart-NomadIisAppPool'
    'Import-NomadIisCertificate'
    'Remove-NomadIisCertificate'
    'Set-NomadIisTaskDirectoryAcl'
    'Get-NomadIisManagedResource'
    'Invoke-NomadIisHook'
    'Get-NomadIisExtension'
    'Switch-NomadIisApplicationVersion'
)
