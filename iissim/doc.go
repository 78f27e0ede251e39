// Package iissim is the stand-in for IIS on Linux and macOS. It
// implements every operation of the contract of package ps for real, so that
// the driver, the Management API and the end-to-end suites run without
// Windows: a site serves the files of its applications and virtual
// directories over HTTP on its binding ports (HTTPS with the imported
// certificate); each started application pool has worker processes with real
// PIDs that serve its applications; stopping, starting and recycling change
// PIDs and states as IIS does; the configuration is kept on disk; every site
// has a W3C request log. It is a test and demo backend, not a web server
// product.
//
// This package is the control plane and the processes; the web data plane
// (the bindings' listeners, routing, the proxy to the workers, the workers'
// file handler and the request logs) is package web below it, which knows
// the service only through web.Service and web.Pool.
//
// # Processes
//
// iissim is one executable with subcommands (see Main):
//
//	iissim host    --state-dir DIR [--extensions-dir DIR]
//	iissim service --state-dir DIR
//	iissim ctl     --state-dir DIR [--extensions-dir DIR] <Operation> ['<json arguments>']
//	iissim stop    --state-dir DIR
//	iissim worker  --app-pool NAME   (internal)
//
// "host" is what the plugin runs (ps.SimCommand): it speaks the contract on
// stdin and stdout (ready frame first) and forwards each operation to the
// service of its state directory over the unix socket DIR/iissim.sock (in
// the temporary directory when that path is too long for a socket). When no
// service runs, the host starts one, detached in its own session; a lock file
// makes two hosts starting at once start one service. The service is the
// "IIS": it outlives the host, so sites keep serving while the plugin
// restarts. It exits on "stop", on SIGTERM, when its state directory is
// removed, or when it has had no site, no pool and no client for 60 seconds
// (IISSIM_IDLE_EXIT, a Go duration, changes that), so that tests never leave
// it running. IISSIM_MINUTE (a Go duration) shortens the minute of the
// pools' minute-granular timers (idle timeout, periodic restart), so that
// tests run them on values IIS accepts. "ctl" runs one operation from a shell, as appcmd does; it
// prints the JSON result, or "<Kind>: <message>" on stderr with exit status 1.
// The host and the service log to stderr (the service into service.log) at
// the level IISSIM_LOG_LEVEL names (default info); neither logs arguments.
//
// # State directory
//
//	applicationHost.json     sites, pools, auto-start providers, ACL requests
//	                         (written atomically: temporary file, then rename)
//	certs/<THUMBPRINT>.json  the certificate store (chain and key, mode 0600)
//	logs/W3SVC<id>/u_ex<yymmdd>.log  W3C request log of each site (UTC days;
//	                         GetWebsite also answers the site's directory as
//	                         "logDirectory")
//	inetpub/wwwroot/         the root of a site created without a root application
//	service.log, service.pid, service.lock, start.lock
//
// # Behaviour reproduced
//
//   - Pools are Started or Stopped (Stopping while workers exit). An OnDemand
//     pool starts its workers on the first request, an AlwaysRunning pool when
//     it starts. processModel.maxProcesses above 1 makes a web garden of that
//     many workers; requests go round-robin. A worker that dies is replaced on
//     the next request (at once for AlwaysRunning pools); rapid-fail
//     protection stops a pool whose workers crash 5 times within 5 minutes
//     (failure.rapidFailProtection* attributes change that).
//   - Recycling overlaps (new workers start, then the old ones stop) unless
//     recycling.disallowOverlappingRotation is set; PIDs change. An old
//     worker first answers every request it was handed, then gets SIGTERM
//     (all within processModel.shutdownTimeLimit), as WAS drains it.
//     SwitchApplicationVersion starts the new workers, warms them up when
//     asked, and only then changes the physical path and hands new requests
//     to them; a pool that disallows overlapping rotation is a Conflict
//     unless allowStopStart. Stopping sends
//     SIGTERM and kills after processModel.shutdownTimeLimit. StopAppPool with
//     waitMs waits for the workers to exit. The idle timeout (OnDemand pools)
//     and the periodic restart apply. The started or stopped state of a pool
//     is kept in the configuration, as IIS keeps autoStart.
//   - StartAppPool and StopAppPool of a pool already in that state change
//     nothing; RestartAppPool of a stopped pool is a Conflict, of a pool
//     without workers a no-op. RemoveCertificate of a certificate not in the
//     store is NotFound; one a binding uses, or that is not managed, stays
//     (Removed false).
//   - A request to a stopped pool gets 503 Service Unavailable
//     (loadBalancerCapabilities HttpLevel) or a closed connection (TcpLevel).
//   - Requests are routed by host header (exact, "*." wildcard, or none;
//     a binding on the request's IP address wins over "*"), then to the
//     application with the longest matching path, then to its virtual
//     directory. Paths and file names match without regard to case. Default
//     documents are IIS's list (Default.htm, Default.asp, index.htm,
//     index.html, iisstart.htm, default.aspx); a directory without one answers
//     403.14, a directory without a trailing slash is redirected. Request
//     filtering refuses IIS's hidden segments (bin, App_Data, web.config, ...;
//     404.8) and denied extensions (.config, .cs, ...; 404.7); an extension
//     without a MIME type answers 404.3.
//   - Worker processes get the service's environment, the pool's environment
//     variables (TMP and TEMP included) and APP_POOL_ID.
//   - NewTaskSite validates everything before it changes anything, with the
//     error kinds PowerShell reports: a duplicate site or pool name, a binding
//     taken by another site, or a port another process listens on is a
//     Conflict; a missing target website or certificate is NotFound; a bad
//     value is InvalidArgument naming the field (pool settings, identities,
//     aliases, paths, extension attributes checked against IIS's schema).
//     IIS's rules come from ps/iisrules, the tables the driver validates
//     jobs with: durations in IIS's range and granularity (idle timeout and
//     periodic restart in whole minutes, start and shutdown limits in whole
//     seconds), case-sensitive auto-start provider names, and the binding
//     rules ("*" and 0.0.0.0 overlap every address; one IP:port is http or
//     https; one non-SNI https certificate per IP:port; SNI keyed by host
//     name and port whatever the IP address), which make a binding of
//     another site a Conflict. A new site gets the lowest unused id.
//   - Certificates: thumbprints are the upper-case hex SHA-1 of the DER, as on
//     Windows. PFX (with its password), PEM certificate and key (PKCS#8, PKCS#1
//     or EC; the first CERTIFICATE block is the leaf, the rest its chain; both
//     may be one file) and self-signed certificates (RSA-2048, SHA-256, a year)
//     are imported with a "[MBN] " friendly name, which marks them managed. An
//     https binding serves TLS with its certificate, chosen by SNI host name
//     when the binding requires SNI. AddCertificate stands for a certificate
//     an administrator installed (not managed).
//
// # .aspx pages
//
// Workers render .aspx files minimally, so that a test page that proves
// environment variables and PIDs reach the application runs unchanged on IIS
// with ASP.NET: each <%= Environment.GetEnvironmentVariable("NAME") %> becomes
// the worker's value of NAME, each
// <%= System.Diagnostics.Process.GetCurrentProcess().Id %> its PID (<%: %>
// HTML-encodes); every other <% %> block, directives included, is left out.
// No other server-side code runs.
//
// # Admin extensions
//
// iissim runs executable files named <name>.hook from the extensions
// directory, in name order. "<name>.hook Hooks" prints the hooks the file
// implements (PreStart, PostStart, PreStop, PostStop); "<name>.hook <Hook>"
// runs one with the task's ps.HookContext as JSON on stdin (IISSIM_HOOK and
// IISSIM_STATE_DIR are set). Exit status 0 succeeds with stdout as output;
// any other fails the hook with stderr as the message (InvalidArgument).
// GetExtension lists a non-executable .hook file as Failed and a .ps1 script
// as Skipped, with the reason.
//
// # Limits
//
//   - Only static files and the .aspx subset above are served: no ASP.NET, no
//     ASP.NET Core Module, no URL Rewrite, no web.config processing,
//     authentication or directory browsing.
//   - A binding with IP address "*" listens on 127.0.0.1 only, unless
//     IISSIM_BIND_ALL=1 (then on every interface; an IP-specific binding on
//     the same port then conflicts at the socket level). Tests must use
//     127.0.0.1.
//   - HTTP/1.1 only. Requests refused before reaching a worker (invalid host
//     name, stopped pool) are not logged; IIS writes those to its HTTPERR log,
//     which iissim does not keep. Log lines are written at once, while IIS
//     buffers them.
//   - Pool identities, SpecificUser passwords (not kept) and the bitness,
//     runtime version, pipeline mode and queue length settings are validated
//     and stored but change nothing: every worker runs as the service's user.
//   - SetTaskDirectoryAcl validates its arguments and records the request in
//     the configuration; Linux and macOS have no Windows ACLs to set.
//     RemoveTaskSite drops the record of the task it removes, and the
//     service drops those of missing task directories when it starts.
//   - Auto-start providers and preload are stored, not run. CPU limits,
//     request queue limits and memory- or request-count-based recycling are
//     not applied.
//   - Linux and macOS only; on Windows, Main prints that the powershell
//     backend is to be used and returns 2.
package iissim
