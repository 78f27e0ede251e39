//go:build !windows

package web

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shoenig/test/must"
)

func TestW3CEntry_Line(t *testing.T) {
	e := w3cEntry{
		when:      time.Date(2025, 3, 4, 5, 6, 7, 0, time.FixedZone("CET", 3600)),
		serverIP:  "127.0.0.1",
		method:    "GET",
		uriStem:   "/a b/c.txt",
		port:      8080,
		clientIP:  "127.0.0.1",
		userAgent: "Mozilla/5.0 (X11; Linux)\r\nInjected: yes",
		status:    404,
		substatus: 3,
		taken:     1500 * time.Millisecond,
	}
	must.EqOp(t, "2025-03-04 04:06:07 127.0.0.1 GET /a+b/c.txt - 8080 - 127.0.0.1 Mozilla/5.0+(X11;+Linux)??Injected:+yes - 404 3 0 1500\r\n", e.line())
}

func TestW3CLogs_FilesPerSiteAndDay(t *testing.T) {
	dir := t.TempDir()
	l := NewRequestLogs(dir)
	day1 := time.Date(2025, 1, 31, 23, 59, 0, 0, time.UTC)
	day2 := day1.Add(2 * time.Minute)
	must.NoError(t, l.write(3, w3cEntry{when: day1, method: "GET", uriStem: "/1", status: 200}))
	must.NoError(t, l.write(3, w3cEntry{when: day1, method: "GET", uriStem: "/2", status: 200}))
	must.NoError(t, l.write(3, w3cEntry{when: day2, method: "GET", uriStem: "/3", status: 200}))
	must.NoError(t, l.write(4, w3cEntry{when: day2, method: "GET", uriStem: "/4", status: 200}))
	l.CloseAll()

	first, err := os.ReadFile(filepath.Join(dir, "W3SVC3", "u_ex250131.log"))
	must.NoError(t, err)
	must.StrHasPrefix(t, "#Software: ", string(first))
	must.StrContains(t, string(first), "#Version: 1.0\r\n#Date: 2025-01-31 23:59:00\r\n#Fields: "+w3cFields+"\r\n")
	must.EqOp(t, 1, strings.Count(string(first), "#Fields:"))
	must.StrContains(t, string(first), " GET /1 ")
	must.StrContains(t, string(first), " GET /2 ")
	second, err := os.ReadFile(filepath.Join(dir, "W3SVC3", "u_ex250201.log"))
	must.NoError(t, err)
	must.StrContains(t, string(second), " GET /3 ")
	must.FileExists(t, filepath.Join(dir, "W3SVC4", "u_ex250201.log"))

	// A service that opens the file again writes the header again, as IIS does.
	l = NewRequestLogs(dir)
	must.NoError(t, l.write(4, w3cEntry{when: day2, method: "GET", uriStem: "/5", status: 200}))
	l.CloseAll()
	again, err := os.ReadFile(filepath.Join(dir, "W3SVC4", "u_ex250201.log"))
	must.NoError(t, err)
	must.EqOp(t, 2, strings.Count(string(again), "#Fields:"))
}
