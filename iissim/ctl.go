//go:build !windows

package iissim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/nomad-iis/nomad-iis/ps"
)

// stopWait bounds how long "stop" waits for the service to exit.
const stopWait = 60 * time.Second

// runCtl is the "ctl" subcommand: one operation from a shell, as appcmd
// is for IIS. It prints the JSON result; on failure it prints
// "<Kind>: <message>" to stderr and exits with 1.
func runCtl(self []string, args []string) int {
	fs := flag.NewFlagSet("iissim ctl", flag.ContinueOnError)
	stateDir := fs.String("state-dir", "", "state directory (required)")
	extDir := fs.String("extensions-dir", "", "directory of admin extension hooks")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	rest := fs.Args()
	if *stateDir == "" || len(rest) < 1 || len(rest) > 2 {
		fmt.Fprintln(os.Stderr, "usage: iissim ctl --state-dir DIR [--extensions-dir DIR] <Operation> ['<json arguments>']")
		return 2
	}
	op := ps.Op(rest[0])
	raw := json.RawMessage("{}")
	if len(rest) == 2 {
		raw = json.RawMessage(rest[1])
		if !json.Valid(raw) {
			fmt.Fprintln(os.Stderr, "iissim ctl: the arguments are not valid JSON")
			return 2
		}
	}
	dir, err := absStateDir(*stateDir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "iissim ctl: %v\n", err)
		return 1
	}
	var resp ps.Response
	if slices.Contains(hostOps, op) {
		result, err := (&extensions{dir: *extDir, stateDir: dir}).serve(op, raw)
		resp = response(result, err)
	} else {
		resp, err = callOnce(self, layout{dir: dir}, op, raw)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", ps.KindUnavailable, err)
			return 1
		}
	}
	if !resp.OK {
		fmt.Fprintf(os.Stderr, "%s: %s\n", resp.Error.Kind, resp.Error.Message)
		return 1
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, resp.Result, "", "  "); err != nil {
		pretty.Write(resp.Result)
	}
	fmt.Println(pretty.String())
	return 0
}

// callOnce connects to the service (starting it when self is set), runs
// one operation and returns its response.
func callOnce(self []string, lay layout, op ps.Op, args json.RawMessage) (ps.Response, error) {
	conn, err := connectService(self, lay)
	if err != nil {
		return ps.Response{}, err
	}
	defer func() { _ = conn.Close() }()
	b, err := ps.EncodeRequest(ps.Request{ID: 1, Op: op, Args: args})
	if err != nil {
		return ps.Response{}, err
	}
	if _, err := conn.Write(b); err != nil {
		return ps.Response{}, err
	}
	r := bufio.NewReader(conn)
	for {
		line, err := readLine(r, maxFrame)
		if err != nil {
			return ps.Response{}, fmt.Errorf("the iissim service closed the connection: %w", err)
		}
		if resp, ok := ps.DecodeResponse(line); ok && resp.ID == 1 {
			return resp, nil
		}
	}
}

// runStop is the "stop" subcommand: it asks the service to stop and waits
// until it has exited with its workers. A service that does not run is
// not an error.
func runStop(args []string) int {
	fs := flag.NewFlagSet("iissim stop", flag.ContinueOnError)
	stateDir := fs.String("state-dir", "", "state directory (required)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *stateDir == "" {
		fmt.Fprintln(os.Stderr, "usage: iissim stop --state-dir DIR")
		return 2
	}
	dir, err := absStateDir(*stateDir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "iissim stop: %v\n", err)
		return 1
	}
	lay := layout{dir: dir}
	_, err = callOnce(nil, lay, opShutdown, nil)
	if errors.Is(err, errNotRunning) {
		return 0
	}
	// The service holds its lock until it has exited, workers included.
	deadline := time.Now().Add(stopWait)
	for {
		lock, err := tryLock(lay.serviceLock())
		if err == nil {
			_ = lock.Close()
			return 0
		}
		if !errors.Is(err, errLocked) {
			return 0
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "iissim stop: the service of %s did not exit within %s\n", dir, stopWait)
			return 1
		}
		time.Sleep(20 * time.Millisecond)
	}
}
