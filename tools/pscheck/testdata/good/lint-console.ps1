# Rule console: objects out, diagnostics on the verbose stream; what code
# it calls writes to the console is captured with SetOut and restored.
$ErrorActionPreference = 'Stop'
Write-Verbose -Message 'started'
$now = Get-Date
$text = $now | Out-String -Width 120
$text
$originalOut = [System.Console]::Out
$originalError = [Console]::Error
$captured = New-Object -TypeName System.IO.StringWriter
[System.Console]::SetOut($captured)
[Console]::SetError($captured)
try
{
    $now
}
finally
{
    [System.Console]::SetOut($originalOut)
    [Console]::SetError($originalError)
}
[System.Object]::ReferenceEquals($originalOut, [System.Console]::Out)
$encoding = [Console]::OutputEncoding
$captured.ToString()
