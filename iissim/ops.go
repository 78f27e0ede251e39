package iissim

import "github.com/nomad-iis/nomad-iis/ps"

// served is iissim's list of the contract's operations: the daemon's handler
// table serves all but the extension operations, which the host answers
// itself because they need the extensions directory. A test checks that the
// handler tables serve exactly this list.
var served = []ps.Op{
	ps.OpTestConnection,
	ps.OpGetServerInfo,
	ps.OpNewTaskSite,
	ps.OpRemoveTaskSite,
	ps.OpGetWebsite,
	ps.OpGetAppPool,
	ps.OpStartAppPool,
	ps.OpStopAppPool,
	ps.OpRestartAppPool,
	ps.OpImportCertificate,
	ps.OpRemoveCertificate,
	ps.OpSetTaskDirectoryAcl,
	ps.OpGetManagedResource,
	ps.OpInvokeHook,
	ps.OpGetExtension,
	ps.OpSwitchApplicationVersion,
}

// hostOps are the operations the host serves without the daemon.
var hostOps = []ps.Op{ps.OpInvokeHook, ps.OpGetExtension}

// Operations lists the operations iissim serves, in the contract's order.
func Operations() []ps.Op {
	return append([]ps.Op(nil), served...)
}
