package scripts

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/shoenig/test/must"
)

// psSource is a PowerShell file as the tests read it: the text, and the
// same text with every comment and the contents of every string literal
// replaced by spaces ("code"). Offsets and line breaks are the same in
// both, so a match in the code can be looked up in the text.
type psSource struct {
	name      string
	text      string
	code      string
	functions []psFunction
}

// psFunction is one top-level function of a file.
type psFunction struct {
	name string
	// body is the text from "function" to the closing brace; bodyCode the
	// same span of the code.
	body     string
	bodyCode string
	// params are the names of the param block's parameters; hasParam is
	// false when the function has no param block.
	params   []string
	hasParam bool
	line     int
}

var functionStart = regexp.MustCompile(`(?m)^[ \t]*function[ \t]+([A-Za-z][A-Za-z0-9-]*)\s*\{`)
var paramStart = regexp.MustCompile(`(?i)\bparam\s*\(`)
var paramName = regexp.MustCompile(`^\$([A-Za-z_][A-Za-z0-9_]*)`)

// loadPS reads and parses a PowerShell file.
func loadPS(t *testing.T, path string) *psSource {
	t.Helper()
	b, err := os.ReadFile(path)
	must.NoError(t, err)
	src, err := parsePS(filepath.Base(path), string(b))
	must.NoError(t, err)
	return src
}

// parsePS blanks the comments and strings of a file and finds its functions.
func parsePS(name, text string) (*psSource, error) {
	code, err := blankPS(text)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	src := &psSource{name: name, text: text, code: code}
	for _, m := range functionStart.FindAllStringSubmatchIndex(code, -1) {
		open := m[1] - 1
		end, err := matchClose(code, open, '{', '}')
		if err != nil {
			return nil, fmt.Errorf("%s: function %s: %w", name, code[m[2]:m[3]], err)
		}
		fn := psFunction{
			name:     code[m[2]:m[3]],
			body:     text[m[0] : end+1],
			bodyCode: code[m[0] : end+1],
			line:     strings.Count(text[:m[0]], "\n") + 1,
		}
		fn.params, fn.hasParam, err = parseParams(fn.bodyCode)
		if err != nil {
			return nil, fmt.Errorf("%s: function %s: %w", name, fn.name, err)
		}
		src.functions = append(src.functions, fn)
	}
	return src, nil
}

// function returns the named function, or nil.
func (s *psSource) function(name string) *psFunction {
	for i := range s.functions {
		if strings.EqualFold(s.functions[i].name, name) {
			return &s.functions[i]
		}
	}
	return nil
}

// matchClose returns the offset of the bracket that closes the one at open.
func matchClose(code string, open int, left, right byte) (int, error) {
	depth := 0
	for i := open; i < len(code); i++ {
		switch code[i] {
		case left:
			depth++
		case right:
			depth--
			if depth == 0 {
				return i, nil
			}
		}
	}
	return 0, fmt.Errorf("unbalanced %q at offset %d", left, open)
}

// parseParams returns the parameter names of the first param block of a
// function's code: the variables at the block's top level that are not a
// default value (not right after "=").
func parseParams(code string) ([]string, bool, error) {
	loc := paramStart.FindStringIndex(code)
	if loc == nil {
		return nil, false, nil
	}
	open := loc[1] - 1
	end, err := matchClose(code, open, '(', ')')
	if err != nil {
		return nil, true, err
	}
	var names []string
	parens, brackets, braces := 0, 0, 0
	prev := byte(0)
	for i := open + 1; i < end; i++ {
		c := code[i]
		switch c {
		case '(':
			parens++
		case ')':
			parens--
		case '[':
			brackets++
		case ']':
			brackets--
		case '{':
			braces++
		case '}':
			braces--
		case '$':
			if parens == 0 && brackets == 0 && braces == 0 && prev != '=' {
				if m := paramName.FindStringSubmatch(code[i:]); m != nil {
					names = append(names, m[1])
				}
			}
		}
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			prev = c
		}
	}
	return names, true, nil
}

// blankPS returns src with comments and string contents replaced by spaces.
func blankPS(src string) (string, error) {
	l := &psLexer{src: src, out: []byte(src)}
	if err := l.code(false); err != nil {
		return "", err
	}
	return string(l.out), nil
}

// psLexer knows just enough of PowerShell to tell code from comments and
// strings: block and line comments, single- and double-quoted strings with
// their escapes, subexpressions inside double-quoted strings, here-strings
// and backtick escapes.
type psLexer struct {
	src string
	out []byte
	i   int
}

func (l *psLexer) peek(n int) byte {
	if l.i+n < len(l.src) {
		return l.src[l.i+n]
	}
	return 0
}

// blank replaces src[from:to] in the output, keeping line breaks.
func (l *psLexer) blank(from, to int) {
	for k := from; k < to && k < len(l.out); k++ {
		if l.out[k] != '\n' && l.out[k] != '\r' {
			l.out[k] = ' '
		}
	}
}

// code lexes code to the end of the input or, in a subexpression, to its
// closing parenthesis.
func (l *psLexer) code(subexpression bool) error {
	start := l.i
	depth := 0
	for l.i < len(l.src) {
		c := l.src[l.i]
		switch {
		case c == '<' && l.peek(1) == '#':
			end := strings.Index(l.src[l.i+2:], "#>")
			if end < 0 {
				return fmt.Errorf("unterminated block comment at offset %d", l.i)
			}
			l.blank(l.i, l.i+2+end+2)
			l.i += 2 + end + 2
		case c == '#':
			end := strings.IndexByte(l.src[l.i:], '\n')
			if end < 0 {
				end = len(l.src) - l.i
			}
			l.blank(l.i, l.i+end)
			l.i += end
		case c == '@' && (l.peek(1) == '\'' || l.peek(1) == '"') && (l.peek(2) == '\n' || l.peek(2) == '\r'):
			if err := l.hereString(); err != nil {
				return err
			}
		case c == '\'':
			if err := l.singleQuoted(); err != nil {
				return err
			}
		case c == '"':
			if err := l.doubleQuoted(); err != nil {
				return err
			}
		case c == '`':
			l.i += 2
		case c == '(':
			depth++
			l.i++
		case c == ')':
			l.i++
			if subexpression && depth == 0 {
				return nil
			}
			depth--
		default:
			l.i++
		}
	}
	if subexpression {
		return fmt.Errorf("unterminated subexpression at offset %d", start)
	}
	return nil
}

func (l *psLexer) singleQuoted() error {
	start := l.i
	l.i++
	for l.i < len(l.src) {
		if l.src[l.i] == '\'' {
			if l.peek(1) == '\'' {
				l.blank(l.i, l.i+2)
				l.i += 2
				continue
			}
			l.i++
			return nil
		}
		l.blank(l.i, l.i+1)
		l.i++
	}
	return fmt.Errorf("unterminated string at offset %d", start)
}

func (l *psLexer) doubleQuoted() error {
	start := l.i
	l.i++
	for l.i < len(l.src) {
		c := l.src[l.i]
		switch {
		case c == '`':
			l.blank(l.i, l.i+2)
			l.i += 2
		case c == '"' && l.peek(1) == '"':
			l.blank(l.i, l.i+2)
			l.i += 2
		case c == '"':
			l.i++
			return nil
		case c == '$' && l.peek(1) == '(':
			l.i += 2
			if err := l.code(true); err != nil {
				return err
			}
		default:
			l.blank(l.i, l.i+1)
			l.i++
		}
	}
	return fmt.Errorf("unterminated string at offset %d", start)
}

func (l *psLexer) hereString() error {
	quote := l.src[l.i+1]
	start := l.i
	end := strings.Index(l.src[l.i+2:], "\n"+string(quote)+"@")
	if end < 0 {
		return fmt.Errorf("unterminated here-string at offset %d", start)
	}
	stop := l.i + 2 + end + 3
	l.blank(l.i+2, stop-2)
	l.i = stop
	return nil
}

func TestBlankPS(t *testing.T) {
	cases := []struct {
		name string
		src  string
		want string
	}{
		{name: "line comment", src: "$a = 1 # Write-Host\n$b", want: "$a = 1             \n$b"},
		{name: "block comment", src: "<# x\ny #>$a", want: "    \n    $a"},
		{name: "single quoted", src: "'it''s # x' + $a", want: "'         ' + $a"},
		{name: "double quoted", src: `"a ""b"" $x" + $y`, want: `"          " + $y`},
		{name: "backtick", src: "\"a `\" b\" + $c", want: "\"      \" + $c"},
		{name: "subexpression", src: `"n $($x.Replace('a', ')')) m" + $z`, want: `"  $($x.Replace(' ', ' '))  " + $z`},
		{name: "here-string", src: "@'\nWrite-Host '#'\n'@\n$a", want: "@'\n              \n'@\n$a"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := blankPS(tc.src)
			must.NoError(t, err)
			must.EqOp(t, tc.want, got)
			must.EqOp(t, len(tc.src), len(got))
		})
	}
}

func TestBlankPS_Unterminated(t *testing.T) {
	for _, src := range []string{`"abc`, `'abc`, "<# abc", "\"$(a\"", "@'\nabc\n"} {
		_, err := blankPS(src)
		must.Error(t, err, must.Sprintf("source %q", src))
	}
}

func TestParsePS_Functions(t *testing.T) {
	src := `
function Get-Thing
{
    <#
    .SYNOPSIS
        A } brace in help.
    #>
    [CmdletBinding()]
    param
    (
        [Parameter(Mandatory = $true)]
        [ValidateSet('a', 'b')]
        [System.String]
        $Name,

        [Parameter()]
        [ValidateScript({ $_ -gt 0 })]
        [System.Int32]
        $Count = $null,

        [System.Object[]]
        $Items = @($x, $y)
    )
    $s = "}"
    & { param ($inner) $inner } 1
}
function Set-Other { 'x' }
`
	parsed, err := parsePS("test.ps1", src)
	must.NoError(t, err)
	must.SliceLen(t, 2, parsed.functions)
	must.EqOp(t, "Get-Thing", parsed.functions[0].name)
	must.Eq(t, []string{"Name", "Count", "Items"}, parsed.functions[0].params)
	must.True(t, parsed.functions[0].hasParam)
	must.EqOp(t, 2, parsed.functions[0].line)
	must.EqOp(t, "Set-Other", parsed.functions[1].name)
	must.False(t, parsed.functions[1].hasParam)
}
