package client

import (
	"bytes"
	"io"
)

// BytesSource uploads Data, held in memory: a ZIP archive (Zip true) that
// the API extracts into the target folder, or any file stored at the target
// path. Each attempt sends Data from its start, so a retried upload is
// whole.
type BytesSource struct {
	Data []byte
	Zip  bool
	// Name describes the source in messages ("" is "data").
	Name string
}

// ContentType implements Source.
func (s BytesSource) ContentType() string {
	if s.Zip {
		return "application/zip"
	}
	return "application/octet-stream"
}

// Describe implements Source.
func (s BytesSource) Describe() string {
	if s.Name == "" {
		return "data"
	}
	return s.Name
}

// Open implements Source.
func (s BytesSource) Open() (io.ReadCloser, int64, error) {
	return io.NopCloser(bytes.NewReader(s.Data)), int64(len(s.Data)), nil
}
