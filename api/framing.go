package api

import (
	"bytes"
	"strconv"
)

// framer follows the HTTP/1.x request framing of one connection, byte by
// byte as net/http reads it, as net/http frames it: a head up to its empty
// line, then a body of Content-Length bytes, or chunked for HTTP/1.1 with
// Transfer-Encoding, or none. It keeps at most one line, so its memory is
// bounded by the head limit whatever the client sends.
type framer struct {
	state framerState
	// line is the line being read (head, chunk size, chunk end, trailer).
	line []byte
	// headBytes counts the bytes of the current head.
	headBytes int
	// In the head: the request line was seen, its protocol is HTTP/1.1 or
	// later, and the headers seen.
	requestLine, http11, hasCL, hasTE bool
	contentLength                     int64
	// remain counts the body or chunk bytes still to skip.
	remain int64
}

type framerState int

const (
	frameHead framerState = iota
	frameBody
	frameChunkSize
	frameChunkData
	frameChunkEnd
	frameTrailer
	// frameLost: the framing could not be followed (a head over the limit,
	// an unreadable length). net/http refuses such a request itself and
	// closes the connection; the framer reads nothing more.
	frameLost
)

// maxChunkLine bounds a chunk-size line as net/http does.
const maxChunkLine = 4096

// feed follows p and reports whether a request head in it had both
// Content-Length and Transfer-Encoding, or framing that cannot be followed.
func (f *framer) feed(p []byte, maxHead int) (ambiguous bool) {
	for len(p) > 0 && f.state != frameLost {
		switch f.state {
		case frameBody, frameChunkData:
			n := min(int64(len(p)), f.remain)
			p, f.remain = p[n:], f.remain-n
			if f.remain == 0 {
				if f.state == frameBody {
					f.startHead()
				} else {
					f.state = frameChunkEnd
				}
			}
			continue
		}
		i := bytes.IndexByte(p, '\n')
		take := p
		if i >= 0 {
			take = p[:i]
		}
		limit := maxChunkLine
		if f.state == frameHead || f.state == frameTrailer {
			f.headBytes += len(take) + 1
			limit = maxHead
		}
		if len(f.line)+len(take) > limit || f.headBytes > maxHead {
			f.state = frameLost
			return true
		}
		f.line = append(f.line, take...)
		if i < 0 {
			return false
		}
		p = p[i+1:]
		line := bytes.TrimSuffix(f.line, []byte("\r"))
		f.line = f.line[:0]
		if f.endLine(line) {
			return true
		}
	}
	return f.state == frameLost
}

func (f *framer) startHead() {
	*f = framer{line: f.line[:0]}
}

// endLine handles one complete line (without its line end) and reports an
// ambiguous or unreadable framing.
func (f *framer) endLine(line []byte) bool {
	switch f.state {
	case frameHead:
		return f.headLine(line)
	case frameChunkSize:
		if semi := bytes.IndexByte(line, ';'); semi >= 0 {
			line = line[:semi]
		}
		n, err := strconv.ParseUint(string(bytes.TrimSpace(line)), 16, 63)
		switch {
		case err != nil:
			f.state = frameLost
			return true
		case n == 0:
			f.state = frameTrailer
		default:
			f.state, f.remain = frameChunkData, int64(n)
		}
	case frameChunkEnd:
		if len(line) != 0 {
			f.state = frameLost
			return true
		}
		f.state = frameChunkSize
	case frameTrailer:
		if len(line) == 0 {
			f.startHead()
		}
	}
	return false
}

// headLine handles a line of a request head.
func (f *framer) headLine(line []byte) bool {
	if !f.requestLine {
		if len(line) == 0 { // net/http skips empty lines before a request
			f.headBytes = 0
			return false
		}
		f.requestLine = true
		if sp := bytes.LastIndexByte(line, ' '); sp >= 0 {
			major, minor, ok := parseHTTPVersion(string(line[sp+1:]))
			f.http11 = ok && (major > 1 || major == 1 && minor >= 1)
		}
		return false
	}
	if len(line) > 0 {
		name, value, ok := bytes.Cut(line, []byte(":"))
		switch {
		case !ok:
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, err := strconv.ParseInt(string(bytes.TrimSpace(value)), 10, 64)
			if err != nil || n < 0 || (f.hasCL && n != f.contentLength) {
				f.state = frameLost
				return true
			}
			f.hasCL, f.contentLength = true, n
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			f.hasTE = true
		}
		return false
	}
	// The end of the head.
	switch {
	case f.hasCL && f.hasTE:
		f.state = frameLost
		return true
	case f.hasTE && f.http11:
		f.state = frameChunkSize
	case f.hasCL && f.contentLength > 0:
		f.state, f.remain = frameBody, f.contentLength
	default:
		f.startHead()
	}
	return false
}

// parseHTTPVersion parses "HTTP/x.y".
func parseHTTPVersion(v string) (major, minor int, ok bool) {
	if len(v) != len("HTTP/1.1") || v[:5] != "HTTP/" || v[6] != '.' {
		return 0, 0, false
	}
	major, minor = int(v[5]-'0'), int(v[7]-'0')
	return major, minor, major >= 0 && major <= 9 && minor >= 0 && minor <= 9
}
