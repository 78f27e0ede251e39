# Valid Windows PowerShell 5.1 constructs the scripts use; none may be
# reported.
[CmdletBinding()]
param(
    [Parameter()]
    [ValidateSet('PreStart', 'PostStart')]
    [string] $Hook = 'PreStart'
)

$ErrorActionPreference = 'Stop'
$flags = [System.Security.Cryptography.X509Certificates.X509KeyStorageFlags]'MachineKeySet, PersistKeySet'
$mask = [int]1 -bor 2
$message = "{0}: '{1}' is not valid" -f 'field', 'value'
$inline = "pool $($flags.ToString()) has # no comment"
$value = if ($mask -gt 1) { 'many' } else { 'one' }
switch ($Hook) {
    'PreStart' { $value = 'pre' }
    default { $value = 'other' }
}
$output = & { Write-Output 'x' } *>&1
$null = & { 'y' } 3>$null 4>$null 5>$null 6>$null
$here = @"
line one
line "two"
"@
try {
    throw 'boom'
} catch [System.Management.Automation.RuntimeException] {
    $value = $_.Exception.Message
} finally {
    $value = $null
}
data PoolSettings {
    @(
        @{ Field = 'identity'; Path = 'processModel.identityType' }
    )
}
