# Rule console in a Pester test file: outside a simulated hook, the test
# itself writes nothing to the console (Pester reports through its own output).
$ErrorActionPreference = 'Stop'
function Invoke-Helper
{
    [System.Console]::Write('not a hook')
}
Write-Host 'progress'
[Console]::Out.WriteLine('progress')
Invoke-Helper
# expect-error-line: 6 console
# expect-error-line: 8 console
# expect-error-line: 9 console
