<#
    Filesystem isolation of a task: the ACLs of the allocation and task
    directories, as nomad-iis 0.20 sets them with directory_security, except
    that IUSR may only read the task's local directory (0.20 gave it full
    control). Dot-sourced by NomadIis.psm1.

    The ACLs are read and written through System.Security.AccessControl
    with only the access section (DACL) included. Get-Acl/Set-Acl would
    write the owner back as well, which fails on directories owned by
    another account unless the process holds SeRestorePrivilege.
#>

# What each directory gets, relative to the allocation directory ("<task>"
# is the task's directory). Grant: None (only inheritance cut and the broad
# groups removed), FullControl (the pool identities, inherited by
# everything below), or FilesRead (the pool identities may read the files
# but not list the directory).
$script:TaskDirectoryRules = @(
    @{ Path = 'alloc'; Grant = 'None'; Iusr = $false }
    @{ Path = 'alloc\data'; Grant = 'FullControl'; Iusr = $false }
    @{ Path = 'alloc\logs'; Grant = 'FullControl'; Iusr = $false }
    @{ Path = 'alloc\tmp'; Grant = 'FullControl'; Iusr = $false }
    @{ Path = '<task>\private'; Grant = 'None'; Iusr = $false }
    @{ Path = '<task>\local'; Grant = 'FullControl'; Iusr = $true }
    @{ Path = '<task>\secrets'; Grant = 'FilesRead'; Iusr = $false }
    @{ Path = '<task>\tmp'; Grant = 'FullControl'; Iusr = $false }
)

# Well-known accounts by SID, so that localized account names do not matter.
$script:WellKnownAccounts = @{
    'NT AUTHORITY\SYSTEM'          = 'S-1-5-18'
    'NT AUTHORITY\LOCAL SERVICE'   = 'S-1-5-19'
    'NT AUTHORITY\NETWORK SERVICE' = 'S-1-5-20'
    'LOCALSYSTEM'                  = 'S-1-5-18'
    'LOCALSERVICE'                 = 'S-1-5-19'
    'NETWORKSERVICE'               = 'S-1-5-20'
    'IUSR'                         = 'S-1-5-17'
    'NT AUTHORITY\IUSR'            = 'S-1-5-17'
}

# BUILTIN\Users and NT AUTHORITY\Authenticated Users: removed everywhere.
$script:BroadGroupSids = @('S-1-5-32-545', 'S-1-5-11')


function ConvertTo-QualifiedAccountName
{
    <#
    .SYNOPSIS
        Returns an account name as the account lookup takes it: ".\user"
        (the local machine, which IIS accepts for a SpecificUser identity
        because LogonUser understands it) becomes "<COMPUTERNAME>\user",
        which LsaLookupNames resolves; other names are only trimmed.
    #>
    [CmdletBinding()]
    [OutputType([System.String])]
    param
    (
        # pscheck: checked Resolve-AccountSid passes identities Set-NomadIisTaskDirectoryAcl refused when blank
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $Name
    )

    $ErrorActionPreference = 'Stop'
    $trimmed = $Name.Trim()
    if ($trimmed.StartsWith('.\'))
    {
        return ([System.Environment]::MachineName + $trimmed.Substring(1))
    }
    return $trimmed
}

function Resolve-AccountSid
{
    <#
    .SYNOPSIS
        Translates account names ("IIS AppPool\<pool>", "DOMAIN\user",
        well-known names or SID strings) into SIDs. When an account is not
        known yet (the virtual account of a pool committed a moment ago), it
        waits two seconds and tries once more; then the account is NotFound.
    #>
    [CmdletBinding()]
    [OutputType([System.Object[]])]
    param
    (
        # pscheck: checked Set-NomadIisTaskDirectoryAcl passes its identities, 1 to 64 non-blank names
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String[]]
        $Names
    )

    $ErrorActionPreference = 'Stop'
    for ($attempt = 1; $attempt -le 2; $attempt++)
    {
        $sids = New-Object -TypeName System.Collections.Generic.List[System.Object]
        $missing = ''
        foreach ($name in $Names)
        {
            $key = $name.Trim().ToUpperInvariant()
            if ($script:WellKnownAccounts.ContainsKey($key))
            {
                $sids.Add((New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList $script:WellKnownAccounts[$key]))
                continue
            }
            if ($key -match '^S-1-[0-9-]+$')
            {
                $sids.Add((New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList $key))
                continue
            }
            try
            {
                $account = New-Object -TypeName System.Security.Principal.NTAccount -ArgumentList (ConvertTo-QualifiedAccountName -Name $name)
                $sids.Add($account.Translate([System.Security.Principal.SecurityIdentifier]))
            }
            catch
            {
                if ($_.Exception.GetBaseException() -is [System.Security.Principal.IdentityNotMappedException])
                {
                    $missing = $name
                    break
                }
                throw
            }
        }
        if ($missing.Length -eq 0)
        {
            return , $sids.ToArray()
        }
        if ($attempt -eq 1)
        {
            Start-Sleep -Seconds 2
        }
    }
    New-NomadIisError -Kind NotFound -Message ("identities: account '{0}' does not exist" -f $missing)
}

function Read-DirectoryAcl
{
    <#
    .SYNOPSIS
        Reads the DACL of a directory (and nothing else of its security
        descriptor).
    #>
    [CmdletBinding()]
    [OutputType([System.Security.AccessControl.DirectorySecurity])]
    param
    (
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $Path
    )

    $ErrorActionPreference = 'Stop'
    return New-Object -TypeName System.Security.AccessControl.DirectorySecurity -ArgumentList $Path, ([System.Security.AccessControl.AccessControlSections]::Access)
}

function Write-DirectoryAcl
{
    <#
    .SYNOPSIS
        Writes the DACL (and its protection from inheritance) of a directory.
    #>
    [CmdletBinding()]
    [OutputType([System.Void])]
    param
    (
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $Path,

        [Parameter(Mandatory = $true)]
        [System.Security.AccessControl.DirectorySecurity]
        $Acl
    )

    $ErrorActionPreference = 'Stop'
    $directory = New-Object -TypeName System.IO.DirectoryInfo -ArgumentList $Path
    $extensions = 'System.IO.FileSystemAclExtensions' -as [System.Type]
    if ($null -ne $extensions)
    {
        # .NET (PowerShell 7): SetAccessControl is an extension method.
        $extensions::SetAccessControl($directory, $Acl)
    }
    else
    {
        $directory.SetAccessControl($Acl)
    }
}

function Set-DirectoryAccess
{
    <#
    .SYNOPSIS
        Cuts a directory's inheritance (keeping copies of the inherited
        rules), removes BUILTIN\Users and Authenticated Users, and adds the
        given rules.
    #>
    [CmdletBinding()]
    [OutputType([System.Void])]
    param
    (
        # pscheck: checked a Join-Path result under the allocation directory
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $Path,

        # pscheck: checked FileSystemAccessRule objects built by New-Object, never $null
        [Parameter(Mandatory = $true)]
        [AllowEmptyCollection()]
        [System.Object[]]
        $Rules
    )

    $ErrorActionPreference = 'Stop'
    $acl = Read-DirectoryAcl -Path $Path
    if (-not $acl.AreAccessRulesProtected)
    {
        $acl.SetAccessRuleProtection($true, $true)
        Write-DirectoryAcl -Path $Path -Acl $acl
        # Read again: only now are the copies of the inherited rules
        # explicit rules that can be removed.
        $acl = Read-DirectoryAcl -Path $Path
    }
    foreach ($sid in $script:BroadGroupSids)
    {
        $acl.PurgeAccessRules((New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList $sid))
    }
    foreach ($rule in $Rules)
    {
        $acl.AddAccessRule($rule)
    }
    Write-DirectoryAcl -Path $Path -Acl $acl
}

function Set-NomadIisTaskDirectoryAcl
{
    <#
    .SYNOPSIS
        Sets the ACLs of a task's directories (operation SetTaskDirectoryAcl).

    .DESCRIPTION
        For alloc, alloc\data, alloc\logs, alloc\tmp and the task's private,
        local, secrets and tmp directories: inheritance is cut (the inherited
        rules are kept as copies) and BUILTIN\Users and Authenticated Users
        lose their access. The pool identities get full control of
        alloc\data, alloc\logs, alloc\tmp, local and tmp, and may read the
        files of secrets without listing it; alloc and private get nothing.
        With PermitIusr, IUSR (anonymous authentication) may read local.
        Directories that do not exist are skipped. Running it again changes
        nothing.

    .PARAMETER AllocDir
        The allocation directory.

    .PARAMETER TaskName
        The task's directory in it.

    .PARAMETER Identities
        The Windows accounts of the task's pools.

    .PARAMETER PermitIusr
        Let IUSR read the task's local directory.

    .EXAMPLE
        Set-NomadIisTaskDirectoryAcl -AllocDir 'C:\nomad\data\alloc\1234' -TaskName 'web' -Identities 'IIS AppPool\nomad-1234-web' -PermitIusr $true
    #>
    [CmdletBinding()]
    [OutputType([System.Collections.Specialized.OrderedDictionary])]
    param
    (
        # pscheck: checked operation entry point: host.ps1 answers the binder refusal on the operation itself with InvalidArgument naming the parameter
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $AllocDir,

        # pscheck: checked operation entry point: host.ps1 answers the binder refusal on the operation itself with InvalidArgument naming the parameter
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [ValidateLength(1, 255)]
        [System.String]
        $TaskName,

        # pscheck: checked operation entry point: host.ps1 answers the binder refusal on the operation itself with InvalidArgument naming the parameter
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [ValidateCount(1, 64)]
        [System.String[]]
        $Identities,

        [Parameter()]
        [System.Boolean]
        $PermitIusr = $false
    )

    $ErrorActionPreference = 'Stop'
    $allocPath = ConvertTo-PhysicalPath -Field 'allocDir' -Value $AllocDir
    if ($TaskName -eq '.' -or $TaskName -eq '..' -or $TaskName.IndexOfAny([char[]] @('/', '\')) -ge 0)
    {
        New-NomadIisError -Kind InvalidArgument -Message ("taskName: '{0}' is not a task directory name" -f $TaskName)
    }
    for ($i = 0; $i -lt $Identities.Length; $i++)
    {
        if ($Identities[$i].Trim().Length -eq 0)
        {
            New-NomadIisError -Kind InvalidArgument -Message ('identities[{0}]: an identity is required' -f $i)
        }
    }
    foreach ($directory in @($allocPath, (Join-Path -Path $allocPath -ChildPath $TaskName)))
    {
        if (-not (Test-Path -LiteralPath $directory -PathType Container))
        {
            New-NomadIisError -Kind NotFound -Message ('directory {0} does not exist' -f $directory)
        }
    }

    $poolSids = Resolve-AccountSid -Names $Identities
    $iusrSid = New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList $script:WellKnownAccounts['IUSR']
    $inheritAll = [System.Security.AccessControl.InheritanceFlags] 'ContainerInherit, ObjectInherit'
    $allow = [System.Security.AccessControl.AccessControlType]::Allow
    $none = [System.Security.AccessControl.PropagationFlags]::None

    $changed = New-Object -TypeName System.Collections.Generic.List[System.String]
    foreach ($entry in $script:TaskDirectoryRules)
    {
        $path = Join-Path -Path $allocPath -ChildPath ($entry.Path.Replace('<task>', $TaskName))
        if (-not (Test-Path -LiteralPath $path -PathType Container))
        {
            continue
        }
        $rules = New-Object -TypeName System.Collections.Generic.List[System.Object]
        foreach ($sid in $poolSids)
        {
            switch ($entry.Grant)
            {
                'FullControl'
                {
                    $rules.Add((New-Object -TypeName System.Security.AccessControl.FileSystemAccessRule -ArgumentList $sid, ([System.Security.AccessControl.FileSystemRights]::FullControl), $inheritAll, $none, $allow))
                }
                'FilesRead'
                {
                    $rules.Add((New-Object -TypeName System.Security.AccessControl.FileSystemAccessRule -ArgumentList $sid, ([System.Security.AccessControl.FileSystemRights]::Read), ([System.Security.AccessControl.InheritanceFlags]::ObjectInherit), ([System.Security.AccessControl.PropagationFlags]::InheritOnly), $allow))
                }
            }
        }
        if ($entry.Iusr -and $PermitIusr)
        {
            $rules.Add((New-Object -TypeName System.Security.AccessControl.FileSystemAccessRule -ArgumentList $iusrSid, ([System.Security.AccessControl.FileSystemRights]::ReadAndExecute), $inheritAll, $none, $allow))
        }
        Set-DirectoryAccess -Path $path -Rules $rules.ToArray()
        $changed.Add($path)
    }
    return [ordered] @{
        directories = $changed.ToArray()
    }
}
