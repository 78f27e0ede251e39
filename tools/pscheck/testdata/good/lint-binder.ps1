# Rule binder: the allowances declared, a parameter marked as checked, and
# a parameter every call fills with a value that cannot be empty.
function Add-Secret
{
    [CmdletBinding()]
    param
    (
        [Parameter(Mandatory = $true)]
        [AllowEmptyCollection()]
        [AllowEmptyString()]
        [System.Collections.Generic.List[System.String]]
        $Secrets,

        [Parameter(Mandatory = $true)]
        [AllowEmptyCollection()]
        [AllowNull()]
        [System.Object[]]
        $Records,

        [Parameter(Mandatory = $true)]
        [AllowEmptyCollection()]
        [System.Byte[]]
        $Bytes,

        [Parameter(Mandatory = $true)]
        [AllowEmptyString()]
        [System.String]
        $Message,

        # pscheck: checked the caller refuses an empty list before calling
        [Parameter(Mandatory = $true)]
        [System.String[]]
        $Names,

        [System.String]
        $Optional
    )
    $ErrorActionPreference = 'Stop'
    Write-Field -Field 'secrets'
}
function Write-Field
{
    [CmdletBinding()]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.String]
        $Field
    )
    $ErrorActionPreference = 'Stop'
    Write-Verbose -Message $Field
}
Export-ModuleMember -Function @('Add-Secret')
