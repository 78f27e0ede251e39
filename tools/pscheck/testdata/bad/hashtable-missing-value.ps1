# A hashtable entry without a value.
# expect-error-line: 5
$result = @{
    name  = 'nomad-pool'
    count =
}
