<#
    Configuration attributes: the contract's application pool settings and
    the extension attributes ("name"/"value" pairs, dotted names reaching
    child elements), typed by the IIS configuration schema. Dot-sourced by
    NomadIis.psm1.
#>

# The settings of ps.AppPoolSpec and the attribute of the pool's <add>
# element each one sets. Milliseconds marks durations, which travel as whole
# milliseconds and are written as TimeSpan values. The table is applied in
# order: identityType before userName and password.
$script:AppPoolSettings = @(
    @{ Field = 'identity'; Attribute = 'processModel.identityType'; Milliseconds = $false }
    @{ Field = 'username'; Attribute = 'processModel.userName'; Milliseconds = $false }
    @{ Field = 'password'; Attribute = 'processModel.password'; Milliseconds = $false }
    @{ Field = 'managedPipelineMode'; Attribute = 'managedPipelineMode'; Milliseconds = $false }
    @{ Field = 'managedRuntimeVersion'; Attribute = 'managedRuntimeVersion'; Milliseconds = $false }
    @{ Field = 'enable32BitAppOnWin64'; Attribute = 'enable32BitAppOnWin64'; Milliseconds = $false }
    @{ Field = 'startMode'; Attribute = 'startMode'; Milliseconds = $false }
    @{ Field = 'idleTimeoutMs'; Attribute = 'processModel.idleTimeout'; Milliseconds = $true }
    @{ Field = 'disallowOverlappingRotation'; Attribute = 'recycling.disallowOverlappingRotation'; Milliseconds = $false }
    @{ Field = 'periodicRestartMs'; Attribute = 'recycling.periodicRestart.time'; Milliseconds = $true }
    @{ Field = 'loadBalancerCapabilities'; Attribute = 'failure.loadBalancerCapabilities'; Milliseconds = $false }
    @{ Field = 'queueLength'; Attribute = 'queueLength'; Milliseconds = $false }
    @{ Field = 'startupTimeLimitMs'; Attribute = 'processModel.startupTimeLimit'; Milliseconds = $true }
    @{ Field = 'shutdownTimeLimitMs'; Attribute = 'processModel.shutdownTimeLimit'; Milliseconds = $true }
)

# The identities of processModel.identityType.
$script:PoolIdentities = @('ApplicationPoolIdentity', 'LocalSystem', 'LocalService', 'NetworkService', 'SpecificUser')

# The integer types of the IIS schema and their .NET types.
$script:IntegerAttributeTypes = @{
    'int'    = [System.Int32]
    'uint'   = [System.UInt32]
    'int64'  = [System.Int64]
    'uint64' = [System.UInt64]
    'long'   = [System.Int64]
    'ulong'  = [System.UInt64]
}

function ConvertTo-AttributeValue
{
    <#
    .SYNOPSIS
        Converts a value (text from an extension block, or a typed value from
        the contract) into what the attribute's schema type takes: Boolean,
        an integer type, TimeSpan, the integer of an enumeration or flags
        value, or text. Error messages never include the value, which may be
        a secret.
    #>
    [CmdletBinding()]
    [OutputType([System.Object])]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.Object]
        $Schema,

        [Parameter(Mandatory = $true)]
        [AllowNull()]
        [AllowEmptyString()]
        [System.Object]
        $Value,

        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $Field
    )

    $ErrorActionPreference = 'Stop'
    $invariant = [System.Globalization.CultureInfo]::InvariantCulture
    $type = ([System.String] $Schema.Type).ToLowerInvariant()
    if ($null -eq $Value)
    {
        New-NomadIisError -Kind InvalidArgument -Message ('{0}: a value is required' -f $Field)
    }
    if ($Value -is [System.IFormattable])
    {
        $text = $Value.ToString($null, $invariant)
    }
    else
    {
        $text = ([System.String] $Value).Trim()
    }

    if ($type -eq 'bool')
    {
        if ($Value -is [System.Boolean])
        {
            return $Value
        }
        $parsed = $false
        if ([System.Boolean]::TryParse($text, [ref] $parsed))
        {
            return $parsed
        }
        New-NomadIisError -Kind InvalidArgument -Message ('{0}: expects true or false' -f $Field)
    }

    if ($script:IntegerAttributeTypes.ContainsKey($type))
    {
        $targetType = $script:IntegerAttributeTypes[$type]
        $parsed = [System.Activator]::CreateInstance($targetType)
        if ($targetType::TryParse($text, [System.Globalization.NumberStyles]::Integer, $invariant, [ref] $parsed))
        {
            return $parsed
        }
        New-NomadIisError -Kind InvalidArgument -Message ('{0}: expects a whole number in the range of {1}' -f $Field, $targetType.Name)
    }

    if ($type -eq 'timespan')
    {
        if ($Value -is [System.TimeSpan])
        {
            return $Value
        }
        $parsed = [System.TimeSpan]::Zero
        if ([System.TimeSpan]::TryParse($text, $invariant, [ref] $parsed))
        {
            return $parsed
        }
        New-NomadIisError -Kind InvalidArgument -Message ('{0}: expects a duration such as 00:20:00 or 1.00:00:00' -f $Field)
    }

    if ($type -eq 'enum' -or $type -eq 'flags')
    {
        $values = @($Schema.GetEnumValues())
        $names = New-Object -TypeName System.Collections.Generic.List[System.String]
        foreach ($enumValue in $values)
        {
            $names.Add([System.String] $enumValue.Name)
        }
        $parts = @($text)
        if ($type -eq 'flags')
        {
            $parts = @($text.Split([char[]] @(',', '|'), [System.StringSplitOptions]::RemoveEmptyEntries))
        }
        $result = 0
        foreach ($part in $parts)
        {
            $name = $part.Trim()
            $match = $null
            foreach ($enumValue in $values)
            {
                if ((Test-NameEqual -Left $enumValue.Name -Right $name) -or ([System.String] $enumValue.Value) -eq $name)
                {
                    $match = $enumValue
                    break
                }
            }
            if ($null -eq $match)
            {
                New-NomadIisError -Kind InvalidArgument -Message ('{0}: expects one of {1}' -f $Field, ($names -join ', '))
            }
            $result = $result -bor [System.Int32] $match.Value
        }
        return [System.Int32] $result
    }

    return [System.String] $Value
}

function Set-ConfigAttribute
{
    <#
    .SYNOPSIS
        Sets an attribute of a configuration element, or of one of its child
        elements when the name is dotted ("processModel.maxProcesses",
        "recycling.periodicRestart.time"), converting the value to the
        attribute's schema type.

    .DESCRIPTION
        Unknown child elements and attributes, and values the schema refuses,
        are InvalidArgument errors that name the field and the attribute but
        never the value.
    #>
    [CmdletBinding()]
    [OutputType([System.Void])]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.Object]
        $Element,

        # pscheck: checked callers refuse an empty attribute name first, or pass a name from the pool settings table
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $Name,

        [Parameter(Mandatory = $true)]
        [AllowNull()]
        [AllowEmptyString()]
        [System.Object]
        $Value,

        # pscheck: checked callers pass a -f format with literal text
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $Field
    )

    $ErrorActionPreference = 'Stop'
    if ($Name -notmatch '^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*$')
    {
        New-NomadIisError -Kind InvalidArgument -Message ("{0}: '{1}' is not an attribute name" -f $Field, $Name)
    }
    $parts = $Name.Split('.')
    $target = $Element
    for ($i = 0; $i -lt $parts.Length - 1; $i++)
    {
        $child = $null
        try
        {
            $child = $target.GetChildElement($parts[$i])
        }
        catch
        {
            $child = $null
        }
        if ($null -eq $child)
        {
            New-NomadIisError -Kind InvalidArgument -Message ("{0}: '{1}' has no element '{2}'" -f $Field, $Name, $parts[$i])
        }
        $target = $child
    }

    $leaf = $parts[$parts.Length - 1]
    $attribute = $null
    try
    {
        $attribute = $target.GetAttribute($leaf)
    }
    catch
    {
        $attribute = $null
    }
    if ($null -eq $attribute)
    {
        New-NomadIisError -Kind InvalidArgument -Message ("{0}: '{1}' is not an attribute IIS knows" -f $Field, $Name)
    }

    $converted = ConvertTo-AttributeValue -Schema $attribute.Schema -Value $Value -Field ("{0} ({1})" -f $Field, $Name)
    try
    {
        $target.SetAttributeValue($leaf, $converted)
    }
    catch
    {
        # IIS's own reason (the range or granularity it wants) goes into the
        # message; host.ps1 redacts any secret value a message echoes.
        New-NomadIisError -Kind InvalidArgument -Message ("{0}: IIS refused the value of '{1}': {2}" -f $Field, $Name, (Get-InnermostMessage -ErrorRecord $_)) -InnerException $_.Exception
    }
}

function Set-ConfigAttributeList
{
    <#
    .SYNOPSIS
        Applies the extension attributes of a request ([{name, value}]) to a
        configuration element.
    #>
    [CmdletBinding()]
    [OutputType([System.Void])]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.Object]
        $Element,

        # pscheck: checked Get-ListValue drops $null entries; plan attribute lists come from it
        [Parameter(Mandatory = $true)]
        [AllowEmptyCollection()]
        [System.Object[]]
        $Attributes,

        # pscheck: checked callers pass their own Field or a plan field built with a -f format
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $Field
    )

    $ErrorActionPreference = 'Stop'
    $index = 0
    foreach ($attribute in $Attributes)
    {
        $attributeField = '{0}.attributes[{1}]' -f $Field, $index
        $name = Get-StringValue -InputObject $attribute -Name 'name'
        if ($name.Length -eq 0)
        {
            New-NomadIisError -Kind InvalidArgument -Message ('{0}.name: an attribute name is required' -f $attributeField)
        }
        Set-ConfigAttribute -Element $Element -Name $name -Value (Get-OptionalValue -InputObject $attribute -Name 'value') -Field $attributeField
        $index++
    }
}

function Assert-AppPoolDuration
{
    <#
    .SYNOPSIS
        Checks one duration of a pool against IIS's schema before anything
        changes: its range and its granularity.

    .DESCRIPTION
        The IIS schema declares each duration as a timeSpanRange of
        "minimum,maximum,granularity" in seconds: processModel.idleTimeout
        0,2592000,60 and recycling.periodicRestart.time 0,25920000,60 (whole
        minutes), processModel.startupTimeLimit and shutdownTimeLimit
        1,4294967,1 (whole seconds). A value IIS would refuse at commit is
        refused here with a message that says what IIS takes.
    #>
    [CmdletBinding()]
    [OutputType([System.Void])]
    param
    (
        # pscheck: checked the caller passes a -f format with literal text
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $Field,

        [Parameter(Mandatory = $true)]
        [System.Int64]
        $Milliseconds,

        [Parameter(Mandatory = $true)]
        [ValidateRange(0, 2147483647)]
        [System.Int64]
        $MinimumSeconds,

        [Parameter(Mandatory = $true)]
        [ValidateRange(1, 2147483647)]
        [System.Int64]
        $MaximumSeconds,

        [Parameter(Mandatory = $true)]
        [ValidateRange(1, 86400)]
        [System.Int64]
        $GranularitySeconds
    )

    $ErrorActionPreference = 'Stop'
    $unit = 'seconds'
    if ($GranularitySeconds -eq 60)
    {
        $unit = 'minutes'
    }
    $stepMs = $GranularitySeconds * 1000
    if ($Milliseconds % $stepMs -ne 0)
    {
        New-NomadIisError -Kind InvalidArgument -Message ('{0}: {1} ms is not a whole number of {2}; IIS takes {3} to {4} seconds in steps of {5} seconds' -f $Field, $Milliseconds, $unit, $MinimumSeconds, $MaximumSeconds, $GranularitySeconds)
    }
    $seconds = [System.Int64] ($Milliseconds / 1000)
    if ($seconds -lt $MinimumSeconds -or $seconds -gt $MaximumSeconds)
    {
        New-NomadIisError -Kind InvalidArgument -Message ('{0}: {1} seconds is out of range; IIS takes {2} to {3} seconds' -f $Field, $seconds, $MinimumSeconds, $MaximumSeconds)
    }
}

function Assert-AppPoolSpec
{
    <#
    .SYNOPSIS
        Validates one pool of a NewTaskSite request before anything changes:
        the enumerations, the identity and its account, ranges and the
        environment variables. Extension attributes are checked against the
        IIS schema when they are applied, inside the commit.
    #>
    [CmdletBinding()]
    [OutputType([System.Void])]
    param
    (
        # pscheck: checked New-TaskSitePlan passes appPools[i]
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $Field,

        [Parameter(Mandatory = $true)]
        [System.Object]
        $Spec
    )

    $ErrorActionPreference = 'Stop'
    Assert-ObjectName -Field ($Field + '.name') -Value (Get-StringValue -InputObject $Spec -Name 'name') -MaxLength 64

    $identity = Get-StringValue -InputObject $Spec -Name 'identity'
    Assert-OneOf -Field ($Field + '.identity') -Value $identity -Allowed $script:PoolIdentities
    $username = Get-StringValue -InputObject $Spec -Name 'username'
    $password = Get-StringValue -InputObject $Spec -Name 'password'
    if ($identity -eq 'SpecificUser' -and $username.Trim().Length -eq 0)
    {
        New-NomadIisError -Kind InvalidArgument -Message ('{0}.username: a SpecificUser identity needs a user name' -f $Field)
    }
    if ($identity -ne 'SpecificUser' -and ($username.Length -gt 0 -or $password.Length -gt 0))
    {
        New-NomadIisError -Kind InvalidArgument -Message ('{0}.username: a user name and password are only used by the SpecificUser identity' -f $Field)
    }

    Assert-OneOf -Field ($Field + '.managedPipelineMode') -Value (Get-StringValue -InputObject $Spec -Name 'managedPipelineMode') -Allowed @('Integrated', 'Classic')
    $runtime = Get-OptionalValue -InputObject $Spec -Name 'managedRuntimeVersion'
    if ($null -ne $runtime -and @('v4.0', 'v2.0', '') -notcontains [System.String] $runtime)
    {
        New-NomadIisError -Kind InvalidArgument -Message ("{0}.managedRuntimeVersion: '{1}' is not v4.0, v2.0 or empty (no managed code)" -f $Field, $runtime)
    }
    Assert-OneOf -Field ($Field + '.startMode') -Value (Get-StringValue -InputObject $Spec -Name 'startMode') -Allowed @('OnDemand', 'AlwaysRunning')
    Assert-OneOf -Field ($Field + '.loadBalancerCapabilities') -Value (Get-StringValue -InputObject $Spec -Name 'loadBalancerCapabilities') -Allowed @('HttpLevel', 'TcpLevel')

    foreach ($name in @('idleTimeoutMs', 'periodicRestartMs', 'startupTimeLimitMs', 'shutdownTimeLimitMs'))
    {
        $value = Get-OptionalValue -InputObject $Spec -Name $name
        if ($null -ne $value -and [System.Int64] $value -lt 0)
        {
            New-NomadIisError -Kind InvalidArgument -Message ('{0}.{1}: {2} is negative' -f $Field, $name, $value)
        }
    }
    # The ranges and steps of the IIS schema's timeSpanRange validators.
    $durationRules = @(
        @{ Name = 'idleTimeoutMs'; Minimum = 0; Maximum = 2592000; Step = 60 }
        @{ Name = 'periodicRestartMs'; Minimum = 0; Maximum = 25920000; Step = 60 }
        @{ Name = 'startupTimeLimitMs'; Minimum = 1; Maximum = 4294967; Step = 1 }
        @{ Name = 'shutdownTimeLimitMs'; Minimum = 1; Maximum = 4294967; Step = 1 }
    )
    foreach ($rule in $durationRules)
    {
        $value = Get-OptionalValue -InputObject $Spec -Name $rule.Name
        if ($null -ne $value)
        {
            Assert-AppPoolDuration -Field ('{0}.{1}' -f $Field, $rule.Name) -Milliseconds ([System.Int64] $value) -MinimumSeconds $rule.Minimum -MaximumSeconds $rule.Maximum -GranularitySeconds $rule.Step
        }
    }
    $queueLength = Get-OptionalValue -InputObject $Spec -Name 'queueLength'
    if ($null -ne $queueLength -and ([System.Int64] $queueLength -lt 10 -or [System.Int64] $queueLength -gt 65535))
    {
        New-NomadIisError -Kind InvalidArgument -Message ('{0}.queueLength: {1} is not between 10 and 65535' -f $Field, $queueLength)
    }

    $seen = @{}
    $index = 0
    foreach ($variable in (Get-ListValue -InputObject $Spec -Name 'environmentVariables'))
    {
        $variableField = '{0}.environmentVariables[{1}]' -f $Field, $index
        $name = Get-StringValue -InputObject $variable -Name 'name'
        if ($name.Length -eq 0 -or $name.IndexOfAny([char[]] @('=', [char] 0)) -ge 0)
        {
            New-NomadIisError -Kind InvalidArgument -Message ("{0}: '{1}' is not a variable name" -f $variableField, $name)
        }
        $key = $name.ToUpperInvariant()
        if ($seen.ContainsKey($key))
        {
            New-NomadIisError -Kind InvalidArgument -Message ("{0}: variable '{1}' is given twice" -f $variableField, $name)
        }
        $seen[$key] = $true
        if ((Get-StringValue -InputObject $variable -Name 'value').IndexOf([char] 0) -ge 0)
        {
            New-NomadIisError -Kind InvalidArgument -Message ("{0}: the value of '{1}' contains a NUL character" -f $variableField, $name)
        }
        $index++
    }
}

function New-AppPoolFromSpec
{
    <#
    .SYNOPSIS
        Adds one validated pool of a NewTaskSite request to the server
        manager: its settings, extension attributes and environment
        variables. Nothing is committed here.
    #>
    [CmdletBinding()]
    [OutputType([System.Object])]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.Object]
        $ServerManager,

        [Parameter(Mandatory = $true)]
        [System.Object]
        $Spec,

        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $Field
    )

    $ErrorActionPreference = 'Stop'
    $pool = $ServerManager.ApplicationPools.Add((Get-StringValue -InputObject $Spec -Name 'name'))

    foreach ($setting in $script:AppPoolSettings)
    {
        $value = Get-OptionalValue -InputObject $Spec -Name $setting.Field
        if ($null -eq $value)
        {
            continue
        }
        # Empty text means "IIS default", except for managedRuntimeVersion
        # where it means "no managed code".
        if ($value -is [System.String] -and $value.Length -eq 0 -and $setting.Field -ne 'managedRuntimeVersion')
        {
            continue
        }
        if ($setting.Milliseconds)
        {
            $value = [System.TimeSpan]::FromMilliseconds([System.Double] $value)
        }
        Set-ConfigAttribute -Element $pool -Name $setting.Attribute -Value $value -Field ('{0}.{1}' -f $Field, $setting.Field)
    }

    Set-ConfigAttributeList -Element $pool -Attributes (Get-ListValue -InputObject $Spec -Name 'attributes') -Field $Field

    $variables = $pool.GetCollection('environmentVariables')
    foreach ($variable in (Get-ListValue -InputObject $Spec -Name 'environmentVariables'))
    {
        $value = Get-StringValue -InputObject $variable -Name 'value'
        # The IIS schema declares environmentVariables/add/@value required
        # and nonEmptyString, and on Windows an empty value means the
        # variable is not set: such a variable is left out, as iissim does.
        if ($value.Length -eq 0)
        {
            continue
        }
        $element = $variables.CreateElement('add')
        $element.SetAttributeValue('name', (Get-StringValue -InputObject $variable -Name 'name'))
        $element.SetAttributeValue('value', $value)
        $null = $variables.Add($element)
    }
    return $pool
}
