<#
.SYNOPSIS
Installs IIS with the features nomad-iis documents, and the IIS PowerShell
modules the nomad_iis backend uses. Safe to run again.

.DESCRIPTION
Used by the Vagrant box and the Windows workflow. Enables the optional
features of nomad-iis's installation guide (plus IIS Management Scripts and
Tools, which provides the WebAdministration and IISAdministration modules),
delegates Anonymous Authentication to web.config files (the guide's sample
app needs it), and opens Nomad's dynamic port range in the firewall.
#>
[CmdletBinding()]
param()

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

$features = @(
    'IIS-WebServerRole',
    'IIS-WebServer',
    'IIS-CommonHttpFeatures',
    'IIS-HttpErrors',
    'IIS-HttpRedirect',
    'IIS-ApplicationDevelopment',
    'NetFx4Extended-ASPNET45',
    'IIS-NetFxExtensibility45',
    'IIS-HealthAndDiagnostics',
    'IIS-HttpLogging',
    'IIS-LoggingLibraries',
    'IIS-RequestMonitor',
    'IIS-HttpTracing',
    'IIS-Security',
    'IIS-RequestFiltering',
    'IIS-Performance',
    'IIS-WebServerManagementTools',
    'IIS-IIS6ManagementCompatibility',
    'IIS-Metabase',
    'IIS-ManagementConsole',
    'IIS-ManagementScriptingTools',
    'IIS-BasicAuthentication',
    'IIS-WindowsAuthentication',
    'IIS-StaticContent',
    'IIS-DefaultDocument',
    'IIS-WebSockets',
    'IIS-ApplicationInit',
    'IIS-ISAPIExtensions',
    'IIS-ISAPIFilter',
    'IIS-HttpCompressionStatic',
    'IIS-ASP',
    'IIS-ServerSideIncludes',
    'IIS-ASPNET45'
)

$missing = @(Get-WindowsOptionalFeature -Online |
    Where-Object { $features -contains $_.FeatureName -and $_.State -ne 'Enabled' } |
    ForEach-Object { $_.FeatureName })
if ($missing.Count -gt 0) {
    Write-Host "Enabling: $($missing -join ', ')"
    $result = Enable-WindowsOptionalFeature -Online -All -NoRestart -FeatureName $missing
    if ($result.RestartNeeded) {
        Write-Warning 'Windows asks for a restart to finish the IIS installation.'
    }
} else {
    Write-Host 'IIS features already enabled.'
}

Import-Module WebAdministration
Set-WebConfiguration -PSPath 'IIS:\' -Filter '//System.WebServer/Security/Authentication/anonymousAuthentication' `
    -Metadata overrideMode -Value Allow

$rule = 'Allow Nomad Dynamic Ports 20000-32000'
if (-not (Get-NetFirewallRule -DisplayName $rule -ErrorAction SilentlyContinue)) {
    New-NetFirewallRule -DisplayName $rule -Action Allow -Direction Inbound -Protocol TCP -LocalPort '20000-32000' | Out-Null
}

$w3svc = Get-Service -Name W3SVC
if ($w3svc.Status -ne 'Running') {
    Start-Service -Name W3SVC
}
Write-Host "IIS is ready: W3SVC $((Get-Service -Name W3SVC).Status)."
