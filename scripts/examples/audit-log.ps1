<#
    Admin extension for nomad-iis: appends one line per lifecycle step of
    every IIS task to a log file, for auditing which allocation ran which
    site when.

    Copy it into the directory the driver option names for admin extensions.
    The script receives its own path as its first argument; the log file
    defaults to %ProgramData%\nomad-iis\task-audit.log.
#>
param
(
    [Parameter()]
    [System.String]
    $ScriptPath = ''
)

$AuditLogPath = Join-Path -Path $env:ProgramData -ChildPath 'nomad-iis\task-audit.log'

function Add-AuditLine
{
    <#
    .SYNOPSIS
        Appends a tab-separated line (UTC time, hook, namespace, job, task,
        allocation, site) to the audit log and returns it.
    #>
    [CmdletBinding()]
    param
    (
        [Parameter(Mandatory = $true)]
        [ValidateSet('PreStart', 'PostStart', 'PreStop', 'PostStop')]
        [System.String]
        $Hook,

        [Parameter(Mandatory = $true)]
        [System.Object]
        $Context
    )

    $ErrorActionPreference = 'Stop'
    $directory = Split-Path -Path $AuditLogPath -Parent
    if (-not (Test-Path -LiteralPath $directory -PathType Container))
    {
        $null = New-Item -Path $directory -ItemType Directory -Force
    }
    $fields = @(
        [System.DateTime]::UtcNow.ToString('o')
        $Hook
        $Context.namespace
        $Context.jobName
        $Context.taskName
        $Context.allocId
        $Context.siteName
    )
    $line = $fields -join "`t"
    [System.IO.File]::AppendAllText($AuditLogPath, $line + [System.Environment]::NewLine, [System.Text.Encoding]::UTF8)
    'audit: ' + $line
}

function Invoke-PreStartHook
{
    <#
    .SYNOPSIS
        Records that a task is about to start.

    .PARAMETER Context
        The task.
    #>
    [CmdletBinding()]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.Object]
        $Context
    )

    $ErrorActionPreference = 'Stop'
    Add-AuditLine -Hook 'PreStart' -Context $Context
}

function Invoke-PostStartHook
{
    <#
    .SYNOPSIS
        Records that a task's site runs.

    .PARAMETER Context
        The task.
    #>
    [CmdletBinding()]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.Object]
        $Context
    )

    $ErrorActionPreference = 'Stop'
    Add-AuditLine -Hook 'PostStart' -Context $Context
}

function Invoke-PreStopHook
{
    <#
    .SYNOPSIS
        Records that a task is about to stop.

    .PARAMETER Context
        The task.
    #>
    [CmdletBinding()]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.Object]
        $Context
    )

    $ErrorActionPreference = 'Stop'
    Add-AuditLine -Hook 'PreStop' -Context $Context
}

function Invoke-PostStopHook
{
    <#
    .SYNOPSIS
        Records that a task's site and pools are gone.

    .PARAMETER Context
        The task.
    #>
    [CmdletBinding()]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.Object]
        $Context
    )

    $ErrorActionPreference = 'Stop'
    Add-AuditLine -Hook 'PostStop' -Context $Context
}
