//go:build windows

package driver

import (
	"fmt"

	"golang.org/x/sys/windows"
)

// On Windows a pool's identity is a primary token duplicated from a running
// worker (w3wp.exe) of the pool: that works for ApplicationPoolIdentity's
// virtual account, the built-in accounts and SpecificUser or gMSA accounts
// alike, and needs no password.

// execIdentity is who an exec runs as: a primary token.
type execIdentity struct {
	// name describes the identity for messages and the audit line.
	name  string
	token windows.Token
}

// close releases the token.
func (i *execIdentity) close() {
	if i.token != 0 {
		_ = i.token.Close()
		i.token = 0
	}
}

// environ is the identity's own environment block (CreateEnvironmentBlock:
// the system variables and, when its profile is loaded, the user's).
func (i *execIdentity) environ() ([]string, error) {
	return i.token.Environ(false)
}

// identityOfWorker duplicates the primary token of worker pid of pool.
func identityOfWorker(pid int, pool string) (*execIdentity, error) {
	proc, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if err != nil {
		return nil, fmt.Errorf("open process: %w", err)
	}
	defer windows.CloseHandle(proc)
	tok, err := primaryToken(proc)
	if err != nil {
		return nil, err
	}
	return &execIdentity{
		name:  fmt.Sprintf("%s (the identity of worker %d of application pool %s)", accountOfToken(tok), pid, pool),
		token: tok,
	}, nil
}

// agentIdentity is a primary token of the plugin's own account (exec_as_agent).
func agentIdentity() (*execIdentity, error) {
	tok, err := primaryToken(windows.CurrentProcess())
	if err != nil {
		return nil, fmt.Errorf("exec: the agent's own token: %w", err)
	}
	return &execIdentity{
		name:  fmt.Sprintf("%s (the agent's account: exec_as_agent is set)", accountOfToken(tok)),
		token: tok,
	}, nil
}

// primaryToken opens the token of process proc and duplicates it as a
// primary token that CreateProcessAsUser accepts (TOKEN_QUERY,
// TOKEN_DUPLICATE and TOKEN_ASSIGN_PRIMARY access).
func primaryToken(proc windows.Handle) (windows.Token, error) {
	var tok windows.Token
	if err := windows.OpenProcessToken(proc, windows.TOKEN_DUPLICATE|windows.TOKEN_QUERY, &tok); err != nil {
		return 0, fmt.Errorf("open process token: %w", err)
	}
	defer tok.Close()
	var dup windows.Token
	access := uint32(windows.TOKEN_QUERY | windows.TOKEN_DUPLICATE | windows.TOKEN_ASSIGN_PRIMARY | windows.TOKEN_ADJUST_DEFAULT | windows.TOKEN_ADJUST_SESSIONID)
	if err := windows.DuplicateTokenEx(tok, access, nil, windows.SecurityImpersonation, windows.TokenPrimary, &dup); err != nil {
		return 0, fmt.Errorf("duplicate the token: %w", err)
	}
	return dup, nil
}

// accountOfToken is DOMAIN\account of the token's user, or its SID.
func accountOfToken(tok windows.Token) string {
	u, err := tok.GetTokenUser()
	if err != nil {
		return "unknown account"
	}
	account, domain, _, err := u.User.Sid.LookupAccount("")
	if err != nil {
		return u.User.Sid.String()
	}
	if domain == "" {
		return account
	}
	return domain + `\` + account
}
