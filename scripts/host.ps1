#Requires -Version 5.1
<#
.SYNOPSIS
    Serves the nomad-iis operations on stdin and stdout: the PowerShell
    backend of the IIS task driver.

.DESCRIPTION
    The driver starts this script once (powershell.exe -NoLogo -NoProfile
    -NonInteractive -ExecutionPolicy Bypass -File host.ps1) and keeps it
    running. Both directions carry one JSON object per line, in UTF-8:

        request   {"id":7,"op":"GetAppPool","args":{"names":["nomad-1234-web"]}}
        response  {"id":7,"ok":true,"result":[...]}
                  {"id":7,"ok":false,"error":{"kind":"NotFound","message":"..."}}

    When it is ready the script writes {"id":0,"ok":true,"result":
    {"backend":"iis","processId":<PID>}}. Nothing else is written to stdout:
    diagnostics go to stderr, which the driver copies into its log.

    The operation "VerbNoun" is served by the function Verb-NomadIisNoun of
    NomadIis.psm1 (next to this script), called with the request's arguments
    as named parameters (JSON field "siteName" binds -SiteName). An argument
    the function does not take, or one its validation refuses, is an
    InvalidArgument error; an unknown operation too. Errors raised with
    New-NomadIisError keep their kind; any other error is Internal. Error
    messages never contain the values of secrets (passwords, environment
    variables): the module does not put them there, and this script removes
    any that a .NET message echoes. A failing operation never ends the loop;
    end of input does.

    Admin extensions: every *.ps1 file of ExtensionsDirectory is loaded at
    start, in file name order, each into a dynamic module of its own, so the
    scripts' functions never collide and nothing they define reaches this
    script or the module. A script implements a hook by defining a function
    with one of these names; it is called with -Context, the task
    (allocId, taskName, jobName, namespace, taskDir, siteName, appPools):

        Invoke-PreStartHook    before the task's site is created; throwing
                               fails the task with the script's message
        Invoke-PostStartHook   after the site was created and started
        Invoke-PreStopHook     before the task's site is removed
        Invoke-PostStopHook    after it was removed

    A script receives its own path as its first argument ($args[0], or its
    first parameter). Errors stop a hook ($ErrorActionPreference is Stop).
    Everything a hook writes, on any stream, is reported as its output. A
    script that fails to load is listed with status Failed and its error
    (operation GetExtension) and never called. See scripts/examples.

.PARAMETER ExtensionsDirectory
    The directory of the admin extension scripts; none when empty.
#>
[CmdletBinding()]
param
(
    [Parameter()]
    [System.String]
    $ExtensionsDirectory = ''
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 1.0

# Only response frames may reach stdout, and the console host writes
# warning, verbose, debug, information and progress records there. The
# module and the extensions run below the global scope, so the preferences
# are set there. Errors stop everything that runs in this process.
foreach ($preference in @('WarningPreference', 'VerbosePreference', 'DebugPreference', 'InformationPreference', 'ProgressPreference'))
{
    Set-Variable -Name $preference -Value 'SilentlyContinue' -Scope Global
}
Set-Variable -Name 'ErrorActionPreference' -Value 'Stop' -Scope Global
Set-Variable -Name 'ConfirmPreference' -Value 'None' -Scope Global

if ($PSVersionTable.PSVersion.Major -lt 6)
{
    # Windows PowerShell's type data for System.Array makes ConvertTo-Json
    # write some arrays as {"value":[...],"Count":n}.
    Remove-TypeData -TypeName 'System.Array' -ErrorAction SilentlyContinue
}

# UTF-8 without a byte order mark, both ways. The frames go through
# readers and writers of their own on the standard handles, so that they do
# not depend on the console's code page.
$script:Utf8 = New-Object -TypeName System.Text.UTF8Encoding -ArgumentList $false
try
{
    [System.Console]::InputEncoding = $script:Utf8
}
catch
{
    [System.Console]::Error.WriteLine('nomad-iis host: the console input encoding cannot be set: ' + $_.Exception.Message)
}
try
{
    [System.Console]::OutputEncoding = $script:Utf8
}
catch
{
    [System.Console]::Error.WriteLine('nomad-iis host: the console output encoding cannot be set: ' + $_.Exception.Message)
}
$script:RequestReader = New-Object -TypeName System.IO.StreamReader -ArgumentList ([System.Console]::OpenStandardInput()), $script:Utf8
$script:ResponseWriter = New-Object -TypeName System.IO.StreamWriter -ArgumentList ([System.Console]::OpenStandardOutput()), $script:Utf8
$script:ResponseWriter.AutoFlush = $true
$script:ResponseWriter.NewLine = "`n"

# The kinds of the contract's errors.
$script:ErrorKinds = @('NotFound', 'InvalidArgument', 'Conflict', 'Unavailable', 'Internal')

# The hooks and the functions that implement them.
$script:HookFunctionNames = [ordered] @{
    PreStart  = 'Invoke-PreStartHook'
    PostStart = 'Invoke-PostStartHook'
    PreStop   = 'Invoke-PreStopHook'
    PostStop  = 'Invoke-PostStopHook'
}

# Loads one extension script into its own module: the script's functions
# stay inside it (nothing is exported), and the script gets its path.
$script:ExtensionLoader = {
    param ($NomadIisExtensionBody, $NomadIisExtensionPath)
    . $NomadIisExtensionBody $NomadIisExtensionPath
    Export-ModuleMember
}

# Secrets shorter than this are not searched for in messages: replacing
# every "a" or "1" would garble the message and hide nothing.
$script:MinRedactedLength = 4

function Write-HostLog
{
    <#
    .SYNOPSIS
        Writes a diagnostic line to stderr, which the driver logs.
    #>
    [CmdletBinding()]
    [OutputType([System.Void])]
    param
    (
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $Message
    )

    $ErrorActionPreference = 'Stop'
    [System.Console]::Error.WriteLine('nomad-iis host: ' + $Message)
}

function Write-Frame
{
    <#
    .SYNOPSIS
        Writes one response frame as one line of JSON on stdout.
    #>
    [CmdletBinding()]
    [OutputType([System.Void])]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.Collections.IDictionary]
        $Frame
    )

    $ErrorActionPreference = 'Stop'
    try
    {
        $json = ConvertTo-Json -InputObject $Frame -Depth 20 -Compress
    }
    catch
    {
        Write-HostLog -Message ('the result of request {0} cannot be written as JSON: {1}' -f $Frame['id'], $_.Exception.Message)
        $json = ConvertTo-Json -InputObject ([ordered] @{
                id    = $Frame['id']
                ok    = $false
                error = [ordered] @{ kind = 'Internal'; message = 'the result cannot be written as JSON' }
            }) -Compress
    }
    # A frame starts on a line of its own: stray output without a newline
    # (a native program or a hook writing straight to the console) ends at
    # this newline instead of being glued to the frame. The driver skips
    # empty and stray lines.
    $script:ResponseWriter.Write("`n")
    $script:ResponseWriter.WriteLine($json)
}

function New-ErrorFrame
{
    <#
    .SYNOPSIS
        Builds an error response frame.
    #>
    [CmdletBinding()]
    [OutputType([System.Collections.Specialized.OrderedDictionary])]
    param
    (
        [Parameter(Mandatory = $true)]
        [AllowNull()]
        [System.Object]
        $Id,

        # pscheck: checked callers pass InvalidArgument or a kind Get-ErrorKind returned
        [Parameter(Mandatory = $true)]
        [ValidateSet('NotFound', 'InvalidArgument', 'Conflict', 'Unavailable', 'Internal')]
        [System.String]
        $Kind,

        # pscheck: checked callers pass literal text; Invoke-Operation replaces an empty message first
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $Message
    )

    $ErrorActionPreference = 'Stop'
    return [ordered] @{
        id    = $Id
        ok    = $false
        error = [ordered] @{
            kind    = $Kind
            message = $Message
        }
    }
}

function Get-OperationFunctionName
{
    <#
    .SYNOPSIS
        Maps an operation to its function as ps.PowerShellFunction does: the
        verb, "-NomadIis", then the noun ("GetAppPool" -> "Get-NomadIisAppPool").
    #>
    [CmdletBinding()]
    [OutputType([System.String])]
    param
    (
        # pscheck: checked Invoke-Operation passes it only after matching ^[A-Za-z]+$
        [Parameter(Mandatory = $true)]
        [ValidatePattern('^[A-Za-z]+$')]
        [System.String]
        $Operation
    )

    $ErrorActionPreference = 'Stop'
    for ($i = 1; $i -lt $Operation.Length; $i++)
    {
        if ($Operation[$i] -cmatch '[A-Z]')
        {
            return $Operation.Substring(0, $i) + '-NomadIis' + $Operation.Substring($i)
        }
    }
    return $Operation
}

function Add-SecretValue
{
    <#
    .SYNOPSIS
        Collects the secret values of a request's arguments: every
        "password", the value of every environment variable, and the value
        of every extension attribute whose name ends in "password".
    #>
    [CmdletBinding()]
    [OutputType([System.Void])]
    param
    (
        [Parameter(Mandatory = $true)]
        [AllowNull()]
        [System.Object]
        $Value,

        # An element may be empty: a secret list is checked element by
        # element when bound, and "" is refused without AllowEmptyString.
        [Parameter(Mandatory = $true)]
        [AllowEmptyCollection()]
        [AllowEmptyString()]
        [System.Collections.Generic.List[System.String]]
        $Secrets
    )

    $ErrorActionPreference = 'Stop'
    if ($null -eq $Value -or $Value -is [System.String] -or $Value -is [System.ValueType])
    {
        return
    }
    if ($Value -is [System.Collections.IEnumerable])
    {
        foreach ($item in $Value)
        {
            Add-SecretValue -Value $item -Secrets $Secrets
        }
        return
    }
    foreach ($property in $Value.PSObject.Properties)
    {
        if ($property.MemberType -ne 'NoteProperty')
        {
            continue
        }
        $name = $property.Name
        if ($name -eq 'password' -and $property.Value -is [System.String] -and $property.Value.Length -gt 0)
        {
            $Secrets.Add($property.Value)
        }
        elseif ($name -eq 'environmentVariables' -or $name -eq 'attributes')
        {
            foreach ($item in @($property.Value))
            {
                if ($null -eq $item)
                {
                    continue
                }
                $itemName = [System.String] $item.name
                $itemValue = [System.String] $item.value
                if (($name -eq 'environmentVariables' -or $itemName -match 'password$') -and $itemValue.Length -gt 0)
                {
                    $Secrets.Add($itemValue)
                }
            }
        }
        else
        {
            Add-SecretValue -Value $property.Value -Secrets $Secrets
        }
    }
}

function Remove-SecretValue
{
    <#
    .SYNOPSIS
        Replaces every secret value that occurs in a message with "***".
    #>
    [CmdletBinding()]
    [OutputType([System.String])]
    param
    (
        [Parameter(Mandatory = $true)]
        [AllowEmptyString()]
        [System.String]
        $Message,

        [Parameter(Mandatory = $true)]
        [AllowEmptyCollection()]
        [AllowEmptyString()]
        [System.Collections.Generic.List[System.String]]
        $Secrets
    )

    $ErrorActionPreference = 'Stop'
    $longestFirst = @($Secrets | Where-Object -FilterScript { $_.Length -ge $script:MinRedactedLength } | Sort-Object -Property Length -Descending)
    foreach ($secret in $longestFirst)
    {
        $Message = $Message.Replace($secret, '***')
    }
    return $Message
}

function Get-ErrorKind
{
    <#
    .SYNOPSIS
        Returns the contract's kind of an error: the kind New-NomadIisError
        gave it, InvalidArgument when the operation's parameters refused the
        request, else Internal.
    #>
    [CmdletBinding()]
    [OutputType([System.String])]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.Management.Automation.ErrorRecord]
        $ErrorRecord,

        # pscheck: checked Get-OperationFunctionName never returns an empty name
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $FunctionName
    )

    $ErrorActionPreference = 'Stop'
    $match = [System.Text.RegularExpressions.Regex]::Match([System.String] $ErrorRecord.FullyQualifiedErrorId, '^NomadIis\.([A-Za-z]+)')
    if ($match.Success -and $script:ErrorKinds -ccontains $match.Groups[1].Value)
    {
        return $match.Groups[1].Value
    }
    $exception = $ErrorRecord.Exception
    while ($null -ne $exception)
    {
        if ($exception.Data.Contains('NomadIisKind') -and $script:ErrorKinds -ccontains [System.String] $exception.Data['NomadIisKind'])
        {
            return [System.String] $exception.Data['NomadIisKind']
        }
        $exception = $exception.InnerException
    }
    if ($ErrorRecord.Exception -is [System.Management.Automation.ParameterBindingException] -and
        $null -ne $ErrorRecord.InvocationInfo -and $null -ne $ErrorRecord.InvocationInfo.MyCommand -and
        $ErrorRecord.InvocationInfo.MyCommand.Name -eq $FunctionName)
    {
        return 'InvalidArgument'
    }
    return 'Internal'
}

function Invoke-Operation
{
    <#
    .SYNOPSIS
        Serves one request line and returns its response frame.
    #>
    [CmdletBinding()]
    [OutputType([System.Collections.Specialized.OrderedDictionary])]
    param
    (
        # pscheck: checked the serve loop skips blank lines
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $Line
    )

    $ErrorActionPreference = 'Stop'
    # The id, read before the JSON is parsed, lets a malformed request still
    # fail the right call.
    $id = $null
    $idMatch = [System.Text.RegularExpressions.Regex]::Match($Line, '"id"\s*:\s*(\d+)')
    if ($idMatch.Success)
    {
        $id = [System.Decimal]::Parse($idMatch.Groups[1].Value, [System.Globalization.CultureInfo]::InvariantCulture)
    }
    try
    {
        $request = ConvertFrom-Json -InputObject $Line
    }
    catch
    {
        return New-ErrorFrame -Id $id -Kind InvalidArgument -Message 'the request is not valid JSON'
    }
    if ($null -eq $request -or $request -isnot [System.Management.Automation.PSCustomObject] -or $null -eq $request.id)
    {
        return New-ErrorFrame -Id $id -Kind InvalidArgument -Message 'the request is not a JSON object with an id'
    }
    $id = $request.id
    $operation = [System.String] $request.op
    if ($operation -notmatch '^[A-Za-z]+$')
    {
        return New-ErrorFrame -Id $id -Kind InvalidArgument -Message ("unknown operation '{0}'" -f $operation)
    }
    $functionName = Get-OperationFunctionName -Operation $operation
    if (-not $script:Module.ExportedFunctions.ContainsKey($functionName))
    {
        return New-ErrorFrame -Id $id -Kind InvalidArgument -Message ("unknown operation '{0}'" -f $operation)
    }
    $function = $script:Module.ExportedFunctions[$functionName]

    $arguments = $request.args
    if ($null -ne $arguments -and $arguments -isnot [System.Management.Automation.PSCustomObject])
    {
        return New-ErrorFrame -Id $id -Kind InvalidArgument -Message 'args: not a JSON object'
    }
    $parameters = @{}
    $secrets = New-Object -TypeName System.Collections.Generic.List[System.String]
    try
    {
        if ($null -ne $arguments)
        {
            foreach ($property in $arguments.PSObject.Properties)
            {
                if ($property.MemberType -eq 'NoteProperty')
                {
                    $parameters[$property.Name] = $property.Value
                }
            }
            # Inside the try: a failure here is this request's error, with
            # its id, and never the loop's generic one.
            Add-SecretValue -Value $arguments -Secrets $secrets
        }
        # Streams 3 to 6 are dropped: on the console host they would reach stdout.
        $result = & $function @parameters 3>$null 4>$null 5>$null 6>$null
        return [ordered] @{
            id     = $id
            ok     = $true
            result = $result
        }
    }
    catch
    {
        $record = $_
        $kind = Get-ErrorKind -ErrorRecord $record -FunctionName $functionName
        $message = $record.Exception.Message
        if ($kind -eq 'InvalidArgument' -and $record.Exception -is [System.Management.Automation.ParameterBindingException])
        {
            $parameterName = [System.String] $record.Exception.ParameterName
            if ($parameterName -eq 'Password')
            {
                $message = "argument 'password' is not valid"
            }
        }
        $message = Remove-SecretValue -Message ([System.String] $message) -Secrets $secrets
        if ($message.Trim().Length -eq 0)
        {
            $message = '{0} failed ({1})' -f $operation, $record.FullyQualifiedErrorId
        }
        if ($kind -eq 'Internal')
        {
            Write-HostLog -Message ("{0} failed: {1}`n{2}" -f $operation, $message, $record.ScriptStackTrace)
        }
        return New-ErrorFrame -Id $id -Kind $kind -Message $message
    }
}

function Import-ExtensionScript
{
    <#
    .SYNOPSIS
        Loads the admin extension scripts of a directory, each into its own
        dynamic module, and returns what the module's extension registry
        holds for each: name, path, status, error and hook functions.
    #>
    [CmdletBinding()]
    [OutputType([System.Object[]])]
    param
    (
        [Parameter(Mandatory = $true)]
        [AllowEmptyString()]
        [System.String]
        $Directory
    )

    $ErrorActionPreference = 'Stop'
    $extensions = New-Object -TypeName System.Collections.Generic.List[System.Object]
    if ($Directory.Length -eq 0)
    {
        return , $extensions.ToArray()
    }
    if (-not (Test-Path -LiteralPath $Directory -PathType Container))
    {
        Write-HostLog -Message ('the extensions directory {0} does not exist; no extension is loaded' -f $Directory)
        return , $extensions.ToArray()
    }

    # -Filter '*.ps1' would also match "*.ps1xml" (8.3 name matching).
    $files = @(Get-ChildItem -LiteralPath $Directory -Filter '*.ps1' -File |
            Where-Object -FilterScript { $_.Extension -eq '.ps1' } |
            Sort-Object -Property Name)
    $index = 0
    foreach ($file in $files)
    {
        $index++
        $moduleName = 'NomadIisExtension{0}_{1}' -f $index, ($file.BaseName -replace '[^A-Za-z0-9_]', '_')
        $entry = [pscustomobject] @{
            Name      = $file.BaseName
            Path      = $file.FullName
            Status    = 'Failed'
            Error     = ''
            Functions = @{}
        }
        try
        {
            $body = [System.Management.Automation.ScriptBlock]::Create([System.IO.File]::ReadAllText($file.FullName))
            $loaded = @(New-Module -Name $moduleName -ScriptBlock $script:ExtensionLoader -ArgumentList $body, $file.FullName *>&1)
            $module = $loaded | Where-Object -FilterScript { $_ -is [System.Management.Automation.PSModuleInfo] } | Select-Object -Last 1
            if ($null -eq $module)
            {
                throw 'the script did not load as a module'
            }
            $found = @(& $module {
                    param ($Names)
                    foreach ($name in $Names)
                    {
                        Get-Command -Name $name -CommandType Function -ErrorAction SilentlyContinue
                    }
                } @($script:HookFunctionNames.Values))
            foreach ($hook in $script:HookFunctionNames.Keys)
            {
                foreach ($function in $found)
                {
                    if ($function.Name -eq $script:HookFunctionNames[$hook] -and
                        ([System.String]::IsNullOrEmpty($function.ModuleName) -or $function.ModuleName -eq $moduleName))
                    {
                        $entry.Functions[$hook] = $function
                    }
                }
            }
            $entry.Status = 'Loaded'
            Write-HostLog -Message ('extension {0} loaded, hooks: {1}' -f $entry.Name, ((@($entry.Functions.Keys) | Sort-Object) -join ', '))
        }
        catch
        {
            $entry.Error = $_.Exception.Message
            Write-HostLog -Message ('extension {0} failed to load: {1}' -f $entry.Name, $entry.Error)
        }
        $extensions.Add($entry)
    }
    return , $extensions.ToArray()
}

# Start: the module, the extensions, then the ready frame.
try
{
    $script:Module = Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath 'NomadIis.psm1') -PassThru -Force -DisableNameChecking
}
catch
{
    Write-HostLog -Message ('NomadIis.psm1 cannot be loaded: ' + $_.Exception.Message)
    exit 1
}
$extensions = @()
try
{
    $extensions = Import-ExtensionScript -Directory $ExtensionsDirectory
}
catch
{
    Write-HostLog -Message ('the extensions cannot be loaded: ' + $_.Exception.Message)
}
& $script:Module {
    param ($Directory, $Extensions)
    Set-ExtensionRegistry -Directory $Directory -Extensions $Extensions
} $ExtensionsDirectory $extensions

Write-Frame -Frame ([ordered] @{
        id     = 0
        ok     = $true
        result = [ordered] @{
            backend   = 'iis'
            processId = $PID
        }
    })

# Serve until the driver closes stdin.
while ($true)
{
    $line = $script:RequestReader.ReadLine()
    if ($null -eq $line)
    {
        break
    }
    if ($line.Trim().Length -eq 0)
    {
        continue
    }
    try
    {
        $frame = Invoke-Operation -Line $line
    }
    catch
    {
        Write-HostLog -Message ('a request could not be served: ' + $_.Exception.Message)
        $frame = New-ErrorFrame -Id $null -Kind Internal -Message 'the request could not be served; the PowerShell host logged why'
        $idMatch = [System.Text.RegularExpressions.Regex]::Match($line, '"id"\s*:\s*(\d+)')
        if ($idMatch.Success)
        {
            $frame['id'] = [System.Decimal]::Parse($idMatch.Groups[1].Value, [System.Globalization.CultureInfo]::InvariantCulture)
        }
    }
    Write-Frame -Frame $frame
}
exit 0
