//go:build !windows && !plan9

package anchor

import (
	"context"
	"log/syslog"
	"sync"
)

// Syslog sends each checkpoint as one syslog message (facility auth,
// severity notice, tag "vigil"). With Network "" it uses the local syslog
// socket; "udp" or "tcp" send to Addr. The connection is made at the first
// write and made again after a failed one.
type Syslog struct {
	Network, Addr string

	mu sync.Mutex
	w  *syslog.Writer
}

// SyslogAvailable reports whether syslog works here.
const SyslogAvailable = true

func (s *Syslog) String() string {
	if s.Network == "" {
		return "local syslog"
	}
	return "syslog " + s.Network + "://" + s.Addr
}

// Dial connects now, so that a missing syslog shows at start.
func (s *Syslog) Dial() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dial()
}

func (s *Syslog) dial() error {
	if s.w != nil {
		return nil
	}
	w, err := syslog.Dial(s.Network, s.Addr, syslog.LOG_NOTICE|syslog.LOG_AUTH, "vigil")
	if err != nil {
		return err
	}
	s.w = w
	return nil
}

// Write sends the lines.
func (s *Syslog) Write(_ context.Context, lines []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.dial(); err != nil {
		return err
	}
	for _, l := range lines {
		if err := s.w.Notice(l); err != nil {
			s.w.Close()
			s.w = nil
			return err
		}
	}
	return nil
}
