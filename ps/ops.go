// Package ps talks to the IIS side of nomad-iis through one narrow contract:
// named operations with JSON arguments and JSON results, served by one
// long-lived process. On Windows that process is PowerShell running the
// scripts of package scripts; elsewhere it is iissim (package iissim), which
// implements the same operations for real on Linux and macOS.
//
// The operation list below is the single Go definition of the contract. The
// PowerShell module and iissim each define it once more; TestOperations_Consistent
// fails when the three differ.
package ps

// Op names one operation of the contract. The name is the PowerShell
// function's verb and noun without the dash and the module prefix:
// "GetAppPool" is served by Get-NomadIisAppPool.
type Op string

// The operations of the contract. Keep this list, Operations, the
// PowerShell module (scripts/NomadIis.psm1) and iissim's handler table in step.
const (
	// OpTestConnection answers with the backend's name; used for health and the
	// round-trip benchmark.
	OpTestConnection Op = "TestConnection"
	// OpGetServerInfo reports the IIS version, the W3SVC state and the modules present.
	OpGetServerInfo Op = "GetServerInfo"
	// OpNewTaskSite creates a task's pools, site (or applications in a target
	// website), applications, virtual directories, bindings and auto-start
	// providers in one commit: all of it or nothing.
	OpNewTaskSite Op = "NewTaskSite"
	// OpRemoveTaskSite removes what OpNewTaskSite created, and only that, in one
	// commit, then the managed certificates no binding uses any more.
	OpRemoveTaskSite Op = "RemoveTaskSite"
	// OpGetWebsite reports a site's state, bindings and applications.
	OpGetWebsite Op = "GetWebsite"
	// OpGetAppPool reports the state and worker processes of named pools.
	OpGetAppPool Op = "GetAppPool"
	// OpStartAppPool starts a pool.
	OpStartAppPool Op = "StartAppPool"
	// OpStopAppPool stops a pool and, when asked, waits for its workers to exit.
	OpStopAppPool Op = "StopAppPool"
	// OpRestartAppPool recycles a pool, as Restart-WebAppPool does.
	OpRestartAppPool Op = "RestartAppPool"
	// OpImportCertificate imports a certificate into the machine store, marked
	// as managed by Nomad.
	OpImportCertificate Op = "ImportCertificate"
	// OpRemoveCertificate removes a managed certificate unless a binding of
	// any site still uses it.
	OpRemoveCertificate Op = "RemoveCertificate"
	// OpSetTaskDirectoryAcl sets the ACLs of a task's directories as nomad-iis 0.20 does.
	OpSetTaskDirectoryAcl Op = "SetTaskDirectoryAcl"
	// OpGetManagedResource lists the driver-made ("nomad-" prefixed) sites and pools.
	OpGetManagedResource Op = "GetManagedResource"
	// OpInvokeHook runs one admin extension hook (PreStart, PostStart, PreStop,
	// PostStop) of every loaded extension script.
	OpInvokeHook Op = "InvokeHook"
	// OpGetExtension lists the admin extension scripts loaded, with their status.
	OpGetExtension Op = "GetExtension"
	// OpSwitchApplicationVersion points a virtual directory of an application
	// at another folder in one configuration change, with an overlapped
	// recycle of the application's pool: the zero-downtime deploy's switch.
	OpSwitchApplicationVersion Op = "SwitchApplicationVersion"
)

// OpInfo describes an operation of the contract. The backends' own lists
// (the PowerShell module's functions, iissim's handlers) are held equal to
// Operations by tests.
type OpInfo struct {
	// Name is the operation.
	Name Op
}

// Operations is the contract's operation list, in a stable order.
var Operations = []OpInfo{
	{Name: OpTestConnection},
	{Name: OpGetServerInfo},
	{Name: OpNewTaskSite},
	{Name: OpRemoveTaskSite},
	{Name: OpGetWebsite},
	{Name: OpGetAppPool},
	{Name: OpStartAppPool},
	{Name: OpStopAppPool},
	{Name: OpRestartAppPool},
	{Name: OpImportCertificate},
	{Name: OpRemoveCertificate},
	{Name: OpSetTaskDirectoryAcl},
	{Name: OpGetManagedResource},
	{Name: OpInvokeHook},
	{Name: OpGetExtension},
	{Name: OpSwitchApplicationVersion},
}

// Lookup returns the description of op and whether it is part of the contract.
func Lookup(op Op) (OpInfo, bool) {
	for _, info := range Operations {
		if info.Name == op {
			return info, true
		}
	}
	return OpInfo{}, false
}

// PowerShellFunction is the name of the module function that serves op:
// the verb, a dash, the module prefix "NomadIis", then the noun.
func PowerShellFunction(op Op) string {
	s := string(op)
	for i := 1; i < len(s); i++ {
		if s[i] >= 'A' && s[i] <= 'Z' {
			return s[:i] + "-NomadIis" + s[i:]
		}
	}
	return s
}
