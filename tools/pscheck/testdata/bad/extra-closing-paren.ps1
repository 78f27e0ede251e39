# One closing parenthesis too many.
# expect-error-line: 3
$list = @(1, 2))
