# Rule cmdlet: cmdlets must exist and be called with parameters they have.
$ErrorActionPreference = 'Stop'
$manager = Get-IISServerManager -Name 'default'
Stop-IISCommitDelay -Comit $true
Get-IISSiteX
$items = Get-ChildItem -LiteralPath 'C:\inetpub' -Recursive
# expect-error-line: 3 cmdlet
# expect-error-line: 4 cmdlet
# expect-error-line: 5 cmdlet
# expect-error-line: 6 cmdlet
