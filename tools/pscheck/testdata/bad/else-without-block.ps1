# "else" must be followed by a script block.
# expect-error-line: 5
$state = 'Started'
if ($state -eq 'Stopped') { Start-Pool }
else
$state = 'Unknown'
