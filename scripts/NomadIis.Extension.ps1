<#
    Admin extensions: the scripts host.ps1 loaded from the extensions
    directory, and their hooks. Dot-sourced by NomadIis.psm1.

    host.ps1 loads every *.ps1 file of the directory into a dynamic module of
    its own and hands the list to Set-ExtensionRegistry. A script implements
    a hook by defining one of these functions, which receive the task as
    -Context (ps.HookContext: allocId, taskName, jobName, namespace, taskDir,
    siteName, appPools):

        Invoke-PreStartHook    before the task's site is created; throwing
                               fails the task with the script's message
        Invoke-PostStartHook   after the site was created and started
        Invoke-PreStopHook     before the task's site is removed
        Invoke-PostStopHook    after it was removed

    See scripts/examples for complete scripts.
#>

# The hooks, in lifecycle order, and the function that implements each.
$script:HookFunctions = [ordered] @{
    PreStart  = 'Invoke-PreStartHook'
    PostStart = 'Invoke-PostStartHook'
    PreStop   = 'Invoke-PreStopHook'
    PostStop  = 'Invoke-PostStopHook'
}

# Set by host.ps1 through Set-ExtensionRegistry.
$script:ExtensionDirectory = ''
$script:Extensions = @()

# The most output one hook run reports, in characters.
$script:MaxHookOutput = 65536

function Set-ExtensionRegistry
{
    <#
    .SYNOPSIS
        Records the extension scripts host.ps1 loaded: for each its name,
        path, status ("Loaded" or "Failed"), error, and the functions of the
        hooks it implements.
    #>
    [CmdletBinding()]
    [OutputType([System.Void])]
    param
    (
        [Parameter(Mandatory = $true)]
        [AllowEmptyString()]
        [System.String]
        $Directory,

        # pscheck: checked host.ps1 passes the entries Import-ExtensionScript built, never $null
        [Parameter(Mandatory = $true)]
        [AllowEmptyCollection()]
        [System.Object[]]
        $Extensions
    )

    $ErrorActionPreference = 'Stop'
    $script:ExtensionDirectory = $Directory
    $script:Extensions = $Extensions
}

function ConvertTo-HookOutputText
{
    <#
    .SYNOPSIS
        Turns what a hook wrote (output, errors, warnings, verbose, debug and
        information records) into text, one line per record, bounded in size.
    #>
    [CmdletBinding()]
    [OutputType([System.String])]
    param
    (
        # A hook may output $null (return $null, an unset variable as its
        # last statement): a mandatory collection refuses null elements
        # when bound unless AllowNull says otherwise.
        [Parameter(Mandatory = $true)]
        [AllowEmptyCollection()]
        [AllowNull()]
        [System.Object[]]
        $Records
    )

    $ErrorActionPreference = 'Stop'
    $lines = New-Object -TypeName System.Collections.Generic.List[System.String]
    foreach ($record in $Records)
    {
        if ($null -eq $record)
        {
            continue
        }
        if ($record -is [System.Management.Automation.InformationRecord])
        {
            $lines.Add([System.String] $record.MessageData)
        }
        elseif ($record -is [System.Management.Automation.WarningRecord])
        {
            $lines.Add('WARNING: ' + $record.Message)
        }
        elseif ($record -is [System.Management.Automation.VerboseRecord])
        {
            $lines.Add('VERBOSE: ' + $record.Message)
        }
        elseif ($record -is [System.Management.Automation.DebugRecord])
        {
            $lines.Add('DEBUG: ' + $record.Message)
        }
        elseif ($record -is [System.Management.Automation.ErrorRecord])
        {
            $lines.Add('ERROR: ' + $record.ToString())
        }
        elseif ($record -is [System.String] -or $record.GetType().IsPrimitive)
        {
            $lines.Add([System.String] $record)
        }
        else
        {
            $lines.Add(($record | Out-String -Width 200).TrimEnd())
        }
    }
    $text = ($lines -join "`n").Trim()
    if ($text.Length -gt $script:MaxHookOutput)
    {
        $text = $text.Substring(0, $script:MaxHookOutput) + "`n(output truncated)"
    }
    return $text
}

function Invoke-NomadIisHook
{
    <#
    .SYNOPSIS
        Runs one hook of every loaded extension script that implements it,
        in file name order (operation InvokeHook).

    .DESCRIPTION
        Each hook function is called with -Context, the task as the Go side
        describes it (ps.HookContext). Everything it writes, on any stream,
        becomes the run's output. The first hook that throws stops the
        operation: an InvalidArgument error whose message names the
        extension and the hook and carries the script's own message, so that
        a failing PreStart hook fails the task with that message. Extensions
        that failed to load are skipped.

    .PARAMETER Hook
        PreStart, PostStart, PreStop or PostStop.

    .PARAMETER Context
        The task: allocId, taskName, jobName, namespace, taskDir, siteName,
        appPools.

    .EXAMPLE
        Invoke-NomadIisHook -Hook PreStart -Context ([pscustomobject] @{ allocId = '1234'; taskName = 'web' })
    #>
    [CmdletBinding()]
    [OutputType([System.Collections.Specialized.OrderedDictionary])]
    param
    (
        # pscheck: checked operation entry point: host.ps1 answers the binder refusal on the operation itself with InvalidArgument naming the parameter
        [Parameter(Mandatory = $true)]
        [ValidateSet('PreStart', 'PostStart', 'PreStop', 'PostStop')]
        [System.String]
        $Hook,

        [Parameter(Mandatory = $true)]
        [ValidateNotNull()]
        [System.Object]
        $Context
    )

    $ErrorActionPreference = 'Stop'
    # ValidateSet ignores case; the registry uses the contract's spelling.
    foreach ($name in $script:HookFunctions.Keys)
    {
        if (Test-NameEqual -Left $name -Right $Hook)
        {
            $Hook = $name
        }
    }

    $runs = New-Object -TypeName System.Collections.Generic.List[System.Object]
    foreach ($extension in $script:Extensions)
    {
        if ($extension.Status -ne 'Loaded' -or -not $extension.Functions.Contains($Hook))
        {
            continue
        }
        $function = $extension.Functions[$Hook]
        # *>&1 captures PowerShell's streams only. What a hook writes to the
        # console directly ([Console]::Write) goes to a writer of its own
        # for the duration of the call and is reported with the rest, so it
        # never reaches stdout, where the response frames go (host.ps1
        # writes those through its own writer, which this does not touch).
        $originalOut = [System.Console]::Out
        $consoleText = New-Object -TypeName System.IO.StringWriter -ArgumentList ([System.Globalization.CultureInfo]::InvariantCulture)
        [System.Console]::SetOut($consoleText)
        try
        {
            $records = @(& $function -Context $Context *>&1)
        }
        catch
        {
            $message = $_.Exception.Message
            if ([System.String]::IsNullOrEmpty($message))
            {
                $message = $_.ToString()
            }
            New-NomadIisError -Kind InvalidArgument -Message ('extension {0}, hook {1}: {2}' -f $extension.Name, $Hook, $message) -InnerException $_.Exception
        }
        finally
        {
            [System.Console]::SetOut($originalOut)
        }
        $written = $consoleText.ToString()
        if ($written.Length -gt 0)
        {
            $records += $written
        }
        $runs.Add([ordered] @{
                extension = $extension.Name
                output    = ConvertTo-HookOutputText -Records $records
            })
    }
    return [ordered] @{
        runs = $runs.ToArray()
    }
}

function Get-NomadIisExtension
{
    <#
    .SYNOPSIS
        Lists the admin extension scripts found in the extensions directory,
        with their status, load error and hooks (operation GetExtension).

    .EXAMPLE
        Get-NomadIisExtension
    #>
    [CmdletBinding()]
    [OutputType([System.Collections.Specialized.OrderedDictionary])]
    param ()

    $ErrorActionPreference = 'Stop'
    $list = New-Object -TypeName System.Collections.Generic.List[System.Object]
    foreach ($extension in $script:Extensions)
    {
        $hooks = New-Object -TypeName System.Collections.Generic.List[System.String]
        foreach ($name in $script:HookFunctions.Keys)
        {
            if ($extension.Functions.Contains($name))
            {
                $hooks.Add($name)
            }
        }
        $list.Add([ordered] @{
                name   = $extension.Name
                path   = $extension.Path
                status = $extension.Status
                error  = $extension.Error
                hooks  = $hooks.ToArray()
            })
    }
    return [ordered] @{
        directory  = $script:ExtensionDirectory
        extensions = $list.ToArray()
    }
}
