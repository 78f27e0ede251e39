<#
    The switch of the zero-downtime deploy: a virtual directory of an
    application is pointed at another folder and the application's pool is
    recycled with overlapping rotation. Dot-sourced by NomadIis.psm1.

    What IIS guarantees, and what this file relies on:
    - VirtualDirectory.PhysicalPath is read/write and takes effect when the
      ServerManager commits (Microsoft.Web.Administration, "VirtualDirectory
      .PhysicalPath Property": https://learn.microsoft.com/dotnet/api/microsoft.web.administration.virtualdirectory.physicalpath);
      Invoke-ConfigurationChange commits it inside Start-IISCommitDelay /
      Stop-IISCommitDelay, so the change is one commit or none.
    - ApplicationPool.Recycle() recycles a started pool ("ApplicationPool
      .Recycle Method": https://learn.microsoft.com/iis/wmi-provider/applicationpool-recycle-method;
      "Before you can use the Recycle method, you must start the
      application pool").
    - With recycling.disallowOverlappingRotation = false (the default) WAS
      starts the new worker process while the old one still runs and
      finishes its requests ("ApplicationPoolRecycling
      .DisallowOverlappingRotation Property":
      https://learn.microsoft.com/dotnet/api/microsoft.web.administration.applicationpoolrecycling.disallowoverlappingrotation;
      "recycling Element for add for applicationPools",
      https://learn.microsoft.com/previous-versions/iis/settings-schema/bb386464(v=vs.90)).
      With true, WAS stops the old worker first: requests meet a stopped
      pool, so the switch refuses unless the caller allows it.

    IIS hands requests to a new worker as soon as it has started; it has no
    hook to hold them back until a warm-up request of ours answered. The
    warm-up therefore runs right after the switch, against the site's own
    binding, and a failed warm-up switches back in the same way (a second
    commit and overlapped recycle): the old version serves again, but
    requests that arrived during the warm-up may have met the new one.
#>

function Find-VirtualDirectory
{
    <#
    .SYNOPSIS
        Returns the virtual directory at a path ("/" or "/alias") of an
        application, or $null.
    #>
    [CmdletBinding()]
    [OutputType([System.Object])]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.Object]
        $Application,

        # pscheck: checked Get-SwitchTarget passes virtualDirectoryPath, which ValidatePattern ^/ checked
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $Path
    )

    $ErrorActionPreference = 'Stop'
    return Find-ConfigurationElement -Collection $Application.VirtualDirectories -Property 'Path' -Value $Path
}

function Get-SwitchTarget
{
    <#
    .SYNOPSIS
        Finds the site, application, virtual directory and pool a switch
        names in a server manager; NotFound names what is missing.
    #>
    [CmdletBinding()]
    [OutputType([System.Collections.Hashtable])]
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
    $site = Find-Site -ServerManager $ServerManager -Name $Plan.SiteName
    if ($null -eq $site)
    {
        New-NomadIisError -Kind NotFound -Message ("website '{0}' does not exist" -f $Plan.SiteName)
    }
    $application = Find-Application -Site $site -Path $Plan.ApplicationPath
    if ($null -eq $application)
    {
        New-NomadIisError -Kind NotFound -Message ("website '{0}' has no application '{1}'" -f $Plan.SiteName, $Plan.ApplicationPath)
    }
    $directory = Find-VirtualDirectory -Application $application -Path $Plan.VirtualDirectoryPath
    if ($null -eq $directory)
    {
        New-NomadIisError -Kind NotFound -Message ("application '{0}' of website '{1}' has no virtual directory '{2}'" -f $Plan.ApplicationPath, $Plan.SiteName, $Plan.VirtualDirectoryPath)
    }
    # The switch stops, starts and recycles this pool by name.
    if (([System.String] $application.ApplicationPoolName).Length -eq 0)
    {
        New-NomadIisError -Kind NotFound -Message ("application '{0}' of website '{1}' names no application pool" -f $Plan.ApplicationPath, $Plan.SiteName)
    }
    return @{
        Site      = $site
        Directory = $directory
        PoolName  = [System.String] $application.ApplicationPoolName
    }
}

function Set-VirtualDirectoryPath
{
    <#
    .SYNOPSIS
        Changes a virtual directory's physical path in one commit, if it
        still serves the path the caller expects (Conflict otherwise).
    #>
    [CmdletBinding()]
    [OutputType([System.Void])]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.Collections.Hashtable]
        $Target,

        # pscheck: checked the switch refuses an empty previous path and checks the new one
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $From,

        # pscheck: checked the switch refuses an empty previous path and checks the new one
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $To
    )

    $ErrorActionPreference = 'Stop'
    $null = Invoke-ConfigurationChange -Change {
        param ($serverManager, $plan)
        $found = Get-SwitchTarget -ServerManager $serverManager -Plan $plan.Target
        $current = [System.Environment]::ExpandEnvironmentVariables([System.String] $found.Directory.PhysicalPath)
        if (-not (Test-NameEqual -Left $current.TrimEnd('\') -Right $plan.From.TrimEnd('\')))
        {
            New-NomadIisError -Kind Conflict -Message ("virtual directory '{0}' of application '{1}' was changed meanwhile (it serves '{2}')" -f $plan.Target.VirtualDirectoryPath, $plan.Target.ApplicationPath, $current)
        }
        $found.Directory.PhysicalPath = $plan.To
    } -Plan @{ Target = $Target; From = $From; To = $To }
}

function Get-WarmupUri
{
    <#
    .SYNOPSIS
        Returns the URL of a warm-up path through the site's first http (or
        else https) binding, on the loopback address unless the binding has
        a host name or a specific address.
    #>
    [CmdletBinding()]
    [OutputType([System.String])]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.Object]
        $Site,

        # pscheck: checked the switch passes it only with a non-empty warmupPath in it
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $UrlPath
    )

    $ErrorActionPreference = 'Stop'
    $chosen = $null
    foreach ($protocol in @('http', 'https'))
    {
        foreach ($binding in $Site.Bindings)
        {
            if ($null -eq $chosen -and ([System.String] $binding.Protocol) -eq $protocol)
            {
                $chosen = $binding
            }
        }
    }
    if ($null -eq $chosen)
    {
        New-NomadIisError -Kind InvalidArgument -Message ("warmupPath: website '{0}' has no http or https binding to send the warm-up to" -f $Site.Name)
    }
    $endpoint = ConvertFrom-BindingInformation -Information ([System.String] $chosen.BindingInformation)
    $hostName = '127.0.0.1'
    if ($endpoint.Hostname.Length -gt 0 -and -not $endpoint.Hostname.StartsWith('*'))
    {
        $hostName = $endpoint.Hostname
    }
    elseif ($endpoint.IPAddress -ne '*' -and $endpoint.IPAddress.Length -gt 0)
    {
        $hostName = $endpoint.IPAddress
        if ($hostName.Contains(':'))
        {
            # An IPv6 address goes in brackets in a URL (RFC 3986 3.2.2);
            # ConvertFrom-BindingInformation returns it without them.
            $hostName = '[{0}]' -f $hostName
        }
    }
    return ('{0}://{1}:{2}{3}' -f [System.String] $chosen.Protocol, $hostName, $endpoint.Port, $UrlPath)
}

function Get-WarmupStatus
{
    <#
    .SYNOPSIS
        Sends one GET without following redirects and returns the HTTP
        status, or 0 with the reason when no answer came.

    .DESCRIPTION
        Uses System.Net.HttpWebRequest rather than Invoke-WebRequest, which
        in Windows PowerShell 5.1 throws on every status outside 2xx
        (a 3xx counts as a success here).
    #>
    [CmdletBinding()]
    [OutputType([System.Collections.Hashtable])]
    param
    (
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $Uri,

        [Parameter(Mandatory = $true)]
        [ValidateRange(1, 600000)]
        [System.Int32]
        $TimeoutMs
    )

    $ErrorActionPreference = 'Stop'
    $request = [System.Net.HttpWebRequest]::Create($Uri)
    $request.Method = 'GET'
    $request.AllowAutoRedirect = $false
    $request.Timeout = $TimeoutMs
    $request.UserAgent = 'nomad-iis warm-up'
    $response = $null
    try
    {
        $response = $request.GetResponse()
        return @{ Status = [System.Int32] $response.StatusCode; Reason = '' }
    }
    catch [System.Net.WebException]
    {
        $failed = $_.Exception.Response
        if ($null -ne $failed)
        {
            $status = [System.Int32] $failed.StatusCode
            $failed.Close()
            return @{ Status = $status; Reason = ('HTTP {0}' -f $status) }
        }
        return @{ Status = 0; Reason = $_.Exception.Message }
    }
    finally
    {
        if ($null -ne $response)
        {
            $response.Close()
        }
    }
}

function Wait-Warmup
{
    <#
    .SYNOPSIS
        Requests a URL until it answers 2xx or 3xx, for at most TimeoutMs;
        returns the status, or 0 and the last answer.
    #>
    [CmdletBinding()]
    [OutputType([System.Collections.Hashtable])]
    param
    (
        # pscheck: checked Get-WarmupUri returns a URL with scheme and host
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $Uri,

        [Parameter(Mandatory = $true)]
        [ValidateRange(1, 600000)]
        [System.Int64]
        $TimeoutMs
    )

    $ErrorActionPreference = 'Stop'
    $deadline = [System.DateTime]::UtcNow.AddMilliseconds($TimeoutMs)
    $attempts = 0
    $last = 'no answer'
    while ($true)
    {
        $attempts++
        $left = [System.Int32] [System.Math]::Max(1, [System.Math]::Min(10000, ($deadline - [System.DateTime]::UtcNow).TotalMilliseconds))
        $answer = Get-WarmupStatus -Uri $Uri -TimeoutMs $left
        if ($answer.Status -ge 200 -and $answer.Status -lt 400)
        {
            return @{ Status = $answer.Status; Attempts = $attempts; Last = '' }
        }
        $last = $answer.Reason
        if ([System.DateTime]::UtcNow.AddMilliseconds(200) -ge $deadline)
        {
            return @{ Status = 0; Attempts = $attempts; Last = $last }
        }
        Start-Sleep -Milliseconds 200
    }
}

function Switch-NomadIisApplicationVersion
{
    <#
    .SYNOPSIS
        Points a virtual directory of an application at another folder and
        recycles the application's pool with overlapping rotation
        (operation SwitchApplicationVersion).

    .DESCRIPTION
        The physical path changes in one configuration commit; the pool is
        then recycled, so that a new worker process starts on the new folder
        while the old one finishes its requests. A pool with
        recycling.disallowOverlappingRotation is a Conflict unless
        AllowStopStart is set: then the pool is stopped, changed and started
        again. A pool that is not started only changes its configuration.
        With WarmupPath, the new content must answer 2xx or 3xx within
        WarmupTimeoutMs; otherwise the directory is switched back to its
        previous folder and the call fails with InvalidArgument.

    .EXAMPLE
        Switch-NomadIisApplicationVersion -SiteName 'nomad-1234-web' -ApplicationPath '/' -VirtualDirectoryPath '/' -PhysicalPath 'C:\alloc\web\local\.site.versions\v2'
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
        $SiteName,

        # pscheck: checked operation entry point: host.ps1 answers the binder refusal on the operation itself with InvalidArgument naming the parameter
        [Parameter(Mandatory = $true)]
        [ValidatePattern('^/')]
        [System.String]
        $ApplicationPath,

        # pscheck: checked operation entry point: host.ps1 answers the binder refusal on the operation itself with InvalidArgument naming the parameter
        [Parameter(Mandatory = $true)]
        [ValidatePattern('^/')]
        [System.String]
        $VirtualDirectoryPath,

        # pscheck: checked operation entry point: host.ps1 answers the binder refusal on the operation itself with InvalidArgument naming the parameter
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $PhysicalPath,

        [Parameter()]
        [AllowEmptyString()]
        [System.String]
        $ExpectedPhysicalPath = '',

        [Parameter()]
        [AllowEmptyString()]
        [System.String]
        $WarmupPath = '',

        [Parameter()]
        [ValidateRange(0, 600000)]
        [System.Int64]
        $WarmupTimeoutMs = 0,

        [Parameter()]
        [System.Boolean]
        $AllowStopStart = $false
    )

    $ErrorActionPreference = 'Stop'
    $newPath = ConvertTo-PhysicalPath -Field 'physicalPath' -Value $PhysicalPath
    if (-not (Test-Path -LiteralPath $newPath -PathType Container))
    {
        New-NomadIisError -Kind InvalidArgument -Message ("physicalPath: '{0}' is not an existing folder" -f $PhysicalPath)
    }
    if ($WarmupPath.Length -gt 0 -and -not $WarmupPath.StartsWith('/'))
    {
        New-NomadIisError -Kind InvalidArgument -Message ("warmupPath: '{0}' must start with '/'" -f $WarmupPath)
    }
    $target = @{ SiteName = $SiteName; ApplicationPath = $ApplicationPath; VirtualDirectoryPath = $VirtualDirectoryPath }
    $found = Get-SwitchTarget -ServerManager (Get-ServerManager) -Plan $target
    $previous = [System.Environment]::ExpandEnvironmentVariables([System.String] $found.Directory.PhysicalPath)
    # The switch goes back to this path when the warm-up fails.
    if ($previous.Length -eq 0)
    {
        New-NomadIisError -Kind Conflict -Message ("virtual directory '{0}' of application '{1}' has no physical path to switch from" -f $VirtualDirectoryPath, $ApplicationPath)
    }
    $expected = $ExpectedPhysicalPath.Replace('/', '\').TrimEnd('\')
    if ($expected.Length -gt 0 -and -not (Test-NameEqual -Left $previous.TrimEnd('\') -Right $expected))
    {
        New-NomadIisError -Kind Conflict -Message ("virtual directory '{0}' of application '{1}' serves '{2}', not the expected '{3}' (switched meanwhile?)" -f $VirtualDirectoryPath, $ApplicationPath, $previous, $ExpectedPhysicalPath)
    }
    $pool = Get-ExistingAppPool -Name $found.PoolName
    $overlap = -not [System.Boolean] $pool.Recycling.DisallowOverlappingRotation
    if (-not $overlap -and -not $AllowStopStart)
    {
        New-NomadIisError -Kind Conflict -Message ("application pool '{0}' has disallowOverlappingRotation = true, so its workers cannot overlap and a switch would drop requests; enable overlapping rotation, or ask for the stop/start switch (allowStopStart)" -f $found.PoolName)
    }
    if (-not $overlap -and $WarmupPath.Length -gt 0)
    {
        New-NomadIisError -Kind InvalidArgument -Message ("warmupPath: a warm-up needs overlapping rotation, which application pool '{0}' disallows" -f $found.PoolName)
    }
    $state = Get-ObjectStateName -InputObject $pool
    if ($state -eq 'Unknown')
    {
        New-NomadIisError -Kind Unavailable -Message ("the state of application pool '{0}' is unknown; is the Windows Process Activation Service running?" -f $found.PoolName)
    }
    if ($WarmupPath.Length -gt 0 -and $state -ne 'Started')
    {
        New-NomadIisError -Kind Conflict -Message ("application pool '{0}' is {1}; start it before a switch with a warm-up" -f $found.PoolName, $state)
    }

    $mode = 'ConfigOnly'
    if ($state -eq 'Started' -and -not $overlap)
    {
        # Stop-NomadIisAppPool waits for the workers to exit (bounded by
        # 120 s, above IIS's default shutdownTimeLimit of 90 s), so that the
        # start that follows finds the pool Stopped, not Stopping.
        $mode = 'StopStart'
        $null = Stop-NomadIisAppPool -Name $found.PoolName -WaitMs 120000
        try
        {
            Set-VirtualDirectoryPath -Target $target -From $previous -To $newPath
        }
        finally
        {
            $null = Start-NomadIisAppPool -Name $found.PoolName
        }
    }
    else
    {
        Set-VirtualDirectoryPath -Target $target -From $previous -To $newPath
        if ($state -eq 'Started')
        {
            $mode = 'Overlapped'
            Invoke-AppPoolControl -Pool (Get-ExistingAppPool -Name $found.PoolName) -Action Recycle
        }
    }

    $warmupStatus = 0
    if ($WarmupPath.Length -gt 0)
    {
        $timeout = $WarmupTimeoutMs
        if ($timeout -eq 0)
        {
            $timeout = 30000
        }
        $urlPath = ($ApplicationPath.TrimEnd('/') + $VirtualDirectoryPath.TrimEnd('/') + $WarmupPath)
        $uri = Get-WarmupUri -Site $found.Site -UrlPath $urlPath
        $warm = Wait-Warmup -Uri $uri -TimeoutMs $timeout
        if ($warm.Status -eq 0)
        {
            Set-VirtualDirectoryPath -Target $target -From $newPath -To $previous
            Invoke-AppPoolControl -Pool (Get-ExistingAppPool -Name $found.PoolName) -Action Recycle
            New-NomadIisError -Kind InvalidArgument -Message ("warmupPath: GET {0} did not answer 2xx or 3xx within {1} ms ({2} attempts, last: {3}); switched back, the previous version serves again" -f $urlPath, $timeout, $warm.Attempts, $warm.Last)
        }
        $warmupStatus = $warm.Status
    }

    return [ordered] @{
        appPool              = [System.String] $found.PoolName
        previousPhysicalPath = $previous
        physicalPath         = $newPath
        mode                 = $mode
        warmupStatus         = $warmupStatus
    }
}
