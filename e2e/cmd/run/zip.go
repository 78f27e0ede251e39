package main

import (
	"archive/zip"
	"fmt"
	"os"
)

// sampleV2 is the page of the archive the printed upload command sends: the
// sample app's page, changed so that the upload shows.
const sampleV2 = `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Static Sample App v2</title>
  <style>
    body { font-family: system-ui, sans-serif; margin: 4rem auto; max-width: 40rem; color: #1f2937; }
    h1 { color: #2563eb; }
  </style>
</head>
<body>
  <h1>Static Sample App v2</h1>
  <p>This version was uploaded through the nomad-iis Management API (PUT .../fs/local).</p>
</body>
</html>
`

// writeSampleZip writes the archive of version 2 of the sample site.
func writeSampleZip(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write the sample archive: %w", err)
	}
	zw := zip.NewWriter(f)
	w, err := zw.Create("index.html")
	if err == nil {
		_, err = w.Write([]byte(sampleV2))
	}
	if err == nil {
		err = zw.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write the sample archive %s: %w", path, err)
	}
	return nil
}
