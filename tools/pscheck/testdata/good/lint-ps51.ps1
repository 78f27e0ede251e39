# Rule ps51: the Windows PowerShell 5.1 ways to say the same.
$ErrorActionPreference = 'Stop'
$json = '{"a": 1}'
$object = ConvertFrom-Json -InputObject $json
$converted = ConvertTo-Json -InputObject $object -Depth 5 -Compress
$doubled = @(1, 2) | ForEach-Object -Process { $_ * 2 }
$joined = @('a', 'b') -join ','
$value = if ($null -ne $object.a) { $object.a } else { 'default' }
Get-Date
if ($?) { Get-Date }
