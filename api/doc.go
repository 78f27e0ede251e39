// Package api is the Management API of nomad-iis: per-task file transfer,
// application pool lifecycle, status, screenshots and process dumps over
// HTTP, with the routes, flags and JWT claims of nomad-iis 0.20, so that the
// curl commands and tokens written for it keep working.
//
// # Routes
//
//	GET|HEAD /api/v1/allocs/{allocId}/{taskName}/fs/{path}      download a file or a folder (ZIP)
//	PUT      /api/v1/allocs/{allocId}/{taskName}/fs/{path}[?clean=]  upload, pools stopped meanwhile
//	PATCH    /api/v1/allocs/{allocId}/{taskName}/fs/{path}[?clean=]  upload, pools running
//	DELETE   /api/v1/allocs/{allocId}/{taskName}/fs/{path}      delete; {folder}/* empties it
//	GET      /api/v1/allocs/{allocId}/{taskName}/ls[/{path}]    list a folder with metadata
//	POST     /api/v1/allocs/{allocId}/{taskName}/copy|move      copy or move inside the task directory
//	POST|GET /api/v1/allocs/{allocId}/{taskName}/links          create or list download links
//	DELETE   /api/v1/allocs/{allocId}/{taskName}/links/{id}     revoke a download link
//	GET|HEAD /api/v1/downloads/{token}                          fetch a download link, no credentials
//	PUT      /api/v1/allocs/{allocId}/{taskName}/start|stop|recycle[?appPoolName=]
//	GET      /api/v1/allocs/{allocId}/{taskName}/status
//	GET      /api/v1/allocs/{allocId}/{taskName}/screenshot[?path=]
//	GET      /api/v1/allocs/{allocId}/{taskName}/procdump[?appPoolName=][&pid=]
//	GET      /api/v1/debug
//	GET      /api/v1/extensions[/{name}]                        the admin extension scripts
//	GET      /api/v1/openapi.json
//
// {path} is relative to the task directory, URL-encoded as one segment
// (local%2Findex.html) or slash-separated, and decoded exactly once. Errors
// are application/problem+json bodies whose detail says what to do.
//
// # Authentication and authorisation
//
// X-Api-Key is compared in constant time (SHA-256 digests) against every
// configured key; a key grants everything. "Authorization: Bearer" takes an
// HS256 JWT with iss NomadIIS, aud ManagementApi, an exp, and the claims
// namespace, jobName, allocId (each exact or "*", a string or a list) and
// capabilities (Status, FilesystemAccess, AppPoolLifecycle, Screenshots,
// ProcDump, Debug or "*"; FilesystemRead and FilesystemWrite split
// FilesystemAccess). Without any key or secret the API serves loopback
// callers addressed as localhost only, and refuses to listen elsewhere.
//
// Order of checks, and what the caller learns: credentials (401), then the
// route's capability (403: a property of the token alone), then the token's
// allocId claim, the task lookup, and the namespace and jobName claims. A
// task outside the token's scope answers exactly like a task that does not
// exist (404, same body), so the API tells nobody which allocations exist in
// namespaces they cannot see. The debug route shows a scoped token its own
// handles only.
//
// # Files
//
// Every operation goes through an os.Root at the task directory and a
// second one at the path's top-level folder (package fsroot): secrets/ and
// private/ are unreachable; "..", absolute, drive, UNC and device paths,
// alternate data streams and names Windows would alter are refused on every
// OS; links that leave their folder are refused, never followed.
//
// Uploads are spooled to disk (never to memory) under MaxUploadBytes, an
// archive's central directory is checked before anything is written
// (package ziputil: names, duplicates, links, count, declared size, ratio),
// the new content is built in a staging folder next to the target, and only
// then applied with renames that are rolled back on failure. With PUT the
// task's running pools are stopped (waiting for their workers to exit) for
// that last step only, and started again afterwards; pools that were
// stopped stay stopped. An interrupted, refused or failed upload leaves the
// old content as it was. One mutation per task at a time; others get 409.
// A PUT or PATCH with Content-Range is one part of an upload in parts: the
// parts land in a hidden file next to the target, which is put in place as
// above once all bytes are in; HEAD reports Upload-Offset to resume from.
//
// # Host requirements
//
// Screenshots need a Chromium-based browser (Config.ScreenshotBrowserPath,
// else found in the usual places) and the Playwright driver directory
// (Config.PlaywrightDriverDir or $PLAYWRIGHT_DRIVER_PATH: "node" and
// "package" from npm playwright-core@1.52.0); nothing is downloaded at run
// time. Dumps use MiniDumpWriteDump (or procdump.exe when the driver's
// procdump block enables it) on Windows and gdb's gcore elsewhere.
package api
