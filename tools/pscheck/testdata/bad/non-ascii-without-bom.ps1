# A non-ASCII character without a byte order mark.
# expect-error-line: 3
$greeting = "Grüße"
