<#
    A task's IIS objects: its pools, its own site (or applications in a
    target website), applications, virtual directories, bindings and
    auto-start providers, created and removed in one commit each.
    Dot-sourced by NomadIis.psm1.
#>

function ConvertTo-BindingPlan
{
    <#
    .SYNOPSIS
        Validates the bindings of a NewTaskSite request among themselves and
        returns them normalised: protocol and host name in lower case, "*"
        for no address, the thumbprint in the store's form, and the IIS
        binding information "{ip}:{port}:{host}".
    #>
    [CmdletBinding()]
    [OutputType([System.Object[]])]
    param
    (
        [Parameter(Mandatory = $true)]
        [AllowEmptyCollection()]
        [System.Object[]]
        $Bindings
    )

    $ErrorActionPreference = 'Stop'
    $plans = New-Object -TypeName System.Collections.Generic.List[System.Object]
    $seen = @{}
    $protocolOfPort = @{}
    $index = 0
    foreach ($binding in $Bindings)
    {
        $field = 'bindings[{0}]' -f $index
        $index++
        $protocol = (Get-StringValue -InputObject $binding -Name 'protocol').Trim().ToLowerInvariant()
        if ($protocol -ne 'http' -and $protocol -ne 'https')
        {
            New-NomadIisError -Kind InvalidArgument -Message ("{0}.protocol: '{1}' is not http or https" -f $field, $protocol)
        }

        $ipAddress = (Get-StringValue -InputObject $binding -Name 'ipAddress').Trim()
        if ($ipAddress.Length -eq 0)
        {
            $ipAddress = '*'
        }
        $ipForBinding = $ipAddress
        if ($ipAddress -ne '*')
        {
            $parsed = $null
            if (-not [System.Net.IPAddress]::TryParse($ipAddress.Trim('[', ']'), [ref] $parsed))
            {
                New-NomadIisError -Kind InvalidArgument -Message ("{0}.ipAddress: '{1}' is not an IP address or *" -f $field, $ipAddress)
            }
            $ipAddress = $parsed.ToString()
            $ipForBinding = $ipAddress
            if ($parsed.AddressFamily -eq [System.Net.Sockets.AddressFamily]::InterNetworkV6)
            {
                $ipForBinding = '[' + $ipAddress + ']'
            }
        }

        $portValue = Get-OptionalValue -InputObject $binding -Name 'port'
        $port = 0
        if ($null -ne $portValue)
        {
            $port = [System.Int64] $portValue
        }
        if ($port -lt 1 -or $port -gt 65535)
        {
            New-NomadIisError -Kind InvalidArgument -Message ('{0}.port: {1} is not between 1 and 65535' -f $field, $port)
        }

        $hostname = (Get-StringValue -InputObject $binding -Name 'hostname').Trim().ToLowerInvariant()
        if ($hostname.Length -gt 0)
        {
            $bare = $hostname
            if ($bare.StartsWith('*.'))
            {
                $bare = $bare.Substring(2)
            }
            if ($bare.Length -eq 0 -or $bare.Length -gt 253 -or $bare -notmatch '^[a-z0-9._-]+$')
            {
                New-NomadIisError -Kind InvalidArgument -Message ("{0}.hostname: '{1}' is not a host name" -f $field, $hostname)
            }
        }

        $information = '{0}:{1}:{2}' -f $ipForBinding, $port, $hostname
        if ($seen.ContainsKey($information))
        {
            New-NomadIisError -Kind InvalidArgument -Message ('{0}: binding {1} is given twice' -f $field, $information)
        }
        $seen[$information] = $true
        $endpoint = '{0}:{1}' -f $ipAddress, $port
        if ($protocolOfPort.ContainsKey($endpoint) -and $protocolOfPort[$endpoint] -ne $protocol)
        {
            New-NomadIisError -Kind InvalidArgument -Message ('bindings: port {0} is given for both http and https' -f $port)
        }
        $protocolOfPort[$endpoint] = $protocol

        $requireSni = $false
        $sniValue = Get-OptionalValue -InputObject $binding -Name 'requireSni'
        if ($null -ne $sniValue)
        {
            $requireSni = [System.Boolean] $sniValue
        }
        $thumbprintText = Get-StringValue -InputObject $binding -Name 'certificateThumbprint'
        $thumbprint = ''
        if ($protocol -eq 'http')
        {
            if ($thumbprintText.Length -gt 0 -or $requireSni)
            {
                New-NomadIisError -Kind InvalidArgument -Message ('{0}: certificateThumbprint and requireSni apply to https bindings only' -f $field)
            }
        }
        else
        {
            if ($requireSni -and $hostname.Length -eq 0)
            {
                New-NomadIisError -Kind InvalidArgument -Message ('{0}.requireSni: an https binding that requires SNI needs a hostname' -f $field)
            }
            if ($thumbprintText.Length -eq 0)
            {
                New-NomadIisError -Kind InvalidArgument -Message ('{0}.certificateThumbprint: an https binding needs a certificate' -f $field)
            }
            $thumbprint = ConvertTo-Thumbprint -Value $thumbprintText
            if ($thumbprint.Length -eq 0)
            {
                New-NomadIisError -Kind InvalidArgument -Message ("{0}.certificateThumbprint: '{1}' is not a SHA-1 thumbprint" -f $field, $thumbprintText)
            }
        }

        $plans.Add([pscustomobject] @{
                Field       = $field
                Protocol    = $protocol
                IPAddress   = $ipAddress
                Port        = [System.Int32] $port
                Hostname    = $hostname
                RequireSni  = $requireSni
                Thumbprint  = $thumbprint
                Information = $information
            })
    }
    return , $plans.ToArray()
}

function ConvertTo-ApplicationPlan
{
    <#
    .SYNOPSIS
        Validates the applications of a NewTaskSite request and their virtual
        directories, and returns them normalised (aliases without slashes,
        paths with backslashes), the shortest path first so that parents come
        before their children and the root comes first.
    #>
    [CmdletBinding()]
    [OutputType([System.Object[]])]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.Object[]]
        $Applications,

        [Parameter(Mandatory = $true)]
        [System.Boolean]
        $InTargetWebsite
    )

    $ErrorActionPreference = 'Stop'
    $plans = New-Object -TypeName System.Collections.Generic.List[System.Object]
    $aliases = @{}
    $index = 0
    foreach ($application in $Applications)
    {
        $field = 'applications[{0}]' -f $index
        if ($null -eq $application)
        {
            New-NomadIisError -Kind InvalidArgument -Message ('{0}: an application is required' -f $field)
        }
        $alias = ConvertTo-Alias -Field ($field + '.alias') -Value (Get-StringValue -InputObject $application -Name 'alias')
        $physicalPath = ConvertTo-PhysicalPath -Field ($field + '.physicalPath') -Value (Get-StringValue -InputObject $application -Name 'physicalPath')
        $appPool = Get-StringValue -InputObject $application -Name 'appPool'
        if ($appPool.Length -eq 0)
        {
            New-NomadIisError -Kind InvalidArgument -Message ('{0}.appPool: an application pool is required' -f $field)
        }
        $key = $alias.ToLowerInvariant()
        if ($aliases.ContainsKey($key))
        {
            New-NomadIisError -Kind InvalidArgument -Message ("{0}: alias '{1}' is given twice" -f $field, $alias)
        }
        $aliases[$key] = $true
        if ($InTargetWebsite -and $alias.Length -eq 0)
        {
            New-NomadIisError -Kind InvalidArgument -Message ('{0}: a task cannot replace the root application of the target website; give an alias' -f $field)
        }

        $directories = New-Object -TypeName System.Collections.Generic.List[System.Object]
        $directoryAliases = @{}
        $directoryIndex = 0
        foreach ($directory in (Get-ListValue -InputObject $application -Name 'virtualDirectories'))
        {
            $directoryField = '{0}.virtualDirectories[{1}]' -f $field, $directoryIndex
            $directoryIndex++
            $directoryAlias = ConvertTo-Alias -Field ($directoryField + '.alias') -Value (Get-StringValue -InputObject $directory -Name 'alias')
            if ($directoryAlias.Length -eq 0)
            {
                New-NomadIisError -Kind InvalidArgument -Message ('{0}.alias: a virtual directory needs an alias' -f $directoryField)
            }
            if ($directoryAliases.ContainsKey($directoryAlias.ToLowerInvariant()))
            {
                New-NomadIisError -Kind InvalidArgument -Message ("{0}.alias: '{1}' is given twice" -f $directoryField, $directoryAlias)
            }
            $directoryAliases[$directoryAlias.ToLowerInvariant()] = $true
            $directories.Add([pscustomobject] @{
                    Field        = $directoryField
                    Path         = '/' + $directoryAlias
                    PhysicalPath = ConvertTo-PhysicalPath -Field ($directoryField + '.physicalPath') -Value (Get-StringValue -InputObject $directory -Name 'physicalPath')
                    Attributes   = Get-ListValue -InputObject $directory -Name 'attributes'
                })
        }

        $plans.Add([pscustomobject] @{
                Field                    = $field
                Index                    = $index
                Alias                    = $alias
                Path                     = '/' + $alias
                PhysicalPath             = $physicalPath
                AppPool                  = $appPool
                PreloadEnabled           = Get-OptionalValue -InputObject $application -Name 'preloadEnabled'
                ServiceAutoStartEnabled  = Get-OptionalValue -InputObject $application -Name 'serviceAutoStartEnabled'
                ServiceAutoStartProvider = Get-StringValue -InputObject $application -Name 'serviceAutoStartProvider'
                VirtualDirectories       = $directories.ToArray()
                Attributes               = Get-ListValue -InputObject $application -Name 'attributes'
            })
        $index++
    }
    # Sort-Object is not stable in Windows PowerShell: the index breaks ties.
    $sorted = @($plans | Sort-Object -Property @{ Expression = { $_.Alias.Length } }, @{ Expression = { $_.Index } })
    return , $sorted
}

function ConvertFrom-BindingInformation
{
    <#
    .SYNOPSIS
        Splits IIS binding information "{ip}:{port}:{host}" ("[v6]" for IPv6
        addresses) into address, port and host name.
    #>
    [CmdletBinding()]
    [OutputType([System.Management.Automation.PSCustomObject])]
    param
    (
        [Parameter(Mandatory = $true)]
        [AllowEmptyString()]
        [System.String]
        $Information
    )

    $ErrorActionPreference = 'Stop'
    $match = [System.Text.RegularExpressions.Regex]::Match($Information, '^(?<ip>\[[^\]]*\]|[^:]*):(?<port>\d+):(?<host>.*)$')
    if (-not $match.Success)
    {
        return [pscustomobject] @{ IPAddress = $Information; Port = 0; Hostname = '' }
    }
    $ip = $match.Groups['ip'].Value.Trim('[', ']')
    if ($ip.Length -eq 0)
    {
        $ip = '*'
    }
    return [pscustomobject] @{
        IPAddress = $ip
        Port      = [System.Int32] $match.Groups['port'].Value
        Hostname  = $match.Groups['host'].Value
    }
}

function Get-BindingThumbprint
{
    <#
    .SYNOPSIS
        Returns the thumbprint of an https binding's certificate in the
        store's form, or '' when the binding has none.
    #>
    [CmdletBinding()]
    [OutputType([System.String])]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.Object]
        $Binding
    )

    $ErrorActionPreference = 'Stop'
    $hash = $null
    try
    {
        $hash = $Binding.CertificateHash
    }
    catch
    {
        $hash = $null
    }
    if ($null -eq $hash -or $hash.Length -eq 0)
    {
        return ''
    }
    return [System.BitConverter]::ToString([System.Byte[]] $hash).Replace('-', '')
}

function Assert-BindingAvailable
{
    <#
    .SYNOPSIS
        Fails with Conflict when another site already has a binding the new
        site needs: the same address, port and host name, or the same address
        and port with the other protocol.
    #>
    [CmdletBinding()]
    [OutputType([System.Void])]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.Object]
        $ServerManager,

        [Parameter(Mandatory = $true)]
        [System.Object]
        $Plan
    )

    $ErrorActionPreference = 'Stop'
    foreach ($site in $ServerManager.Sites)
    {
        foreach ($binding in $site.Bindings)
        {
            $protocol = ([System.String] $binding.Protocol).ToLowerInvariant()
            if ($protocol -ne 'http' -and $protocol -ne 'https')
            {
                continue
            }
            $existing = ConvertFrom-BindingInformation -Information ([System.String] $binding.BindingInformation)
            if ($existing.Port -ne $Plan.Port -or -not (Test-NameEqual -Left $existing.IPAddress -Right $Plan.IPAddress))
            {
                continue
            }
            if ($protocol -ne $Plan.Protocol)
            {
                New-NomadIisError -Kind Conflict -Message ("port {0} is used by an {1} binding of website '{2}'" -f $Plan.Port, $protocol, $site.Name)
            }
            if (Test-NameEqual -Left $existing.Hostname -Right $Plan.Hostname)
            {
                New-NomadIisError -Kind Conflict -Message ("binding {0} is used by website '{1}'" -f $Plan.Information, $site.Name)
            }
        }
    }
}

function ConvertTo-ByteArray
{
    <#
    .SYNOPSIS
        Converts a hex string (a thumbprint) into bytes.
    #>
    [CmdletBinding()]
    [OutputType([System.Byte[]])]
    param
    (
        [Parameter(Mandatory = $true)]
        [ValidatePattern('^([0-9A-Fa-f]{2})+$')]
        [System.String]
        $Hex
    )

    $ErrorActionPreference = 'Stop'
    $bytes = New-Object -TypeName 'System.Byte[]' -ArgumentList ($Hex.Length / 2)
    for ($i = 0; $i -lt $bytes.Length; $i++)
    {
        $bytes[$i] = [System.Convert]::ToByte($Hex.Substring($i * 2, 2), 16)
    }
    return , $bytes
}

function Add-TaskSiteApplication
{
    <#
    .SYNOPSIS
        Adds one planned application, its settings, extension attributes and
        virtual directories to a site. Nothing is committed here.
    #>
    [CmdletBinding()]
    [OutputType([System.Void])]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.Object]
        $Site,

        [Parameter(Mandatory = $true)]
        [System.Object]
        $Plan
    )

    $ErrorActionPreference = 'Stop'
    $application = $Site.Applications.Add($Plan.Path, $Plan.PhysicalPath)
    $application.ApplicationPoolName = $Plan.AppPool
    if ($null -ne $Plan.PreloadEnabled)
    {
        $application.SetAttributeValue('preloadEnabled', [System.Boolean] $Plan.PreloadEnabled)
    }
    if ($null -ne $Plan.ServiceAutoStartEnabled)
    {
        $application.SetAttributeValue('serviceAutoStartEnabled', [System.Boolean] $Plan.ServiceAutoStartEnabled)
    }
    if ($Plan.ServiceAutoStartProvider.Length -gt 0)
    {
        $application.SetAttributeValue('serviceAutoStartProvider', $Plan.ServiceAutoStartProvider)
    }
    Set-ConfigAttributeList -Element $application -Attributes $Plan.Attributes -Field $Plan.Field

    foreach ($directory in $Plan.VirtualDirectories)
    {
        $virtualDirectory = $application.VirtualDirectories.Add($directory.Path, $directory.PhysicalPath)
        Set-ConfigAttributeList -Element $virtualDirectory -Attributes $directory.Attributes -Field $directory.Field
    }
}

function Set-AutoStartProvider
{
    <#
    .SYNOPSIS
        Registers a serviceAutoStartProviders entry, or updates its type when
        one of that name (ignoring case) exists. Nothing is committed here.
    #>
    [CmdletBinding()]
    [OutputType([System.Void])]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.Object]
        $ServerManager,

        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $Name,

        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $Type
    )

    $ErrorActionPreference = 'Stop'
    $providers = $ServerManager.GetApplicationHostConfiguration().GetSection('system.applicationHost/serviceAutoStartProviders').GetCollection()
    foreach ($provider in $providers)
    {
        if (Test-NameEqual -Left ([System.String] $provider.GetAttributeValue('name')) -Right $Name)
        {
            if ([System.String] $provider.GetAttributeValue('type') -ne $Type)
            {
                $provider.SetAttributeValue('type', $Type)
            }
            return
        }
    }
    $provider = $providers.CreateElement('add')
    $provider.SetAttributeValue('name', $Name)
    $provider.SetAttributeValue('type', $Type)
    $null = $providers.Add($provider)
}

function Get-AutoStartProviderName
{
    <#
    .SYNOPSIS
        Lists the names of the registered serviceAutoStartProviders.
    #>
    [CmdletBinding()]
    [OutputType([System.String[]])]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.Object]
        $ServerManager
    )

    $ErrorActionPreference = 'Stop'
    $names = New-Object -TypeName System.Collections.Generic.List[System.String]
    $providers = $ServerManager.GetApplicationHostConfiguration().GetSection('system.applicationHost/serviceAutoStartProviders').GetCollection()
    foreach ($provider in $providers)
    {
        $names.Add([System.String] $provider.GetAttributeValue('name'))
    }
    return , $names.ToArray()
}

function Test-AutoStartProviderInUse
{
    <#
    .SYNOPSIS
        Tells whether an application of any site still names an auto-start
        provider.
    #>
    [CmdletBinding()]
    [OutputType([System.Boolean])]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.Object]
        $ServerManager,

        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $Name
    )

    $ErrorActionPreference = 'Stop'
    foreach ($site in $ServerManager.Sites)
    {
        foreach ($application in $site.Applications)
        {
            if (Test-NameEqual -Left ([System.String] $application.GetAttributeValue('serviceAutoStartProvider')) -Right $Name)
            {
                return $true
            }
        }
    }
    return $false
}

function Remove-TaskSiteConfiguration
{
    <#
    .SYNOPSIS
        Removes a task's site, or its applications from a target website, its
        pools, and the auto-start providers no application names any more.
        What does not exist is skipped. Nothing is committed here.
    #>
    [CmdletBinding()]
    [OutputType([System.Void])]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.Object]
        $ServerManager,

        [Parameter(Mandatory = $true)]
        [AllowEmptyString()]
        [System.String]
        $SiteName,

        [Parameter(Mandatory = $true)]
        [AllowEmptyString()]
        [System.String]
        $TargetWebsite,

        [Parameter(Mandatory = $true)]
        [AllowEmptyCollection()]
        [AllowEmptyString()]
        [System.String[]]
        $ApplicationAliases,

        [Parameter(Mandatory = $true)]
        [AllowEmptyCollection()]
        [AllowEmptyString()]
        [System.String[]]
        $AppPools,

        [Parameter(Mandatory = $true)]
        [AllowEmptyCollection()]
        [AllowEmptyString()]
        [System.String[]]
        $AutoStartProviders
    )

    $ErrorActionPreference = 'Stop'
    if ($SiteName.Length -gt 0)
    {
        $site = Find-Site -ServerManager $ServerManager -Name $SiteName
        if ($null -ne $site)
        {
            $ServerManager.Sites.Remove($site)
        }
    }
    if ($TargetWebsite.Length -gt 0)
    {
        $site = Find-Site -ServerManager $ServerManager -Name $TargetWebsite
        if ($null -ne $site)
        {
            foreach ($alias in $ApplicationAliases)
            {
                $path = '/' + ([System.String] $alias).Trim().Trim('/')
                if ($path -eq '/')
                {
                    # Never the root application of a site the task does not own.
                    continue
                }
                $application = Find-Application -Site $site -Path $path
                if ($null -ne $application)
                {
                    $site.Applications.Remove($application)
                }
            }
        }
    }
    foreach ($name in $AppPools)
    {
        $pool = Find-AppPool -ServerManager $ServerManager -Name $name
        if ($null -ne $pool)
        {
            $ServerManager.ApplicationPools.Remove($pool)
        }
    }
    if ($AutoStartProviders.Length -gt 0)
    {
        $providers = $ServerManager.GetApplicationHostConfiguration().GetSection('system.applicationHost/serviceAutoStartProviders').GetCollection()
        foreach ($name in $AutoStartProviders)
        {
            if ([System.String]::IsNullOrEmpty($name) -or (Test-AutoStartProviderInUse -ServerManager $ServerManager -Name $name))
            {
                continue
            }
            $found = $null
            foreach ($provider in $providers)
            {
                if (Test-NameEqual -Left ([System.String] $provider.GetAttributeValue('name')) -Right $name)
                {
                    $found = $provider
                    break
                }
            }
            if ($null -ne $found)
            {
                $providers.Remove($found)
            }
        }
    }
}

function Wait-TaskSiteStart
{
    <#
    .SYNOPSIS
        Waits up to five seconds for a new site to leave the Starting state,
        and starts it when the Windows Process Activation Service left it
        stopped. Returns '' when the site runs (or its state cannot be read),
        else why it could not start, such as a port another process holds.
    #>
    [CmdletBinding()]
    [OutputType([System.String])]
    param
    (
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $SiteName
    )

    $ErrorActionPreference = 'Stop'
    $deadline = [System.DateTime]::UtcNow.AddSeconds(5)
    while ($true)
    {
        $site = Find-Site -ServerManager (Get-ServerManager) -Name $SiteName
        if ($null -eq $site)
        {
            return ''
        }
        $state = Get-ObjectStateName -InputObject $site
        if ($state -eq 'Started')
        {
            return ''
        }
        if ($state -eq 'Stopped')
        {
            try
            {
                $null = $site.Start()
                return ''
            }
            catch
            {
                return (Get-InnermostMessage -ErrorRecord $_)
            }
        }
        if ([System.DateTime]::UtcNow -ge $deadline)
        {
            return ''
        }
        Start-Sleep -Milliseconds 250
    }
}

function New-NomadIisTaskSite
{
    <#
    .SYNOPSIS
        Creates everything one task needs in one commit: all of it or nothing
        (operation NewTaskSite).

    .DESCRIPTION
        Validates the whole request first, then, in one IISAdministration
        commit delay: registers the auto-start providers, creates the pools
        (settings, extension attributes, environment variables), creates the
        task's site with the lowest unused id and its bindings (https with the
        certificate from LocalMachine\My, SNI when asked) or picks the target
        website, and adds the applications root first with their virtual
        directories. Any failure discards the whole change. A new site that
        then cannot start (a port held by another process) is removed again
        and reported as Conflict. Existing pools or sites are never taken
        over.

    .PARAMETER SiteName
        The site the task owns; empty when TargetWebsite is set.

    .PARAMETER TargetWebsite
        An existing site the applications are added to.

    .PARAMETER DefaultAppPool
        The pool of the site's applicationDefaults; the root application's
        pool, else the first pool, when empty.

    .PARAMETER AppPools
        The pools to create (ps.AppPoolSpec).

    .PARAMETER Applications
        The applications to create (ps.ApplicationSpec).

    .PARAMETER Bindings
        The site's bindings (ps.BindingSpec); none with TargetWebsite.

    .PARAMETER AutoStartProviders
        serviceAutoStartProviders entries to add or update.

    .EXAMPLE
        New-NomadIisTaskSite -SiteName 'nomad-1234-web' -AppPools @([pscustomobject] @{ name = 'nomad-1234-web' }) -Applications @([pscustomobject] @{ alias = ''; physicalPath = 'C:\alloc\web\local'; appPool = 'nomad-1234-web' }) -Bindings @([pscustomobject] @{ protocol = 'http'; ipAddress = '*'; port = 8080 })
    #>
    [CmdletBinding()]
    [OutputType([System.Collections.Specialized.OrderedDictionary])]
    param
    (
        [Parameter()]
        [ValidateLength(0, 260)]
        [System.String]
        $SiteName = '',

        [Parameter()]
        [ValidateLength(0, 260)]
        [System.String]
        $TargetWebsite = '',

        [Parameter()]
        [ValidateLength(0, 64)]
        [System.String]
        $DefaultAppPool = '',

        [Parameter()]
        [AllowNull()]
        [AllowEmptyCollection()]
        [System.Object[]]
        $AppPools = @(),

        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.Object[]]
        $Applications,

        [Parameter()]
        [AllowNull()]
        [AllowEmptyCollection()]
        [System.Object[]]
        $Bindings = @(),

        [Parameter()]
        [AllowNull()]
        [AllowEmptyCollection()]
        [System.Object[]]
        $AutoStartProviders = @()
    )

    $ErrorActionPreference = 'Stop'

    # Everything that can be checked without IIS, before anything changes.
    $ownsSite = $SiteName.Length -gt 0
    if ($ownsSite -eq ($TargetWebsite.Length -gt 0))
    {
        New-NomadIisError -Kind InvalidArgument -Message 'give either siteName or targetWebsite'
    }
    if ($ownsSite)
    {
        Assert-ObjectName -Field 'siteName' -Value $SiteName
    }
    $poolSpecs = @($AppPools | Where-Object -FilterScript { $null -ne $_ })
    $poolNames = @{}
    for ($i = 0; $i -lt $poolSpecs.Length; $i++)
    {
        $field = 'appPools[{0}]' -f $i
        Assert-AppPoolSpec -Field $field -Spec $poolSpecs[$i]
        $key = (Get-StringValue -InputObject $poolSpecs[$i] -Name 'name').ToLowerInvariant()
        if ($poolNames.ContainsKey($key))
        {
            New-NomadIisError -Kind InvalidArgument -Message ("{0}.name: application pool '{1}' is given twice" -f $field, $poolSpecs[$i].name)
        }
        $poolNames[$key] = $true
    }
    $providerSpecs = @($AutoStartProviders | Where-Object -FilterScript { $null -ne $_ })
    for ($i = 0; $i -lt $providerSpecs.Length; $i++)
    {
        if ((Get-StringValue -InputObject $providerSpecs[$i] -Name 'name').Trim().Length -eq 0 -or
            (Get-StringValue -InputObject $providerSpecs[$i] -Name 'type').Trim().Length -eq 0)
        {
            New-NomadIisError -Kind InvalidArgument -Message ('autoStartProviders[{0}]: name and type are required' -f $i)
        }
    }
    $applicationPlans = ConvertTo-ApplicationPlan -Applications $Applications -InTargetWebsite (-not $ownsSite)
    $bindingSpecs = @($Bindings | Where-Object -FilterScript { $null -ne $_ })
    if (-not $ownsSite -and $bindingSpecs.Length -gt 0)
    {
        New-NomadIisError -Kind InvalidArgument -Message ("bindings: a task that adds applications to targetWebsite '{0}' cannot set bindings" -f $TargetWebsite)
    }
    $bindingPlans = ConvertTo-BindingPlan -Bindings $bindingSpecs
    $hasRoot = @($applicationPlans | Where-Object -FilterScript { $_.Alias.Length -eq 0 }).Length -gt 0
    if ($ownsSite -and -not $hasRoot -and $DefaultAppPool.Length -eq 0 -and $poolSpecs.Length -eq 0)
    {
        New-NomadIisError -Kind InvalidArgument -Message 'appPools: a site without a root application needs defaultAppPool or a pool'
    }
    foreach ($binding in $bindingPlans)
    {
        if ($binding.Thumbprint.Length -gt 0 -and -not (Test-Path -LiteralPath ('Cert:\LocalMachine\My\' + $binding.Thumbprint)))
        {
            New-NomadIisError -Kind NotFound -Message ('{0}.certificateThumbprint: certificate {1} is not in the LocalMachine\My store' -f $binding.Field, $binding.Thumbprint)
        }
    }

    $plan = @{
        OwnsSite           = $ownsSite
        SiteName           = $SiteName
        TargetWebsite      = $TargetWebsite
        DefaultAppPool     = $DefaultAppPool
        Pools              = $poolSpecs
        PoolNames          = $poolNames
        Providers          = $providerSpecs
        Applications       = $applicationPlans
        Bindings           = $bindingPlans
        HasRoot            = $hasRoot
        WwwRoot            = Join-Path -Path $env:SystemDrive -ChildPath 'inetpub\wwwroot'
    }

    $result = Invoke-ConfigurationChange -Change {
        param ($serverManager, $plan)

        # Checks against the current configuration.
        foreach ($spec in $plan.Pools)
        {
            if ($null -ne (Find-AppPool -ServerManager $serverManager -Name $spec.name))
            {
                New-NomadIisError -Kind Conflict -Message ("application pool '{0}' already exists" -f $spec.name)
            }
        }
        $poolKnown = {
            param ($name)
            $plan.PoolNames.ContainsKey($name.ToLowerInvariant()) -or ($null -ne (Find-AppPool -ServerManager $serverManager -Name $name))
        }
        if ($plan.DefaultAppPool.Length -gt 0 -and -not (& $poolKnown $plan.DefaultAppPool))
        {
            New-NomadIisError -Kind InvalidArgument -Message ("defaultAppPool: application pool '{0}' does not exist" -f $plan.DefaultAppPool)
        }
        $providerNames = @{}
        foreach ($name in (Get-AutoStartProviderName -ServerManager $serverManager))
        {
            $providerNames[$name.ToLowerInvariant()] = $true
        }
        foreach ($provider in $plan.Providers)
        {
            $providerNames[([System.String] $provider.name).ToLowerInvariant()] = $true
        }
        foreach ($application in $plan.Applications)
        {
            if (-not (& $poolKnown $application.AppPool))
            {
                New-NomadIisError -Kind InvalidArgument -Message ("{0}.appPool: application pool '{1}' does not exist" -f $application.Field, $application.AppPool)
            }
            if ($application.ServiceAutoStartProvider.Length -gt 0 -and -not $providerNames.ContainsKey($application.ServiceAutoStartProvider.ToLowerInvariant()))
            {
                New-NomadIisError -Kind InvalidArgument -Message ("{0}.serviceAutoStartProvider: provider '{1}' is not registered" -f $application.Field, $application.ServiceAutoStartProvider)
            }
        }
        if ($plan.OwnsSite)
        {
            if ($null -ne (Find-Site -ServerManager $serverManager -Name $plan.SiteName))
            {
                New-NomadIisError -Kind Conflict -Message ("website '{0}' already exists" -f $plan.SiteName)
            }
            foreach ($binding in $plan.Bindings)
            {
                Assert-BindingAvailable -ServerManager $serverManager -Plan $binding
            }
        }
        else
        {
            $target = Find-Site -ServerManager $serverManager -Name $plan.TargetWebsite
            if ($null -eq $target)
            {
                New-NomadIisError -Kind NotFound -Message ("targetWebsite: website '{0}' does not exist" -f $plan.TargetWebsite)
            }
            foreach ($application in $plan.Applications)
            {
                if ($null -ne (Find-Application -Site $target -Path $application.Path))
                {
                    New-NomadIisError -Kind Conflict -Message ("{0}: website '{1}' already has an application '{2}'" -f $application.Field, $target.Name, $application.Path)
                }
            }
        }

        # The change.
        $providersSet = New-Object -TypeName System.Collections.Generic.List[System.String]
        foreach ($provider in $plan.Providers)
        {
            Set-AutoStartProvider -ServerManager $serverManager -Name ([System.String] $provider.name).Trim() -Type ([System.String] $provider.type).Trim()
            $providersSet.Add(([System.String] $provider.name).Trim())
        }
        $poolsCreated = New-Object -TypeName System.Collections.Generic.List[System.String]
        for ($i = 0; $i -lt $plan.Pools.Length; $i++)
        {
            $pool = New-AppPoolFromSpec -ServerManager $serverManager -Spec $plan.Pools[$i] -Field ('appPools[{0}]' -f $i)
            $poolsCreated.Add($pool.Name)
        }

        if ($plan.OwnsSite)
        {
            $usedIds = @{}
            foreach ($existing in $serverManager.Sites)
            {
                $usedIds[[System.Int64] $existing.Id] = $true
            }
            $siteId = [System.Int64] 1
            while ($usedIds.ContainsKey($siteId))
            {
                $siteId++
            }
            $defaultPool = $plan.DefaultAppPool
            if ($defaultPool.Length -eq 0)
            {
                $root = @($plan.Applications | Where-Object -FilterScript { $_.Alias.Length -eq 0 })
                if ($root.Length -gt 0)
                {
                    $defaultPool = $root[0].AppPool
                }
                else
                {
                    $defaultPool = [System.String] $plan.Pools[0].name
                }
            }

            $site = $serverManager.Sites.CreateElement('site')
            $site.Name = $plan.SiteName
            $site.Id = $siteId
            $site.ServerAutoStart = $true
            $site.ApplicationDefaults.ApplicationPoolName = $defaultPool
            $null = $serverManager.Sites.Add($site)
            foreach ($binding in $plan.Bindings)
            {
                $element = $site.Bindings.CreateElement('binding')
                $element.Protocol = $binding.Protocol
                $element.BindingInformation = $binding.Information
                if ($binding.Protocol -eq 'https')
                {
                    $element.CertificateHash = ConvertTo-ByteArray -Hex $binding.Thumbprint
                    $element.CertificateStoreName = 'My'
                    if ($binding.RequireSni)
                    {
                        # SslFlags.Sni
                        $element.SslFlags = 1
                    }
                }
                $null = $site.Bindings.Add($element)
            }
            if (-not $plan.HasRoot)
            {
                # As for a site made without a root application in IIS
                # Manager: the root serves inetpub\wwwroot on the default pool.
                $rootApplication = $site.Applications.Add('/', $plan.WwwRoot)
                $rootApplication.ApplicationPoolName = $defaultPool
            }
        }
        else
        {
            $site = Find-Site -ServerManager $serverManager -Name $plan.TargetWebsite
            $siteId = [System.Int64] $site.Id
        }

        $aliases = New-Object -TypeName System.Collections.Generic.List[System.String]
        foreach ($application in $plan.Applications)
        {
            Add-TaskSiteApplication -Site $site -Plan $application
            $aliases.Add($application.Alias)
        }

        return [ordered] @{
            siteName           = [System.String] $site.Name
            siteId             = $siteId
            appPools           = $poolsCreated.ToArray()
            applications       = $aliases.ToArray()
            autoStartProviders = $providersSet.ToArray()
        }
    } -Plan $plan

    if ($ownsSite)
    {
        $failure = Wait-TaskSiteStart -SiteName $SiteName
        if ($failure.Length -gt 0)
        {
            $cleanup = ''
            try
            {
                $null = Invoke-ConfigurationChange -Change {
                    param ($serverManager, $plan)
                    Remove-TaskSiteConfiguration -ServerManager $serverManager -SiteName $plan.SiteName -TargetWebsite '' -ApplicationAliases @() -AppPools $plan.AppPools -AutoStartProviders $plan.AutoStartProviders
                } -Plan @{ SiteName = $SiteName; AppPools = $result.appPools; AutoStartProviders = $result.autoStartProviders }
            }
            catch
            {
                $cleanup = '; removing it again failed: ' + (Get-InnermostMessage -ErrorRecord $_)
            }
            New-NomadIisError -Kind Conflict -Message ("website '{0}' could not start (is a port of its bindings used by another process?): {1}{2}" -f $SiteName, $failure, $cleanup)
        }
    }
    return $result
}

function Remove-NomadIisTaskSite
{
    <#
    .SYNOPSIS
        Removes what New-NomadIisTaskSite created, and only that, in one
        commit; then the managed certificates no binding uses any more
        (operation RemoveTaskSite).

    .DESCRIPTION
        Every name is optional, and what does not exist any more is skipped,
        so the operation can be repeated. Auto-start providers stay while an
        application of any site names them. Certificates are removed only
        when their friendly name marks them as managed ("[MBN] ") and no
        binding of any site uses them.

    .PARAMETER SiteName
        The task's own site.

    .PARAMETER TargetWebsite
        The site the task added applications to.

    .PARAMETER ApplicationAliases
        The aliases of those applications.

    .PARAMETER AppPools
        The task's pools.

    .PARAMETER AutoStartProviders
        The providers the task registered.

    .PARAMETER Certificates
        Thumbprints of the certificates the task imported.

    .EXAMPLE
        Remove-NomadIisTaskSite -SiteName 'nomad-1234-web' -AppPools 'nomad-1234-web'
    #>
    [CmdletBinding()]
    [OutputType([System.Collections.Specialized.OrderedDictionary])]
    param
    (
        [Parameter()]
        [ValidateLength(0, 260)]
        [System.String]
        $SiteName = '',

        [Parameter()]
        [ValidateLength(0, 260)]
        [System.String]
        $TargetWebsite = '',

        [Parameter()]
        [AllowNull()]
        [AllowEmptyCollection()]
        [System.String[]]
        $ApplicationAliases = @(),

        [Parameter()]
        [AllowNull()]
        [AllowEmptyCollection()]
        [System.String[]]
        $AppPools = @(),

        [Parameter()]
        [AllowNull()]
        [AllowEmptyCollection()]
        [System.String[]]
        $AutoStartProviders = @(),

        [Parameter()]
        [AllowNull()]
        [AllowEmptyCollection()]
        [System.String[]]
        $Certificates = @()
    )

    $ErrorActionPreference = 'Stop'
    $plan = @{
        SiteName           = $SiteName
        TargetWebsite      = $TargetWebsite
        ApplicationAliases = @($ApplicationAliases | Where-Object -FilterScript { $null -ne $_ })
        AppPools           = @($AppPools | Where-Object -FilterScript { -not [System.String]::IsNullOrEmpty($_) })
        AutoStartProviders = @($AutoStartProviders | Where-Object -FilterScript { -not [System.String]::IsNullOrEmpty($_) })
    }
    $null = Invoke-ConfigurationChange -Change {
        param ($serverManager, $plan)
        Remove-TaskSiteConfiguration -ServerManager $serverManager -SiteName $plan.SiteName -TargetWebsite $plan.TargetWebsite -ApplicationAliases $plan.ApplicationAliases -AppPools $plan.AppPools -AutoStartProviders $plan.AutoStartProviders
    } -Plan $plan

    $removed = New-Object -TypeName System.Collections.Generic.List[System.String]
    $kept = New-Object -TypeName System.Collections.Generic.List[System.String]
    if ($null -ne $Certificates -and $Certificates.Length -gt 0)
    {
        $serverManager = Get-ServerManager
        foreach ($text in $Certificates)
        {
            $thumbprint = ConvertTo-Thumbprint -Value ([System.String] $text)
            if ($thumbprint.Length -eq 0)
            {
                continue
            }
            $outcome = Remove-ManagedCertificate -ServerManager $serverManager -Thumbprint $thumbprint
            if (-not $outcome.Found)
            {
                continue
            }
            if ($outcome.Removed)
            {
                $removed.Add($thumbprint)
            }
            else
            {
                $kept.Add($thumbprint)
            }
        }
    }
    return [ordered] @{
        removedCertificates = $removed.ToArray()
        keptCertificates    = $kept.ToArray()
    }
}

function Get-NomadIisWebsite
{
    <#
    .SYNOPSIS
        Reports a site's id, state, bindings, applications and request log
        directory (operation GetWebsite); NotFound when it does not exist.

    .PARAMETER Name
        The site's name.

    .EXAMPLE
        Get-NomadIisWebsite -Name 'nomad-1234-web'
    #>
    [CmdletBinding()]
    [OutputType([System.Collections.Specialized.OrderedDictionary])]
    param
    (
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [ValidateLength(1, 260)]
        [System.String]
        $Name
    )

    $ErrorActionPreference = 'Stop'
    $site = Find-Site -ServerManager (Get-ServerManager) -Name $Name
    if ($null -eq $site)
    {
        New-NomadIisError -Kind NotFound -Message ("website '{0}' does not exist" -f $Name)
    }

    $bindings = New-Object -TypeName System.Collections.Generic.List[System.Object]
    foreach ($binding in $site.Bindings)
    {
        $protocol = [System.String] $binding.Protocol
        $endpoint = ConvertFrom-BindingInformation -Information ([System.String] $binding.BindingInformation)
        $requireSni = $false
        $thumbprint = ''
        if ($protocol -eq 'https')
        {
            $thumbprint = Get-BindingThumbprint -Binding $binding
            try
            {
                $requireSni = (([System.Int32] $binding.GetAttributeValue('sslFlags')) -band 1) -eq 1
            }
            catch
            {
                $requireSni = $false
            }
        }
        $bindings.Add([ordered] @{
                protocol              = $protocol
                ipAddress             = $endpoint.IPAddress
                port                  = $endpoint.Port
                hostname              = $endpoint.Hostname
                requireSni            = $requireSni
                certificateThumbprint = $thumbprint
            })
    }

    $applications = New-Object -TypeName System.Collections.Generic.List[System.Object]
    foreach ($application in $site.Applications)
    {
        $directories = New-Object -TypeName System.Collections.Generic.List[System.Object]
        foreach ($directory in $application.VirtualDirectories)
        {
            $directories.Add([ordered] @{
                    path         = [System.String] $directory.Path
                    physicalPath = [System.Environment]::ExpandEnvironmentVariables([System.String] $directory.PhysicalPath)
                })
        }
        $applications.Add([ordered] @{
                path               = [System.String] $application.Path
                appPool            = [System.String] $application.ApplicationPoolName
                virtualDirectories = $directories.ToArray()
            })
    }

    $logDirectory = [System.Environment]::ExpandEnvironmentVariables([System.String] $site.LogFile.Directory)
    return [ordered] @{
        name         = [System.String] $site.Name
        id           = [System.Int64] $site.Id
        state        = Get-ObjectStateName -InputObject $site
        bindings     = $bindings.ToArray()
        applications = $applications.ToArray()
        logDirectory = Join-Path -Path $logDirectory -ChildPath ('W3SVC{0}' -f $site.Id)
    }
}
