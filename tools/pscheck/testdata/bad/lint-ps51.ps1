# Rule ps51: PowerShell 7 syntax and parameters that Windows PowerShell 5.1 lacks.
$ErrorActionPreference = 'Stop'
$json = '{"a": 1}'
$table = ConvertFrom-Json -InputObject $json -AsHashtable
$deep = ConvertFrom-Json -InputObject $json -Depth 5
@(1, 2) | ForEach-Object -Parallel { $_ }
$joined = @('a', 'b') | Join-String -Separator ','
Get-Date && Get-Date
Get-Date || Get-Date
# expect-error-line: 4 ps51
# expect-error-line: 5 ps51
# expect-error-line: 6 ps51
# expect-error-line: 7 ps51
# expect-error-line: 8 ps51
# expect-error-line: 9 ps51
