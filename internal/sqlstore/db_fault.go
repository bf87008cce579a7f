package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"syscall"

	"github.com/vigil-ir/vigil"
)

// Faults: what a client hears when the database, not the request, is at
// fault. A database that is down, restarting, out of connections or too
// slow is EUNAVAILABLE (503 with Retry-After); a full disk is ESTORAGEFULL
// (507). Each dialect's FormatError maps its driver's typed errors;
// classifyFault, after it, maps what is the same on every engine (the
// network, the operating system, database/sql, deadlines).

// The messages of the faults, safe to show.
const (
	msgUnavailable   = "The database is not available right now. Try again shortly."
	msgTimedOut      = "The database did not answer in time. Try again shortly."
	msgNotRun        = "The database did not answer in time; nothing was changed. Try again shortly."
	msgMayHaveCommit = "The change may have been applied; retry with the same Idempotency-Key."
	msgDatabaseFull  = "The database's disk is full, so nothing was saved. Reading still works; an administrator must free space."
)

// Unavailable returns an EUNAVAILABLE error caused by err, for a dialect's
// FormatError.
func Unavailable(err error) error { return vigil.Wrap(err, vigil.EUNAVAILABLE, msgUnavailable) }

// StorageFull returns an ESTORAGEFULL error for the database's disk caused
// by err, for a dialect's FormatError.
func StorageFull(err error) error { return vigil.Wrap(err, vigil.ESTORAGEFULL, msgDatabaseFull) }

// classifyFault maps the faults that look the same whatever the engine;
// anything else is returned unchanged.
func classifyFault(err error) error {
	var netErr *net.OpError // not net.Error: every syscall.Errno is one
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		// The request's deadline for its store work passed (see
		// vigilhttp's store deadline), or the pool had no connection free
		// within it.
		return vigil.Wrap(err, vigil.EUNAVAILABLE, msgTimedOut)
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return StorageFull(err)
	case errors.Is(err, errClosed), errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.As(err, &netErr):
		return Unavailable(err)
	}
	return err
}

// mayHaveCommitted is the answer when a commit's outcome is not known: the
// connection failed after COMMIT was sent, or the caller stopped waiting
// for a write the committer had already taken.
func mayHaveCommitted(err error) error { return vigil.Wrap(err, vigil.EUNAVAILABLE, msgMayHaveCommit) }

// notRun is the answer to a caller whose write never started: withdrawn
// from the queue when its context ended, it never will.
func notRun(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return vigil.Wrap(err, vigil.EUNAVAILABLE, msgNotRun)
	}
	return err
}

// handoff is a request queued for the goroutine that serves it (the group
// committer, the intake batcher). Either that goroutine takes it or its
// caller withdraws it, never both: so a caller that stops waiting knows
// whether its write may yet happen.
type handoff struct{ state atomic.Int32 }

const (
	handoffQueued int32 = iota
	handoffTaken
	handoffWithdrawn
)

// take claims the request for the serving goroutine; false if its caller
// withdrew it first.
func (h *handoff) take() bool { return h.state.CompareAndSwap(handoffQueued, handoffTaken) }

// await waits for the outcome of a request handed off to a goroutine that
// closes stopped when it ends. When ctx ends first: a request still queued
// is withdrawn, and the caller hears that nothing was done; one already
// taken may commit, so a caller past its deadline hears that it may have
// been applied. A caller that went away (ctx cancelled, no deadline)
// still waits for the outcome, which nobody reads, rather than report a
// failure for a write that then commits.
func (h *handoff) await(ctx context.Context, done <-chan error, stopped <-chan struct{}) error {
	expired := ctx.Done()
	for {
		select {
		case err := <-done:
			return err
		case <-stopped:
			select {
			case err := <-done:
				return err
			default:
				return errClosed
			}
		case <-expired:
			select {
			case err := <-done: // the outcome came in at the same moment
				return err
			default:
			}
			if h.state.CompareAndSwap(handoffQueued, handoffWithdrawn) {
				return notRun(ctx.Err())
			}
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return mayHaveCommitted(ctx.Err())
			}
			expired = nil
		}
	}
}
