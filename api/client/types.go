package client

import "time"

// Status is the answer of GET …/status.
type Status struct {
	AllocID                string `json:"allocId"`
	TaskName               string `json:"taskName"`
	Namespace              string `json:"namespace"`
	JobName                string `json:"jobName"`
	SiteName               string `json:"siteName,omitempty"`
	DefaultApplicationPool *Pool  `json:"defaultApplicationPool"`
	ApplicationPools       []Pool `json:"applicationPools"`
	// Deployments are the application directories deployed with Deploy:
	// the version each serves and those kept for a rollback.
	Deployments []Deployment `json:"deployments"`
}

// Deployment is one application directory's versions in the status.
type Deployment struct {
	// Application is "/" or "/<alias>"; VirtualDirectory "/" or "/<alias>".
	Application      string `json:"application"`
	VirtualDirectory string `json:"virtualDirectory"`
	// Current is the version served; Kept the earlier ones, oldest first.
	Current DeployVersion   `json:"current"`
	Kept    []DeployVersion `json:"kept"`
}

// DeployVersion is one version folder of an application directory.
type DeployVersion struct {
	// ID is "initial" (the job's own folder) or v1, v2, ...
	ID string `json:"id"`
	// CreatedAt is when it was deployed.
	CreatedAt time.Time `json:"createdAt"`
	// Bytes and Files are its extracted size (0 for "initial").
	Bytes int64 `json:"bytes"`
	Files int   `json:"files"`
	// Path is its folder, relative to the task directory.
	Path string `json:"path"`
}

// DeployResult is the answer of PUT …/deploy and …/deploy/rollback.
type DeployResult struct {
	// Application is "/" or "/<alias>"; VirtualDirectory "/" or "/<alias>".
	Application      string `json:"application"`
	VirtualDirectory string `json:"virtualDirectory"`
	ApplicationPool  string `json:"applicationPool"`
	// Version is what the directory serves now; PreviousVersion the id of
	// what it served before.
	Version         DeployVersion `json:"version"`
	PreviousVersion string        `json:"previousVersion"`
	// Mode is Overlapped, StopStart (AllowRestart) or ConfigOnly (the pool
	// had no worker).
	Mode string `json:"mode"`
	// WarmupStatus is the warm-up's HTTP status (0 without a warm-up).
	WarmupStatus int `json:"warmupStatus,omitempty"`
	// KeptVersions are the versions kept after the switch, oldest first;
	// RemovedVersions those removed beyond the bound.
	KeptVersions    []string `json:"keptVersions"`
	RemovedVersions []string `json:"removedVersions"`
}

// Pool is one application pool of a task.
type Pool struct {
	// Name is the pool's alias in the job file; IISName its name in IIS.
	Name    string `json:"name"`
	IISName string `json:"iisName"`
	// Status is Starting, Started, Stopping, Stopped or Unknown.
	Status                 string   `json:"status"`
	IsWorkerProcessRunning bool     `json:"isWorkerProcessRunning"`
	StartMode              string   `json:"startMode,omitempty"`
	WorkerProcesses        []Worker `json:"workerProcesses"`
}

// Worker is one worker process of a pool. The memory and CPU fields are nil
// when the process could not be read.
type Worker struct {
	ProcessID          int       `json:"processId"`
	State              string    `json:"state"`
	StartTime          time.Time `json:"startTime"`
	MemoryBytes        *uint64   `json:"memoryBytes,omitempty"`
	VirtualMemoryBytes *uint64   `json:"virtualMemoryBytes,omitempty"`
	CPUPercent         *float64  `json:"cpuPercent,omitempty"`
	CPUSeconds         *float64  `json:"cpuSeconds,omitempty"`
}

// LifecycleResult is the answer of PUT …/start, …/stop and …/recycle.
type LifecycleResult struct {
	AllocID          string       `json:"allocId"`
	TaskName         string       `json:"taskName"`
	Operation        string       `json:"operation"`
	ApplicationPools []PoolResult `json:"applicationPools"`
}

// PoolResult is one pool's state after a lifecycle operation.
type PoolResult struct {
	Name    string `json:"name"`
	IISName string `json:"iisName"`
	Status  string `json:"status"`
}

// UploadResult is the answer of PUT or PATCH …/fs/{path}.
type UploadResult struct {
	Path    string `json:"path"`
	Kind    string `json:"kind"`
	Clean   bool   `json:"clean"`
	Files   int    `json:"files"`
	Folders int    `json:"folders"`
	Bytes   int64  `json:"bytes"`
	Created bool   `json:"created"`
	// Replaced counts the entries that existed before.
	Replaced int `json:"replaced"`
	// StoppedAppPools were stopped for the upload and started again.
	StoppedAppPools []string `json:"stoppedApplicationPools"`
}

// DeleteResult is the answer of DELETE …/fs/{path}.
type DeleteResult struct {
	Path    string `json:"path"`
	Emptied bool   `json:"emptied"`
	Entries int    `json:"entries,omitempty"`
}

// FileInfo is the answer of GET …/ls/{path}: a folder with its entries, or
// one file.
type FileInfo struct {
	Name string `json:"name"`
	Path string `json:"path"`
	// Type is file, directory, link or other.
	Type      string     `json:"type"`
	Size      int64      `json:"size"`
	Modified  time.Time  `json:"modified"`
	ETag      string     `json:"etag,omitempty"`
	Entries   []FileInfo `json:"entries,omitempty"`
	Truncated bool       `json:"truncated,omitempty"`
}
