# The ternary operator exists only in PowerShell 7.
# expect-error-line: 3 ps51
$state = $running ? 'Started' : 'Stopped'
