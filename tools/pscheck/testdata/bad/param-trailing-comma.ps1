# A trailing comma in a param block.
# expect-error-line: 6
function Stop-Pool {
    [CmdletBinding()]
    param(
        [string] $Name,
    )
    $Name
}
