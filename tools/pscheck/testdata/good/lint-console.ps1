# Rule console: objects out, diagnostics on the verbose stream.
$ErrorActionPreference = 'Stop'
Write-Verbose -Message 'started'
$now = Get-Date
$text = $now | Out-String -Width 120
$text
