# A catch clause with a broken type literal.
# expect-error-line: 5
try {
    Get-Item -LiteralPath 'C:\missing'
} catch [ {
    'not found'
}
