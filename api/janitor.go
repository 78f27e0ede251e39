package api

import (
	"time"

	"github.com/nomad-iis/nomad-iis/api/fsroot"
)

// janitorInterval is how often the janitor removes expired download links,
// links whose task ended and abandoned partial uploads.
const janitorInterval = time.Minute

// startJanitor runs the janitor until the server's background context ends
// (Close); Close waits for it.
func (s *Server) startJanitor() {
	s.bgWG.Add(1)
	go func() {
		defer s.bgWG.Done()
		tick := time.NewTicker(janitorInterval)
		defer tick.Stop()
		for {
			select {
			case <-s.bg.Done():
				return
			case <-tick.C:
				s.sweep()
			}
		}
	}()
}

// sweep is one pass of the janitor.
func (s *Server) sweep() {
	if n := s.links.prune(s.reg); n > 0 {
		s.log.Debug("removed download links that expired or whose task ended", "links", logInt(int64(n)))
	}
	if n := s.sweepParts(); n > 0 {
		s.log.Info("removed abandoned range uploads", "uploads", logInt(int64(n)), "retention", fsroot.PartRetention.String())
	}
}
