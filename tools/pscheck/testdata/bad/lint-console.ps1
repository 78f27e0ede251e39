# Rule console: operation code writes nothing to the console.
$ErrorActionPreference = 'Stop'
Write-Host 'started'
Get-Date | Out-Host
[Console]::WriteLine('done')
[System.Console]::Out.Write('done')
# expect-error-line: 3 console
# expect-error-line: 4 console
# expect-error-line: 5 console
# expect-error-line: 6 console
