# Rule console in a Pester test file: a function named as an extension hook
# may write to the console, since it simulates a hook that does so.
$ErrorActionPreference = 'Stop'
function Invoke-PreStopHook
{
    param ($Context)
    [System.Console]::Write('bare ' + $Context.taskName)
    [Console]::Out.WriteLine('line')
    Write-Host 'host'
}
Invoke-PreStopHook -Context ([pscustomobject] @{ taskName = 'web' })
