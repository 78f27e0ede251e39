# A double-quoted string that never ends swallows the rest of the file.
# expect-error-line: 4
$first = 1
$message = "pool $Name is stopped
$second = 2
