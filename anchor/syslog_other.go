//go:build windows || plan9

package anchor

import (
	"context"
	"errors"
)

// Syslog is not available on this system: Go's log/syslog is not built here.
type Syslog struct{ Network, Addr string }

// SyslogAvailable reports whether syslog works here.
const SyslogAvailable = false

var errNoSyslog = errors.New("syslog is not available on this system")

func (s *Syslog) String() string { return "syslog" }

// Dial fails: there is no syslog here.
func (s *Syslog) Dial() error { return errNoSyslog }

// Write fails: there is no syslog here.
func (s *Syslog) Write(context.Context, []string) error { return errNoSyslog }
