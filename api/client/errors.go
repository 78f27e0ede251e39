package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Error is a refusal of the API: an HTTP status of 400 or more, with the
// fields of its application/problem+json body (RFC 9457). Callers branch on
// Status (errors.As).
type Error struct {
	// Method and Path are the request's (the path without host or query).
	Method, Path string
	// Status is the HTTP status code.
	Status int
	// Title is the problem's title (the status text when the body had none).
	Title string
	// Detail is the API's explanation, meant for a person; for a body that
	// is not problem+json, its first line.
	Detail string
	// RetryAfter is the Retry-After header, when the API sent one.
	RetryAfter time.Duration
	// Attempts is how many times the request was sent (more than 1 after
	// retries of a busy answer).
	Attempts int
}

// Error is one line: the status and the API's detail.
func (e *Error) Error() string {
	s := fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.Status, e.Title)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Attempts > 1 {
		s += fmt.Sprintf(" (after %d attempts)", e.Attempts)
	}
	return s
}

// Busy reports whether e is a refusal worth retrying later: 409 (another
// operation on the task), 429 (too many at once) or 503 (backend
// unavailable).
func (e *Error) Busy() bool { return retryable(e.Status) }

// IsStatus reports whether err is an *Error with the given status.
func IsStatus(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == status
}

// retryable reports whether a status is retried when the API says when.
func retryable(status int) bool {
	return status == http.StatusConflict || status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable
}

// maxErrorBody bounds how much of an error body is read.
const maxErrorBody = 64 << 10

// problemBody is an RFC 9457 problem details body.
type problemBody struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

// readError turns a response with a status of 400 or more into an *Error,
// reading (and closing) its body.
func readError(resp *http.Response) *Error {
	defer resp.Body.Close()
	e := &Error{
		Method:     resp.Request.Method,
		Path:       resp.Request.URL.Path,
		Status:     resp.StatusCode,
		Title:      http.StatusText(resp.StatusCode),
		RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	var p problemBody
	if (mt == "application/problem+json" || mt == "application/json") && json.Unmarshal(body, &p) == nil && (p.Detail != "" || p.Title != "") {
		if p.Title != "" {
			e.Title = p.Title
		}
		e.Detail = p.Detail
		return e
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n")
	if len(line) > 200 {
		line = line[:200] + "…"
	}
	e.Detail = strings.TrimSpace(line)
	return e
}

// parseRetryAfter reads a Retry-After header: delay seconds or an HTTP date.
// It returns 0 when the header is absent or unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
