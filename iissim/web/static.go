//go:build !windows

package web

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
)

// defaultDocuments is IIS's default document list, in its order.
var defaultDocuments = []string{"Default.htm", "Default.asp", "index.htm", "index.html", "iisstart.htm", "default.aspx"}

// hiddenSegments are the URL segments IIS's request filtering refuses (404.8).
var hiddenSegments = []string{"web.config", "bin", "App_code", "App_GlobalResources", "App_LocalResources", "App_WebReferences", "App_Data", "App_Browsers"}

// deniedExtensions are file extensions IIS's request filtering refuses (404.7).
var deniedExtensions = []string{
	".asax", ".ascx", ".master", ".skin", ".browser", ".sitemap", ".config", ".cs", ".csproj",
	".vb", ".vbproj", ".webinfo", ".licx", ".resx", ".resources", ".mdb", ".vjsproj", ".java",
	".jsl", ".ldb", ".mdf", ".ldf", ".compiled", ".refresh", ".exclude", ".rules",
}

// mimeTypes maps the extensions iissim serves to their content types;
// like IIS's static file handler, it answers 404.3 for any other extension.
var mimeTypes = map[string]string{
	".htm": "text/html", ".html": "text/html", ".txt": "text/plain", ".css": "text/css",
	".js": "application/javascript", ".mjs": "application/javascript", ".json": "application/json",
	".xml": "text/xml", ".csv": "text/csv", ".md": "text/markdown",
	".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
	".svg": "image/svg+xml", ".ico": "image/x-icon", ".webp": "image/webp", ".bmp": "image/bmp",
	".woff": "font/woff", ".woff2": "font/woff2", ".ttf": "application/octet-stream", ".otf": "font/otf",
	".pdf": "application/pdf", ".zip": "application/x-zip-compressed", ".gz": "application/x-gzip",
	".wasm": "application/wasm", ".map": "application/json", ".mp4": "video/mp4", ".webm": "video/webm",
	".mp3": "audio/mpeg", ".wav": "audio/wav", ".bin": "application/octet-stream",
	".webmanifest": "application/manifest+json",
}

// textTypes get "; charset=utf-8".
var textTypes = map[string]bool{"text/html": true, "text/plain": true, "text/css": true, "text/xml": true, "text/csv": true, "text/markdown": true, "application/javascript": true, "application/json": true}

// fileHandler is a worker's request handler: IIS's static file handler
// and a minimal .aspx renderer, for the directory the service names.
type fileHandler struct {
	token  string
	pid    int
	getenv func(string) string
}

// NewFileHandler is the request handler of a worker process: it serves the
// requests of the service that carry token, with pid and getenv as what
// .aspx pages read for the process and its environment.
func NewFileHandler(token string, pid int, getenv func(string) string) http.Handler {
	return &fileHandler{token: token, pid: pid, getenv: getenv}
}

// ServeHTTP serves one request forwarded by the service.
func (h *fileHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if subtle.ConstantTimeCompare([]byte(r.Header.Get(hdrToken)), []byte(h.token)) != 1 {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	root, rel := r.Header.Get(hdrRoot), r.Header.Get(hdrRel)
	if sub := filterRequest(r.URL.Path); sub != 0 {
		workerError(w, http.StatusNotFound, sub, "Not Found")
		return
	}
	dir, err := os.OpenRoot(root)
	if err != nil {
		workerError(w, http.StatusNotFound, 0, "Not Found")
		return
	}
	defer func() { _ = dir.Close() }()
	name, info, err := resolveFold(dir, rel)
	if err != nil {
		workerError(w, http.StatusNotFound, 0, "Not Found")
		return
	}
	if info.IsDir() {
		if !strings.HasSuffix(r.URL.Path, "/") {
			target := r.URL.Path + "/"
			if r.URL.RawQuery != "" {
				target += "?" + r.URL.RawQuery
			}
			w.Header().Set("Location", target)
			w.WriteHeader(http.StatusMovedPermanently)
			return
		}
		doc, docInfo, ok := defaultDocument(dir, name)
		if !ok {
			workerError(w, http.StatusForbidden, 14, "Forbidden")
			return
		}
		name, info = doc, docInfo
	}
	ext := strings.ToLower(path.Ext(name))
	if ext == ".aspx" {
		h.serveASPX(w, dir, name)
		return
	}
	ctype, ok := mimeTypes[ext]
	if !ok {
		workerError(w, http.StatusNotFound, 3, "Not Found")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD, OPTIONS, TRACE")
		workerError(w, http.StatusMethodNotAllowed, 0, "Method Not Allowed")
		return
	}
	f, err := dir.Open(name)
	if err != nil {
		workerError(w, http.StatusNotFound, 0, "Not Found")
		return
	}
	defer func() { _ = f.Close() }()
	if textTypes[ctype] {
		ctype += "; charset=utf-8"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("ETag", fmt.Sprintf(`"%x:%x"`, info.ModTime().UnixNano(), info.Size()))
	http.ServeContent(w, r, name, info.ModTime(), f)
}

// serveASPX renders an .aspx page (see renderASPX).
func (h *fileHandler) serveASPX(w http.ResponseWriter, dir *os.Root, name string) {
	f, err := dir.Open(name)
	if err != nil {
		workerError(w, http.StatusNotFound, 0, "Not Found")
		return
	}
	defer func() { _ = f.Close() }()
	src, err := io.ReadAll(io.LimitReader(f, 8<<20))
	if err != nil {
		workerError(w, http.StatusInternalServerError, 0, "Internal Server Error")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "private")
	_, _ = io.WriteString(w, renderASPX(string(src), h.getenv, h.pid))
}

// workerError writes an IIS-style error page and tells the service the
// substatus for its log.
func workerError(w http.ResponseWriter, status, substatus int, text string) {
	w.Header().Set(hdrSubstatus, strconv.Itoa(substatus))
	httpError(w, status, substatus, text)
}

// filterRequest applies IIS's default request filtering to a URL path: the
// substatus of the refusal (8 hidden segment, 7 denied extension), or 0.
func filterRequest(urlPath string) int {
	for _, seg := range strings.Split(urlPath, "/") {
		for _, hidden := range hiddenSegments {
			if strings.EqualFold(seg, hidden) {
				return 8
			}
		}
	}
	ext := strings.ToLower(path.Ext(urlPath))
	for _, denied := range deniedExtensions {
		if ext == denied {
			return 7
		}
	}
	return 0
}

// resolveFold finds rel below dir, ignoring case as Windows file systems
// do; it returns the path with the names as they are on disk.
func resolveFold(dir *os.Root, rel string) (string, fs.FileInfo, error) {
	if rel == "" {
		rel = "."
	}
	if info, err := dir.Stat(rel); err == nil {
		return rel, info, nil
	}
	cur := "."
	for _, seg := range strings.Split(rel, "/") {
		if seg == "" {
			continue
		}
		entries, err := readDir(dir, cur)
		if err != nil {
			return "", nil, err
		}
		found := ""
		for _, e := range entries {
			if strings.EqualFold(e.Name(), seg) {
				found = e.Name()
				break
			}
		}
		if found == "" {
			return "", nil, fs.ErrNotExist
		}
		cur = path.Join(cur, found)
	}
	info, err := dir.Stat(cur)
	if err != nil {
		return "", nil, err
	}
	return cur, info, nil
}

// defaultDocument finds the first default document of a directory.
func defaultDocument(dir *os.Root, name string) (string, fs.FileInfo, bool) {
	entries, err := readDir(dir, name)
	if err != nil {
		return "", nil, false
	}
	for _, doc := range defaultDocuments {
		for _, e := range entries {
			if !strings.EqualFold(e.Name(), doc) {
				continue
			}
			p := path.Join(name, e.Name())
			info, err := dir.Stat(p)
			if err == nil && info.Mode().IsRegular() {
				return p, info, true
			}
		}
	}
	return "", nil, false
}

func readDir(dir *os.Root, name string) ([]fs.DirEntry, error) {
	f, err := dir.Open(name)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	entries, err := f.ReadDir(-1)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return entries, nil
}
