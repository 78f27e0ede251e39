<#
    The checks of a NewTaskSite request and its plan: the request's
    bindings and applications validated and normalised before anything
    changes, and the binding helpers shared with the reports. Dot-sourced by
    NomadIis.psm1.
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
        # pscheck: checked New-TaskSitePlan drops $null entries first
        [Parameter(Mandatory = $true)]
        [AllowEmptyCollection()]
        [System.Object[]]
        $Bindings
    )

    $ErrorActionPreference = 'Stop'
    $plans = New-Object -TypeName System.Collections.Generic.List[System.Object]
    $seen = @{}
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
        foreach ($earlier in $plans)
        {
            if ($earlier.Port -eq $port -and $earlier.Protocol -ne $protocol -and (Test-IPAddressOverlap -Left $earlier.IPAddress -Right $ipAddress))
            {
                New-NomadIisError -Kind InvalidArgument -Message ('bindings: port {0} is given for both http and https' -f $port)
            }
        }

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

        if ($protocol -eq 'https')
        {
            # HTTP.sys holds one certificate per IP address and port without
            # SNI, and one per host name and port with SNI: two bindings of
            # the site on one registration must name the same certificate.
            foreach ($earlier in $plans)
            {
                if ($earlier.Protocol -ne 'https' -or $earlier.Port -ne $port -or $earlier.Thumbprint -eq $thumbprint -or $earlier.RequireSni -ne $requireSni)
                {
                    continue
                }
                if (($requireSni -and $earlier.Hostname -eq $hostname) -or
                    (-not $requireSni -and (Test-IPAddressOverlap -Left $earlier.IPAddress -Right $ipAddress)))
                {
                    New-NomadIisError -Kind InvalidArgument -Message ('{0}.certificateThumbprint: {1} shares its TLS endpoint with {2}, which names another certificate; HTTP.sys keeps one certificate per IP address and port (per host name and port with requireSni)' -f $field, $information, $earlier.Field)
                }
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
        # pscheck: checked New-NomadIisTaskSite refused an empty list and $null entries
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

function Test-IPAddressOverlap
{
    <#
    .SYNOPSIS
        Tells whether two binding addresses can receive the same connection:
        equal addresses, or either one "*" (or 0.0.0.0, ::), which listens on
        every address.
    #>
    [CmdletBinding()]
    [OutputType([System.Boolean])]
    param
    (
        [Parameter(Mandatory = $true)]
        [AllowEmptyString()]
        [System.String]
        $Left,

        [Parameter(Mandatory = $true)]
        [AllowEmptyString()]
        [System.String]
        $Right
    )

    $ErrorActionPreference = 'Stop'
    $everyAddress = @('', '*', '0.0.0.0', '::')
    if ($everyAddress -contains $Left -or $everyAddress -contains $Right)
    {
        return $true
    }
    return (Test-NameEqual -Left $Left -Right $Right)
}

function Test-BindingSni
{
    <#
    .SYNOPSIS
        Tells whether an https binding of the configuration requires SNI
        (sslFlags has the Sni bit, 1).
    #>
    [CmdletBinding()]
    [OutputType([System.Boolean])]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.Object]
        $Binding
    )

    $ErrorActionPreference = 'Stop'
    try
    {
        return ((([System.Int32] $Binding.GetAttributeValue('sslFlags')) -band 1) -eq 1)
    }
    catch
    {
        return $false
    }
}

function Get-SslEndpointKey
{
    <#
    .SYNOPSIS
        Returns the key of the HTTP.sys certificate registration an https
        binding uses: "sni:<host>:<port>" with SNI (the IP address plays no
        part), else "ip:<address>:<port>" with "*" written as 0.0.0.0.
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
    $endpoint = ConvertFrom-BindingInformation -Information ([System.String] $Binding.BindingInformation)
    if (Test-BindingSni -Binding $Binding)
    {
        return ('sni:{0}:{1}' -f $endpoint.Hostname.ToLowerInvariant(), $endpoint.Port)
    }
    $address = $endpoint.IPAddress
    if ($address -eq '*')
    {
        $address = '0.0.0.0'
    }
    return ('ip:{0}:{1}' -f $address.ToLowerInvariant(), $endpoint.Port)
}

function Assert-BindingAvailable
{
    <#
    .SYNOPSIS
        Fails with Conflict when another site already has a binding the new
        site needs or would damage: the same address, port and host name;
        an overlapping address ("*" overlaps every address) and the same
        port with the other protocol; for https without SNI, any https
        binding without SNI on an overlapping address and the same port
        (HTTP.sys holds one certificate per IP address and port, and
        Microsoft.Web.Administration changes or deletes that registration
        for every site on it, KB2405568); for https with SNI, an SNI binding
        with the same host name and port whatever its address (SNI
        registrations are keyed by host name and port).
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
            if ($existing.Port -ne $Plan.Port)
            {
                continue
            }
            $existingSni = $protocol -eq 'https' -and (Test-BindingSni -Binding $binding)
            if ($Plan.Protocol -eq 'https' -and $Plan.RequireSni -and $existingSni -and (Test-NameEqual -Left $existing.Hostname -Right $Plan.Hostname))
            {
                New-NomadIisError -Kind Conflict -Message ("binding {0}: the SNI certificate of {1}:{2} is registered by website '{3}' (HTTP.sys keys SNI certificates by host name and port, whatever the IP address)" -f $Plan.Information, $Plan.Hostname, $Plan.Port, $site.Name)
            }
            if (-not (Test-IPAddressOverlap -Left $existing.IPAddress -Right $Plan.IPAddress))
            {
                continue
            }
            if ($protocol -ne $Plan.Protocol)
            {
                New-NomadIisError -Kind Conflict -Message ("port {0} is used by an {1} binding of website '{2}'" -f $Plan.Port, $protocol, $site.Name)
            }
            if ((Test-NameEqual -Left $existing.IPAddress -Right $Plan.IPAddress) -and (Test-NameEqual -Left $existing.Hostname -Right $Plan.Hostname))
            {
                New-NomadIisError -Kind Conflict -Message ("binding {0} is used by website '{1}'" -f $Plan.Information, $site.Name)
            }
            if ($Plan.Protocol -eq 'https' -and -not $Plan.RequireSni -and -not $existingSni)
            {
                New-NomadIisError -Kind Conflict -Message ("binding {0}: website '{1}' has an https binding without SNI on {2}:{3}, and HTTP.sys holds one certificate per IP address and port; give the https bindings a host name with requireSni" -f $Plan.Information, $site.Name, $existing.IPAddress, $Plan.Port)
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
        # pscheck: checked only for https bindings, which the plan refuses without a thumbprint
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

function New-TaskSitePlan
{
    <#
    .SYNOPSIS
        Checks a NewTaskSite request as far as it can be checked without IIS
        and returns the plan the change works from: the pools, providers,
        applications and bindings, validated and normalised.
    #>
    [CmdletBinding()]
    [OutputType([System.Collections.Hashtable])]
    param
    (
        [Parameter(Mandatory = $true)]
        [AllowEmptyString()]
        [System.String]
        $SiteName,

        [Parameter(Mandatory = $true)]
        [AllowEmptyString()]
        [System.String]
        $TargetWebsite,

        [Parameter(Mandatory = $true)]
        [AllowEmptyString()]
        [System.String]
        $DefaultAppPool,

        [Parameter(Mandatory = $true)]
        [AllowNull()]
        [AllowEmptyCollection()]
        [System.Object[]]
        $AppPools,

        # pscheck: checked New-NomadIisTaskSite refused an empty list and $null entries
        [Parameter(Mandatory = $true)]
        [System.Object[]]
        $Applications,

        [Parameter(Mandatory = $true)]
        [AllowNull()]
        [AllowEmptyCollection()]
        [System.Object[]]
        $Bindings,

        [Parameter(Mandatory = $true)]
        [AllowNull()]
        [AllowEmptyCollection()]
        [System.Object[]]
        $AutoStartProviders
    )

    $ErrorActionPreference = 'Stop'
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
        $name = Get-StringValue -InputObject $poolSpecs[$i] -Name 'name'
        if ($poolNames.ContainsKey($name.ToLowerInvariant()))
        {
            New-NomadIisError -Kind InvalidArgument -Message ("{0}.name: application pool '{1}' is given twice" -f $field, $name)
        }
        $poolNames[$name.ToLowerInvariant()] = $true
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
    $hasRoot = @($applicationPlans | Where-Object -FilterScript { $_.Alias.Length -eq 0 }).Length -gt 0
    if ($ownsSite -and -not $hasRoot -and $DefaultAppPool.Length -eq 0 -and $poolSpecs.Length -eq 0)
    {
        New-NomadIisError -Kind InvalidArgument -Message 'appPools: a site without a root application needs defaultAppPool or a pool'
    }

    $bindingSpecs = @($Bindings | Where-Object -FilterScript { $null -ne $_ })
    if (-not $ownsSite -and $bindingSpecs.Length -gt 0)
    {
        New-NomadIisError -Kind InvalidArgument -Message ("bindings: a task that adds applications to targetWebsite '{0}' cannot set bindings" -f $TargetWebsite)
    }
    $bindingPlans = ConvertTo-BindingPlan -Bindings $bindingSpecs
    foreach ($binding in $bindingPlans)
    {
        if ($binding.Thumbprint.Length -gt 0 -and $null -eq (Get-StoreCertificate -Thumbprint $binding.Thumbprint))
        {
            New-NomadIisError -Kind NotFound -Message ('{0}.certificateThumbprint: certificate {1} is not in the LocalMachine\My store' -f $binding.Field, $binding.Thumbprint)
        }
    }

    return @{
        OwnsSite       = $ownsSite
        SiteName       = $SiteName
        TargetWebsite  = $TargetWebsite
        DefaultAppPool = $DefaultAppPool
        Pools          = $poolSpecs
        PoolNames      = $poolNames
        Providers      = $providerSpecs
        Applications   = $applicationPlans
        Bindings       = $bindingPlans
        HasRoot        = $hasRoot
        WwwRoot        = Join-Path -Path $env:SystemDrive -ChildPath 'inetpub\wwwroot'
    }
}

function Select-AutoStartProviderToAdd
{
    <#
    .SYNOPSIS
        Picks, from the auto-start providers a task asks for, the ones to
        register: those whose name no registered provider has.

    .DESCRIPTION
        A provider registered already (by an administrator or another task)
        with the same type is used as it is and not picked, so the task
        never reports it as its own and its removal never removes it. One
        with another type is a Conflict: a task never rewrites a provider it
        did not create. Names are compared as IIS does
        (serviceAutoStartProviders/add/@name is caseSensitive="true"),
        types ordinally. Nothing is read from or written to IIS here.

    .PARAMETER Registered
        The registered providers: objects with Name and Type
        (Get-AutoStartProvider).

    .PARAMETER Requested
        The providers the task asks for: objects with name and type, neither
        blank (New-TaskSitePlan checked them).

    .OUTPUTS
        The names of the providers to register, in the order asked for.
    #>
    [CmdletBinding()]
    [OutputType([System.String[]])]
    param
    (
        [Parameter(Mandatory = $true)]
        [AllowNull()]
        [AllowEmptyCollection()]
        [System.Object[]]
        $Registered,

        [Parameter(Mandatory = $true)]
        [AllowNull()]
        [AllowEmptyCollection()]
        [System.Object[]]
        $Requested
    )

    $ErrorActionPreference = 'Stop'
    $toAdd = New-Object -TypeName System.Collections.Generic.List[System.String]
    $seen = New-Object -TypeName 'System.Collections.Generic.HashSet[System.String]' -ArgumentList ([System.StringComparer]::Ordinal)
    $registeredProviders = @($Registered | Where-Object -FilterScript { $null -ne $_ })
    $requestedProviders = @($Requested | Where-Object -FilterScript { $null -ne $_ })
    for ($i = 0; $i -lt $requestedProviders.Length; $i++)
    {
        $name = ([System.String] $requestedProviders[$i].name).Trim()
        $type = ([System.String] $requestedProviders[$i].type).Trim()
        if (-not $seen.Add($name))
        {
            New-NomadIisError -Kind InvalidArgument -Message ("autoStartProviders[{0}].name: provider '{1}' is given twice" -f $i, $name)
        }
        $existing = @($registeredProviders | Where-Object -FilterScript { Test-ProviderNameEqual -Left ([System.String] $_.Name) -Right $name })
        if ($existing.Length -eq 0)
        {
            $toAdd.Add($name)
            continue
        }
        $registeredType = [System.String] $existing[0].Type
        if (-not [System.String]::Equals($registeredType, $type, [System.StringComparison]::Ordinal))
        {
            New-NomadIisError -Kind Conflict -Message ("autoStartProviders[{0}]: provider '{1}' is registered already with type '{2}', not '{3}'; a task never rewrites a provider it did not create (use that type, or another name)" -f $i, $name, $registeredType, $type)
        }
    }
    return , $toAdd.ToArray()
}

function Assert-TaskSiteApplicable
{
    <#
    .SYNOPSIS
        Checks a NewTaskSite plan against the current configuration: the
        pools and the site must not exist yet (Conflict), the target website
        must (NotFound) and must not have the applications yet (Conflict),
        a provider registered already must have the type asked for
        (Conflict), every pool and auto-start provider named must exist or
        be created, and no other site may hold the bindings (Conflict).
    #>
    [CmdletBinding()]
    [OutputType([System.Void])]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.Object]
        $ServerManager,

        [Parameter(Mandatory = $true)]
        [System.Collections.Hashtable]
        $Plan
    )

    $ErrorActionPreference = 'Stop'
    foreach ($spec in $Plan.Pools)
    {
        $name = Get-StringValue -InputObject $spec -Name 'name'
        if ($null -ne (Find-AppPool -ServerManager $ServerManager -Name $name))
        {
            New-NomadIisError -Kind Conflict -Message ("application pool '{0}' already exists" -f $name)
        }
    }
    $poolNames = @{}
    foreach ($pool in $ServerManager.ApplicationPools)
    {
        $poolNames[$pool.Name.ToLowerInvariant()] = $true
    }
    foreach ($name in $Plan.PoolNames.Keys)
    {
        $poolNames[$name] = $true
    }
    if ($Plan.DefaultAppPool.Length -gt 0 -and -not $poolNames.ContainsKey($Plan.DefaultAppPool.ToLowerInvariant()))
    {
        New-NomadIisError -Kind InvalidArgument -Message ("defaultAppPool: application pool '{0}' does not exist" -f $Plan.DefaultAppPool)
    }

    # Provider names are case-sensitive in the IIS schema
    # (serviceAutoStartProviders/add/@name caseSensitive="true"): an
    # application naming "Warmup" does not find "warmup".
    $providerNames = New-Object -TypeName 'System.Collections.Generic.HashSet[System.String]' -ArgumentList ([System.StringComparer]::Ordinal)
    $registered = Get-AutoStartProvider -ServerManager $ServerManager
    # A provider registered before the task is used as it is: asking for it
    # with another type is a Conflict, found before anything changes.
    $null = Select-AutoStartProviderToAdd -Registered $registered -Requested $Plan.Providers
    foreach ($provider in $registered)
    {
        $null = $providerNames.Add($provider.Name)
    }
    foreach ($provider in $Plan.Providers)
    {
        $null = $providerNames.Add(([System.String] $provider.name).Trim())
    }
    foreach ($application in $Plan.Applications)
    {
        if (-not $poolNames.ContainsKey($application.AppPool.ToLowerInvariant()))
        {
            New-NomadIisError -Kind InvalidArgument -Message ("{0}.appPool: application pool '{1}' does not exist" -f $application.Field, $application.AppPool)
        }
        if ($application.ServiceAutoStartProvider.Length -gt 0 -and -not $providerNames.Contains($application.ServiceAutoStartProvider))
        {
            New-NomadIisError -Kind InvalidArgument -Message ("{0}.serviceAutoStartProvider: provider '{1}' is not registered (provider names are case-sensitive)" -f $application.Field, $application.ServiceAutoStartProvider)
        }
    }

    if ($Plan.OwnsSite)
    {
        if ($null -ne (Find-Site -ServerManager $ServerManager -Name $Plan.SiteName))
        {
            New-NomadIisError -Kind Conflict -Message ("website '{0}' already exists" -f $Plan.SiteName)
        }
        foreach ($binding in $Plan.Bindings)
        {
            Assert-BindingAvailable -ServerManager $ServerManager -Plan $binding
        }
        return
    }
    $target = Find-Site -ServerManager $ServerManager -Name $Plan.TargetWebsite
    if ($null -eq $target)
    {
        New-NomadIisError -Kind NotFound -Message ("targetWebsite: website '{0}' does not exist" -f $Plan.TargetWebsite)
    }
    foreach ($application in $Plan.Applications)
    {
        if ($null -ne (Find-Application -Site $target -Path $application.Path))
        {
            New-NomadIisError -Kind Conflict -Message ("{0}: website '{1}' already has an application '{2}'" -f $application.Field, $target.Name, $application.Path)
        }
    }
}
