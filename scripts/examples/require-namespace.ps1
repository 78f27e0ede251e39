<#
    Admin extension for nomad-iis: refuses to start tasks of Nomad
    namespaces that may not run IIS sites on this node.

    Copy it into the directory the driver option names for admin extensions
    and edit $AllowedNamespaces. A PreStart hook that throws fails the task,
    and Nomad shows the message of the exception in the task's events.
#>

# The namespaces whose tasks may run here.
$AllowedNamespaces = @('default', 'web')

function Invoke-PreStartHook
{
    <#
    .SYNOPSIS
        Fails the task unless its namespace is allowed on this node.

    .PARAMETER Context
        The task: allocId, taskName, jobName, namespace, taskDir, siteName,
        appPools.
    #>
    [CmdletBinding()]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.Object]
        $Context
    )

    $ErrorActionPreference = 'Stop'
    if ($AllowedNamespaces -notcontains $Context.namespace)
    {
        throw ("namespace '{0}' may not run IIS sites on {1}" -f $Context.namespace, $env:COMPUTERNAME)
    }
    'namespace {0} is allowed' -f $Context.namespace
}
