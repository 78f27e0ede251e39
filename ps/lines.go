package ps

import (
	"bufio"
	"bytes"
	"errors"
	"strings"
	"unicode/utf8"
)

// errLineTooLong reports a line longer than the reader's limit; the line
// has been consumed and dropped.
var errLineTooLong = errors.New("line too long")

// readLine reads one '\n'-terminated line of any length up to limit bytes
// (bufio.Scanner stops at 64 KiB; a result frame can be megabytes). At the
// end of the input it returns the partial last line, if any, with io.EOF.
func readLine(r *bufio.Reader, limit int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(line)+len(chunk) > limit {
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = r.ReadSlice('\n')
			}
			if err != nil {
				return nil, err
			}
			return nil, errLineTooLong
		}
		line = append(line, chunk...)
		if !errors.Is(err, bufio.ErrBufferFull) {
			return line, err
		}
	}
}

// cleanLine turns a line of backend output into loggable text: no line end,
// no byte order mark, valid UTF-8.
func cleanLine(line []byte) string {
	line = bytes.TrimRight(line, "\r\n")
	line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
	return strings.TrimSpace(strings.ToValidUTF8(string(line), "\uFFFD"))
}

// preview shortens text for a log line or an error message.
func preview(text string) string {
	const max = 300
	if len(text) <= max {
		return text
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(text[cut]) {
		cut--
	}
	return text[:cut] + "…"
}
