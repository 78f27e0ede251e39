<#
    A task's IIS objects: its pools, its own site (or applications in a
    target website), applications, virtual directories, bindings and
    auto-start providers, created and removed in one commit each.
    Dot-sourced by NomadIis.psm1.
#>

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

function Add-AutoStartProvider
{
    <#
    .SYNOPSIS
        Registers a serviceAutoStartProviders entry. The caller has checked
        that no provider of that name is registered
        (Select-AutoStartProviderToAdd): a task never rewrites a provider it
        did not create. Nothing is committed here.
    #>
    [CmdletBinding()]
    [OutputType([System.Void])]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.Object]
        $ServerManager,

        # pscheck: checked New-TaskSitePlan refuses a blank provider name first
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $Name,

        # pscheck: checked New-TaskSitePlan refuses a blank provider type first
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $Type
    )

    $ErrorActionPreference = 'Stop'
    $providers = $ServerManager.GetApplicationHostConfiguration().GetSection('system.applicationHost/serviceAutoStartProviders').GetCollection()
    $provider = $providers.CreateElement('add')
    $provider.SetAttributeValue('name', $Name)
    $provider.SetAttributeValue('type', $Type)
    $null = $providers.Add($provider)
}

function Get-AutoStartProvider
{
    <#
    .SYNOPSIS
        Lists the registered serviceAutoStartProviders: objects with the
        provider's Name and Type.
    #>
    [CmdletBinding()]
    [OutputType([System.Object[]])]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.Object]
        $ServerManager
    )

    $ErrorActionPreference = 'Stop'
    $registered = New-Object -TypeName System.Collections.Generic.List[System.Object]
    $providers = $ServerManager.GetApplicationHostConfiguration().GetSection('system.applicationHost/serviceAutoStartProviders').GetCollection()
    foreach ($provider in $providers)
    {
        $registered.Add([pscustomobject] @{
                Name = [System.String] $provider.GetAttributeValue('name')
                Type = [System.String] $provider.GetAttributeValue('type')
            })
    }
    return , $registered.ToArray()
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

        # pscheck: checked the caller tests IsNullOrEmpty first
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
            if (Test-ProviderNameEqual -Left ([System.String] $application.GetAttributeValue('serviceAutoStartProvider')) -Right $Name)
            {
                return $true
            }
        }
    }
    return $false
}

function Remove-SharedSslBinding
{
    <#
    .SYNOPSIS
        Removes from the configuration only (BindingCollection.Remove with
        removeConfigOnly) the https bindings of a site whose HTTP.sys
        certificate registration another site still uses, so that removing
        the site does not delete that registration under the other site
        (KB2405568). Nothing is committed here.
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
        $Site
    )

    $ErrorActionPreference = 'Stop'
    $othersKeys = New-Object -TypeName 'System.Collections.Generic.HashSet[System.String]' -ArgumentList ([System.StringComparer]::OrdinalIgnoreCase)
    foreach ($other in $ServerManager.Sites)
    {
        if (Test-NameEqual -Left ([System.String] $other.Name) -Right ([System.String] $Site.Name))
        {
            continue
        }
        foreach ($binding in $other.Bindings)
        {
            if (([System.String] $binding.Protocol) -eq 'https')
            {
                $null = $othersKeys.Add((Get-SslEndpointKey -Binding $binding))
            }
        }
    }
    $shared = New-Object -TypeName System.Collections.Generic.List[System.Object]
    foreach ($binding in $Site.Bindings)
    {
        if (([System.String] $binding.Protocol) -eq 'https' -and $othersKeys.Contains((Get-SslEndpointKey -Binding $binding)))
        {
            $shared.Add($binding)
        }
    }
    foreach ($binding in $shared)
    {
        $Site.Bindings.Remove($binding, $true)
    }
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
            Remove-SharedSslBinding -ServerManager $ServerManager -Site $site
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
                if (Test-ProviderNameEqual -Left ([System.String] $provider.GetAttributeValue('name')) -Right $name)
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
        stopped, then checks that IIS reports it Started. Returns '' when the
        site runs (or its state cannot be read), else why it could not start,
        such as a port another process holds.
    #>
    [CmdletBinding()]
    [OutputType([System.String])]
    param
    (
        # pscheck: checked called only when the plan owns the site, which means siteName is not empty
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
            }
            catch
            {
                return (Get-InnermostMessage -ErrorRecord $_)
            }
            # Start() is not documented to throw on every failure: the
            # site counts as running only when IIS reports it Started.
            $after = Find-Site -ServerManager (Get-ServerManager) -Name $SiteName
            if ($null -eq $after)
            {
                return ''
            }
            $afterState = Get-ObjectStateName -InputObject $after
            if ($afterState -eq 'Started' -or $afterState -eq 'Unknown')
            {
                return ''
            }
            if ($afterState -eq 'Starting')
            {
                continue
            }
            return ("IIS reports the site {0} after Start()" -f $afterState)
        }
        if ([System.DateTime]::UtcNow -ge $deadline)
        {
            return ''
        }
        Start-Sleep -Milliseconds 250
    }
}

function Add-TaskSiteConfiguration
{
    <#
    .SYNOPSIS
        Makes the changes of a checked NewTaskSite plan on the server
        manager: auto-start providers, pools, the site with its bindings (or
        the target website), and the applications. Nothing is committed here.

    .OUTPUTS
        Result, the operation's answer, and AddedProviders, the auto-start
        providers that did not exist before: the only ones the answer lists
        and the ones a rollback removes.
    #>
    [CmdletBinding()]
    [OutputType([System.Management.Automation.PSCustomObject])]
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
    # Only the providers no registration has the name of are registered and
    # reported: one that exists already is used as it is, and the task's
    # removal must never remove it.
    $providersAdded = Select-AutoStartProviderToAdd -Registered (Get-AutoStartProvider -ServerManager $ServerManager) -Requested $Plan.Providers
    foreach ($provider in $Plan.Providers)
    {
        $name = ([System.String] $provider.name).Trim()
        if ($providersAdded -ccontains $name)
        {
            Add-AutoStartProvider -ServerManager $ServerManager -Name $name -Type ([System.String] $provider.type).Trim()
        }
    }
    $poolsCreated = New-Object -TypeName System.Collections.Generic.List[System.String]
    for ($i = 0; $i -lt $Plan.Pools.Length; $i++)
    {
        $pool = New-AppPoolFromSpec -ServerManager $ServerManager -Spec $Plan.Pools[$i] -Field ('appPools[{0}]' -f $i)
        $poolsCreated.Add($pool.Name)
    }

    if ($Plan.OwnsSite)
    {
        $site = Add-TaskSiteWebsite -ServerManager $ServerManager -Plan $Plan
    }
    else
    {
        $site = Find-Site -ServerManager $ServerManager -Name $Plan.TargetWebsite
    }
    $aliases = New-Object -TypeName System.Collections.Generic.List[System.String]
    foreach ($application in $Plan.Applications)
    {
        Add-TaskSiteApplication -Site $site -Plan $application
        $aliases.Add($application.Alias)
    }

    return [pscustomobject] @{
        Result         = [ordered] @{
            siteName           = [System.String] $site.Name
            siteId             = [System.Int64] $site.Id
            appPools           = $poolsCreated.ToArray()
            applications       = $aliases.ToArray()
            autoStartProviders = [System.String[]] @($providersAdded)
        }
        AddedProviders = [System.String[]] @($providersAdded)
    }
}

function Add-TaskSiteWebsite
{
    <#
    .SYNOPSIS
        Adds the task's own site to the server manager: the lowest unused
        id, the default pool, the bindings (https ones with their
        certificate, SNI when asked) and, when the task has no root
        application, a root application on inetpub\wwwroot as IIS Manager
        makes it. Nothing is committed here.
    #>
    [CmdletBinding()]
    [OutputType([System.Object])]
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
    $usedIds = @{}
    foreach ($existing in $ServerManager.Sites)
    {
        $usedIds[[System.Int64] $existing.Id] = $true
    }
    $siteId = [System.Int64] 1
    while ($usedIds.ContainsKey($siteId))
    {
        $siteId = $siteId + 1
    }

    $defaultPool = $Plan.DefaultAppPool
    if ($defaultPool.Length -eq 0)
    {
        $root = @($Plan.Applications | Where-Object -FilterScript { $_.Alias.Length -eq 0 })
        if ($root.Length -gt 0)
        {
            $defaultPool = $root[0].AppPool
        }
        else
        {
            $defaultPool = [System.String] $Plan.Pools[0].name
        }
    }

    $site = $ServerManager.Sites.CreateElement('site')
    $site.Name = $Plan.SiteName
    $site.Id = $siteId
    $site.ServerAutoStart = $true
    $site.ApplicationDefaults.ApplicationPoolName = $defaultPool
    $null = $ServerManager.Sites.Add($site)

    foreach ($binding in $Plan.Bindings)
    {
        $element = $site.Bindings.CreateElement('binding')
        $element.Protocol = $binding.Protocol
        $element.BindingInformation = $binding.Information
        if ($binding.Protocol -eq 'https')
        {
            # Microsoft.Web.Administration registers the certificate with
            # HTTP.sys for the binding's endpoint when the change is committed.
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

    if (-not $Plan.HasRoot)
    {
        $rootApplication = $site.Applications.Add('/', $Plan.WwwRoot)
        $rootApplication.ApplicationPoolName = $defaultPool
    }
    return $site
}

function Undo-FailedTaskSiteCommit
{
    <#
    .SYNOPSIS
        The failure path of a NewTaskSite commit: removes, in a commit of its
        own, everything that carries the task's names, then fails with
        Unavailable so that the driver removes them as well.

    .DESCRIPTION
        Microsoft.Web.Administration registers https certificates with
        HTTP.sys inside CommitChanges, and whether applicationHost.config
        was already written when that fails is not documented. Discarding
        the change is therefore not enough: the configuration is read
        again and the task's site, the pools it created, the applications
        it added to a target website and the providers it registered are
        removed (all of them were checked not to exist before the change).
        The error is Unavailable whatever the outcome: the driver then
        removes the site and pools by name once more and may retry the
        task, and nothing of the task is left behind.
    #>
    [CmdletBinding()]
    [OutputType([System.Void])]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.Collections.Hashtable]
        $Plan,

        [Parameter(Mandatory = $true)]
        [System.Management.Automation.ErrorRecord]
        $Failure
    )

    $ErrorActionPreference = 'Stop'
    $created = $Plan['Created']
    $aliases = @()
    if (-not $Plan.OwnsSite)
    {
        $aliases = @($created.Result.applications)
    }
    $cleanup = 'the objects it created were removed again'
    try
    {
        $null = Invoke-ConfigurationChange -Change {
            param ($serverManager, $undo)
            Remove-TaskSiteConfiguration -ServerManager $serverManager -SiteName $undo.SiteName -TargetWebsite $undo.TargetWebsite `
                -ApplicationAliases $undo.ApplicationAliases -AppPools $undo.AppPools -AutoStartProviders $undo.AutoStartProviders
        } -Plan @{
            SiteName           = $(if ($Plan.OwnsSite) { $Plan.SiteName } else { '' })
            TargetWebsite      = $(if ($Plan.OwnsSite) { '' } else { $Plan.TargetWebsite })
            ApplicationAliases = [System.String[]] @($aliases)
            AppPools           = [System.String[]] @($created.Result.appPools)
            AutoStartProviders = [System.String[]] @($created.AddedProviders)
        }
    }
    catch
    {
        $cleanup = 'removing the objects it may have created failed too: ' + (Get-InnermostMessage -ErrorRecord $_)
    }
    New-NomadIisError -Kind Unavailable -Message ('the IIS configuration change could not be committed: {0}; {1}' -f (Get-InnermostMessage -ErrorRecord $Failure), $cleanup) -InnerException $Failure.Exception
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
        directories. Any failure discards the whole change; when the commit
        itself fails, everything carrying the task's names is removed in a
        new commit and the error is Unavailable (Undo-FailedTaskSiteCommit).
        A new site that then cannot start (a port held by another process)
        is removed again and reported as Conflict. Existing pools or sites are never taken
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
        serviceAutoStartProviders entries to register. One registered already
        with the same name and type is used as it is and not listed in the
        answer; one with another type is a Conflict.

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

        # pscheck: checked operation entry point: host.ps1 answers the binder refusal on the operation itself with InvalidArgument naming the parameter
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
    $plan = New-TaskSitePlan -SiteName $SiteName -TargetWebsite $TargetWebsite -DefaultAppPool $DefaultAppPool `
        -AppPools $AppPools -Applications $Applications -Bindings $Bindings -AutoStartProviders $AutoStartProviders

    try
    {
        $created = Invoke-ConfigurationChange -Change {
            param ($serverManager, $plan)
            Assert-TaskSiteApplicable -ServerManager $serverManager -Plan $plan
            $outcome = Add-TaskSiteConfiguration -ServerManager $serverManager -Plan $plan
            # Kept in the plan (a shared hashtable) for the failure path:
            # what the change would have added, should the commit fail.
            $plan['Created'] = $outcome
            $outcome
        } -Plan $plan
    }
    catch
    {
        $failure = $_
        if (-not (Test-CommitFailure -ErrorRecord $failure) -or $null -eq $plan['Created'])
        {
            throw
        }
        Undo-FailedTaskSiteCommit -Plan $plan -Failure $failure
    }

    if ($plan.OwnsSite)
    {
        $failure = Wait-TaskSiteStart -SiteName $SiteName
        if ($failure.Length -gt 0)
        {
            $cleanup = ''
            try
            {
                $null = Invoke-ConfigurationChange -Change {
                    param ($serverManager, $plan)
                    Remove-TaskSiteConfiguration -ServerManager $serverManager -SiteName $plan.SiteName -TargetWebsite '' `
                        -ApplicationAliases @() -AppPools $plan.AppPools -AutoStartProviders $plan.AutoStartProviders
                } -Plan @{ SiteName = $SiteName; AppPools = $created.Result.appPools; AutoStartProviders = $created.AddedProviders }
            }
            catch
            {
                $cleanup = '; removing it again failed: ' + (Get-InnermostMessage -ErrorRecord $_)
            }
            New-NomadIisError -Kind Conflict -Message ("website '{0}' could not start (is a port of its bindings used by another process?): {1}{2}" -f $SiteName, $failure, $cleanup)
        }
    }
    return $created.Result
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
        The providers the task registered (the autoStartProviders of
        New-NomadIisTaskSite's answer), never one it found registered.

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
        # pscheck: checked operation entry point: host.ps1 answers the binder refusal on the operation itself with InvalidArgument naming the parameter
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
