# Rule cmdlet: documented parameters, aliases, prefixes and common parameters.
$ErrorActionPreference = 'Stop'
Start-IISCommitDelay
$manager = Get-IISServerManager
Stop-IISCommitDelay -Commit $true -ErrorAction Stop
Reset-IISServerManager -Confirm:$false
$items = Get-ChildItem -PSPath 'C:\inetpub' -File -Recurse -ea SilentlyContinue
$found = Test-Path -LiteralPath 'C:\inetpub' -PathType Container
$list = @($items | Sort-Object -Property Name -Descending | Select-Object -First 3)
