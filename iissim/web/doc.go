// Package web is iissim's web data plane: what HTTP.sys and the worker
// processes do in IIS. A Server serves the listeners of the bindings,
// terminates TLS with the binding's certificate, routes each request by host
// name, application path and virtual directory, and proxies it to a worker
// of the application's pool; it writes each site's W3C request log. A
// worker process serves the request with the handler of NewFileHandler:
// IIS's static file handler, request filtering, default documents and a
// minimal .aspx renderer.
//
// The plane knows the service only through the Service and Pool interfaces
// (the routing snapshot, certificates and a pool's Acquire), so that package
// iissim, which implements them, imports web and never the reverse.
package web
