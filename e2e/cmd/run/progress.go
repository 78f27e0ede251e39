package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// progress shows what the program is waiting for. On a terminal it keeps
// one line up to date with a spinner and the seconds spent; elsewhere (CI,
// a pipe) it prints each step once.
type progress struct {
	out io.Writer
	tty bool

	// lock guards the fields below.
	lock  sync.Mutex
	text  string
	since time.Time
	stop  chan struct{}
	ended chan struct{}
}

func newProgress(out *os.File) *progress {
	st, err := out.Stat()
	return &progress{out: out, tty: err == nil && st.Mode()&os.ModeCharDevice != 0}
}

// step starts a new step.
func (p *progress) step(text string) {
	p.lock.Lock()
	defer p.lock.Unlock()
	p.text, p.since = text, time.Now()
	if !p.tty {
		fmt.Fprintf(p.out, "run: %s ...\n", text)
		return
	}
	if p.stop == nil {
		p.stop, p.ended = make(chan struct{}), make(chan struct{})
		go p.spin(p.stop, p.ended)
	}
}

// done ends the progress line.
func (p *progress) done() {
	p.lock.Lock()
	stop, ended := p.stop, p.ended
	p.stop, p.ended = nil, nil
	p.lock.Unlock()
	if stop == nil {
		return
	}
	close(stop)
	<-ended
	fmt.Fprint(p.out, "\r\033[K")
}

func (p *progress) spin(stop <-chan struct{}, ended chan<- struct{}) {
	defer close(ended)
	frames := []string{"|", "/", "-", `\`}
	tick := time.NewTicker(150 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		p.lock.Lock()
		fmt.Fprintf(p.out, "\r\033[K%s %s (%ds)", frames[i%len(frames)], p.text, int(time.Since(p.since).Seconds()))
		p.lock.Unlock()
		select {
		case <-stop:
			return
		case <-tick.C:
		}
	}
}
