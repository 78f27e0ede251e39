# The null-conditional member access ?. exists only in PowerShell 7.
# expect-error-line: 3 ps51
$name = $Spec?.name
