<#
    Private helpers of the NomadIis module: errors, argument checks and
    access to the IIS configuration. Dot-sourced by NomadIis.psm1.
#>

# Characters IIS refuses in site and pool names and in application aliases.
$script:BadNameCharacters = '\/?;:@&=+$,|"<>*[]'
$script:BadAliasCharacters = '\?;:@&=+$,|"<>*'

# Set by Initialize-IisAdministration: why IIS cannot be managed, or $null.
$script:IisUnavailableReason = 'the IISAdministration module has not been loaded'

function New-NomadIisError
{
    <#
    .SYNOPSIS
        Throws a terminating error of one of the contract's error kinds.

    .DESCRIPTION
        Every error the module raises on purpose goes through this helper. The
        error id is "NomadIis.<Kind>" and the exception carries the kind in
        its Data as well; host.ps1 turns either into the kind of the error
        frame. Anything that does not come from here is reported as Internal.
        Messages name fields and objects, never the value of a secret.

    .PARAMETER Kind
        NotFound, InvalidArgument, Conflict, Unavailable or Internal.

    .PARAMETER Message
        The message for the operator.

    .PARAMETER InnerException
        The exception that caused this error, kept for diagnostics.
    #>
    [CmdletBinding()]
    [OutputType([System.Void])]
    param
    (
        # pscheck: checked every caller passes one of the five kinds as a bare word
        [Parameter(Mandatory = $true)]
        [ValidateSet('NotFound', 'InvalidArgument', 'Conflict', 'Unavailable', 'Internal')]
        [System.String]
        $Kind,

        # pscheck: checked every caller passes literal text or a -f format with literal text, or a non-null IisUnavailableReason
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $Message,

        [Parameter()]
        [System.Exception]
        $InnerException
    )

    $ErrorActionPreference = 'Stop'

    $category = [System.Management.Automation.ErrorCategory]::NotSpecified
    switch ($Kind)
    {
        'NotFound'
        {
            $category = [System.Management.Automation.ErrorCategory]::ObjectNotFound
        }
        'InvalidArgument'
        {
            $category = [System.Management.Automation.ErrorCategory]::InvalidArgument
        }
        'Conflict'
        {
            $category = [System.Management.Automation.ErrorCategory]::ResourceExists
        }
        'Unavailable'
        {
            $category = [System.Management.Automation.ErrorCategory]::ResourceUnavailable
        }
    }

    if ($null -eq $InnerException)
    {
        $exception = New-Object -TypeName System.InvalidOperationException -ArgumentList $Message
    }
    else
    {
        $exception = New-Object -TypeName System.InvalidOperationException -ArgumentList $Message, $InnerException
    }
    $exception.Data['NomadIisKind'] = $Kind
    $record = New-Object -TypeName System.Management.Automation.ErrorRecord -ArgumentList $exception, ('NomadIis.' + $Kind), $category, $null
    throw $record
}

function Get-InnermostMessage
{
    <#
    .SYNOPSIS
        Returns the message of the innermost exception of an error record:
        the .NET message without PowerShell's "Exception calling ..." wrapper.
    #>
    [CmdletBinding()]
    [OutputType([System.String])]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.Management.Automation.ErrorRecord]
        $ErrorRecord
    )

    $ErrorActionPreference = 'Stop'
    $exception = $ErrorRecord.Exception
    while ($null -ne $exception.InnerException)
    {
        $exception = $exception.InnerException
    }
    return $exception.Message.Trim()
}

function Initialize-IisAdministration
{
    <#
    .SYNOPSIS
        Loads the IISAdministration module, or records why IIS cannot be
        managed so that the IIS operations fail with Unavailable while
        TestConnection and GetServerInfo keep working.
    #>
    [CmdletBinding()]
    [OutputType([System.Void])]
    param ()

    $ErrorActionPreference = 'Stop'
    # Global: the cmdlets are then visible to the module's functions and to
    # the admin extension scripts alike.
    $importArguments = @{
        Name        = 'IISAdministration'
        Global      = $true
        ErrorAction = 'Stop'
        Verbose     = $false
    }
    if ($PSVersionTable.PSEdition -eq 'Core')
    {
        # PowerShell 7 would otherwise proxy the module through a Windows
        # PowerShell session and hand back deserialized copies of the objects.
        $importArguments['SkipEditionCheck'] = $true
    }
    try
    {
        $null = Import-Module @importArguments
        $script:IisUnavailableReason = $null
    }
    catch
    {
        $script:IisUnavailableReason = 'the IISAdministration module cannot be loaded (is the IIS Management Scripts and Tools feature installed?): ' + (Get-InnermostMessage -ErrorRecord $_)
    }
}

function Assert-IisAvailable
{
    <#
    .SYNOPSIS
        Fails with Unavailable when IIS cannot be managed on this machine.
    #>
    [CmdletBinding()]
    [OutputType([System.Void])]
    param ()

    $ErrorActionPreference = 'Stop'
    if ($null -ne $script:IisUnavailableReason)
    {
        New-NomadIisError -Kind Unavailable -Message $script:IisUnavailableReason
    }
}

function Get-ServerManager
{
    <#
    .SYNOPSIS
        Returns IISAdministration's server manager with a fresh view of
        applicationHost.config.

    .DESCRIPTION
        IISAdministration keeps one ServerManager per session and never
        re-reads the configuration on its own, so changes made by
        administrators or other tools since the last call would be invisible.
        Every operation therefore starts from Reset-IISServerManager.
    #>
    [CmdletBinding()]
    [OutputType([System.Object])]
    param ()

    $ErrorActionPreference = 'Stop'
    Assert-IisAvailable
    try
    {
        $null = Reset-IISServerManager -Confirm:$false
        $serverManager = Get-IISServerManager
        # The configuration is read on first use: read it here, so that an
        # unreadable applicationHost.config fails with its reason and kind.
        $null = $serverManager.Sites.Count
    }
    catch
    {
        ConvertTo-NomadIisError -ErrorRecord $_ -Action 'read the IIS configuration'
    }
    return $serverManager
}

function ConvertTo-NomadIisError
{
    <#
    .SYNOPSIS
        Rethrows an error of IIS's configuration system with the contract's
        kind: Unavailable when the cause is the environment and may pass
        (access denied, the configuration file in use by another process or
        changed on disk since it was read), else unchanged.

    .DESCRIPTION
        A host that does not run elevated, or a commit that races with
        another tool writing applicationHost.config, fails with
        UnauthorizedAccessException, FileLoadException ("Cannot commit
        configuration changes because the file has changed on disk") or a
        COMException or IOException with HRESULT 0x80070005 (access
        denied), 0x80070020 (sharing violation) or 0x80070021 (lock
        violation). The driver retries Unavailable; anything else keeps
        its own kind (an error raised with New-NomadIisError) or stays
        Internal.

    .PARAMETER ErrorRecord
        The error.

    .PARAMETER Action
        What failed, for the message ("commit the IIS configuration change").
    #>
    [CmdletBinding()]
    [OutputType([System.Void])]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.Management.Automation.ErrorRecord]
        $ErrorRecord,

        # pscheck: checked callers pass a literal action
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $Action
    )

    $ErrorActionPreference = 'Stop'
    # HRESULTs: E_ACCESSDENIED, ERROR_SHARING_VIOLATION, ERROR_LOCK_VIOLATION.
    $accessDenied = -2147024891
    $inUse = @(-2147024864, -2147024863)
    $reason = ''
    $exception = $ErrorRecord.Exception
    while ($null -ne $exception)
    {
        if ($exception.Data.Contains('NomadIisKind'))
        {
            throw $ErrorRecord
        }
        if ($reason.Length -eq 0)
        {
            if ($exception -is [System.UnauthorizedAccessException] -or $exception.HResult -eq $accessDenied)
            {
                $reason = 'access to the IIS configuration is denied (the plugin must run as an administrator)'
            }
            elseif ($exception -is [System.IO.FileLoadException] -or $inUse -contains $exception.HResult)
            {
                $reason = 'the IIS configuration file is in use or was changed by another process; try again'
            }
        }
        $exception = $exception.InnerException
    }
    if ($reason.Length -eq 0)
    {
        throw $ErrorRecord
    }
    New-NomadIisError -Kind Unavailable -Message ('cannot {0}: {1}: {2}' -f $Action, $reason, (Get-InnermostMessage -ErrorRecord $ErrorRecord)) -InnerException $ErrorRecord.Exception
}

function Invoke-ConfigurationChange
{
    <#
    .SYNOPSIS
        Runs a change of the IIS configuration as one commit: all of it or
        nothing.

    .DESCRIPTION
        Starts an IISAdministration commit delay, runs the script block with
        the shared server manager and the plan as its arguments (pass what
        the change needs through the plan, not through variables of the
        caller), and commits with
        Stop-IISCommitDelay -Commit $true. When the script block or the commit
        fails, the delay is stopped with -Commit $false, the server manager is
        reset (dropping every uncommitted change) and the error is rethrown
        unchanged. The script block's output is returned.

    .PARAMETER Change
        The change: param ($serverManager, $plan). It must not commit.

    .PARAMETER Plan
        What the change needs to know.
    #>
    [CmdletBinding()]
    [OutputType([System.Object])]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.Management.Automation.ScriptBlock]
        $Change,

        [Parameter(Mandatory = $true)]
        [System.Collections.Hashtable]
        $Plan
    )

    $ErrorActionPreference = 'Stop'
    Assert-IisAvailable
    try
    {
        $null = Reset-IISServerManager -Confirm:$false
    }
    catch
    {
        ConvertTo-NomadIisError -ErrorRecord $_ -Action 'read the IIS configuration'
    }
    try
    {
        $null = Start-IISCommitDelay
    }
    catch
    {
        # A delay left open by an earlier failure would refuse every later
        # one in this long-lived process: end it without committing, once,
        # and start again.
        Write-Verbose -Message ('a commit delay was still open: ' + $_.Exception.Message)
        try
        {
            $null = Stop-IISCommitDelay -Commit $false
        }
        catch
        {
            Write-Verbose -Message ('ending it failed: ' + $_.Exception.Message)
        }
        $null = Reset-IISServerManager -Confirm:$false
        try
        {
            $null = Start-IISCommitDelay
        }
        catch
        {
            ConvertTo-NomadIisError -ErrorRecord $_ -Action 'start an IIS configuration change'
        }
    }
    $committing = $false
    try
    {
        $serverManager = Get-IISServerManager
        $result = & $Change $serverManager $Plan
        $committing = $true
        $null = Stop-IISCommitDelay -Commit $true
    }
    catch
    {
        $failure = $_
        if ($committing)
        {
            # Callers tell a failed commit, which may have written part of
            # the change, from a change that never reached the commit.
            $failure.Exception.Data['NomadIisCommitFailed'] = $true
        }
        # Cleanup errors never replace the change's own error and kind.
        try
        {
            $null = Stop-IISCommitDelay -Commit $false
        }
        catch
        {
            # The commit itself failed and already ended the delay: nothing
            # is left to discard.
            Write-Verbose -Message ('discarding the configuration change: ' + $_.Exception.Message)
        }
        try
        {
            $null = Reset-IISServerManager -Confirm:$false
        }
        catch
        {
            Write-Verbose -Message ('resetting the server manager: ' + $_.Exception.Message)
        }
        $action = 'change the IIS configuration'
        if ($committing)
        {
            $action = 'commit the IIS configuration change'
        }
        # Rethrows: with its own kind, as Unavailable when the environment
        # caused it, else unchanged.
        ConvertTo-NomadIisError -ErrorRecord $failure -Action $action
    }
    return $result
}

function Test-CommitFailure
{
    <#
    .SYNOPSIS
        Tells whether an error of Invoke-ConfigurationChange came from the
        commit itself (which may have written part of the change) rather
        than from the change before it.
    #>
    [CmdletBinding()]
    [OutputType([System.Boolean])]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.Management.Automation.ErrorRecord]
        $ErrorRecord
    )

    $ErrorActionPreference = 'Stop'
    $exception = $ErrorRecord.Exception
    while ($null -ne $exception)
    {
        if ($exception.Data.Contains('NomadIisCommitFailed'))
        {
            return $true
        }
        $exception = $exception.InnerException
    }
    return $false
}

function Test-NameEqual
{
    <#
    .SYNOPSIS
        Compares two IIS names (sites, pools, paths) the way IIS does:
        ignoring case.
    #>
    [CmdletBinding()]
    [OutputType([System.Boolean])]
    param
    (
        [Parameter(Mandatory = $true)]
        [AllowEmptyString()]
        [AllowNull()]
        [System.String]
        $Left,

        [Parameter(Mandatory = $true)]
        [AllowEmptyString()]
        [AllowNull()]
        [System.String]
        $Right
    )

    $ErrorActionPreference = 'Stop'
    return [System.String]::Equals($Left, $Right, [System.StringComparison]::OrdinalIgnoreCase)
}

function Test-ProviderNameEqual
{
    <#
    .SYNOPSIS
        Compares two auto-start provider names the way IIS does: with case.
        The IIS schema declares serviceAutoStartProviders/add/@name
        caseSensitive="true", unlike site, pool and application names.
    #>
    [CmdletBinding()]
    [OutputType([System.Boolean])]
    param
    (
        [Parameter(Mandatory = $true)]
        [AllowEmptyString()]
        [AllowNull()]
        [System.String]
        $Left,

        [Parameter(Mandatory = $true)]
        [AllowEmptyString()]
        [AllowNull()]
        [System.String]
        $Right
    )

    $ErrorActionPreference = 'Stop'
    return [System.String]::Equals($Left, $Right, [System.StringComparison]::Ordinal)
}

function Find-ConfigurationElement
{
    <#
    .SYNOPSIS
        Returns the first element of an IIS configuration collection (sites,
        application pools, applications) whose Name or Path equals Value,
        ignoring case, or $null.
    #>
    [CmdletBinding()]
    [OutputType([System.Object])]
    param
    (
        [Parameter(Mandatory = $true)]
        [AllowNull()]
        [AllowEmptyCollection()]
        [System.Object]
        $Collection,

        [Parameter(Mandatory = $true)]
        [ValidateSet('Name', 'Path')]
        [System.String]
        $Property,

        [Parameter(Mandatory = $true)]
        [AllowEmptyString()]
        [System.String]
        $Value
    )

    $ErrorActionPreference = 'Stop'
    foreach ($element in $Collection)
    {
        if (Test-NameEqual -Left ([System.String] $element.$Property) -Right $Value)
        {
            return $element
        }
    }
    return $null
}

function Find-Site
{
    <#
    .SYNOPSIS
        Returns the site with the given name, or $null.
    #>
    [CmdletBinding()]
    [OutputType([System.Object])]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.Object]
        $ServerManager,

        [Parameter(Mandatory = $true)]
        [AllowEmptyString()]
        [System.String]
        $Name
    )

    $ErrorActionPreference = 'Stop'
    return Find-ConfigurationElement -Collection $ServerManager.Sites -Property 'Name' -Value $Name
}

function Find-AppPool
{
    <#
    .SYNOPSIS
        Returns the application pool with the given name, or $null.
    #>
    [CmdletBinding()]
    [OutputType([System.Object])]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.Object]
        $ServerManager,

        [Parameter(Mandatory = $true)]
        [AllowEmptyString()]
        [System.String]
        $Name
    )

    $ErrorActionPreference = 'Stop'
    return Find-ConfigurationElement -Collection $ServerManager.ApplicationPools -Property 'Name' -Value $Name
}

function Find-Application
{
    <#
    .SYNOPSIS
        Returns the application of a site at a path ("/" or "/alias"), or $null.
    #>
    [CmdletBinding()]
    [OutputType([System.Object])]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.Object]
        $Site,

        # pscheck: checked callers pass a path that starts with /
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $Path
    )

    $ErrorActionPreference = 'Stop'
    return Find-ConfigurationElement -Collection $Site.Applications -Property 'Path' -Value $Path
}

function Get-ObjectStateName
{
    <#
    .SYNOPSIS
        Returns the runtime state of a site or pool as text (Starting,
        Started, Stopping, Stopped), or Unknown when the Windows Process
        Activation Service cannot tell (it is stopped, or has not picked up
        a new object yet).
    #>
    [CmdletBinding()]
    [OutputType([System.String])]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.Object]
        $InputObject
    )

    $ErrorActionPreference = 'Stop'
    $state = ''
    try
    {
        $state = [System.String] $InputObject.State
    }
    catch
    {
        $state = ''
    }
    if ($state.Length -eq 0)
    {
        return 'Unknown'
    }
    return $state
}

function Get-OptionalValue
{
    <#
    .SYNOPSIS
        Returns a property of a request object (a PSCustomObject made from
        JSON), or $null when the request does not carry it.
    #>
    [CmdletBinding()]
    [OutputType([System.Object])]
    param
    (
        [Parameter(Mandatory = $true)]
        [AllowNull()]
        [System.Object]
        $InputObject,

        # pscheck: checked callers pass a literal or a name from the module tables, or their own Name that refuses empty
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $Name
    )

    $ErrorActionPreference = 'Stop'
    if ($null -eq $InputObject)
    {
        return $null
    }
    $property = $InputObject.PSObject.Properties[$Name]
    if ($null -eq $property)
    {
        return $null
    }
    # The comma hands an array over whole instead of unrolling it.
    return , $property.Value
}

function Get-StringValue
{
    <#
    .SYNOPSIS
        Returns a text property of a request object, '' when it is absent.
    #>
    [CmdletBinding()]
    [OutputType([System.String])]
    param
    (
        [Parameter(Mandatory = $true)]
        [AllowNull()]
        [System.Object]
        $InputObject,

        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $Name
    )

    $ErrorActionPreference = 'Stop'
    $value = Get-OptionalValue -InputObject $InputObject -Name $Name
    if ($null -eq $value)
    {
        return ''
    }
    return [System.String] $value
}

function Get-ListValue
{
    <#
    .SYNOPSIS
        Returns a list property of a request object as an array without
        null entries; an empty array when the request does not carry it.
    #>
    [CmdletBinding()]
    [OutputType([System.Object[]])]
    param
    (
        [Parameter(Mandatory = $true)]
        [AllowNull()]
        [System.Object]
        $InputObject,

        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $Name
    )

    $ErrorActionPreference = 'Stop'
    $list = New-Object -TypeName System.Collections.Generic.List[System.Object]
    $value = Get-OptionalValue -InputObject $InputObject -Name $Name
    if ($null -ne $value)
    {
        foreach ($item in $value)
        {
            if ($null -ne $item)
            {
                $list.Add($item)
            }
        }
    }
    # The comma keeps the pipeline from unrolling the array.
    return , $list.ToArray()
}

function Assert-ObjectName
{
    <#
    .SYNOPSIS
        Validates a site or application pool name.
    #>
    [CmdletBinding()]
    [OutputType([System.Void])]
    param
    (
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $Field,

        [Parameter(Mandatory = $true)]
        [AllowEmptyString()]
        [System.String]
        $Value,

        [Parameter()]
        [ValidateRange(0, 1024)]
        [System.Int32]
        $MaxLength = 0
    )

    $ErrorActionPreference = 'Stop'
    if ($Value.Trim().Length -eq 0)
    {
        New-NomadIisError -Kind InvalidArgument -Message ('{0}: a name is required' -f $Field)
    }
    if ($Value.Trim() -ne $Value)
    {
        New-NomadIisError -Kind InvalidArgument -Message ("{0}: '{1}' has leading or trailing spaces" -f $Field, $Value)
    }
    if ($Value.IndexOfAny($script:BadNameCharacters.ToCharArray()) -ge 0)
    {
        New-NomadIisError -Kind InvalidArgument -Message ("{0}: '{1}' contains one of the characters {2}" -f $Field, $Value, $script:BadNameCharacters)
    }
    if ($MaxLength -gt 0 -and $Value.Length -gt $MaxLength)
    {
        New-NomadIisError -Kind InvalidArgument -Message ("{0}: '{1}' is longer than {2} characters" -f $Field, $Value, $MaxLength)
    }
}

function ConvertTo-Alias
{
    <#
    .SYNOPSIS
        Validates an application or virtual directory alias and returns it
        without the slashes around it ('' for the root).
    #>
    [CmdletBinding()]
    [OutputType([System.String])]
    param
    (
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $Field,

        [Parameter(Mandatory = $true)]
        [AllowEmptyString()]
        [System.String]
        $Value
    )

    $ErrorActionPreference = 'Stop'
    $alias = $Value.Trim().Trim('/')
    if ($alias.Length -eq 0)
    {
        return ''
    }
    if ($alias.IndexOfAny($script:BadAliasCharacters.ToCharArray()) -ge 0)
    {
        New-NomadIisError -Kind InvalidArgument -Message ("{0}: '{1}' contains one of the characters {2}" -f $Field, $Value, $script:BadAliasCharacters)
    }
    foreach ($segment in $alias.Split('/'))
    {
        if ($segment.Length -eq 0 -or $segment -eq '.' -or $segment -eq '..' -or $segment.Trim() -ne $segment)
        {
            New-NomadIisError -Kind InvalidArgument -Message ("{0}: '{1}' is not a valid path" -f $Field, $Value)
        }
    }
    return $alias
}

function ConvertTo-PhysicalPath
{
    <#
    .SYNOPSIS
        Validates an absolute Windows path (drive or UNC) and returns it with
        backslashes. Like IIS, it does not require the directory to exist.
    #>
    [CmdletBinding()]
    [OutputType([System.String])]
    param
    (
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $Field,

        [Parameter(Mandatory = $true)]
        [AllowEmptyString()]
        [System.String]
        $Value
    )

    $ErrorActionPreference = 'Stop'
    if ($Value.Length -eq 0)
    {
        New-NomadIisError -Kind InvalidArgument -Message ('{0}: a physical path is required' -f $Field)
    }
    $path = $Value.Replace('/', '\')
    if ($path -notmatch '^[A-Za-z]:\\' -and $path -notmatch '^\\\\[^\\]+\\[^\\]+')
    {
        New-NomadIisError -Kind InvalidArgument -Message ("{0}: '{1}' is not an absolute path" -f $Field, $Value)
    }
    return $path
}

function Assert-OneOf
{
    <#
    .SYNOPSIS
        Fails with InvalidArgument unless a value is one of the allowed
        values (exact case, as the contract defines them). Empty means unset
        and passes.
    #>
    [CmdletBinding()]
    [OutputType([System.Void])]
    param
    (
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $Field,

        [Parameter(Mandatory = $true)]
        [AllowEmptyString()]
        [System.String]
        $Value,

        # pscheck: checked callers pass literal lists or the PoolIdentities table
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String[]]
        $Allowed
    )

    $ErrorActionPreference = 'Stop'
    if ($Value.Length -eq 0)
    {
        return
    }
    foreach ($candidate in $Allowed)
    {
        if ([System.String]::Equals($candidate, $Value, [System.StringComparison]::Ordinal))
        {
            return
        }
    }
    New-NomadIisError -Kind InvalidArgument -Message ("{0}: '{1}' is not one of {2}" -f $Field, $Value, ($Allowed -join ', '))
}

function ConvertTo-Thumbprint
{
    <#
    .SYNOPSIS
        Returns a certificate thumbprint in the store's form: upper-case hex
        without separators, or '' when the text is not a SHA-1 thumbprint.
    #>
    [CmdletBinding()]
    [OutputType([System.String])]
    param
    (
        [Parameter(Mandatory = $true)]
        [AllowEmptyString()]
        [System.String]
        $Value
    )

    $ErrorActionPreference = 'Stop'
    $hex = ($Value -replace '[^0-9A-Fa-f]', '').ToUpperInvariant()
    if ($hex.Length -ne 40)
    {
        return ''
    }
    return $hex
}

function ConvertTo-IsoTime
{
    <#
    .SYNOPSIS
        Formats a time as RFC 3339 in UTC, the form Go decodes. (Windows
        PowerShell's ConvertTo-Json writes dates as "\/Date(...)\/".)
    #>
    [CmdletBinding()]
    [OutputType([System.String])]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.DateTime]
        $Time
    )

    $ErrorActionPreference = 'Stop'
    return $Time.ToUniversalTime().ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffff'Z'", [System.Globalization.CultureInfo]::InvariantCulture)
}
