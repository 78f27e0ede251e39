# The ternary operator exists only in PowerShell 7.
# expect-error-line: 3
$state = $running ? 'Started' : 'Stopped'
