# A function whose if block is never closed: the parser reaches the end of
# the file still inside the function body.
# expect-error-line: 10
function Get-Answer {
    [CmdletBinding()]
    param([string] $Question)

    if ($Question) {
        return 42
}
