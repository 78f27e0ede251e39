package ps

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/shoenig/test/must"
)

func TestDecodeResponse(t *testing.T) {
	cases := []struct {
		name string
		line string
		ok   bool
		want Response
	}{
		{name: "result", line: `{"id":7,"ok":true,"result":{"a":1}}`, ok: true,
			want: Response{ID: 7, OK: true, Result: json.RawMessage(`{"a":1}`)}},
		{name: "error", line: `{"id":8,"ok":false,"error":{"kind":"NotFound","message":"no site"}}`, ok: true,
			want: Response{ID: 8, Error: &WireError{Kind: KindNotFound, Message: "no site"}}},
		{name: "ready frame", line: `{"id":0,"ok":true,"result":{"backend":"iis","processId":12}}`, ok: true,
			want: Response{ID: 0, OK: true, Result: json.RawMessage(`{"backend":"iis","processId":12}`)}},
		{name: "no result", line: `{"id":9,"ok":true}`, ok: true, want: Response{ID: 9, OK: true}},
		{name: "CRLF and blanks", line: "  {\"id\":3,\"ok\":true,\"result\":1}\r\n", ok: true,
			want: Response{ID: 3, OK: true, Result: json.RawMessage(`1`)}},
		{name: "byte order mark", line: "\xef\xbb\xbf{\"id\":1,\"ok\":true,\"result\":\"ä\"}", ok: true,
			want: Response{ID: 1, OK: true, Result: json.RawMessage(`"ä"`)}},
		{name: "empty", line: ""},
		{name: "only a byte order mark", line: "\xef\xbb\xbf"},
		{name: "text", line: "WARNING: something"},
		{name: "partial", line: `{"id":1,"ok":tr`},
		{name: "array", line: `[1,2]`},
		{name: "other object", line: `{"hello":"world"}`},
		{name: "missing ok", line: `{"id":1,"result":1}`},
		{name: "missing id", line: `{"ok":true,"result":1}`},
		{name: "negative id", line: `{"id":-1,"ok":true}`},
		{name: "failure without error", line: `{"id":1,"ok":false}`},
		{name: "unknown kind", line: `{"id":1,"ok":false,"error":{"kind":"Oops","message":"m"}}`},
		{name: "invalid UTF-8 outside strings", line: "{\"id\":1,\"ok\":true,\xff}"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := DecodeResponse([]byte(tc.line))
			must.Eq(t, tc.ok, ok)
			if tc.ok {
				must.Eq(t, tc.want.ID, got.ID)
				must.Eq(t, tc.want.OK, got.OK)
				must.Eq(t, string(tc.want.Result), string(got.Result))
				must.Eq(t, tc.want.Error, got.Error)
			}
		})
	}
}

func TestEncodeRequest(t *testing.T) {
	cases := []struct {
		name string
		req  Request
		want string
	}{
		{name: "nil args", req: Request{ID: 1, Op: OpTestConnection},
			want: `{"id":1,"op":"TestConnection","args":{}}` + "\n"},
		{name: "non-ASCII stays UTF-8", req: Request{ID: 2, Op: OpGetWebsite, Args: json.RawMessage(`{"name":"Grüße 世界"}`)},
			want: `{"id":2,"op":"GetWebsite","args":{"name":"Grüße 世界"}}` + "\n"},
		{name: "args compacted to one line", req: Request{ID: 3, Op: OpGetAppPool, Args: json.RawMessage("{\n  \"names\": [\"a\"]\n}")},
			want: `{"id":3,"op":"GetAppPool","args":{"names":["a"]}}` + "\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := EncodeRequest(tc.req)
			must.NoError(t, err)
			must.Eq(t, tc.want, string(got))
		})
	}

	t.Run("invalid args", func(t *testing.T) {
		_, err := EncodeRequest(Request{ID: 1, Op: OpGetWebsite, Args: json.RawMessage(`{"name":`)})
		must.Error(t, err)
	})
}

func TestReadLine(t *testing.T) {
	long := strings.Repeat("x", 100)
	cases := []struct {
		name  string
		input string
		limit int
		want  []string // lines, "!" for errLineTooLong
	}{
		{name: "lines", input: "a\nbb\n\nccc\n", limit: 10, want: []string{"a\n", "bb\n", "\n", "ccc\n"}},
		{name: "partial last line", input: "a\nbb", limit: 10, want: []string{"a\n", "bb"}},
		{name: "longer than the buffer", input: long + "\nz\n", limit: 1000, want: []string{long + "\n", "z\n"}},
		{name: "over the limit is skipped whole", input: "a\n" + long + "\nz\n", limit: 50, want: []string{"a\n", "!", "z\n"}},
		{name: "over the limit at the end", input: "a\n" + long, limit: 50, want: []string{"a\n"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := bufio.NewReaderSize(strings.NewReader(tc.input), 16)
			var got []string
			for {
				line, err := readLine(r, tc.limit)
				if errors.Is(err, errLineTooLong) {
					got = append(got, "!")
					continue
				}
				if len(line) > 0 {
					got = append(got, string(line))
				}
				if err != nil {
					must.ErrorIs(t, err, io.EOF)
					break
				}
			}
			must.Eq(t, tc.want, got)
		})
	}
}

func TestPreview(t *testing.T) {
	short := "Grüße"
	must.Eq(t, short, preview(short))
	long := strings.Repeat("ä", 400) // two bytes each
	p := preview(long)
	must.True(t, strings.HasSuffix(p, "…"))
	must.True(t, len(p) <= 300+len("…"))
	must.StrNotContains(t, p, "\uFFFD")
	must.Eq(t, "WARNING: x", cleanLine([]byte("\xef\xbb\xbfWARNING: x\r\n")))
	must.Eq(t, "a\uFFFDb", cleanLine([]byte("a\xffb")))
}

func FuzzDecodeResponse(f *testing.F) {
	for _, s := range []string{
		`{"id":7,"ok":true,"result":{"a":1}}`,
		`{"id":8,"ok":false,"error":{"kind":"NotFound","message":"no"}}`,
		"\xef\xbb\xbf{\"id\":0,\"ok\":true}",
		`{"id":1,"ok":false}`,
		`[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		resp, ok := DecodeResponse(line)
		if !ok {
			return
		}
		if !resp.OK && (resp.Error == nil || !resp.Error.Kind.Valid()) {
			t.Fatalf("accepted a failure without a valid error: %q", line)
		}
		// A frame accepted once is accepted again after a round trip.
		b, err := json.Marshal(resp)
		if err != nil {
			t.Fatalf("re-encode %q: %v", line, err)
		}
		again, ok := DecodeResponse(b)
		if !ok || again.ID != resp.ID || again.OK != resp.OK {
			t.Fatalf("round trip of %q gave %q", line, b)
		}
	})
}
