<#
    Operations about the server as a whole: the connection check, what the
    fingerprint reports, and the driver-made objects. Dot-sourced by
    NomadIis.psm1.
#>

# The prefix of every site and pool the driver makes.
$script:ManagedNamePrefix = 'nomad-'

function Test-NomadIisConnection
{
    <#
    .SYNOPSIS
        Answers with the backend's name and process id (operation
        TestConnection).

    .DESCRIPTION
        Used for health checks and the round-trip benchmark; it touches
        nothing and works without IIS.

    .EXAMPLE
        Test-NomadIisConnection
    #>
    [CmdletBinding()]
    [OutputType([System.Collections.Specialized.OrderedDictionary])]
    param ()

    $ErrorActionPreference = 'Stop'
    return [ordered] @{
        backend   = 'iis'
        processId = $PID
    }
}

function Get-NomadIisServerInfo
{
    <#
    .SYNOPSIS
        Reports the IIS version, the W3SVC state, when the service's
        process started, and the modules present (operation GetServerInfo).

    .DESCRIPTION
        The version comes from the registry (HKLM\SOFTWARE\Microsoft\InetStp),
        which Server Core has too, not from the management console's file
        version. The ASP.NET Core Module V2 and URL Rewrite count as present
        when they are registered as global modules of applicationHost.config;
        when the configuration cannot be read, their DLLs are looked for
        instead. Works, and reports what it can, without IIS.

    .EXAMPLE
        Get-NomadIisServerInfo
    #>
    [CmdletBinding()]
    [OutputType([System.Collections.Specialized.OrderedDictionary])]
    param ()

    $ErrorActionPreference = 'Stop'

    $version = 'Unknown'
    $inetStp = Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Microsoft\InetStp' -ErrorAction SilentlyContinue
    if ($null -ne $inetStp -and $null -ne $inetStp.MajorVersion)
    {
        $version = '{0}.{1}' -f $inetStp.MajorVersion, $inetStp.MinorVersion
    }

    $w3svcState = 'NotInstalled'
    $service = Get-Service -Name 'W3SVC' -ErrorAction SilentlyContinue
    if ($null -ne $service)
    {
        $w3svcState = [System.String] $service.Status
    }

    $serviceStartTime = $null
    $started = Get-WebServiceStartTime
    if ($null -ne $started)
    {
        $serviceStartTime = ConvertTo-IsoTime -Time $started
    }

    $moduleNames = $null
    if ($null -eq $script:IisUnavailableReason)
    {
        try
        {
            $serverManager = Get-ServerManager
            $section = $serverManager.GetApplicationHostConfiguration().GetSection('system.webServer/globalModules')
            $moduleNames = New-Object -TypeName System.Collections.Generic.List[System.String]
            foreach ($module in $section.GetCollection())
            {
                $moduleNames.Add([System.String] $module.GetAttributeValue('name'))
            }
        }
        catch
        {
            $moduleNames = $null
        }
    }
    if ($null -ne $moduleNames)
    {
        $aspNetCore = $moduleNames.Contains('AspNetCoreModuleV2')
        $urlRewrite = $moduleNames.Contains('RewriteModule')
    }
    else
    {
        $aspNetCore = Test-Path -LiteralPath (Join-Path -Path $env:ProgramFiles -ChildPath 'IIS\Asp.Net Core Module\V2\aspnetcorev2.dll') -PathType Leaf
        $urlRewrite = Test-Path -LiteralPath (Join-Path -Path $env:SystemRoot -ChildPath 'System32\inetsrv\rewrite.dll') -PathType Leaf
    }

    return [ordered] @{
        backend          = 'iis'
        iisVersion       = $version
        w3svcState       = $w3svcState
        aspNetCoreModule = [System.Boolean] $aspNetCore
        urlRewrite       = [System.Boolean] $urlRewrite
        # RFC 3339 UTC, or null (a zero time.Time) when W3SVC is not running.
        serviceStartTime = $serviceStartTime
    }
}

function Get-NomadIisManagedResource
{
    <#
    .SYNOPSIS
        Lists the driver-made sites and application pools, the ones whose
        name starts with "nomad-", with their state (operation
        GetManagedResource).

    .EXAMPLE
        Get-NomadIisManagedResource
    #>
    [CmdletBinding()]
    [OutputType([System.Collections.Specialized.OrderedDictionary])]
    param ()

    $ErrorActionPreference = 'Stop'
    $serverManager = Get-ServerManager

    $websites = New-Object -TypeName System.Collections.Generic.List[System.Object]
    foreach ($site in $serverManager.Sites)
    {
        if ($site.Name.StartsWith($script:ManagedNamePrefix, [System.StringComparison]::OrdinalIgnoreCase))
        {
            $websites.Add([ordered] @{
                    name  = $site.Name
                    state = Get-ObjectStateName -InputObject $site
                })
        }
    }
    $appPools = New-Object -TypeName System.Collections.Generic.List[System.Object]
    foreach ($pool in $serverManager.ApplicationPools)
    {
        if ($pool.Name.StartsWith($script:ManagedNamePrefix, [System.StringComparison]::OrdinalIgnoreCase))
        {
            $appPools.Add([ordered] @{
                    name  = $pool.Name
                    state = Get-ObjectStateName -InputObject $pool
                })
        }
    }
    return [ordered] @{
        websites = $websites.ToArray()
        appPools = $appPools.ToArray()
    }
}
