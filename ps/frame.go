package ps

import (
	"bytes"
	"encoding/json"
)

// The wire format: one JSON object per line, UTF-8, in both directions.
//
//	request:  {"id":7,"op":"NewTaskSite","args":{...}}
//	response: {"id":7,"ok":true,"result":{...}}
//	          {"id":7,"ok":false,"error":{"kind":"NotFound","message":"..."}}
//
// When it is ready to serve, a backend writes one response with id 0 whose
// result is a ConnectionInfo. Lines that are not a response frame (a module
// that prints, a warning written to stdout) are stray output: the host logs
// and skips them.

// Request is one call.
type Request struct {
	ID   uint64          `json:"id"`
	Op   Op              `json:"op"`
	Args json.RawMessage `json:"args"`
}

// Response answers the Request with the same ID.
type Response struct {
	ID     uint64          `json:"id"`
	OK     bool            `json:"ok"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *WireError      `json:"error,omitempty"`
}

// WireError is the error of a failed Response.
type WireError struct {
	Kind    ErrorKind `json:"kind"`
	Message string    `json:"message"`
}

// ReadyID is the id of the frame a backend writes once it is ready.
const ReadyID = 0

// DecodeResponse parses one line. It reports false for anything that is not
// a well-formed response frame: empty or partial lines, other JSON, text.
func DecodeResponse(line []byte) (Response, bool) {
	line = bytes.TrimSpace(line)
	// A UTF-8 byte order mark may precede the first line of Windows PowerShell.
	line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
	if len(line) < 2 || line[0] != '{' || line[len(line)-1] != '}' {
		return Response{}, false
	}
	var probe struct {
		ID     *uint64         `json:"id"`
		OK     *bool           `json:"ok"`
		Result json.RawMessage `json:"result"`
		Error  *WireError      `json:"error"`
	}
	if err := json.Unmarshal(line, &probe); err != nil || probe.ID == nil || probe.OK == nil {
		return Response{}, false
	}
	if !*probe.OK && (probe.Error == nil || !probe.Error.Kind.Valid()) {
		return Response{}, false
	}
	return Response{ID: *probe.ID, OK: *probe.OK, Result: probe.Result, Error: probe.Error}, true
}

// EncodeRequest renders a request frame, newline included.
func EncodeRequest(req Request) ([]byte, error) {
	if req.Args == nil {
		req.Args = json.RawMessage("{}")
	}
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
