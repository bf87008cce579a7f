//go:build !linux

package postgres

import (
	"syscall"
	"time"
)

// userTimeout is Linux's TCP_USER_TIMEOUT; elsewhere keepalives alone
// notice a server that stopped answering.
func userTimeout(time.Duration) func(network, address string, c syscall.RawConn) error { return nil }
