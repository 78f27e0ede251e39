//go:build !windows

package iissim_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/nomad-iis/nomad-iis/iissim/simtest"
	"github.com/nomad-iis/nomad-iis/ps"
	"github.com/shoenig/test/must"
)

// iissim runs this test binary as iissim with args.
func iissim(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	self, err := simtest.Self()
	must.NoError(t, err)
	cmd := exec.Command(self[0], args...)
	cmd.Env = append(os.Environ(), simtest.Env()...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else {
		must.NoError(t, err)
	}
	return out.String(), errOut.String(), code
}

func TestCLI(t *testing.T) {
	dir := t.TempDir()
	ext := t.TempDir()
	must.NoError(t, os.WriteFile(filepath.Join(ext, "say.hook"), []byte("#!/bin/sh\n[ \"$1\" = Hooks ] && echo PreStart && exit 0\necho hi\n"), 0o755))
	t.Cleanup(func() { iissim(t, "stop", "--state-dir", dir) })

	out, _, code := iissim(t, "ctl", "--state-dir", dir, "GetServerInfo")
	must.EqOp(t, 0, code)
	var info ps.ServerInfo
	must.NoError(t, json.Unmarshal([]byte(out), &info))
	must.EqOp(t, "iissim", info.Backend)
	must.EqOp(t, "10.0 (iissim)", info.IISVersion)

	_, errOut, code := iissim(t, "ctl", "--state-dir", dir, "NewTaskSite", `{"siteName":"nomad-x","appPools":[],"applications":[]}`)
	must.EqOp(t, 1, code)
	must.StrHasPrefix(t, "InvalidArgument: ", errOut)

	_, errOut, code = iissim(t, "ctl", "--state-dir", dir, "GetWebsite", `{"name":"nomad-none"}`)
	must.EqOp(t, 1, code)
	must.StrHasPrefix(t, "NotFound: ", errOut)

	_, errOut, code = iissim(t, "ctl", "--state-dir", dir, "Bogus")
	must.EqOp(t, 1, code)
	must.StrContains(t, errOut, "unknown operation")

	_, _, code = iissim(t, "ctl", "--state-dir", dir, "GetServerInfo", "{not json")
	must.EqOp(t, 2, code)

	out, _, code = iissim(t, "ctl", "--state-dir", dir, "--extensions-dir", ext, "InvokeHook", `{"hook":"PreStart","context":{}}`)
	must.EqOp(t, 0, code)
	var res ps.HookResult
	must.NoError(t, json.Unmarshal([]byte(out), &res))
	must.Eq(t, []ps.HookRun{{Extension: "say", Output: "hi"}}, res.Runs)

	_, _, code = iissim(t, "stop", "--state-dir", dir)
	must.EqOp(t, 0, code)
	_, _, code = iissim(t, "stop", "--state-dir", dir)
	must.EqOp(t, 0, code, must.Sprint("stopping a service that does not run is fine"))

	for _, args := range [][]string{{}, {"frobnicate"}, {"ctl"}, {"host"}, {"stop"}} {
		_, _, code = iissim(t, args...)
		must.EqOp(t, 2, code, must.Sprintf("iissim %v", args))
	}
	out, _, code = iissim(t, "help")
	must.EqOp(t, 0, code)
	must.StrContains(t, out, "ctl     --state-dir DIR")
}

func TestHost_Protocol(t *testing.T) {
	dir := t.TempDir()
	t.Cleanup(func() { iissim(t, "stop", "--state-dir", dir) })
	self, err := simtest.Self()
	must.NoError(t, err)
	cmd := exec.Command(self[0], "host", "--state-dir", dir)
	cmd.Env = append(os.Environ(), simtest.Env()...)
	stdin, err := cmd.StdinPipe()
	must.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	must.NoError(t, err)
	must.NoError(t, cmd.Start())
	r := bufio.NewReader(stdout)
	read := func() ps.Response {
		t.Helper()
		line, err := r.ReadBytes('\n')
		must.NoError(t, err)
		resp, ok := ps.DecodeResponse(line)
		must.True(t, ok, must.Sprintf("not a response frame: %q", line))
		return resp
	}

	ready := read()
	must.EqOp(t, uint64(ps.ReadyID), ready.ID)
	var ci ps.ConnectionInfo
	must.NoError(t, json.Unmarshal(ready.Result, &ci))
	must.Eq(t, ps.ConnectionInfo{Backend: "iissim", ProcessID: cmd.Process.Pid}, ci)

	_, err = io.WriteString(stdin, "this is not a frame\n"+
		`{"id":5,"op":"Nope","args":{}}`+"\n"+
		`{"id":6,"op":"TestConnection"}`+"\n"+
		`{"id":7,"op":"GetExtension","args":{}}`+"\n")
	must.NoError(t, err)
	got := map[uint64]ps.Response{}
	for range 3 {
		resp := read()
		got[resp.ID] = resp
	}
	must.False(t, got[5].OK)
	must.EqOp(t, ps.KindInvalidArgument, got[5].Error.Kind)
	must.True(t, got[6].OK)
	must.NoError(t, json.Unmarshal(got[6].Result, &ci))
	must.EqOp(t, cmd.Process.Pid, ci.ProcessID)
	must.True(t, got[7].OK)
	must.EqOp(t, `{"directory":"","extensions":[]}`, string(got[7].Result))

	must.NoError(t, stdin.Close())
	must.NoError(t, cmd.Wait(), must.Sprint("the host exits when its input ends"))
}
