# Rule console: operation code writes nothing to the console.
$ErrorActionPreference = 'Stop'
Write-Host 'started'
Get-Date | Out-Host
[Console]::WriteLine('done')
[System.Console]::Out.Write('done')
[Console]::Error.WriteLine('failed')
$stdout = [System.Console]::OpenStandardOutput()
$stderr = [Console]::OpenStandardError()
$request = [Console]::In.ReadLine()
[Console]::Write('no newline')
# expect-error-line: 3 console
# expect-error-line: 4 console
# expect-error-line: 5 console
# expect-error-line: 6 console
# expect-error-line: 7 console
# expect-error-line: 8 console
# expect-error-line: 9 console
# expect-error-line: 10 console
# expect-error-line: 11 console
