# The ?? operator exists only in PowerShell 7; Windows PowerShell 5.1 cannot parse it.
# expect-error-line: 3 ps51
$name = $Spec.name ?? 'default'
