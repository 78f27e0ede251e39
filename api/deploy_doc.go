package api

// deployQuery are the query parameters of the deploy routes.
var deployQuery = []paramDoc{
	{"app", "string", "Application alias of the task (\"\" or absent: the root application, or the task's only one)."},
	{"vdir", "string", "Virtual directory alias below the application (absent: its root directory)."},
	{"warmup", "string", "Path below the directory that the new version must answer with 2xx or 3xx before the switch completes, such as /health."},
	{"warmupTimeout", "string", "How long the warm-up may take, as a duration (default 30s, at most 10m)."},
	{"allowRestart", "boolean", "For a pool with disable_overlapped_recycle: switch by stopping and starting the pool (requests meet a stopped pool meanwhile) instead of refusing. Default false."},
}

var (
	docDeploy = opDoc{
		Summary: "Zero-downtime deploy of a ZIP archive: it is spooled, validated and extracted into a new version folder beside the application's folder, then the application's directory is switched to it in one IIS configuration change with an overlapped recycle (the new worker starts on the new version, the old one finishes its requests). Earlier versions beyond the configured bound are removed afterwards. A failure leaves the previous version serving.",
		Query:   deployQuery,
		Body:    []string{"application/zip"},
		OK:      respDoc{200, "application/json", "DeployResult", "The version now served, the one before it and the versions kept."},
		Errors: map[int]string{400: "A bad query parameter, not a ZIP, a refused archive entry, or an interrupted body.",
			409: "Another operation on the task is in progress; the pool disallows overlapping rotation (see allowRestart); the application's folder is outside the task directory; or the directory was switched outside the API.",
			413: "The body or the archive exceeds a limit.", 415: "The body is not sent as application/zip.",
			422: "The new version failed its warm-up; the previous version still serves.",
			503: "The IIS backend is not available.", 507: "Not enough disk space."},
	}
	docRollback = opDoc{
		Summary: "Switch an application's directory back to a kept version, the same way as a deploy.",
		Query:   append([]paramDoc{{"version", "string", "The version id (see GET …/status); default: the newest version before the current one."}}, deployQuery...),
		OK:      respDoc{200, "application/json", "DeployResult", "The version now served."},
		Errors: map[int]string{400: "A bad query parameter.",
			409: "Another operation on the task is in progress, no earlier version is kept, the version is already current, or the pool disallows overlapping rotation (see allowRestart).",
			422: "The version failed its warm-up; the current version still serves.", 503: "The IIS backend is not available."},
	}
)
