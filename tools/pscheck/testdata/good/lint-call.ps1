# Rule call: what the binder accepts: full names, an unambiguous prefix,
# an alias, common parameters of an advanced function, positional
# arguments, and splatting (checked as far as it is visible).
function Get-PoolState
{
    [CmdletBinding()]
    param
    (
        [Parameter(Mandatory = $true)]
        [Alias('PoolName')]
        [AllowEmptyString()]
        [System.String]
        $Name,

        [System.Int32]
        $TimeoutSeconds,

        [switch]
        $Force
    )
    $ErrorActionPreference = 'Stop'
    $Name
}
function Invoke-Example
{
    [CmdletBinding()]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.Object]
        $Spec
    )
    $ErrorActionPreference = 'Stop'
    Get-PoolState -Name 'web' -TimeoutSeconds 5 -Force
    Get-PoolState -Na 'web' -Timeout:5 -ErrorAction Stop -Verbose
    Get-PoolState -PoolName 'web' -Force:$false
    Get-PoolState 'web' 5
    $arguments = @{ Name = 'web' }
    $arguments['TimeoutSeconds'] = 5
    Get-PoolState @arguments
    $fromRequest = $Spec.Arguments
    Get-PoolState @fromRequest
}
