# Rule call: calls of the module's own functions.
function Get-PoolState
{
    [CmdletBinding()]
    param
    (
        [Parameter(Mandatory = $true)]
        [AllowEmptyString()]
        [System.String]
        $Name,

        [System.Int32]
        $TimeoutSeconds,

        [System.Int32]
        $TimeoutRetries
    )
    $ErrorActionPreference = 'Stop'
    $Name
}
function Invoke-Example
{
    [CmdletBinding()]
    param()
    $ErrorActionPreference = 'Stop'
    Get-PoolState -Nmae 'web'
    Get-PoolState -Name 'web' -Timeout 5
    Get-PoolState -TimeoutSeconds 5
    $arguments = @{ TimeoutSeconds = 5; Force = $true }
    Get-PoolState @arguments
}
# expect-error-line: 26 call
# expect-error-line: 27 call
# expect-error-line: 28 call
# expect-error-line: 30 call
