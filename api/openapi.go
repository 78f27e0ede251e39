package api

import (
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/nomad-iis/nomad-iis/version"
)

// opDoc is the OpenAPI description of one route.
type opDoc struct {
	Summary string
	// Query parameters.
	Query []paramDoc
	// Body lists the accepted request content types ("" for none).
	Body []string
	// OK is the success response: status, content type, schema (a
	// components/schemas name) and description.
	OK respDoc
	// Errors are the route's own error statuses with their meaning; 401,
	// 403, 404 (task routes) and 500 are added to every route.
	Errors map[int]string
}

type paramDoc struct {
	Name, Type, Description string
}

type respDoc struct {
	Status      int
	ContentType string
	Schema      string
	Description string
}

var (
	docStatus = opDoc{
		Summary: "State of the task's application pools and their worker processes (PID, memory, CPU, start time).",
		OK:      respDoc{200, "application/json", "Status", "The pools, the default one also as defaultApplicationPool."},
		Errors:  map[int]string{503: "The IIS backend is not available."},
	}
	docDownload = opDoc{
		Summary: "Download a file (Range, ETag and conditional requests supported) or a folder as a streamed ZIP. {path} is URL-encoded (local%2Findex.html) or slash-separated.",
		OK:      respDoc{200, "application/octet-stream", "", "The file (206 for a Range request, 304 when unchanged), or application/zip for a folder."},
		Errors: map[int]string{400: "The path is malformed (.., absolute, drive, device, ADS, backslash ...).",
			429: "Too many folder downloads at once."},
	}
	docDelete = opDoc{
		Summary: "Delete a file or a folder; {folder}/* (or /*.*) empties the folder and keeps it.",
		OK:      respDoc{200, "application/json", "DeleteResult", "What was deleted."},
		Errors:  map[int]string{400: "The path is malformed.", 409: "Another operation on the task is in progress."},
	}
	docList = opDoc{
		Summary: "List a folder (name, type, size, modified, etag of each entry), or describe a file. Without {path}: the task directory, without secrets/ and private/.",
		OK:      respDoc{200, "application/json", "Listing", "The folder and its entries, or the file."},
		Errors:  map[int]string{400: "The path is malformed."},
	}
	docScreenshot = opDoc{
		Summary: "Full-page PNG (1920x1080 viewport) of the task's site through its first http binding.",
		Query:   []paramDoc{{"path", "string", "Path on the site, default /."}},
		OK:      respDoc{200, "image/png", "", "The screenshot."},
		Errors: map[int]string{400: "path is not a path.", 429: "Too many screenshots at once.",
			502: "The page could not be loaded.", 503: "No browser or Playwright driver on this host.", 504: "The page did not load in time."},
	}
	docProcdump = opDoc{
		Summary: "Full memory dump of a worker process, streamed then deleted (MiniDumpWriteDump or procdump.exe on Windows, a gcore core file on iissim).",
		Query: []paramDoc{{"appPoolName", "string", "Pool alias (or IIS name); default: the task's default pool."},
			{"pid", "integer", "Worker process id; default: the pool's first worker."}},
		OK: respDoc{200, "application/octet-stream", "", "The dump."},
		Errors: map[int]string{400: "pid is not a number.", 409: "The pool has no worker process.",
			429: "A dump is already being written.", 503: "No dump tool on this host, or the IIS backend is unavailable.", 507: "Not enough disk space."},
	}
	docDebug = opDoc{
		Summary: "The driver's task handles, the driver-made sites and pools (dangling ones flagged) and the admin extension scripts. Scoped tokens see their own handles only.",
		OK:      respDoc{200, "application/json", "Debug", "Debug information."},
		Errors:  map[int]string{503: "The IIS backend is not available."},
	}
	docOpenAPI = opDoc{
		Summary: "This document; info.version is the version of nomad-iis that serves it.",
		OK:      respDoc{200, "application/json", "", "The OpenAPI 3.0 document of the API."},
	}
	docVersion = opDoc{
		Summary: "The version of nomad-iis (the plugin) that serves the API, the one `nomad_iis --version` prints and Nomad shows as driver.iis.version.",
		OK:      respDoc{200, "application/json", "Version", "The version."},
	}
)

func docLifecycle(summary string) opDoc {
	return opDoc{
		Summary: summary,
		Query:   []paramDoc{{"appPoolName", "string", "Pool alias (or IIS name); default: every pool of the task."}},
		OK:      respDoc{200, "application/json", "Lifecycle", "The pools acted on and their new state."},
		Errors:  map[int]string{409: "Another operation on the task is in progress, or IIS refused the transition.", 503: "The IIS backend is not available."},
	}
}

func docUpload(stop bool) opDoc {
	summary := "Upload with the application pools running (hot patch; may fail on files the worker holds locked)."
	if stop {
		summary = "Upload with the task's running pools stopped (waiting for their workers to exit) while the new content is put in place; each pool is then restored to the state it had."
	}
	return opDoc{
		Summary: summary + " Content-Type application/zip (or application-zip) extracts an archive into the folder {path}; any other type writes the body as the file {path}. The body is spooled to disk and checked before anything changes; a failed upload leaves the old content as it was.",
		Query:   []paramDoc{{"clean", "boolean", "With an archive: replace the folder's content instead of merging into it. Default false."}},
		Body:    []string{"application/zip", "application/octet-stream"},
		OK:      respDoc{200, "application/json", "UploadResult", "What was written."},
		Errors: map[int]string{400: "Malformed path, not a ZIP, or a refused archive entry (slip, absolute, link, duplicate ...), or an interrupted body.",
			409: "Another operation on the task is in progress, or the target is of the other kind (file/folder).",
			413: "The body or the archive exceeds a limit (size, entry count, ratio).",
			507: "Not enough disk space.", 503: "The IIS backend is not available (PUT)."},
	}
}

// muxVar matches a gorilla/mux variable with its pattern, "{path:.+}".
var muxVar = regexp.MustCompile(`\{([a-zA-Z]+)(:[^}]*)?\}`)

// openAPIPath turns a mux template into an OpenAPI path.
func openAPIPath(tpl string) string { return muxVar.ReplaceAllString(tpl, "{$1}") }

// openAPIDocument builds the OpenAPI 3.0 document from the route table.
func (s *Server) openAPIDocument() map[string]any {
	paths := map[string]map[string]any{}
	for _, rt := range s.routes {
		p := openAPIPath(rt.Path)
		if paths[p] == nil {
			paths[p] = map[string]any{}
		}
		for _, m := range rt.Methods {
			paths[p][strings.ToLower(m)] = operation(rt, p, m)
		}
	}
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{
			"title": "nomad-iis Management API",
			// The plugin's version, so that a client can tell which
			// nomad-iis it talks to (also served by GET /api/v1/version).
			"version": version.Version,
			"description": "Per-task file transfer, application pool lifecycle, status, screenshots and process dumps for IIS tasks run by the nomad-iis Nomad driver. " +
				"Authenticate with X-Api-Key or an HS256 JWT (iss NomadIIS, aud ManagementApi, claims namespace, jobName, allocId, capabilities). Errors are application/problem+json, also those found before any route runs (400, 431, 501, 505). " +
				"A request with both Content-Length and Transfer-Encoding is refused with 400 and its connection closed.",
		},
		"paths":    paths,
		"security": []any{map[string]any{"apiKey": []any{}}, map[string]any{"jwt": []any{}}},
		"components": map[string]any{
			"securitySchemes": map[string]any{
				"apiKey": map[string]any{"type": "apiKey", "in": "header", "name": "X-Api-Key"},
				"jwt":    map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
			},
			"schemas": schemas,
		},
	}
}

func operation(rt *route, path, method string) map[string]any {
	d := rt.Doc
	op := map[string]any{"summary": d.Summary, "operationId": operationID(method, path)}
	if rt.Cap != "" {
		caps := []string{string(rt.Cap)}
		if rt.AltCap != "" {
			caps = append(caps, string(rt.AltCap))
		}
		op["x-capabilities"] = caps
	}
	var params []any
	for _, m := range muxVar.FindAllStringSubmatch(rt.Path, -1) {
		params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
	}
	for _, q := range d.Query {
		params = append(params, map[string]any{"name": q.Name, "in": "query", "description": q.Description, "schema": map[string]any{"type": q.Type}})
	}
	if len(params) > 0 {
		op["parameters"] = params
	}
	if len(d.Body) > 0 {
		content := map[string]any{}
		for _, ct := range d.Body {
			content[ct] = map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}}
		}
		op["requestBody"] = map[string]any{"required": true, "content": content}
	}
	ok := map[string]any{"description": d.OK.Description}
	if method != http.MethodHead {
		schema := map[string]any{"type": "string", "format": "binary"}
		if d.OK.Schema != "" {
			schema = map[string]any{"$ref": "#/components/schemas/" + d.OK.Schema}
		} else if d.OK.ContentType == "application/json" {
			schema = map[string]any{"type": "object"}
		}
		ok["content"] = map[string]any{d.OK.ContentType: map[string]any{"schema": schema}}
	}
	responses := map[string]any{strconv.Itoa(d.OK.Status): ok}
	errs := map[int]string{401: "Missing or invalid credentials.", 500: "Internal error."}
	if rt.Cap != "" {
		need := string(rt.Cap)
		if rt.AltCap != "" {
			need += " or " + string(rt.AltCap)
		}
		errs[403] = "The credentials lack the " + need + " capability (or the request is a cross-site browser request)."
	}
	if rt.Task {
		errs[404] = "No such task, or outside the token's namespace/job/allocation scope (the same answer), or no such file or pool."
	}
	for k, v := range d.Errors {
		errs[k] = v
	}
	for code, desc := range errs {
		responses[strconv.Itoa(code)] = map[string]any{
			"description": desc,
			"content":     map[string]any{"application/problem+json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Problem"}}},
		}
	}
	op["responses"] = responses
	return op
}

func operationID(method, path string) string {
	parts := []string{strings.ToLower(method)}
	for _, seg := range strings.Split(path, "/") {
		if seg == "" || seg == "api" || seg == "v1" || strings.HasPrefix(seg, "{") {
			continue
		}
		parts = append(parts, strings.TrimSuffix(seg, ".json"))
	}
	if strings.HasSuffix(path, "{path}") && strings.Contains(path, "/ls/") {
		parts = append(parts, "path")
	}
	return strings.Join(parts, "_")
}

func obj(props map[string]any, required ...string) map[string]any {
	o := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		sort.Strings(required)
		o["required"] = required
	}
	return o
}

var (
	str      = map[string]any{"type": "string"}
	integer  = map[string]any{"type": "integer"}
	boolean  = map[string]any{"type": "boolean"}
	number   = map[string]any{"type": "number"}
	dateTime = map[string]any{"type": "string", "format": "date-time"}
	strList  = map[string]any{"type": "array", "items": str}
)

func ref(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }

func list(item any) map[string]any { return map[string]any{"type": "array", "items": item} }

var schemas = map[string]any{
	"Version": obj(map[string]any{"version": str}, "version"),
	"Problem": obj(map[string]any{"type": str, "title": str, "status": integer, "detail": str}, "status", "title", "detail"),
	"Status": obj(map[string]any{"allocId": str, "taskName": str, "namespace": str, "jobName": str, "siteName": str,
		"defaultApplicationPool": ref("PoolStatus"), "applicationPools": list(ref("PoolStatus"))}, "allocId", "taskName", "applicationPools"),
	"PoolStatus": obj(map[string]any{"name": str, "iisName": str,
		"status":                 map[string]any{"type": "string", "enum": []string{"Starting", "Started", "Stopping", "Stopped", "Unknown"}},
		"isWorkerProcessRunning": boolean, "startMode": str, "workerProcesses": list(ref("WorkerProcess"))}, "name", "status", "isWorkerProcessRunning"),
	"WorkerProcess": obj(map[string]any{"processId": integer, "state": str, "startTime": dateTime,
		"memoryBytes": integer, "virtualMemoryBytes": integer, "cpuPercent": number, "cpuSeconds": number}, "processId"),
	"Lifecycle": obj(map[string]any{"allocId": str, "taskName": str, "operation": str,
		"applicationPools": list(obj(map[string]any{"name": str, "iisName": str, "status": str}))}),
	"UploadResult": obj(map[string]any{"path": str, "kind": map[string]any{"type": "string", "enum": []string{"zip", "file"}},
		"clean": boolean, "files": integer, "folders": integer, "bytes": integer, "created": boolean, "replaced": integer,
		"stoppedApplicationPools": strList}),
	"DeleteResult": obj(map[string]any{"path": str, "emptied": boolean, "entries": integer}),
	"FileObject": obj(map[string]any{"name": str, "path": str,
		"type": map[string]any{"type": "string", "enum": []string{"file", "directory", "link", "other"}},
		"size": integer, "modified": dateTime, "etag": str}),
	"Listing": map[string]any{"allOf": []any{ref("FileObject"),
		obj(map[string]any{"entries": list(ref("FileObject")), "truncated": boolean})}},
	"Debug": obj(map[string]any{"iisHandleCount": integer,
		"iisHandles": list(obj(map[string]any{"taskId": str, "appPoolNames": strList, "allocId": str, "namespace": str,
			"jobId": str, "jobName": str, "taskName": str, "taskGroupName": str, "isRecovered": boolean, "siteName": str})),
		"danglingIisAppPools": integer, "danglingIisWebsites": integer,
		"iisAppPools": list(obj(map[string]any{"name": str, "state": str, "isDangling": boolean})),
		"iisWebsites": list(obj(map[string]any{"name": str, "state": str, "isDangling": boolean})),
		"extensions": obj(map[string]any{"directory": str,
			"scripts": list(obj(map[string]any{"name": str, "path": str, "status": str, "error": str, "hooks": strList}))}),
	}),
}

// handleOpenAPI serves GET /api/v1/openapi.json.
func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request, c *call) error {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s.openAPIDocument())
}
