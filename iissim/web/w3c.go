//go:build !windows

package web

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// w3cFields is the field list of iissim's request log: IIS's default W3C
// extended fields.
const w3cFields = "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken"

// w3cEntry is one request of the log.
type w3cEntry struct {
	when      time.Time
	serverIP  string
	method    string
	uriStem   string
	uriQuery  string
	port      int
	username  string
	clientIP  string
	userAgent string
	referer   string
	status    int
	substatus int
	win32     int
	taken     time.Duration
}

// RequestLogs writes one W3C extended log per site, as IIS does:
// logs/W3SVC<siteId>/u_ex<yymmdd>.log, a new file each UTC day, with the
// #Software/#Version/#Date/#Fields header whenever the service opens a
// file. Lines are written at once (IIS buffers them for up to a minute).
type RequestLogs struct {
	dir string

	// mu guards files.
	mu    sync.Mutex
	files map[int64]*w3cFile
}

// w3cFile is the open log of one site.
type w3cFile struct {
	f   *os.File
	day string
}

// NewRequestLogs returns the request logs kept below dir.
func NewRequestLogs(dir string) *RequestLogs {
	return &RequestLogs{dir: dir, files: map[int64]*w3cFile{}}
}

// SiteDir is the log directory of a site.
func (l *RequestLogs) SiteDir(siteID int64) string {
	return filepath.Join(l.dir, "W3SVC"+strconv.FormatInt(siteID, 10))
}

// write appends one entry to the site's log.
func (l *RequestLogs) write(siteID int64, e w3cEntry) error {
	when := e.when.UTC()
	day := when.Format("060102")
	l.mu.Lock()
	defer l.mu.Unlock()
	lf := l.files[siteID]
	if lf != nil && lf.day != day {
		_ = lf.f.Close()
		lf = nil
		delete(l.files, siteID)
	}
	if lf == nil {
		dir := l.SiteDir(siteID)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("request log of site %d: %w", siteID, err)
		}
		f, err := os.OpenFile(filepath.Join(dir, "u_ex"+day+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return fmt.Errorf("request log of site %d: %w", siteID, err)
		}
		header := "#Software: iissim (Microsoft Internet Information Services 10.0 stand-in)\r\n" +
			"#Version: 1.0\r\n" +
			"#Date: " + when.Format("2006-01-02 15:04:05") + "\r\n" +
			"#Fields: " + w3cFields + "\r\n"
		if _, err := f.WriteString(header); err != nil {
			_ = f.Close()
			return fmt.Errorf("request log of site %d: %w", siteID, err)
		}
		lf = &w3cFile{f: f, day: day}
		l.files[siteID] = lf
	}
	if _, err := lf.f.WriteString(e.line()); err != nil {
		return fmt.Errorf("request log of site %d: %w", siteID, err)
	}
	return nil
}

// line renders the entry with the fields of w3cFields, CRLF-terminated as IIS writes.
func (e w3cEntry) line() string {
	when := e.when.UTC()
	fields := []string{
		when.Format("2006-01-02"),
		when.Format("15:04:05"),
		w3cValue(e.serverIP),
		w3cValue(e.method),
		w3cValue(e.uriStem),
		w3cValue(e.uriQuery),
		strconv.Itoa(e.port),
		w3cValue(e.username),
		w3cValue(e.clientIP),
		w3cValue(e.userAgent),
		w3cValue(e.referer),
		strconv.Itoa(e.status),
		strconv.Itoa(e.substatus),
		strconv.Itoa(e.win32),
		strconv.FormatInt(e.taken.Milliseconds(), 10),
	}
	return strings.Join(fields, " ") + "\r\n"
}

// w3cValue renders one field: "-" when empty, spaces as "+", control
// characters as "?", so that a field never breaks the line format.
func w3cValue(s string) string {
	if s == "" {
		return "-"
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == ' ':
			return '+'
		case r < 0x20 || r == 0x7f:
			return '?'
		}
		return r
	}, s)
}

// CloseSite closes the log of a removed site.
func (l *RequestLogs) CloseSite(siteID int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if lf := l.files[siteID]; lf != nil {
		_ = lf.f.Close()
		delete(l.files, siteID)
	}
}

// CloseAll closes every log.
func (l *RequestLogs) CloseAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for id, lf := range l.files {
		_ = lf.f.Close()
		delete(l.files, id)
	}
}
