// Package fakebackend is a backend of the ps contract for tests of the
// process host: it speaks the frames on stdin and stdout, and misbehaves on
// request (crashes, hangs, stray output, huge frames) so that the host's
// handling of each case can be tested without PowerShell or iissim.
//
// A test binary becomes the fake when started with EnvMode set:
//
//	func TestMain(m *testing.M) {
//		if mode := os.Getenv(fakebackend.EnvMode); mode != "" {
//			os.Exit(fakebackend.Main(mode))
//		}
//		os.Exit(m.Run())
//	}
package fakebackend

import (
	"bufio"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/nomad-iis/nomad-iis/ps"
)

// Environment of the fake.
const (
	// EnvMode selects the start-up behaviour (one of the Mode constants).
	EnvMode = "PS_FAKE_BACKEND"
	// EnvResults holds a JSON object of canned results by operation name.
	EnvResults = "PS_FAKE_RESULTS"
	// EnvGate names a file ModeGated waits for before it is ready.
	EnvGate = "PS_FAKE_GATE"
)

// Start-up behaviours.
const (
	// ModeServe is ready at once.
	ModeServe = "serve"
	// ModeBOM writes a byte order mark and stray lines before the ready
	// frame, as Windows PowerShell and chatty modules do.
	ModeBOM = "bom"
	// ModeChatty writes a megabyte to stderr before the ready frame.
	ModeChatty = "chatty"
	// ModeGated is ready once the file named by EnvGate exists.
	ModeGated = "gated"
	// ModeNeverReady writes stray output and never sends the ready frame.
	ModeNeverReady = "never-ready"
	// ModeCrashAtStart writes to stderr and exits with status 2.
	ModeCrashAtStart = "crash-at-start"
	// ModeRefuse sends a failed ready frame, then waits for its input to end.
	ModeRefuse = "refuse"
)

// Operations of the fake, besides ps.OpTestConnection and canned results.
const (
	// OpEcho answers with its arguments.
	OpEcho ps.Op = "Echo"
	// OpFail answers with the error FailArgs describe.
	OpFail ps.Op = "Fail"
	// OpCrash writes CrashArgs.Stderr to stderr and exits with CrashArgs.Code.
	OpCrash ps.Op = "Crash"
	// OpHang creates WaitArgs.Started when given, and never answers; the
	// fake keeps reading its input and exits when it ends.
	OpHang ps.Op = "Hang"
	// OpExit answers, then exits with status 0.
	OpExit ps.Op = "Exit"
	// OpGarbage writes stray output (a BOM, text, partial JSON, invalid
	// UTF-8, a frame with another id, an incomplete frame), then answers
	// with its arguments.
	OpGarbage ps.Op = "Garbage"
	// OpStderr writes SizeArgs.Bytes of text to stderr, then answers.
	OpStderr ps.Op = "Stderr"
	// OpBig answers with a string of SizeArgs.Bytes bytes of mixed scripts.
	OpBig ps.Op = "Big"
	// OpSleep answers after SleepArgs.Ms milliseconds and SleepArgs.Work.
	OpSleep ps.Op = "Sleep"
	// OpWait creates WaitArgs.Started, then answers once WaitArgs.Gate exists.
	OpWait ps.Op = "Wait"
	// OpLastRequest answers with the request before it (a Recorded).
	OpLastRequest ps.Op = "LastRequest"
)

// FailArgs are the arguments of OpFail.
type FailArgs struct {
	Kind    ps.ErrorKind `json:"kind"`
	Message string       `json:"message"`
}

// CrashArgs are the arguments of OpCrash.
type CrashArgs struct {
	Code   int    `json:"code"`
	Stderr string `json:"stderr"`
}

// SizeArgs are the arguments of OpStderr and OpBig.
type SizeArgs struct {
	Bytes int `json:"bytes"`
}

// SleepArgs are the arguments of OpSleep.
type SleepArgs struct {
	Ms int `json:"ms"`
	// Work is a number of rounds of CPU work (SHA-256 of 1 KiB) done after
	// the sleep.
	Work int `json:"work,omitempty"`
}

// WaitArgs are the arguments of OpWait: files, as a signal both ways.
type WaitArgs struct {
	Started string `json:"started"`
	Gate    string `json:"gate"`
}

// Recorded is the result of OpLastRequest.
type Recorded struct {
	Op   ps.Op           `json:"op"`
	Args json.RawMessage `json:"args"`
}

// BigText returns n bytes of text in several scripts and with characters
// JSON escapes, the payload of OpBig.
func BigText(n int) string {
	const unit = "ASCII <&> \"quoted\" \\ tab\t Grüße 世界 עברית 🚀 \u2028 end\n"
	s := strings.Repeat(unit, n/len(unit)+1)
	for n > 0 && !isRuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

type fake struct {
	in     *bufio.Reader
	out    *bufio.Writer
	canned map[ps.Op]json.RawMessage
	last   Recorded
	lastID uint64
}

// Main runs the fake in mode until its input ends, and returns the exit
// status. Every request must have an id above the previous one; the fake
// refuses the others with an Internal error.
func Main(mode string) int {
	f := &fake{
		in:  bufio.NewReader(os.Stdin),
		out: bufio.NewWriter(os.Stdout),
	}
	if raw := os.Getenv(EnvResults); raw != "" {
		if err := json.Unmarshal([]byte(raw), &f.canned); err != nil {
			fmt.Fprintf(os.Stderr, "fake: %s: %v\n", EnvResults, err)
			return 1
		}
	}
	ready := ps.Response{ID: ps.ReadyID, OK: true, Result: mustJSON(ps.ConnectionInfo{Backend: "fake", ProcessID: os.Getpid()})}
	switch mode {
	case ModeServe:
	case ModeBOM:
		f.raw("\xef\xbb\xbfWARNING: a module printed this\n\n   \nnot json {\n")
	case ModeChatty:
		chatter(1 << 20)
	case ModeGated:
		waitFor(os.Getenv(EnvGate))
	case ModeNeverReady:
		f.raw("starting...\n")
		fmt.Fprintln(os.Stderr, "fake: waiting forever")
		_, _ = io.Copy(io.Discard, os.Stdin)
		return 0
	case ModeCrashAtStart:
		fmt.Fprintln(os.Stderr, "fake: cannot load the module")
		return 2
	case ModeRefuse:
		f.write(ps.Response{ID: ps.ReadyID, Error: &ps.WireError{Kind: ps.KindUnavailable, Message: "IIS is not installed"}})
		_, _ = io.Copy(io.Discard, os.Stdin)
		return 0
	default:
		fmt.Fprintf(os.Stderr, "fake: unknown mode %q\n", mode)
		return 1
	}
	f.write(ready)
	return f.serve()
}

func (f *fake) serve() int {
	for {
		line, err := f.in.ReadBytes('\n')
		if len(line) > 0 {
			var req ps.Request
			if jerr := json.Unmarshal(line, &req); jerr != nil {
				fmt.Fprintf(os.Stderr, "fake: bad request: %v\n", jerr)
			} else if code, exit := f.handle(req); exit {
				return code
			}
		}
		if err != nil {
			return 0
		}
	}
}

// handle answers one request; it reports whether the fake must exit.
func (f *fake) handle(req ps.Request) (code int, exit bool) {
	last := f.last
	f.last = Recorded{Op: req.Op, Args: req.Args}
	if req.ID <= f.lastID {
		f.write(ps.Response{ID: req.ID, Error: &ps.WireError{Kind: ps.KindInternal, Message: fmt.Sprintf("request id %d after id %d: ids must increase", req.ID, f.lastID)}})
		return 0, false
	}
	f.lastID = req.ID
	ok := func(result json.RawMessage) { f.write(ps.Response{ID: req.ID, OK: true, Result: result}) }
	if res, found := f.canned[req.Op]; found {
		ok(res)
		return 0, false
	}
	switch req.Op {
	case ps.OpTestConnection:
		ok(mustJSON(ps.ConnectionInfo{Backend: "fake", ProcessID: os.Getpid()}))
	case OpEcho:
		ok(req.Args)
	case OpFail:
		var a FailArgs
		_ = json.Unmarshal(req.Args, &a)
		f.write(ps.Response{ID: req.ID, Error: &ps.WireError{Kind: a.Kind, Message: a.Message}})
	case OpCrash:
		var a CrashArgs
		_ = json.Unmarshal(req.Args, &a)
		fmt.Fprintln(os.Stderr, a.Stderr)
		return a.Code, true
	case OpHang:
		var a WaitArgs
		_ = json.Unmarshal(req.Args, &a)
		if a.Started != "" {
			if err := os.WriteFile(a.Started, nil, 0o600); err != nil {
				fmt.Fprintf(os.Stderr, "fake: %v\n", err)
			}
		}
	case OpExit:
		ok(mustJSON(struct{}{}))
		return 0, true
	case OpGarbage:
		f.raw("\xef\xbb\xbfWARNING: stray text\n")
		f.raw("{\"id\": 1, \"ok\": tr\n")
		f.raw("\xff\xfe invalid UTF-8 \xc3\x28\n")
		f.raw("[1,2,3]\n")
		f.write(ps.Response{ID: req.ID + 1000, OK: true, Result: mustJSON("wrong id")})
		f.raw(fmt.Sprintf("{\"id\":%d,\"ok\":false}\n", req.ID))
		f.raw(fmt.Sprintf("{\"id\":%d,\"ok\":false,\"error\":{\"kind\":\"Bogus\",\"message\":\"x\"}}\n", req.ID))
		f.raw("\xef\xbb\xbf")
		ok(req.Args)
	case OpStderr:
		var a SizeArgs
		_ = json.Unmarshal(req.Args, &a)
		chatter(a.Bytes)
		ok(mustJSON(struct{}{}))
	case OpBig:
		var a SizeArgs
		_ = json.Unmarshal(req.Args, &a)
		ok(mustJSON(BigText(a.Bytes)))
	case OpSleep:
		var a SleepArgs
		_ = json.Unmarshal(req.Args, &a)
		time.Sleep(time.Duration(a.Ms) * time.Millisecond)
		busy(a.Work)
		ok(mustJSON(struct{}{}))
	case OpWait:
		var a WaitArgs
		_ = json.Unmarshal(req.Args, &a)
		if err := os.WriteFile(a.Started, nil, 0o600); err != nil {
			fmt.Fprintf(os.Stderr, "fake: %v\n", err)
		}
		waitFor(a.Gate)
		ok(mustJSON(struct{}{}))
	case OpLastRequest:
		ok(mustJSON(last))
	default:
		f.write(ps.Response{ID: req.ID, Error: &ps.WireError{Kind: ps.KindInvalidArgument, Message: fmt.Sprintf("unknown operation %q", req.Op)}})
	}
	return 0, false
}

func (f *fake) write(resp ps.Response) {
	b := mustJSON(resp)
	f.raw(string(b) + "\n")
}

func (f *fake) raw(s string) {
	_, _ = f.out.WriteString(s)
	_ = f.out.Flush()
}

// chatter writes n bytes of log-like lines to stderr.
func chatter(n int) {
	w := bufio.NewWriter(os.Stderr)
	for i := 0; n > 0; i++ {
		line := fmt.Sprintf("fake: chatter line %d, still going\n", i)
		n -= len(line)
		_, _ = w.WriteString(line)
	}
	_ = w.Flush()
}

// busy keeps a CPU busy for rounds of hashing.
func busy(rounds int) {
	buf := make([]byte, 1024)
	for range rounds {
		sum := sha256.Sum256(buf)
		copy(buf, sum[:])
	}
}

// waitFor polls until path exists.
func waitFor(path string) {
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
