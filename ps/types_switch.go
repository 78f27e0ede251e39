package ps

// SwitchApplicationVersionArgs is the argument of OpSwitchApplicationVersion.
type SwitchApplicationVersionArgs struct {
	// SiteName is the site of the application.
	SiteName string `json:"siteName"`
	// ApplicationPath is "/" or "/<alias>".
	ApplicationPath string `json:"applicationPath"`
	// VirtualDirectoryPath is the directory of the application to switch:
	// "/" (the application's root directory) or "/<alias>".
	VirtualDirectoryPath string `json:"virtualDirectoryPath"`
	// PhysicalPath is the folder the directory serves after the switch: an
	// absolute path to an existing folder.
	PhysicalPath string `json:"physicalPath"`
	// ExpectedPhysicalPath, when set, is the folder the directory must
	// serve now; another one is a Conflict (someone switched meanwhile).
	ExpectedPhysicalPath string `json:"expectedPhysicalPath,omitempty"`
	// WarmupPath, when set, is a URL path below the directory ("/" or
	// "/health") that the new content must answer with 2xx or 3xx before
	// the old content stops being served.
	WarmupPath string `json:"warmupPath,omitempty"`
	// WarmupTimeoutMs bounds the warm-up; 0 means 30 s.
	WarmupTimeoutMs int64 `json:"warmupTimeoutMs,omitempty"`
	// AllowStopStart lets a pool with disallowOverlappingRotation switch by
	// stopping, changing and starting the pool (requests meet a stopped
	// pool meanwhile); without it such a pool is a Conflict.
	AllowStopStart bool `json:"allowStopStart,omitempty"`
}

// Switch modes of SwitchedApplicationVersion.Mode.
const (
	// SwitchOverlapped is the overlapped recycle: the new worker starts on
	// the new content while the old one finishes its requests.
	SwitchOverlapped = "Overlapped"
	// SwitchStopStart stopped the pool for the change (AllowStopStart).
	SwitchStopStart = "StopStart"
	// SwitchConfigOnly changed the configuration of a pool that had no
	// worker running: the next worker starts on the new content.
	SwitchConfigOnly = "ConfigOnly"
)

// SwitchedApplicationVersion is the result of OpSwitchApplicationVersion.
type SwitchedApplicationVersion struct {
	// AppPool is the application's pool.
	AppPool string `json:"appPool"`
	// PreviousPhysicalPath is the folder the directory served before.
	PreviousPhysicalPath string `json:"previousPhysicalPath"`
	// PhysicalPath is the folder it serves now.
	PhysicalPath string `json:"physicalPath"`
	// Mode is one of the Switch* constants.
	Mode string `json:"mode"`
	// WarmupStatus is the HTTP status of the warm-up request that succeeded
	// (0 when no warm-up was asked for).
	WarmupStatus int `json:"warmupStatus,omitempty"`
}
