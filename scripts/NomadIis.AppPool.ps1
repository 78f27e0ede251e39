<#
    Application pool state and control: report, start, stop (waiting for
    the workers to exit) and recycle. Dot-sourced by NomadIis.psm1.
#>

function ConvertTo-AppPoolResult
{
    <#
    .SYNOPSIS
        Reports a pool's name, state, start mode and worker processes (with
        the start time of each process), and with EventSummary (from
        Get-AppPoolEventSummary) its worker crashes and why IIS stopped it;
        without it 0 and ''.

    .DESCRIPTION
        State and ReadAt, when given, are the pool's state read before the
        events were (so that a pool stopped by rapid-fail protection in
        between is not reported Stopped without its event) and the time
        taken before that read; without them the state is read now.
    #>
    [CmdletBinding()]
    [OutputType([System.Collections.Specialized.OrderedDictionary])]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.Object]
        $Pool,

        [Parameter()]
        [AllowNull()]
        [System.Collections.Hashtable]
        $EventSummary = $null,

        [Parameter()]
        [AllowEmptyString()]
        [System.String]
        $State = '',

        [Parameter()]
        [System.DateTime]
        $ReadAt = [System.DateTime]::MinValue
    )

    $ErrorActionPreference = 'Stop'
    $readAt = $ReadAt
    $poolState = $State
    if ($poolState.Length -eq 0)
    {
        $readAt = [System.DateTime]::UtcNow
        $poolState = Get-ObjectStateName -InputObject $Pool
    }
    Set-AppPoolSeenStarted -Name ([System.String] $Pool.Name) -State $poolState -ReadAt $readAt
    $crashes = 0
    $stopReason = ''
    if ($null -ne $EventSummary)
    {
        $events = $EventSummary[([System.String] $Pool.Name).ToLowerInvariant()]
        if ($null -ne $events)
        {
            $crashes = [System.Int32] $events.WorkerCrashes
            $stopReason = Get-AppPoolStopReason -State $poolState -LastRapidFailStop $events.LastRapidFailStop -LastSeenStarted (Get-AppPoolSeenStarted -Name ([System.String] $Pool.Name))
        }
    }
    $workers = New-Object -TypeName System.Collections.Generic.List[System.Object]
    foreach ($worker in (Get-WorkerProcess -Pool $Pool))
    {
        $processId = [System.Int32] $worker.ProcessId
        $startTime = $null
        $process = Get-Process -Id $processId -ErrorAction SilentlyContinue
        if ($null -ne $process)
        {
            try
            {
                $startTime = ConvertTo-IsoTime -Time $process.StartTime
            }
            catch
            {
                $startTime = $null
            }
        }
        $state = [System.String] $worker.State
        if ($state.Length -eq 0)
        {
            $state = 'Unknown'
        }
        $workers.Add([ordered] @{
                processId = $processId
                startTime = $startTime
                state     = $state
            })
    }
    return [ordered] @{
        name            = [System.String] $Pool.Name
        state           = $poolState
        startMode       = [System.String] $Pool.StartMode
        workerProcesses = $workers.ToArray()
        # IIS records worker crashes and why WAS stopped a pool only in the
        # WAS events of the System log (NomadIis.WasEvent.ps1).
        stopReason      = $stopReason
        workerCrashes   = $crashes
    }
}

function Get-WorkerProcess
{
    <#
    .SYNOPSIS
        Returns a pool's worker processes as the Windows Process Activation
        Service knows them; none when it cannot tell (it is not running).
    #>
    [CmdletBinding()]
    [OutputType([System.Object[]])]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.Object]
        $Pool
    )

    $ErrorActionPreference = 'Stop'
    $list = New-Object -TypeName System.Collections.Generic.List[System.Object]
    try
    {
        foreach ($worker in $Pool.WorkerProcesses)
        {
            $list.Add($worker)
        }
    }
    catch
    {
        $list.Clear()
    }
    return , $list.ToArray()
}

function Get-ExistingAppPool
{
    <#
    .SYNOPSIS
        Returns a pool from a fresh view of the configuration; NotFound when
        it does not exist.
    #>
    [CmdletBinding()]
    [OutputType([System.Object])]
    param
    (
        # pscheck: checked callers pass a validated pool name, or the pool Get-SwitchTarget refused when empty
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $Name
    )

    $ErrorActionPreference = 'Stop'
    $pool = Find-AppPool -ServerManager (Get-ServerManager) -Name $Name
    if ($null -eq $pool)
    {
        New-NomadIisError -Kind NotFound -Message ("application pool '{0}' does not exist" -f $Name)
    }
    return $pool
}

function Set-AppPoolAutoStart
{
    <#
    .SYNOPSIS
        Persists whether a pool starts with the server, as IIS Manager does
        when a pool is started or stopped, so that a stopped pool stays
        stopped after a restart of IIS.
    #>
    [CmdletBinding()]
    [OutputType([System.Void])]
    param
    (
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $Name,

        [Parameter(Mandatory = $true)]
        [System.Boolean]
        $AutoStart
    )

    $ErrorActionPreference = 'Stop'
    $null = Invoke-ConfigurationChange -Change {
        param ($serverManager, $plan)
        $pool = Find-AppPool -ServerManager $serverManager -Name $plan.Name
        if ($null -ne $pool -and $pool.AutoStart -ne $plan.AutoStart)
        {
            $pool.AutoStart = $plan.AutoStart
        }
    } -Plan @{ Name = $Name; AutoStart = $AutoStart }
}

function Add-WorkerProcessHandle
{
    <#
    .SYNOPSIS
        Adds a process handle for every worker process of a pool that is
        not in the list yet, so that StopAppPool can wait for each by
        handle, even after its process id was reused.
    #>
    [CmdletBinding()]
    [OutputType([System.Void])]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.Object]
        $Pool,

        # pscheck: checked a list the caller creates and this function fills with Process objects, never $null
        [Parameter(Mandatory = $true)]
        [AllowEmptyCollection()]
        [System.Collections.Generic.List[System.Diagnostics.Process]]
        $Processes,

        [Parameter(Mandatory = $true)]
        [AllowEmptyCollection()]
        [System.Collections.Generic.HashSet[System.Int32]]
        $Seen
    )

    $ErrorActionPreference = 'Stop'
    foreach ($worker in (Get-WorkerProcess -Pool $Pool))
    {
        $processId = [System.Int32] $worker.ProcessId
        if (-not $Seen.Add($processId))
        {
            continue
        }
        $process = Get-Process -Id $processId -ErrorAction SilentlyContinue
        if ($null -ne $process)
        {
            $Processes.Add($process)
        }
    }
}

function Invoke-AppPoolControl
{
    <#
    .SYNOPSIS
        Calls Start, Stop or Recycle on a pool; a failure of the Windows
        Process Activation Service (not running, or not yet aware of a new
        pool) is Unavailable, which the caller may retry.
    #>
    [CmdletBinding()]
    [OutputType([System.Void])]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.Object]
        $Pool,

        [Parameter(Mandatory = $true)]
        [ValidateSet('Start', 'Stop', 'Recycle')]
        [System.String]
        $Action
    )

    $ErrorActionPreference = 'Stop'
    try
    {
        switch ($Action)
        {
            'Start'
            {
                $null = $Pool.Start()
            }
            'Stop'
            {
                $null = $Pool.Stop()
            }
            'Recycle'
            {
                $null = $Pool.Recycle()
            }
        }
    }
    catch
    {
        New-NomadIisError -Kind Unavailable -Message ("{0} application pool '{1}': {2}" -f $Action.ToLowerInvariant(), $Pool.Name, (Get-InnermostMessage -ErrorRecord $_)) -InnerException $_.Exception
    }
}

function Get-NomadIisAppPool
{
    <#
    .SYNOPSIS
        Reports the state and worker processes of the named pools, or of
        every pool when no name is given (operation GetAppPool), with the
        worker crashes since the web server's service process started and
        why IIS stopped a stopped pool, from the WAS events. Pools that do
        not exist are left out.

    .PARAMETER Names
        Full pool names.

    .EXAMPLE
        Get-NomadIisAppPool -Names 'nomad-1234-web', 'nomad-1234-web-api'
    #>
    [CmdletBinding()]
    [OutputType([System.Object[]])]
    param
    (
        [Parameter()]
        [AllowNull()]
        [AllowEmptyCollection()]
        [System.String[]]
        $Names = @()
    )

    $ErrorActionPreference = 'Stop'
    $serverManager = Get-ServerManager
    $found = New-Object -TypeName System.Collections.Generic.List[System.Object]
    $wanted = @($Names | Where-Object -FilterScript { -not [System.String]::IsNullOrEmpty($_) })
    if ($wanted.Length -eq 0)
    {
        foreach ($pool in $serverManager.ApplicationPools)
        {
            $found.Add($pool)
        }
    }
    else
    {
        foreach ($name in $wanted)
        {
            $pool = Find-AppPool -ServerManager $serverManager -Name $name
            if ($null -ne $pool)
            {
                $found.Add($pool)
            }
        }
    }
    # The states first, then one event log query for all the pools of this
    # call: a pool read as Stopped has its rapid-fail event, if any, in the
    # query that follows.
    $states = New-Object -TypeName System.Collections.Generic.List[System.Object]
    foreach ($pool in $found)
    {
        $readAt = [System.DateTime]::UtcNow
        $states.Add([pscustomobject] @{ ReadAt = $readAt; State = Get-ObjectStateName -InputObject $pool })
    }
    $poolNames = [System.String[]] @($found | ForEach-Object -Process { [System.String] $_.Name })
    $summary = Get-AppPoolEventSummary -Names $poolNames
    $pools = New-Object -TypeName System.Collections.Generic.List[System.Object]
    for ($i = 0; $i -lt $found.Count; $i++)
    {
        $pools.Add((ConvertTo-AppPoolResult -Pool $found[$i] -EventSummary $summary -State $states[$i].State -ReadAt $states[$i].ReadAt))
    }
    # The comma keeps a list of one pool a list.
    return , $pools.ToArray()
}

function Start-NomadIisAppPool
{
    <#
    .SYNOPSIS
        Starts a pool and marks it to start with the server (operation
        StartAppPool).

    .PARAMETER Name
        The pool's full name.

    .EXAMPLE
        Start-NomadIisAppPool -Name 'nomad-1234-web'
    #>
    [CmdletBinding()]
    [OutputType([System.Collections.Specialized.OrderedDictionary])]
    param
    (
        # pscheck: checked operation entry point: host.ps1 answers the binder refusal on the operation itself with InvalidArgument naming the parameter; Deploy passes a pool name Get-SwitchTarget refused when empty
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [ValidateLength(1, 64)]
        [System.String]
        $Name
    )

    $ErrorActionPreference = 'Stop'
    $pool = Get-ExistingAppPool -Name $Name
    # No commit (and no configuration-change notification) when autoStart
    # already says so.
    if ($pool.AutoStart -ne $true)
    {
        Set-AppPoolAutoStart -Name $Name -AutoStart $true
        $pool = Get-ExistingAppPool -Name $Name
    }
    $state = Get-ObjectStateName -InputObject $pool
    if ($state -ne 'Started' -and $state -ne 'Starting')
    {
        Invoke-AppPoolControl -Pool $pool -Action Start
    }
    return ConvertTo-AppPoolResult -Pool (Get-ExistingAppPool -Name $Name)
}

function Stop-NomadIisAppPool
{
    <#
    .SYNOPSIS
        Stops a pool, marks it to stay stopped, and waits up to WaitMs for its
        worker processes to exit (operation StopAppPool).

    .DESCRIPTION
        The worker processes are taken before the stop is requested (before
        and after autoStart is changed, in case that change started new
        ones) and waited for by process handle, so a worker that outlives
        the pool's shutdownTimeLimit is still seen. With WaitMs 0 the call returns as
        soon as the stop was requested. The result lists the workers still
        running, if any.

    .PARAMETER Name
        The pool's full name.

    .PARAMETER WaitMs
        How long to wait for the workers to exit, in milliseconds.

    .EXAMPLE
        Stop-NomadIisAppPool -Name 'nomad-1234-web' -WaitMs 30000
    #>
    [CmdletBinding()]
    [OutputType([System.Collections.Specialized.OrderedDictionary])]
    param
    (
        # pscheck: checked operation entry point: host.ps1 answers the binder refusal on the operation itself with InvalidArgument naming the parameter; Deploy passes a pool name Get-SwitchTarget refused when empty
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [ValidateLength(1, 64)]
        [System.String]
        $Name,

        [Parameter()]
        [ValidateRange(0, 86400000)]
        [System.Int64]
        $WaitMs = 0
    )

    $ErrorActionPreference = 'Stop'
    $pool = Get-ExistingAppPool -Name $Name
    $processes = New-Object -TypeName System.Collections.Generic.List[System.Diagnostics.Process]
    $seen = New-Object -TypeName 'System.Collections.Generic.HashSet[System.Int32]'
    Add-WorkerProcessHandle -Pool $pool -Processes $processes -Seen $seen

    if ($pool.AutoStart -ne $false)
    {
        Set-AppPoolAutoStart -Name $Name -AutoStart $false
        $pool = Get-ExistingAppPool -Name $Name
        # Whether a change of autoStart makes WAS recycle the pool is not
        # documented: the workers it has now are waited for as well.
        Add-WorkerProcessHandle -Pool $pool -Processes $processes -Seen $seen
    }
    $state = Get-ObjectStateName -InputObject $pool
    if ($state -ne 'Stopped' -and $state -ne 'Stopping')
    {
        Invoke-AppPoolControl -Pool $pool -Action Stop
    }

    if ($WaitMs -gt 0)
    {
        $deadline = [System.DateTime]::UtcNow.AddMilliseconds($WaitMs)
        foreach ($process in $processes)
        {
            $remaining = [System.Int32] [System.Math]::Floor(($deadline - [System.DateTime]::UtcNow).TotalMilliseconds)
            if ($remaining -le 0)
            {
                break
            }
            $null = $process.WaitForExit($remaining)
        }
        while ([System.DateTime]::UtcNow -lt $deadline)
        {
            if ((Get-ObjectStateName -InputObject (Get-ExistingAppPool -Name $Name)) -ne 'Stopping')
            {
                break
            }
            Start-Sleep -Milliseconds 100
        }
    }
    return ConvertTo-AppPoolResult -Pool (Get-ExistingAppPool -Name $Name)
}

function Restart-NomadIisAppPool
{
    <#
    .SYNOPSIS
        Recycles a pool, as Restart-WebAppPool does (operation
        RestartAppPool); Conflict when the pool is not started.

    .PARAMETER Name
        The pool's full name.

    .EXAMPLE
        Restart-NomadIisAppPool -Name 'nomad-1234-web'
    #>
    [CmdletBinding()]
    [OutputType([System.Collections.Specialized.OrderedDictionary])]
    param
    (
        # pscheck: checked operation entry point: host.ps1 answers the binder refusal on the operation itself with InvalidArgument naming the parameter
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [ValidateLength(1, 64)]
        [System.String]
        $Name
    )

    $ErrorActionPreference = 'Stop'
    $pool = Get-ExistingAppPool -Name $Name
    $state = Get-ObjectStateName -InputObject $pool
    if ($state -eq 'Unknown')
    {
        New-NomadIisError -Kind Unavailable -Message ("the state of application pool '{0}' is unknown; is the Windows Process Activation Service running?" -f $Name)
    }
    if ($state -ne 'Started')
    {
        New-NomadIisError -Kind Conflict -Message ("application pool '{0}' is {1}; start it before recycling it" -f $Name, $state)
    }
    Invoke-AppPoolControl -Pool $pool -Action Recycle
    return ConvertTo-AppPoolResult -Pool (Get-ExistingAppPool -Name $Name)
}
