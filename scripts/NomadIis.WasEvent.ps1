<#
    What IIS records only outside the pool objects: when the web server's
    service process started, and the Windows Process Activation Service
    (WAS) events of the System log about worker crashes and rapid-fail
    protection. GetServerInfo reports the first (serviceStartTime),
    GetAppPool the others (workerCrashes, stopReason). Dot-sourced by
    NomadIis.psm1.

    The event ids and their insertion strings, from Microsoft's "IIS
    Application Pool Availability" event reference (Windows Server 2008 R2,
    learn.microsoft.com/previous-versions/windows/it-pro/
    windows-server-2008-R2-and-2008/cc735151(v=ws.10) and dd364088), source
    Microsoft-Windows-WAS, in the System log:
      5002  WAS_EVENT_RAPID_FAIL_PROTECTION: "Application pool '%1' is being
            automatically disabled due to a series of failures in the
            process(es) serving that application pool."
      5009  "A process serving application pool '%1' terminated
            unexpectedly. The process id was '%2'. ..."
      5010  "A process serving application pool '%1' failed to respond to a
            ping. The process id was '%2'." (WAS then shuts the process down)
      5011  "A process serving application pool '%1' suffered a fatal
            communication error with the Windows Process Activation
            Service. The process id was '%2'. ..."
    %1, the pool's name, is the event's first insertion string: the first
    entry of EventLogRecord.Properties.
#>

# The WAS events counted as a worker process that exited on its own.
$script:WorkerCrashEventIds = @(5009, 5010, 5011)

# The WAS event of a pool stopped by rapid-fail protection.
$script:RapidFailEventId = 5002

# The value of ps.StopReasonRapidFailProtection.
$script:StopReasonRapidFailProtection = 'RapidFailProtection'

# How many events one GetAppPool reads at most. The driver asks every 5
# seconds per task (its monitor interval) for that task's pools, so each
# call is bounded twice: StartTime (the service's start) keeps the event
# log service from returning anything older, and MaxEvents caps the rest.
# Get-WinEvent returns the newest first, so past the cap the oldest events
# are the ones left out: a pool's count stops growing at the cap (with the
# default rapid-fail protection, 5 crashes within 5 minutes stop a pool
# and its task, so the cap is far above what one task's pools reach).
$script:WasEventLimit = 1000

# When this module last saw each pool started (lower-case name -> UTC
# time), taken before the state is read: a rapid-fail event newer than
# that stopped the pool since; an older one was before a later start.
$script:AppPoolSeenStarted = @{}

function Get-WebServiceStartTime
{
    <#
    .SYNOPSIS
        Returns when the process that hosts the World Wide Web Publishing
        Service (W3SVC) started; $null when the service is missing or not
        running, or the process cannot be read.

    .DESCRIPTION
        Win32_Service.ProcessId is the process the service runs in, read
        only while State is Running (learn.microsoft.com/windows/win32/
        cimwin32prov/win32-service), and Process.StartTime is when that
        process started, in local time.

        W3SVC runs in svchost.exe -k iissvcs together with WAS, which it
        depends on ("Introduction to IIS Architectures": both run as
        LocalSystem in the same Svchost.exe process). The start time
        changes only when that process is replaced: a restart of WAS (which
        stops W3SVC with it) or of both, or iisreset, ends the shared
        process and is seen; a restart of W3SVC alone, while WAS keeps the
        process, is not. The WAS events are counted from this time, so a
        new process starts a new count, as the contract says.
    #>
    [CmdletBinding()]
    [OutputType([System.Object])]
    param ()

    $ErrorActionPreference = 'Stop'
    try
    {
        $service = Get-CimInstance -ClassName 'Win32_Service' -Filter "Name='W3SVC'"
    }
    catch
    {
        return $null
    }
    if ($null -eq $service -or [System.String] $service.State -ne 'Running' -or [System.UInt32] $service.ProcessId -eq 0)
    {
        return $null
    }
    $process = Get-Process -Id ([System.Int32] $service.ProcessId) -ErrorAction SilentlyContinue
    if ($null -eq $process)
    {
        return $null
    }
    try
    {
        return $process.StartTime.ToUniversalTime()
    }
    catch
    {
        # StartTime needs the right to query the process; the driver runs
        # as LocalSystem, but a manual run may not.
        return $null
    }
}

function Get-WasEvent
{
    <#
    .SYNOPSIS
        Returns the WAS worker-crash and rapid-fail events of the System log
        since a time, newest first, at most $script:WasEventLimit; none when
        there are none.

    .DESCRIPTION
        One query for every pool asked: the pools are told apart afterwards
        (ConvertTo-WasEventSummary). Get-WinEvent reports an empty result as
        the error NoMatchingEventsFound; that case, and only that one, is an
        empty list. Any other failure (the log cannot be read) is
        Unavailable, naming the log.

    .PARAMETER Since
        The oldest event time to return.
    #>
    [CmdletBinding()]
    [OutputType([System.Object[]])]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.DateTime]
        $Since
    )

    $ErrorActionPreference = 'Stop'
    $filter = @{
        LogName      = 'System'
        ProviderName = 'Microsoft-Windows-WAS'
        Id           = @($script:WorkerCrashEventIds) + $script:RapidFailEventId
        StartTime    = $Since
    }
    try
    {
        $events = @(Get-WinEvent -FilterHashtable $filter -MaxEvents $script:WasEventLimit -ErrorAction Stop)
    }
    catch
    {
        if ($_.FullyQualifiedErrorId -like 'NoMatchingEventsFound,*')
        {
            return , @()
        }
        New-NomadIisError -Kind Unavailable -Message ("read the Microsoft-Windows-WAS events of the System log: {0}" -f (Get-InnermostMessage -ErrorRecord $_)) -InnerException $_.Exception
    }
    return , $events
}

function ConvertTo-WasEventSummary
{
    <#
    .SYNOPSIS
        Turns WAS event records into, per pool asked, the number of worker
        crashes (events 5009, 5010, 5011) and the time (UTC) of the newest
        rapid-fail stop (event 5002), or $null when there was none.

    .DESCRIPTION
        Pure: reads only Id, Properties[0].Value (the pool's name, %1) and
        TimeCreated of each record, so records of other pools, other ids,
        or without insertion strings are left out. Pool names compare
        without case, as IIS compares them. The result maps each asked
        name, in lower case, to an object with WorkerCrashes and
        LastRapidFailStop.

    .PARAMETER Events
        EventLogRecord objects, or any objects with Id, Properties and
        TimeCreated.

    .PARAMETER Names
        The pools to report; each gets an entry, with 0 and $null when no
        event names it.
    #>
    [CmdletBinding()]
    [OutputType([System.Collections.Hashtable])]
    param
    (
        [Parameter(Mandatory = $true)]
        [AllowEmptyCollection()]
        [AllowNull()]
        [System.Object[]]
        $Events,

        [Parameter(Mandatory = $true)]
        [AllowEmptyCollection()]
        [AllowEmptyString()]
        [System.String[]]
        $Names
    )

    $ErrorActionPreference = 'Stop'
    $summary = @{}
    foreach ($name in $Names)
    {
        if (-not [System.String]::IsNullOrEmpty($name))
        {
            $summary[$name.ToLowerInvariant()] = [pscustomobject] @{
                WorkerCrashes     = 0
                LastRapidFailStop = $null
            }
        }
    }
    foreach ($record in $Events)
    {
        if ($null -eq $record -or $null -eq $record.Properties -or @($record.Properties).Count -eq 0)
        {
            continue
        }
        $pool = [System.String] @($record.Properties)[0].Value
        if ([System.String]::IsNullOrEmpty($pool))
        {
            continue
        }
        $entry = $summary[$pool.ToLowerInvariant()]
        if ($null -eq $entry)
        {
            continue
        }
        $id = [System.Int32] $record.Id
        if ($script:WorkerCrashEventIds -contains $id)
        {
            $entry.WorkerCrashes++
        }
        elseif ($id -eq $script:RapidFailEventId -and $null -ne $record.TimeCreated)
        {
            $time = ([System.DateTime] $record.TimeCreated).ToUniversalTime()
            if ($null -eq $entry.LastRapidFailStop -or $time -gt $entry.LastRapidFailStop)
            {
                $entry.LastRapidFailStop = $time
            }
        }
    }
    return $summary
}

function Get-AppPoolStopReason
{
    <#
    .SYNOPSIS
        Says why IIS stopped a pool: RapidFailProtection when the pool is
        Stopped and rapid-fail protection stopped it after the last time
        this module saw it started; '' otherwise (not stopped, stopped by
        someone, or not known).

    .DESCRIPTION
        Pure. Without a last-seen start (the module has not seen the pool
        started since it was loaded) any rapid-fail event since the
        service's start counts. A pool started and stopped again by someone
        between two reads of the driver, after a rapid-fail stop, would
        still be reported as stopped by rapid-fail protection.

    .PARAMETER State
        The pool's state name.

    .PARAMETER LastRapidFailStop
        The UTC time of the newest WAS event 5002 for the pool, or $null.

    .PARAMETER LastSeenStarted
        The UTC time this module last saw the pool started, or $null.
    #>
    [CmdletBinding()]
    [OutputType([System.String])]
    param
    (
        [Parameter(Mandatory = $true)]
        [AllowEmptyString()]
        [System.String]
        $State,

        [Parameter()]
        [AllowNull()]
        [System.Nullable[System.DateTime]]
        $LastRapidFailStop = $null,

        [Parameter()]
        [AllowNull()]
        [System.Nullable[System.DateTime]]
        $LastSeenStarted = $null
    )

    $ErrorActionPreference = 'Stop'
    if ($State -ne 'Stopped' -or $null -eq $LastRapidFailStop)
    {
        return ''
    }
    if ($null -ne $LastSeenStarted -and $LastRapidFailStop.Value -le $LastSeenStarted.Value)
    {
        return ''
    }
    return $script:StopReasonRapidFailProtection
}

function Get-AppPoolEventSummary
{
    <#
    .SYNOPSIS
        Reads the WAS events of the named pools since the web server's
        service process started, with one Get-WinEvent call for all of them
        (see ConvertTo-WasEventSummary for the result). Every pool has 0
        crashes and no rapid-fail stop when the service is not running.

    .PARAMETER Names
        Full pool names.
    #>
    [CmdletBinding()]
    [OutputType([System.Collections.Hashtable])]
    param
    (
        [Parameter(Mandatory = $true)]
        [AllowEmptyCollection()]
        [AllowEmptyString()]
        [System.String[]]
        $Names
    )

    $ErrorActionPreference = 'Stop'
    $events = @()
    $since = Get-WebServiceStartTime
    if ($null -ne $since -and $Names.Length -gt 0)
    {
        $events = Get-WasEvent -Since $since
    }
    return ConvertTo-WasEventSummary -Events $events -Names $Names
}

function Set-AppPoolSeenStarted
{
    <#
    .SYNOPSIS
        Notes, when a pool's state is Started, the time taken before that
        state was read as the last time this module saw it started.
    #>
    [CmdletBinding()]
    [OutputType([System.Void])]
    param
    (
        [Parameter(Mandatory = $true)]
        [AllowEmptyString()]
        [System.String]
        $Name,

        [Parameter(Mandatory = $true)]
        [AllowEmptyString()]
        [System.String]
        $State,

        [Parameter(Mandatory = $true)]
        [System.DateTime]
        $ReadAt
    )

    $ErrorActionPreference = 'Stop'
    if ($Name.Length -gt 0 -and $State -eq 'Started')
    {
        $script:AppPoolSeenStarted[$Name.ToLowerInvariant()] = $ReadAt.ToUniversalTime()
    }
}

function Get-AppPoolSeenStarted
{
    <#
    .SYNOPSIS
        Returns the UTC time this module last saw a pool started, or $null.
    #>
    [CmdletBinding()]
    [OutputType([System.Object])]
    param
    (
        [Parameter(Mandatory = $true)]
        [AllowEmptyString()]
        [System.String]
        $Name
    )

    $ErrorActionPreference = 'Stop'
    if ($Name.Length -eq 0)
    {
        return $null
    }
    return $script:AppPoolSeenStarted[$Name.ToLowerInvariant()]
}
