package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nomad-iis/nomad-iis/api/fsroot"
	"github.com/nomad-iis/nomad-iis/api/ziputil"
	"github.com/nomad-iis/nomad-iis/ps"
)

// APIError is the one error type handlers return for a known failure. Its
// Message is meant for a person and says what to do; Err is the cause, for
// the log only. Any other error becomes a 500.
type APIError struct {
	// HTTPStatus is the response status.
	HTTPStatus int
	// Message is the problem's detail sent to the client.
	Message string
	// Err is the underlying error, logged, never sent.
	Err error
	// RetryAfter, when set, is sent as the Retry-After header.
	RetryAfter time.Duration
}

// Error implements error.
func (e *APIError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%d %s: %v", e.HTTPStatus, e.Message, e.Err)
	}
	return fmt.Sprintf("%d %s", e.HTTPStatus, e.Message)
}

// Unwrap returns the cause.
func (e *APIError) Unwrap() error { return e.Err }

// apiErr builds an *APIError with a formatted message.
func apiErr(status int, format string, args ...any) *APIError {
	return &APIError{HTTPStatus: status, Message: fmt.Sprintf(format, args...)}
}

// problem is an RFC 9457 problem details body.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

// classify maps any error to an *APIError: typed errors of the packages
// below keep their meaning (a path refusal is 400/403, a missing file 404, a
// busy backend 503 ...), everything else is a 500 whose detail hides the cause.
func classify(err error) *APIError {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae
	}
	var pe *fsroot.PathError
	var isDir *fsroot.IsDirError
	var ze *ziputil.Error
	var maxBytes *http.MaxBytesError
	var bodyRead *bodyReadError
	var special *fsroot.SpecialFileError
	var busy *fsroot.GateBusyError
	switch {
	case errors.As(err, &special):
		return &APIError{HTTPStatus: http.StatusForbidden, Message: special.Error(), Err: err}
	case errors.As(err, &busy):
		return &APIError{HTTPStatus: http.StatusConflict, RetryAfter: 10 * time.Second, Err: err,
			Message: busy.Error() + "; retry when it has finished"}
	case errors.As(err, &pe):
		if pe.Forbidden {
			return &APIError{HTTPStatus: http.StatusForbidden, Message: pe.Error(), Err: err}
		}
		return &APIError{HTTPStatus: http.StatusBadRequest, Message: pe.Error(), Err: err}
	case errors.As(err, new(*fsroot.ExistsError)):
		return &APIError{HTTPStatus: http.StatusConflict, Message: err.Error(), Err: err}
	case errors.As(err, &isDir):
		return &APIError{HTTPStatus: http.StatusConflict, Message: isDir.Error(), Err: err}
	case errors.As(err, &ze):
		if ze.TooLarge {
			return &APIError{HTTPStatus: http.StatusRequestEntityTooLarge, Message: ze.Error(), Err: err}
		}
		return &APIError{HTTPStatus: http.StatusBadRequest, Message: ze.Error(), Err: err}
	case errors.As(err, &maxBytes):
		return &APIError{HTTPStatus: http.StatusRequestEntityTooLarge, Err: err,
			Message: fmt.Sprintf("the request body is larger than %d bytes; raise %s to allow more", maxBytes.Limit, FlagMaxUpload)}
	case errors.As(err, &bodyRead):
		return &APIError{HTTPStatus: http.StatusBadRequest, Err: err,
			Message: fmt.Sprintf("the request body could not be read (%v); nothing was changed", bodyRead.err)}
	case errors.Is(err, fs.ErrNotExist):
		var ne *fsroot.NotExistError
		if errors.As(err, &ne) {
			return &APIError{HTTPStatus: http.StatusNotFound, Message: ne.Error(), Err: err}
		}
		return &APIError{HTTPStatus: http.StatusNotFound, Message: "not found", Err: err}
	case fsroot.IsInUse(err):
		return &APIError{HTTPStatus: http.StatusConflict, RetryAfter: 5 * time.Second, Err: err,
			Message: "a file is in use by another process (the worker process?); use PUT, which stops the pools first, or retry"}
	case isDiskFull(err):
		return &APIError{HTTPStatus: http.StatusInsufficientStorage, Err: err,
			Message: "the task's volume is full; nothing was changed (free some space and retry)"}
	case errors.Is(err, fs.ErrPermission):
		return &APIError{HTTPStatus: http.StatusForbidden, Err: err,
			Message: "the operating system denied access (a file may be in use by the worker process; PUT stops the pools first)"}
	case errors.Is(err, ps.ErrNotFound):
		return &APIError{HTTPStatus: http.StatusNotFound, Message: backendMessage(err), Err: err}
	case errors.Is(err, ps.ErrConflict):
		return &APIError{HTTPStatus: http.StatusConflict, Message: backendMessage(err), Err: err}
	case errors.Is(err, ps.ErrInvalidArgument):
		return &APIError{HTTPStatus: http.StatusBadRequest, Message: backendMessage(err), Err: err}
	case errors.Is(err, ps.ErrUnavailable):
		return &APIError{HTTPStatus: http.StatusServiceUnavailable, RetryAfter: 5 * time.Second, Err: err,
			Message: "the IIS backend is unavailable or restarting; retry shortly (" + backendMessage(err) + ")"}
	}
	return &APIError{HTTPStatus: http.StatusInternalServerError, Err: err,
		Message: "internal error; the plugin's log has the details"}
}

// classifyFor is classify with the advice of an OS refusal (a file in use,
// access denied) worded for the request's method and naming the file.
func classifyFor(method string, err error) *APIError {
	ae := classify(err)
	var own *APIError
	if errors.As(err, &own) {
		return ae
	}
	switch {
	case fsroot.IsInUse(err):
		ae.Message = osRefusal(method, err, true)
	case ae.HTTPStatus == http.StatusForbidden && errors.Is(err, fs.ErrPermission):
		ae.Message = osRefusal(method, err, false)
	}
	return ae
}

// osRefusal words the refusal of the OS to let method change (or read) the
// file err names: a file held open by a process (inUse), or access denied.
func osRefusal(method string, err error, inUse bool) string {
	name := "a file"
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path != "" && !filepath.IsAbs(pe.Path) && !strings.HasPrefix(pe.Path, "/") && !strings.HasPrefix(pe.Path, `\`) {
		name = strconv.Quote(pe.Path)
	}
	verb := "replace"
	if method == http.MethodDelete {
		verb = "remove"
	}
	why := "the operating system refused to " + verb + " " + name
	if inUse {
		why = name + " is in use by another process"
	}
	switch {
	case method == http.MethodPatch:
		return why + " (the worker process?); nothing was changed. PUT stops the pools first, or retry"
	case method == http.MethodPut && inUse:
		return why + " although the task's pools were stopped; nothing was changed. Retry, or find the process that holds it"
	case method == http.MethodPut:
		return why + ": another process holds it open although the task's pools were stopped, or its permissions forbid it; nothing was changed"
	case method == http.MethodDelete && inUse:
		return why + " (the worker process? stop the pools with …/stop first); retry"
	case method == http.MethodDelete:
		return why + ": a process holds it open (the worker process? stop the pools with …/stop first) or its permissions forbid it"
	case inUse:
		return why + "; retry"
	}
	return "the operating system denied access to " + name
}

// backendMessage is the backend's own message, meant for a person.
func backendMessage(err error) string {
	var pe *ps.Error
	if errors.As(err, &pe) {
		return pe.Message
	}
	return err.Error()
}

// writeError is the only place that turns an error into a response: a JSON
// problem body, and one log line.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	ae := classifyFor(r.Method, err)
	if ae.HTTPStatus >= 500 {
		s.log.Error("request failed", "method", r.Method, "url_path", logPath(r), "status", ae.HTTPStatus, "error", err)
	} else {
		s.log.Debug("request refused", "method", r.Method, "url_path", logPath(r), "status", ae.HTTPStatus, "error", err)
	}
	writeProblem(w, ae)
}

func writeProblem(w http.ResponseWriter, ae *APIError) {
	h := w.Header()
	// A handler may have prepared headers for a body it never sent.
	for _, k := range []string{"Content-Disposition", "Content-Length", "Content-Encoding", "Etag", "Last-Modified", "Accept-Ranges"} {
		h.Del(k)
	}
	h.Set("Content-Type", "application/problem+json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	if ae.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int(ae.RetryAfter.Round(time.Second)/time.Second)))
	}
	w.WriteHeader(ae.HTTPStatus)
	_ = json.NewEncoder(w).Encode(problem{
		Type:   "about:blank",
		Title:  http.StatusText(ae.HTTPStatus),
		Status: ae.HTTPStatus,
		Detail: ae.Message,
	})
}

// writeJSON writes v with status 200.
func writeJSON(w http.ResponseWriter, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	return json.NewEncoder(w).Encode(v)
}
