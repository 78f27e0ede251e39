package api

import (
	"net/http"
	"strings"

	"github.com/gorilla/mux"
)

// route is one entry of the API: what the router matches, what the caller
// needs, and what the OpenAPI document says about it.
type route struct {
	Methods []string
	// Path is the gorilla/mux template, matched against the encoded path.
	Path string
	// Cap is the capability required ("" for any authenticated caller).
	Cap Capability
	// AltCap, when set, is accepted instead of Cap: the finer
	// FilesystemRead or FilesystemWrite in place of FilesystemAccess.
	AltCap Capability
	// Task routes carry {allocId}/{taskName}; the task is looked up for them.
	Task bool
	// Audit routes (mutations, and process dumps, which expose memory) get
	// an audit line.
	Audit bool
	// Timeout routes run under Config.RequestTimeout (transfers do not).
	Timeout bool
	// Public routes take no credentials (a download link's token is its
	// own credential); the browser guard is not applied either.
	Public bool
	// Doc describes the route for the OpenAPI document.
	Doc opDoc
	h   handlerFunc
}

const taskPrefix = "/api/v1/allocs/{allocId}/{taskName}"

// routeTable lists every route of the API. The OpenAPI document and its
// test are derived from (and checked against) this table.
func (s *Server) routeTable() []*route {
	return []*route{
		{Methods: []string{http.MethodGet}, Path: taskPrefix + "/status", Cap: CapStatus, Task: true, Timeout: true,
			Doc: docStatus, h: s.handleStatus},
		{Methods: []string{http.MethodPut}, Path: taskPrefix + "/start", Cap: CapAppPoolLifecycle, Task: true, Audit: true, Timeout: true,
			Doc: docLifecycle("Start the task's application pools (all, or ?appPoolName=)."), h: s.handleStart},
		{Methods: []string{http.MethodPut}, Path: taskPrefix + "/stop", Cap: CapAppPoolLifecycle, Task: true, Audit: true, Timeout: true,
			Doc: docLifecycle("Stop the task's application pools and wait for their workers to exit; the allocation keeps running."), h: s.handleStop},
		{Methods: []string{http.MethodPut}, Path: taskPrefix + "/recycle", Cap: CapAppPoolLifecycle, Task: true, Audit: true, Timeout: true,
			Doc: docLifecycle("Recycle the task's application pools."), h: s.handleRecycle},
		{Methods: []string{http.MethodGet}, Path: taskPrefix + "/fs/{path:.+}", Cap: CapFilesystemAccess, AltCap: CapFilesystemRead, Task: true,
			Doc: docDownload, h: s.handleDownload},
		{Methods: []string{http.MethodHead}, Path: taskPrefix + "/fs/{path:.+}", Cap: CapFilesystemAccess, AltCap: CapFilesystemRead, Task: true,
			Doc: docHead, h: s.handleHead},
		{Methods: []string{http.MethodPut}, Path: taskPrefix + "/fs/{path:.+}", Cap: CapFilesystemAccess, AltCap: CapFilesystemWrite, Task: true, Audit: true,
			Doc: docUpload(true), h: s.handleUploadStopped},
		{Methods: []string{http.MethodPatch}, Path: taskPrefix + "/fs/{path:.+}", Cap: CapFilesystemAccess, AltCap: CapFilesystemWrite, Task: true, Audit: true,
			Doc: docUpload(false), h: s.handleUploadHot},
		{Methods: []string{http.MethodPut}, Path: taskPrefix + "/deploy", Cap: CapFilesystemAccess, AltCap: CapFilesystemWrite, Task: true, Audit: true,
			Doc: docDeploy, h: s.handleDeploy},
		{Methods: []string{http.MethodPut}, Path: taskPrefix + "/deploy/rollback", Cap: CapFilesystemAccess, AltCap: CapFilesystemWrite, Task: true, Audit: true,
			Doc: docRollback, h: s.handleRollback},
		{Methods: []string{http.MethodDelete}, Path: taskPrefix + "/fs/{path:.+}", Cap: CapFilesystemAccess, AltCap: CapFilesystemWrite, Task: true, Audit: true, Timeout: true,
			Doc: docDelete, h: s.handleDelete},
		{Methods: []string{http.MethodPost}, Path: taskPrefix + "/copy", Cap: CapFilesystemAccess, AltCap: CapFilesystemWrite, Task: true, Audit: true,
			Doc: docTransfer("Copy"), h: s.handleCopy},
		{Methods: []string{http.MethodPost}, Path: taskPrefix + "/move", Cap: CapFilesystemAccess, AltCap: CapFilesystemWrite, Task: true, Audit: true,
			Doc: docTransfer("Move"), h: s.handleMove},
		{Methods: []string{http.MethodGet}, Path: taskPrefix + "/ls", Cap: CapFilesystemAccess, AltCap: CapFilesystemRead, Task: true, Timeout: true,
			Doc: docList, h: s.handleList},
		{Methods: []string{http.MethodGet}, Path: taskPrefix + "/ls/{path:.+}", Cap: CapFilesystemAccess, AltCap: CapFilesystemRead, Task: true, Timeout: true,
			Doc: docList, h: s.handleList},
		{Methods: []string{http.MethodPost}, Path: taskPrefix + "/links", Cap: CapFilesystemAccess, AltCap: CapFilesystemRead, Task: true, Audit: true, Timeout: true,
			Doc: docLinkCreate, h: s.handleLinkCreate},
		{Methods: []string{http.MethodGet}, Path: taskPrefix + "/links", Cap: CapFilesystemAccess, AltCap: CapFilesystemRead, Task: true, Timeout: true,
			Doc: docLinkList, h: s.handleLinkList},
		{Methods: []string{http.MethodDelete}, Path: taskPrefix + "/links/{id}", Cap: CapFilesystemAccess, AltCap: CapFilesystemRead, Task: true, Audit: true, Timeout: true,
			Doc: docLinkRevoke, h: s.handleLinkRevoke},
		{Methods: []string{http.MethodGet, http.MethodHead}, Path: linkPrefix + "{token}", Public: true, Audit: true,
			Doc: docLinkDownload, h: s.handleLinkDownload},
		{Methods: []string{http.MethodGet}, Path: taskPrefix + "/screenshot", Cap: CapScreenshots, Task: true,
			Doc: docScreenshot, h: s.handleScreenshot},
		{Methods: []string{http.MethodGet}, Path: taskPrefix + "/procdump", Cap: CapProcDump, Task: true, Audit: true,
			Doc: docProcdump, h: s.handleProcdump},
		{Methods: []string{http.MethodGet}, Path: "/api/v1/debug", Cap: CapDebug, Timeout: true,
			Doc: docDebug, h: s.handleDebug},
		{Methods: []string{http.MethodGet}, Path: "/api/v1/extensions", Cap: CapDebug, Timeout: true,
			Doc: docExtensions, h: s.handleExtensions},
		{Methods: []string{http.MethodGet}, Path: "/api/v1/extensions/{name}", Cap: CapDebug, Timeout: true,
			Doc: docExtension, h: s.handleExtension},
		{Methods: []string{http.MethodGet}, Path: "/api/v1/openapi.json", Timeout: true,
			Doc: docOpenAPI, h: s.handleOpenAPI},
		{Methods: []string{http.MethodGet}, Path: "/api/v1/version", Timeout: true,
			Doc: docVersion, h: s.handleVersion},
	}
}

// buildRouter registers the table on a gorilla/mux router that matches the
// encoded path (so %2F stays inside {path} and is decoded once, by us) and
// never cleans or redirects paths (a ".." must reach the resolver and be
// refused, not be resolved by a redirect).
func (s *Server) buildRouter() *mux.Router {
	r := mux.NewRouter().UseEncodedPath().SkipClean(true)
	for _, rt := range s.routes {
		r.Handle(rt.Path, s.wrap(rt)).Methods(rt.Methods...)
	}
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s.writeError(w, req, apiErr(http.StatusNotFound, "no route %s %s; GET /api/v1/openapi.json lists the routes", req.Method, req.URL.EscapedPath()))
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Allow", strings.Join(s.allowed(req), ", "))
		s.writeError(w, req, apiErr(http.StatusMethodNotAllowed, "%s is not allowed here; allowed: %s", req.Method, strings.Join(s.allowed(req), ", ")))
	})
	return r
}

// allowed lists the methods the routes matching req's path accept.
func (s *Server) allowed(req *http.Request) []string {
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := req.Clone(req.Context())
		probe.Method = m
		var match mux.RouteMatch
		if s.router.Match(probe, &match) && match.MatchErr == nil {
			out = append(out, m)
		}
	}
	return out
}
