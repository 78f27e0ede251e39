package ps_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync/atomic"
	"testing"

	"github.com/shoenig/test/must"

	"github.com/nomad-iis/nomad-iis/ps"
	"github.com/nomad-iis/nomad-iis/ps/internal/fakebackend"
)

// The benchmarks compare the persistent host with a process per operation
// (as drivers that run appcmd.exe for every call do), both over the fake
// backend, so they need nothing but this package:
//
//	go test -run '^$' -bench . -count 5 ./ps
//
// The fake starts in milliseconds; powershell.exe loading WebAdministration
// takes seconds, so the real gap is far wider than the one measured here.

func benchHost(b *testing.B) *ps.Host {
	b.Helper()
	exe, err := os.Executable()
	must.NoError(b, err)
	h := ps.NewHost(ps.HostConfig{Path: exe, Env: []string{fakebackend.EnvMode + "=" + fakebackend.ModeServe}})
	b.Cleanup(func() { must.NoError(b, h.Close()) })
	// Start it outside the measurement.
	must.NoError(b, h.Call(context.Background(), ps.OpTestConnection, nil, nil))
	return h
}

// BenchmarkHost_RoundTrip is one trivial call on the running backend.
func BenchmarkHost_RoundTrip(b *testing.B) {
	h := benchHost(b)
	ctx := context.Background()
	var info ps.ConnectionInfo
	for b.Loop() {
		if err := h.Call(ctx, ps.OpTestConnection, nil, &info); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProcessPerCall starts the backend for each call: start, wait for
// the ready frame, send the request, read the answer, close, wait for exit.
func BenchmarkProcessPerCall(b *testing.B) {
	exe, err := os.Executable()
	must.NoError(b, err)
	env := append(os.Environ(), fakebackend.EnvMode+"="+fakebackend.ModeServe)
	frame, err := ps.EncodeRequest(ps.Request{ID: 1, Op: ps.OpTestConnection})
	must.NoError(b, err)
	for b.Loop() {
		if err := callOnce(exe, env, frame); err != nil {
			b.Fatal(err)
		}
	}
}

func callOnce(exe string, env []string, frame []byte) error {
	cmd := exec.Command(exe)
	cmd.Env = env
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	r := bufio.NewReader(stdout)
	for _, send := range [][]byte{nil, frame} {
		if send != nil {
			if _, err := stdin.Write(send); err != nil {
				return err
			}
		}
		line, err := r.ReadBytes('\n')
		if err != nil {
			return err
		}
		if resp, ok := ps.DecodeResponse(line); !ok || !resp.OK {
			return fmt.Errorf("unexpected line %q", line)
		}
	}
	if err := stdin.Close(); err != nil {
		return err
	}
	return cmd.Wait()
}

// BenchmarkHost_ParallelReads measures whether a small pool of backends for
// read-only operations would pay: eight concurrent readers of an operation
// that takes the backend 5 ms (a Get-WebAppPoolState-sized read), waiting
// or computing, and of a trivial one, spread over one or more hosts.
func BenchmarkHost_ParallelReads(b *testing.B) {
	for _, tc := range []struct {
		name string
		op   ps.Op
		args any
	}{
		{name: "op=5ms-waiting", op: fakebackend.OpSleep, args: fakebackend.SleepArgs{Ms: 5}},
		{name: "op=5ms-cpu", op: fakebackend.OpSleep, args: fakebackend.SleepArgs{Work: 7500}},
		{name: "op=trivial", op: ps.OpTestConnection},
	} {
		for _, n := range []int{1, 2, 4} {
			b.Run(fmt.Sprintf("%s/processes=%d", tc.name, n), func(b *testing.B) {
				hosts := make([]*ps.Host, n)
				for i := range hosts {
					hosts[i] = benchHost(b)
				}
				var next atomic.Uint64
				ctx := context.Background()
				b.SetParallelism(4)
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						h := hosts[next.Add(1)%uint64(n)]
						if err := h.Call(ctx, tc.op, tc.args, nil); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
}
