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
	// Headers are request headers with a meaning of their own for the route.
	Headers []paramDoc
	// Body lists the accepted request content types ("" for none).
	Body []string
	// BodySchema, when set, is the components/schemas name of a JSON body
	// (Body is then application/json).
	BodySchema string
	// OK is the success response: status, content type, schema (a
	// components/schemas name) and description.
	OK respDoc
	// Extra are further success responses (a 202 of an upload in parts).
	Extra []respDoc
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
	docHead = opDoc{
		Summary: "The headers of GET …/fs/{path}; while an upload of {path} in parts (Content-Range) is unfinished, also Upload-Offset (bytes received from byte 0: resume there) and Upload-Length (its total). 204 when only the unfinished upload exists.",
		OK:      respDoc{200, "application/octet-stream", "", "The headers of the file or folder download."},
		Extra:   []respDoc{{204, "", "", "Nothing at {path} yet, but an unfinished upload in parts: Upload-Offset and Upload-Length."}},
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
	docExtensions = opDoc{
		Summary: "The admin extension scripts the IIS backend found in its extensions directory: name, path, status (Loaded, Failed with error, Skipped), hooks. Host-wide: refused to scoped tokens.",
		OK:      respDoc{200, "application/json", "ExtensionList", "The extensions directory and its scripts."},
		Errors:  map[int]string{503: "The IIS backend is not available."},
	}
	docExtension = opDoc{
		Summary: "One admin extension script by name (case-insensitive). Host-wide: refused to scoped tokens.",
		OK:      respDoc{200, "application/json", "Extension", "The script."},
		Errors:  map[int]string{404: "The backend loaded no extension of that name.", 503: "The IIS backend is not available."},
	}
	docLinkCreate = opDoc{
		Summary:    "Create a temporary download link to one file or folder of the task: a random 256-bit token URL that anyone holding it can fetch without credentials until it expires (default 300 s, at most 3600 s), optionally for one GET. Kept in memory only; dies with its task. The URL is returned once, in Location and in the body.",
		Body:       []string{"application/json"},
		BodySchema: "LinkRequest",
		OK:         respDoc{201, "application/json", "Link", "The link, with its url."},
		Errors: map[int]string{400: "Malformed body, path or ttlSeconds (1 to 3600).",
			429: "1000 links are live already."},
	}
	docLinkList = opDoc{
		Summary: "The task's live download links (without their URLs).",
		OK:      respDoc{200, "application/json", "LinkList", "The links, oldest first."},
	}
	docLinkRevoke = opDoc{
		Summary: "Revoke a download link of the task by its id.",
		OK:      respDoc{200, "application/json", "", "The link is gone."},
		Errors:  map[int]string{404: "The task has no live link of that id."},
	}
	docLinkDownload = opDoc{
		Summary: "Fetch what a download link points to, without credentials (the token is the credential): a file (Range and conditional requests supported) or a folder as a streamed ZIP, as GET …/fs/{path} serves it. HEAD does not use up a one-use link.",
		OK:      respDoc{200, "application/octet-stream", "", "The file (206 for a Range request, 304 when unchanged), or application/zip for a folder."},
		Errors: map[int]string{404: "No such link (expired, used, revoked, its task ended, never existed), or its file is gone.",
			403: "The link's path is no longer readable through the API (it became a link out of its folder, a pipe ...).",
			429: "Too many folder downloads at once."},
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

func docTransfer(verb string) opDoc {
	how := "Copy a file or folder into a staging entry next to the target, renamed into place when complete."
	if verb == "Move" {
		how = "Move a file or folder: one rename below the same top-level folder (local, tmp ...); across top-level folders a copy renamed into place, the source removed in the same step. Top-level folders are not moved."
	}
	return opDoc{
		Summary:    how + " Inside the task directory only (never secrets/ or private/), with the pools running; links and special files inside a copied folder are skipped. A failure leaves source and target as they were.",
		Body:       []string{"application/json"},
		BodySchema: "TransferRequest",
		OK:         respDoc{200, "application/json", "TransferResult", "What was " + strings.ToLower(verb) + "d."},
		Errors: map[int]string{400: "Malformed body or path, or a target inside the source.",
			409: "The target exists (without replace), or another operation on the task is in progress, or a file is in use.",
			413: "A copy would write more than the upload limit (--management-api-max-upload-bytes) or 10000 entries.",
			507: "Not enough disk space for the copy."},
	}
}

func docUpload(stop bool) opDoc {
	summary := "Upload with the application pools running (hot patch; may fail on files the worker holds locked)."
	if stop {
		summary = "Upload with the task's running pools stopped (waiting for their workers to exit) while the new content is put in place; each pool is then restored to the state it had."
	}
	return opDoc{
		Summary: summary + " With Content-Range: bytes first-last/total, the body is one part of an upload sent in parts: parts land in a hidden file next to the target and start at or before the bytes received so far (Upload-Offset, also given by HEAD); the target changes only when all total bytes are in (200 and the upload's result; 202 before). An unfinished upload is deleted 1 hour after its last part." +
			" Content-Type application/zip (or application-zip) extracts an archive into the folder {path}; any other type writes the body as the file {path}. The body is spooled to disk and checked before anything changes; a failed upload leaves the old content as it was.",
		Query: []paramDoc{{"clean", "boolean", "With an archive: replace the folder's content instead of merging into it. Default false."}},
		Body:  []string{"application/zip", "application/octet-stream"},
		OK:    respDoc{200, "application/json", "UploadResult", "What was written."},
		Errors: map[int]string{400: "Malformed path, not a ZIP, or a refused archive entry (slip, absolute, link, duplicate ...), or an interrupted body; a malformed Content-Range or one beyond its total.",
			409: "Another operation on the task is in progress, or the target is of the other kind (file/folder), or a part's total differs from the unfinished upload's.",
			411: "A part (Content-Range) without Content-Length.",
			416: "A part starting after the bytes received so far (Upload-Offset says where to resume).",
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
	for _, h := range d.Headers {
		params = append(params, map[string]any{"name": h.Name, "in": "header", "description": h.Description, "schema": map[string]any{"type": h.Type}})
	}
	if len(params) > 0 {
		op["parameters"] = params
	}
	if len(d.Body) > 0 {
		content := map[string]any{}
		for _, ct := range d.Body {
			schema := map[string]any{"type": "string", "format": "binary"}
			if d.BodySchema != "" {
				schema = ref(d.BodySchema)
			}
			content[ct] = map[string]any{"schema": schema}
		}
		op["requestBody"] = map[string]any{"required": true, "content": content}
	}
	responses := map[string]any{}
	for _, rd := range append([]respDoc{d.OK}, d.Extra...) {
		resp := map[string]any{"description": rd.Description}
		if method != http.MethodHead && rd.ContentType != "" {
			schema := map[string]any{"type": "string", "format": "binary"}
			if rd.Schema != "" {
				schema = map[string]any{"$ref": "#/components/schemas/" + rd.Schema}
			} else if rd.ContentType == "application/json" {
				schema = map[string]any{"type": "object"}
			}
			resp["content"] = map[string]any{rd.ContentType: map[string]any{"schema": schema}}
		}
		responses[strconv.Itoa(rd.Status)] = resp
	}
	errs := map[int]string{401: "Missing or invalid credentials.", 500: "Internal error."}
	if rt.Public {
		op["security"] = []any{}
		delete(errs, 401)
	}
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
		"defaultApplicationPool": ref("PoolStatus"), "applicationPools": list(ref("PoolStatus")),
		"deployments": list(ref("Deployment"))}, "allocId", "taskName", "applicationPools"),
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
	"PartialUpload":   obj(map[string]any{"path": str, "received": integer, "total": integer, "complete": boolean}, "path", "received", "total"),
	"TransferRequest": obj(map[string]any{"from": str, "to": str, "name": str, "replace": boolean}, "from", "to"),
	"TransferResult": obj(map[string]any{"operation": map[string]any{"type": "string", "enum": []string{"copy", "move"}},
		"from": str, "path": str, "kind": str, "created": boolean, "replaced": boolean,
		"files": integer, "folders": integer, "bytes": integer, "skipped": strList}),
	"LinkRequest": obj(map[string]any{"path": str, "ttlSeconds": integer, "oneUse": boolean}, "path"),
	"Link": obj(map[string]any{"id": str, "url": str, "path": str, "created": dateTime, "expires": dateTime,
		"oneUse": boolean, "uses": integer, "createdBy": str}, "id", "path", "expires"),
	"LinkList":      obj(map[string]any{"links": list(ref("Link"))}, "links"),
	"DeleteResult":  obj(map[string]any{"path": str, "emptied": boolean, "entries": integer}),
	"DeployVersion": obj(map[string]any{"id": str, "createdAt": dateTime, "bytes": integer, "files": integer, "path": str}, "id", "createdAt", "path"),
	"DeployResult": obj(map[string]any{"application": str, "virtualDirectory": str, "applicationPool": str,
		"version": ref("DeployVersion"), "previousVersion": str,
		"mode":         map[string]any{"type": "string", "enum": []string{"Overlapped", "StopStart", "ConfigOnly"}},
		"warmupStatus": integer, "keptVersions": strList, "removedVersions": strList}, "application", "virtualDirectory", "version", "mode"),
	"Deployment": obj(map[string]any{"application": str, "virtualDirectory": str, "current": ref("DeployVersion"),
		"kept": list(ref("DeployVersion"))}, "application", "virtualDirectory", "current", "kept"),
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
		"extensions":  obj(map[string]any{"directory": str, "scripts": list(ref("Extension"))}),
	}),
	"Extension": obj(map[string]any{"name": str, "path": str,
		"status": map[string]any{"type": "string", "enum": []string{"Loaded", "Failed", "Skipped"}},
		"error":  str, "hooks": strList}, "name", "path", "status", "hooks"),
	"ExtensionList": obj(map[string]any{"directory": str, "extensions": list(ref("Extension"))}, "directory", "extensions"),
}

// handleOpenAPI serves GET /api/v1/openapi.json.
func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request, c *call) error {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s.openAPIDocument())
}
