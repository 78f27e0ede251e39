package main

// scenario is one row of the report: a test (or a group of tests) and what
// it does and checks, in the words of an operator.
type scenario struct {
	// Area groups the rows: Fault injection, Load, Auth, Hostile input.
	Area string
	Name string
	// Pkg and Test select the go test run (Test is a -run pattern anchored
	// by the generator).
	Pkg  string
	Test string
	// Tags are build tags (e2e).
	Tags    string
	Done    string
	Checked string
	// Env is added to the go test environment.
	Env []string
	// E2E rows need a Nomad agent and the plugin binary; they run only
	// with -e2e.
	E2E bool
	// GinkgoFocus selects specs of a Ginkgo suite.
	GinkgoFocus string
}

// scenarios are the report's rows, in order.
var scenarios = []scenario{
	{Area: "Fault injection", Name: "Backend host killed during StartTask",
		Pkg: "./reliability", Test: "TestFault_BackendKilledDuringStartTask",
		Done:    "The driver runs over Nomad's gRPC harness with iissim. While StartTask runs, the iissim host process is killed with SIGKILL (after 1, 5 and 20 ms); then a further task is started.",
		Checked: "Each start either fails with a recoverable error and leaves no site or pool of the allocation, or succeeds with the site serving 200 and leaves nothing after DestroyTask; the start after the kills works."},
	{Area: "Fault injection", Name: "Backend host killed in the middle of a hook call",
		Pkg: "./reliability", Test: "TestFault_BackendKilledDuringHook",
		Done:    "An admin extension hook (PreStart, then PostStart) signals that it runs and sleeps; the driver's iissim host is killed with SIGKILL while StartTask waits for it, so the kill lands inside a call (for PostStart, after the site and pool were made).",
		Checked: "A failed start returns a recoverable error (Nomad retries it), leaves no site or pool and no task; a start that succeeds (PostStart failures only warn) serves 200 and DestroyTask leaves nothing."},
	{Area: "Fault injection", Name: "Plugin killed during a ZIP upload",
		Pkg: "./reliability", Test: "TestFault_PluginKilledDuringUpload",
		Done:    "The Management API runs in a child process; a 4 MB ZIP is PATCHed into local/ (clean) through a pipe and the process is killed with SIGKILL once half of it is spooled. A new API process is started on the same task directory.",
		Checked: "local/ is byte-identical to before; the listing shows no staging entry and GET on the leftover spool is 403; the folder download is the old content; the next upload succeeds and removes what the crash left on disk."},
	{Area: "Fault injection", Name: "Worker process killed",
		Pkg: "./reliability", Test: "TestFault_WorkerKilled",
		Done:    "A site task is started through the driver; its worker process is killed with SIGKILL.",
		Checked: "The pool starts a new worker (new PID) and the site serves 200 again; WaitTask reports no exit; InspectTask says running; the task gets an event that a worker process of its pool exited unexpectedly."},
	{Area: "Fault injection", Name: "iissim service killed",
		Pkg: "./reliability", Test: "TestFault_ServiceKilled",
		Done:    "A site task runs through the driver, whose fingerprint runs every 10 s; the iissim service (the node's \"IIS\", with every worker) is killed with SIGKILL.",
		Checked: "The next backend call starts the service again from its configuration and the site serves 200 again; WaitTask reports no exit; InspectTask says running; the next fingerprint leaves an event on the task that the web server's service restarted, with its start time."},
	{Area: "Fault injection", Name: "Pool stopped from outside (driver)",
		Pkg: "./driver", Test: "TestIISDriver_WaitTask_PoolStoppedOutside|TestIISDriver_WaitTask_SiteRemovedOutside",
		Done:    "A task's pool is stopped (and, separately, its site and pool removed) through iissim, outside the driver.",
		Checked: "WaitTask reports an exit with the outside-stop exit code and an error naming the pool (\"was stopped outside Nomad\") or site, so that Nomad's restart policy acts; InspectTask says exited; DestroyTask leaves no site or pool."},
	{Area: "Fault injection", Name: "Pool stopped from outside (Nomad agent)",
		Pkg: "./e2e", Tags: "e2e", Test: "TestE2E", E2E: true, GinkgoFocus: "restart policy",
		Done:    "A job runs on a real Nomad agent with the plugin; its pool is stopped with iissim's ctl.",
		Checked: "The allocation's task is restarted by its restart policy and the site serves 200 again."},
	{Area: "Fault injection", Name: "Disk full during an upload",
		Pkg: "./reliability", Test: "TestFault_DiskFullDuringUpload",
		Done:    "The task directory is on an 8 MiB tmpfs holding 1 MiB of content; 16 MiB ZIPs and 12 MiB files are PATCHed with a Content-Length and chunked (size unknown until written).",
		Checked: "Every upload answers 507 with a message that the volume is full; local/ is byte-identical; no spool or staging entry is left; the free blocks of the volume are what they were."},
	{Area: "Fault injection", Name: "Agent restart with running tasks (driver)",
		Pkg: "./driver", Test: "TestIISDriver_RecoverTask|TestIISDriver_RecoverTask_SiteGone|TestIISDriver_RecoverTask_KeepsStoppedPools",
		Done:    "The driver instance that started a task shuts down (its backend host exits); a second instance recovers the task from its handle, as after a plugin or agent restart. Variants: the site removed while the plugin was away; the pool stopped on purpose before the restart.",
		Checked: "The site serves the same content while no plugin runs and after recovery; the recovered task is running and marked recovered; recovering twice is a no-op; stop and destroy leave nothing. A removed site fails recovery with an error naming it and the leftover pool is removed. A pool stopped on purpose stays stopped, the task keeps running, START starts it."},
	{Area: "Fault injection", Name: "Plugin crash and client restart (Nomad agent)",
		Pkg: "./e2e", Tags: "e2e", Test: "TestE2E", E2E: true, GinkgoFocus: "Recovery",
		Done:    "The plugin process is killed and the Nomad client restarted while a site task runs.",
		Checked: "The site serves throughout, the task is recovered with the same worker, and it stays running."},
	{Area: "Fault injection", Name: "Failed start leaves nothing; backend down",
		Pkg: "./driver", Test: "TestIISDriver_StartTask_FailureMidwayLeavesNothing|TestIISDriver_BackendDown",
		Done:    "StartTask fails midway: the https binding's self-signed certificate is installed, then the site cannot bind its http port (held by another process). Separately, the backend cannot start (PowerShell missing).",
		Checked: "The failed start leaves no site, pool or certificate and no task; with the backend down the fingerprint is unhealthy with the reason, and StartTask fails with a recoverable error, so Nomad retries."},
	{Area: "Load", Name: "4 uploaders, 16 downloaders, 2 status pollers on 5 tasks",
		Pkg: "./reliability", Test: "TestLoad_UploadersDownloadersPollers",
		Done:    "Five tasks on iissim behind the Management API over TCP: 4 goroutines PUT/PATCH ZIPs (clean) to random tasks, 16 download folders as ZIPs and single files, 2 poll status, for LOAD_DURATION.",
		Checked: "Only 200 and the designed 409 (deploy in progress); every ZIP is valid and equals one uploaded version; every file is a complete page; each task ends with its last successful upload and no staging entry; goroutines and open file descriptors return to their baseline."},
	{Area: "Auth", Name: "Every route × every bad credential",
		Pkg: "./api", Test: "TestAuth_Matrix",
		Done:    "The router is walked (so new routes are covered); each method × path is called with no credentials, a wrong key, an expired JWT, a JWT signed with another secret, JWTs for another alloc, job and namespace, and a JWT lacking the route's capability, for an existing and a missing allocation.",
		Checked: "Each is refused (401, 403 or 404) with the same status and message whether or not the allocation exists; no IIS call and no task event happened."},
	{Area: "Auth", Name: "Credentials, scope, no oracle, open mode",
		Pkg: "./api", Test: "TestAuth_",
		Done:    "The API's own auth tests: key rotation, JWT algorithms (HS512, none), issuer, audience, nbf, capabilities as string or list, loopback-only open mode, browser cross-site guards.",
		Checked: "Refused with 401/403/404 as designed; no secret in any answer; key comparison is digest based."},
	{Area: "Hostile input", Name: "Hostile paths and archives write nothing",
		Pkg: "./api", Test: "TestFS_HostilePathsWriteNothing|TestFS_HostileZipsWriteNothing|TestTransfer_|TestHostile_|TestCopyMove_Refusals|TestCopyMove_MoveOntoALink|TestRangeUpload_Refusals|TestLinks_DieWithTheirTask|TestLinks_PathRulesAtFetch",
		Done:    "Traversal, drive, device, ADS and link paths, also as copy/move/link fields and range-upload targets; ZIPs with escaping names, links, duplicates and bombs; interrupted and stalled uploads; a part beyond its total, with a gap or another total; a move onto a link; a copy over the size limit; a download link whose task ended or whose file became a link to secrets/.",
		Checked: "Refused with 400/403/404/409/413/416; the task directory is unchanged (snapshot compared); a link is never written through."},
	{Area: "Hostile input", Name: "A stalled folder download does not hold writers",
		Pkg: "./reliability", Test: "TestHostile_SlowDownloadDoesNotHoldWriters",
		Done:    "Over TCP with iissim: a client starts downloading a 16 MiB folder as a ZIP, reads one byte and stops reading. Meanwhile the folder is deployed (PUT, clean), downloaded again, the pool stopped and started, and a subfolder deleted.",
		Checked: "Each of those answers 200 within 10 s (an upload used to wait 30 s for the download, then answer 409); the folder and the site have the new content; the stalled client, resumed, receives a valid ZIP of exactly the content it started with; no staging entry is left."},
	{Area: "Hostile input", Name: "Request smuggling and malformed request heads",
		Pkg: "./api", Test: "TestConn_|TestFramer",
		Done:    "Raw requests over TCP: a PUT with both Content-Length and Transfer-Encoding; chunked and sized bodies that contain such a request head, pipelined on one connection; a bad %-encoding, no Host, headers over 64 KiB, HTTP/3.0, Transfer-Encoding gzip. The framing is also fed byte by byte.",
		Checked: "The request with both lengths is refused with 400 problem+json, its connection closed and nothing written; the pipelined requests are all served; net/http's own answers (400, 431, 505, 501) come as problem+json with the same status; a download whose content is such an answer is not rewritten."},
	{Area: "Hostile input", Name: "Named pipes and a reader that never ends",
		Pkg: "./api", Test: "TestFS_NamedPipeIsNeverOpened|TestFS_CommitGateWaitIsBounded|TestFS_PutCompletesWhileSlowFolderDownload",
		Done:    "A named pipe without writer in local/ is downloaded, listed and part of a folder download; a reader holds the read gate and never releases it; a client stalls in a folder download while the folder is deployed.",
		Checked: "The pipe is refused with 403 at once and never opened, skipped by the folder download; an upload waiting for the gate gives up with 409 and Retry-After and frees the task; the deploy during the stalled download answers 200 and the download delivers its original content whole."},
	{Area: "Hostile input", Name: "ZIP bombs of shared data; archive path limits",
		Pkg: "./api/ziputil", Test: "TestValidate_RefusesOverlappingEntries|TestExtract_BoundsWrittenBytes|TestLimits_MaxExtracted|TestValidate_PathLimits",
		Done:    "Archives whose entries point at the same compressed data, archives whose declared sizes lie, entries deeper than 64 levels or longer than 4,096 bytes.",
		Checked: "Overlapping entries and over-long or over-deep paths are refused before anything is written; extraction stops once it has written the archive's real size times the allowed ratio."},
	{Area: "Hostile input", Name: "A delete that fails midway; links; OS refusals",
		Pkg: "./api", Test: "TestFS_DeleteIsAllOrNothing|TestFS_LinksOneRule|TestWriteError_OSRefusals|TestUpload_MalformedBodies|TestAuth_401IsGeneric",
		Done:    "A folder with one immutable entry is deleted and emptied; links at every component of a path, inside and outside their top-level folder; uploads and deletes the OS refuses; malformed chunked bodies; every kind of bad credential with and without a JWT secret.",
		Checked: "The delete changes nothing and names the entry; links are followed only inside their top-level folder; refusals name the file and advise for the method; a malformed body is 400, not 500; every 401 has one detail, and WWW-Authenticate only with a JWT secret."},
	{Area: "Hostile input", Name: "Job paths and certificate files outside the allocation",
		Pkg: "./driver", Test: "TestIISDriver_StartTask_HostPaths|TestConfig_HostPaths|TestConfig_AllowedHostPaths",
		Done:    "Tasks name another allocation's secrets/ as application path (absolute, relative with .., through a link in their own directory), and certificate files outside the allocation; a node lists a directory in allowed_host_paths.",
		Checked: "Each is refused at start with an error naming the option, nothing is created and no placeholder copied; a directory the node allows is accepted."},
	{Area: "Hostile input", Name: "iissim: encoded control characters in a site URL",
		Pkg: "./iissim/web", Test: "TestServer_ControlCharacterInPathIsBadRequest",
		Done:    "Raw requests to a site whose path holds an encoded control character (%00, %0a ...).",
		Checked: "400 before routing, as HTTP.sys answers, and no warning logged."},
	{Area: "Hostile input", Name: "iissim: ACL records of removed tasks",
		Pkg: "./iissim", Test: "TestService_PrunesAclRecords",
		Done:    "Task sites with directory ACL records are removed, and task directories deleted while the service is down.",
		Checked: "The ACL records of removed sites and of missing task directories are pruned."},
}
