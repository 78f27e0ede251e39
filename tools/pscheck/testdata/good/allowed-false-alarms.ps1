# Valid PowerShell the grammar misreads. The pragma on the reported line
# silences each; without it pscheck reports both lines.
$a = 'x'
$b = 'y'
switch ($a) { 'x' { 1 } default { 2 } } # pscheck: allow one-line switch
$text = "$a #$b" # pscheck: allow the grammar reads #$b as a comment
