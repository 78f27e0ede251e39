package ps

import (
	"context"
	"fmt"
)

// Caller performs one operation: it sends args as JSON and decodes the result
// into result (which may be nil). *Host is the Caller used in production.
type Caller interface {
	Call(ctx context.Context, op Op, args, result any) error
}

// IIS is the typed client of the contract: one method per operation, Go
// structs in and out, errors that match ErrNotFound, ErrInvalidArgument,
// ErrConflict, ErrUnavailable or ErrInternal.
type IIS struct {
	c Caller
}

// NewIIS returns a typed client over c.
func NewIIS(c Caller) *IIS { return &IIS{c: c} }

func call[T any](ctx context.Context, c Caller, op Op, args any) (*T, error) {
	var out T
	if err := c.Call(ctx, op, args, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// TestConnection reports which backend answers, and its PID.
func (i *IIS) TestConnection(ctx context.Context) (*ConnectionInfo, error) {
	return call[ConnectionInfo](ctx, i.c, OpTestConnection, struct{}{})
}

// GetServerInfo reports the IIS version, W3SVC state and modules present.
func (i *IIS) GetServerInfo(ctx context.Context) (*ServerInfo, error) {
	return call[ServerInfo](ctx, i.c, OpGetServerInfo, struct{}{})
}

// NewTaskSite creates a task's pools, its site (or its applications in a target
// website) and bindings in one IIS commit. Certificates are not part of it:
// the driver imports them first with ImportCertificate.
func (i *IIS) NewTaskSite(ctx context.Context, spec *TaskSiteSpec) (*TaskSite, error) {
	return call[TaskSite](ctx, i.c, OpNewTaskSite, spec)
}

// RemoveTaskSite removes what NewTaskSite created; missing objects are skipped.
func (i *IIS) RemoveTaskSite(ctx context.Context, args *RemoveTaskSiteArgs) (*RemovedTaskSite, error) {
	return call[RemovedTaskSite](ctx, i.c, OpRemoveTaskSite, args)
}

// GetWebsite reports a site; ErrNotFound when it does not exist.
func (i *IIS) GetWebsite(ctx context.Context, name string) (*Website, error) {
	return call[Website](ctx, i.c, OpGetWebsite, NameArgs{Name: name})
}

// GetAppPools reports the named pools; pools that do not exist are absent.
func (i *IIS) GetAppPools(ctx context.Context, names ...string) ([]AppPool, error) {
	var out []AppPool
	if err := i.c.Call(ctx, OpGetAppPool, GetAppPoolArgs{Names: names}, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// GetAppPool reports one pool; ErrNotFound when it does not exist.
func (i *IIS) GetAppPool(ctx context.Context, name string) (*AppPool, error) {
	pools, err := i.GetAppPools(ctx, name)
	if err != nil {
		return nil, err
	}
	for k := range pools {
		if pools[k].Name == name {
			return &pools[k], nil
		}
	}
	return nil, &Error{Op: OpGetAppPool, Kind: KindNotFound, Message: fmt.Sprintf("application pool %q does not exist", name)}
}

// StartAppPool starts a pool.
func (i *IIS) StartAppPool(ctx context.Context, name string) (*AppPool, error) {
	return call[AppPool](ctx, i.c, OpStartAppPool, NameArgs{Name: name})
}

// StopAppPool stops a pool and waits up to wait for its workers to exit.
func (i *IIS) StopAppPool(ctx context.Context, name string, waitMs int64) (*AppPool, error) {
	return call[AppPool](ctx, i.c, OpStopAppPool, StopAppPoolArgs{Name: name, WaitMs: waitMs})
}

// RecycleAppPool recycles a pool (operation RestartAppPool).
func (i *IIS) RecycleAppPool(ctx context.Context, name string) (*AppPool, error) {
	return call[AppPool](ctx, i.c, OpRestartAppPool, NameArgs{Name: name})
}

// ImportCertificate imports a certificate marked as managed by Nomad.
func (i *IIS) ImportCertificate(ctx context.Context, args *ImportCertificateArgs) (*Certificate, error) {
	return call[Certificate](ctx, i.c, OpImportCertificate, args)
}

// RemoveCertificate removes a managed certificate unless a binding uses it.
func (i *IIS) RemoveCertificate(ctx context.Context, thumbprint string) (*RemovedCertificate, error) {
	return call[RemovedCertificate](ctx, i.c, OpRemoveCertificate, RemoveCertificateArgs{Thumbprint: thumbprint})
}

// SetTaskDirectoryAcl sets the task directory ACLs.
func (i *IIS) SetTaskDirectoryAcl(ctx context.Context, args *TaskDirectoryAclArgs) error {
	return i.c.Call(ctx, OpSetTaskDirectoryAcl, args, nil)
}

// GetManagedResources lists the driver-made sites and pools.
func (i *IIS) GetManagedResources(ctx context.Context) (*ManagedResources, error) {
	return call[ManagedResources](ctx, i.c, OpGetManagedResource, struct{}{})
}

// InvokeHook runs one hook of every loaded extension.
func (i *IIS) InvokeHook(ctx context.Context, hook string, hc HookContext) (*HookResult, error) {
	return call[HookResult](ctx, i.c, OpInvokeHook, InvokeHookArgs{Hook: hook, Context: hc})
}

// GetExtensions lists the admin extension scripts loaded.
func (i *IIS) GetExtensions(ctx context.Context) (*Extensions, error) {
	return call[Extensions](ctx, i.c, OpGetExtension, struct{}{})
}

// SwitchApplicationVersion points a virtual directory at another folder in
// one configuration change with an overlapped recycle of its pool.
func (i *IIS) SwitchApplicationVersion(ctx context.Context, args *SwitchApplicationVersionArgs) (*SwitchedApplicationVersion, error) {
	return call[SwitchedApplicationVersion](ctx, i.c, OpSwitchApplicationVersion, args)
}
