# Rule binder: mandatory string and collection parameters must allow what
# they can receive (issues D1, D5 and D6 of the PowerShell review).
function Add-Secret
{
    [CmdletBinding()]
    param
    (
        [Parameter(Mandatory = $true)]
        [AllowEmptyCollection()]
        [System.Collections.Generic.List[System.String]]
        $Secrets,

        [Parameter(Mandatory = $true)]
        [AllowEmptyCollection()]
        [System.Object[]]
        $Records,

        [Parameter(Mandatory = $true)]
        [System.Byte[]]
        $Bytes,

        [Parameter(Mandatory)]
        [string]
        $Message
    )
    $ErrorActionPreference = 'Stop'
}
Export-ModuleMember -Function @('Add-Secret')
# expect-error-line: 8 binder
# expect-error-line: 13 binder
# expect-error-line: 18 binder
# expect-error-line: 22 binder
