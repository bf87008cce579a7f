package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/vigil-ir/vigil"
)

// Group commit. SQLite has one writer; with a transaction per operation,
// every commit appends its own WAL frames and concurrent callers wait in
// database/sql's pool, which wakes a random waiter, not the oldest. The
// group committer instead owns the one write connection, queues write
// operations (FIFO, so waits are fair), and runs whatever has queued up as
// one transaction; each caller hears of its own outcome only after the
// commit. An operation that fails rolls back alone: the group then runs
// again with each operation inside a SAVEPOINT of its own (see runGroup).
//
// A caller whose context ends while its operation waits in the queue
// withdraws it and hears that nothing was done; once the committer has
// taken it, a caller past its deadline hears that it may have been
// applied (see handoff). A group runs under a deadline of its own (see
// groupContext): a connection that stops answering is given up and
// replaced at the next group.

type writeOp struct {
	handoff
	ctx  context.Context
	lazy bool // the caller's ctx allows a commit that does not wait for the disk
	fn   func(*Tx) error
	bare func(context.Context, *sql.Conn) error // run alone, outside a transaction
	done chan error
}

// groupCommitter runs write operations in groups on its own connection.
type groupCommitter struct {
	db    *DB
	conn  *sql.Conn
	stmts *stmtCache
	queue chan *writeOp
	stop  chan struct{}
	done  chan struct{}
	err   error // set if the connection could not be had
	once  sync.Once
	head  auditHead
	// changes is the write connection's total_changes() at the last
	// commit that counted as a write for the readers (see commitChanged).
	changes int64
}

func newGroupCommitter(db *DB) *groupCommitter {
	g := &groupCommitter{db: db, queue: make(chan *writeOp, 1024), stop: make(chan struct{}), done: make(chan struct{})}
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	g.connect(ctx)
	cancel()
	go g.run()
	return g
}

// connectTimeout bounds taking a connection when none is given by a group,
// and rollbackTimeout a ROLLBACK: on a connection that stopped answering,
// neither may hold the committer for long.
const (
	connectTimeout  = 10 * time.Second
	rollbackTimeout = 5 * time.Second
)

// connect takes a connection for the committer, discarding the one it had.
func (g *groupCommitter) connect(ctx context.Context) error {
	if g.conn != nil {
		g.stmts.close()
		// Discarded, not given back to the pool: it may be broken, or
		// still inside the transaction that failed on it.
		g.conn.Raw(func(any) error { return driver.ErrBadConn })
		g.conn.Close()
	}
	g.conn, g.err = g.db.Write.Conn(ctx)
	g.stmts = &stmtCache{conn: g.conn}
	if g.err != nil {
		return g.err
	}
	for _, q := range g.db.d.WriterSession {
		if _, err := g.conn.ExecContext(ctx, q); err != nil {
			g.err = fmt.Errorf("set up write connection: %w", err)
			return g.err
		}
	}
	return nil
}

var errClosed = errors.New("store closed")

// do queues fn and waits for its outcome.
func (g *groupCommitter) do(ctx context.Context, fn func(*Tx) error) error {
	return g.submit(&writeOp{ctx: ctx, fn: fn, lazy: vigil.DurableLater(ctx), done: make(chan error, 1)})
}

// submit queues op and waits for its outcome. Once taken, the operation
// runs or is skipped as a whole; if the committer stopped before taking
// it, it never will.
func (g *groupCommitter) submit(op *writeOp) error {
	select {
	case g.queue <- op:
	case <-op.ctx.Done():
		return notRun(op.ctx.Err())
	case <-g.stop:
		return errClosed
	}
	return op.await(op.ctx, op.done, g.done)
}

// BetweenWrites runs fn on the write connection between two groups,
// outside any transaction, while no write runs: for work that must not
// overlap one, such as restarting SQLite's WAL. Without group commit it
// runs fn on a connection of the write pool.
func (db *DB) BetweenWrites(ctx context.Context, fn func(context.Context, *sql.Conn) error) error {
	g := db.group
	if g == nil {
		conn, err := db.Write.Conn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		return fn(ctx, conn)
	}
	return g.submit(&writeOp{ctx: ctx, bare: fn, done: make(chan error, 1)})
}

// runBare runs an operation of BetweenWrites; a panic in it fails it, not
// the process.
func (g *groupCommitter) runBare(op *writeOp) {
	if err := op.ctx.Err(); err != nil {
		op.done <- err
		return
	}
	if g.conn == nil || g.err != nil {
		if err := g.connect(op.ctx); err != nil {
			op.done <- fmt.Errorf("write connection: %w", err)
			return
		}
	}
	err := func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("operation between writes panicked: %v", p)
			}
		}()
		return op.bare(op.ctx, g.conn)
	}()
	g.db.writeGen.Add(1) // it may have written
	op.done <- err
}

// close finishes the group in progress, fails what is still queued, and
// gives the connection back.
func (g *groupCommitter) close() {
	g.once.Do(func() {
		close(g.stop)
		<-g.done
		if g.conn != nil {
			g.stmts.close()
			g.conn.Close()
		}
	})
}

func (g *groupCommitter) run() {
	defer close(g.done)
	maxGroup := max(1, g.db.d.MaxGroup)
	group := make([]*writeOp, 0, maxGroup)
	var next *writeOp // taken from the queue while filling a group, for the next turn
	for {
		first := next
		next = nil
		if first == nil {
			select {
			case first = <-g.queue:
				if !first.take() {
					continue // withdrawn by its caller
				}
			case <-g.stop:
				for {
					select {
					case op := <-g.queue:
						op.done <- errClosed
					default:
						return
					}
				}
			}
		}
		if first.bare != nil {
			g.runBare(first)
			continue
		}
		group = append(group[:0], first)
	fill:
		for len(group) < maxGroup {
			select {
			case op := <-g.queue:
				if !op.take() {
					continue
				}
				if op.bare != nil {
					next = op
					break fill
				}
				group = append(group, op)
			default:
				break fill
			}
		}
		g.runGroup(group)
		// Let the callers just answered run before the next group is
		// taken. Each answer readies its caller on this goroutine's P,
		// the last one in the slot the scheduler runs next; if the
		// committer then went on while the other P was busy (a
		// checkpoint's fsync, say), it and one caller would hand that
		// slot back and forth in groups of one while the other callers
		// waited for the scheduler's 10 ms preemption: the p99 of
		// saturated incident creates on two cores. Yielding lets them
		// all queue their next operation first, so groups grow too.
		runtime.Gosched()
	}
}

// exec runs a control statement (BEGIN, SAVEPOINT, …) on the connection,
// prepared once.
func (g *groupCommitter) exec(ctx context.Context, q string) error {
	if !g.db.d.CacheStatements {
		_, err := g.conn.ExecContext(ctx, q)
		return err
	}
	if st := g.stmts.get(ctx, q); st != nil {
		_, err := st.ExecContext(ctx)
		return err
	}
	_, err := g.conn.ExecContext(ctx, q)
	return err
}

// rollback rolls the group's transaction back under a context of its own
// (the group's may have ended: that may be why). If it fails, the
// connection is replaced before the next group.
func (g *groupCommitter) rollback() error {
	ctx, cancel := context.WithTimeout(context.Background(), rollbackTimeout)
	defer cancel()
	err := g.exec(ctx, "ROLLBACK")
	if err != nil {
		g.err = err
	}
	return err
}

// groupContext is the context a group's statements run under. It carries
// no caller's cancellation: a statement cancelled half-way would roll back
// the whole group's transaction under everyone else's writes. Its deadline
// is the latest of its operations' deadlines (WriteTimeout from now for an
// operation without one), and at least minGroupTime away: by then every
// caller has stopped waiting, and a connection that stopped answering is
// given up (pgx closes it when the context ends) and replaced at the next
// group, instead of holding every write until TCP notices. Only where the
// dialect asks for it (Dialect.GroupDeadline).
func (g *groupCommitter) groupContext(ops []*writeOp) (context.Context, context.CancelFunc) {
	if !g.db.d.GroupDeadline {
		return context.Background(), func() {}
	}
	now := time.Now()
	latest := now.Add(minGroupTime)
	for _, op := range ops {
		d, ok := op.ctx.Deadline()
		if !ok {
			if g.db.WriteTimeout <= 0 {
				return context.Background(), func() {}
			}
			d = now.Add(g.db.WriteTimeout)
		}
		if d.After(latest) {
			latest = d
		}
	}
	return context.WithDeadline(context.Background(), latest)
}

// minGroupTime is the least time a group is given: an operation taken
// just before its caller's deadline still gets a fair run.
const minGroupTime = time.Second

// runGroup runs ops in one transaction. It first runs them back to back
// without savepoints, the cheap way, which is right whenever every one of
// them succeeds (nearly always). If one fails, the transaction is rolled
// back and the group runs again with each operation in a savepoint of its
// own, so that the failure rolls back alone. Operations must therefore not
// depend on running once: each run gets a fresh Tx, and services build
// their results inside fn.
func (g *groupCommitter) runGroup(ops []*writeOp) {
	ctx, cancel := g.groupContext(ops)
	defer cancel()
	results := make([]error, len(ops))
	finish := func(err error) {
		for i, op := range ops {
			if err != nil && results[i] == nil {
				results[i] = err
			}
			op.done <- results[i]
		}
	}
	if !g.begin(ctx, finish) {
		return
	}
	failed, ran := false, 0
	for i, op := range ops {
		if err := op.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		if err := g.runOp(ctx, op); err != nil {
			results[i] = g.db.formatError(err)
			failed = true
			break
		}
		ran++
	}
	if !failed {
		g.commit(ctx, ops, results, ran, finish)
		return
	}
	if err := g.rollback(); err != nil {
		finish(fmt.Errorf("rollback: %w", err))
		return
	}
	if len(ops) == 1 {
		// Alone, its failure is the group's: nothing to run again.
		finish(nil)
		return
	}
	if err := ctx.Err(); err != nil {
		// Past the group's deadline every caller has stopped waiting:
		// running the group again could only fail the same way.
		finish(fmt.Errorf("write group: %w", err))
		return
	}
	clear(results)
	g.runGroupSavepoints(ctx, ops, results, finish)
}

// begin starts a group's transaction, replacing a lost connection first.
func (g *groupCommitter) begin(ctx context.Context, finish func(error)) bool {
	// A connection lost (a database restart) is replaced at the next group.
	if g.conn == nil || g.err != nil {
		if err := g.connect(ctx); err != nil {
			finish(fmt.Errorf("write connection: %w", err))
			return false
		}
	}
	g.stmts.sweep()
	begin := g.db.d.BeginGroup
	if begin == "" {
		begin = "BEGIN"
	}
	if err := g.exec(ctx, begin); err != nil {
		g.err = err
		finish(fmt.Errorf("begin: %w", err))
		return false
	}
	// The chain head is read afresh in each group, under a lock where the
	// engine has them: other instances and CLI commands append too.
	g.head = auditHead{}
	return true
}

// runOp runs one operation and queues its audit events on the chain.
func (g *groupCommitter) runOp(ctx context.Context, op *writeOp) (err error) {
	// A panic in one operation fails it, not the process.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("write operation panicked: %v", p)
		}
	}()
	if g.db.RerunWrites {
		if err := g.runRolledBack(ctx, op); err != nil {
			return err
		}
	}
	tx := g.newTx(ctx, op)
	if err := op.fn(tx); err != nil {
		return err
	}
	return tx.flushAudit()
}

// newTx makes the Tx for one run of op on the committer's connection.
func (g *groupCommitter) newTx(ctx context.Context, op *writeOp) *Tx {
	// Once running, an operation is not interrupted by its caller going
	// away, only by the group's deadline (see groupContext); it keeps the
	// values of its caller's context (actor, request ID).
	tx := g.db.newTx(opContext{Context: ctx, values: op.ctx}, nil, true)
	tx.q, tx.head = g.conn, &g.head
	if g.db.d.CacheStatements {
		tx.stmts = g.stmts
	}
	return tx
}

// runRolledBack runs op in a savepoint and rolls it back, whatever its
// outcome (for RerunWrites): the run that a failed group throws away.
func (g *groupCommitter) runRolledBack(ctx context.Context, op *writeOp) error {
	if err := g.exec(ctx, "SAVEPOINT rerun"); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	head := g.head
	tx := g.newTx(ctx, op)
	if err := op.fn(tx); err == nil {
		tx.flushAudit()
	}
	g.head = head
	if err := g.exec(ctx, "ROLLBACK TO SAVEPOINT rerun"); err != nil {
		return fmt.Errorf("rollback to savepoint: %w", err)
	}
	if err := g.exec(ctx, "RELEASE SAVEPOINT rerun"); err != nil {
		return fmt.Errorf("release savepoint: %w", err)
	}
	return nil
}

// runGroupSavepoints runs ops in one transaction, each in a savepoint.
func (g *groupCommitter) runGroupSavepoints(ctx context.Context, ops []*writeOp, results []error, finish func(error)) {
	if !g.begin(ctx, finish) {
		return
	}
	committed := 0
	for i, op := range ops {
		if err := op.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		if err := g.exec(ctx, "SAVEPOINT op"); err != nil {
			g.rollback()
			finish(fmt.Errorf("savepoint: %w", err))
			return
		}
		head := g.head // to restore if the operation rolls back
		if err := g.runOp(ctx, op); err != nil {
			results[i] = g.db.formatError(err)
			g.head = head
			if rerr := g.exec(ctx, "ROLLBACK TO SAVEPOINT op"); rerr != nil {
				g.rollback()
				finish(fmt.Errorf("rollback to savepoint: %w", rerr))
				return
			}
		} else {
			committed++
		}
		if err := g.exec(ctx, "RELEASE SAVEPOINT op"); err != nil {
			g.rollback()
			finish(fmt.Errorf("release savepoint: %w", err))
			return
		}
	}
	g.commit(ctx, ops, results, committed, finish)
}

// changedSince tells whether the group being committed changed any row,
// by the connection's total_changes() (SQLite: rows inserted, updated or
// deleted since the connection opened). Only such a commit makes readers
// reset their page caches (DB.beginRead): a group that changed nothing —
// the job claim that finds no work, every second — must not, or every
// read after it starts cold (measured: searches used 10–30 times the CPU
// under the job poller's empty claims). Where the dialect resets no
// readers, or the count cannot be read, every commit counts.
func (g *groupCommitter) changedSince(ctx context.Context) bool {
	if g.db.d.ReaderReset == "" {
		return true
	}
	var n int64
	if err := g.conn.QueryRowContext(ctx, "SELECT total_changes()").Scan(&n); err != nil {
		return true
	}
	if n == g.changes {
		return false
	}
	g.changes = n
	return true
}

// commit writes the audit chain head and commits the group.
func (g *groupCommitter) commit(ctx context.Context, ops []*writeOp, results []error, committed int, finish func(error)) {
	db := g.db
	if g.head.dirty {
		if _, err := g.conn.ExecContext(ctx, db.rebind(`UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1`), g.head.seq, g.head.hash); err != nil {
			g.rollback()
			g.head = auditHead{}
			finish(fmt.Errorf("update audit head: %w", err))
			return
		}
		g.head.dirty = false
	}
	if db.d.LazyCommit != "" && committed > 0 && allLazy(ops) {
		if err := g.exec(ctx, db.d.LazyCommit); err != nil {
			g.rollback()
			finish(fmt.Errorf("lazy commit: %w", err))
			return
		}
	}
	if committed > 0 {
		for _, q := range db.d.BeforeGroupCommit {
			if err := g.exec(ctx, q); err != nil {
				g.rollback()
				finish(fmt.Errorf("before commit: %w", err))
				return
			}
		}
	}
	changed := g.changedSince(ctx)
	if err := g.exec(ctx, "COMMIT"); err != nil {
		g.rollback()
		g.err = err
		err = fmt.Errorf("commit: %w", err)
		if vigil.ErrorCode(db.formatError(err)) == vigil.EUNAVAILABLE {
			// The connection failed with COMMIT sent (or the group's
			// deadline passed meanwhile): it may have committed or not.
			err = mayHaveCommitted(err)
		}
		finish(err)
		return
	}
	if changed {
		db.writeGen.Add(1)
	}
	if committed > 0 {
		db.noteCommitted()
	}
	if db.ObserveGroup != nil {
		db.ObserveGroup(len(ops), committed)
	}
	finish(nil)
}

// allLazy reports whether every operation of a group allows a lazy commit.
func allLazy(ops []*writeOp) bool {
	for _, op := range ops {
		if !op.lazy {
			return false
		}
	}
	return true
}

// opContext is the context an operation's statements run under in a
// group: the group's deadline and cancellation, its caller's values.
type opContext struct {
	context.Context
	values context.Context
}

func (c opContext) Value(key any) any { return c.values.Value(key) }

// newTx wraps a transaction for one operation: its own actor, visibility,
// clock reading and audit queue.
func (db *DB) newTx(ctx context.Context, sqlTx *sql.Tx, write bool) *Tx {
	actor := vigil.ActorFromContext(ctx)
	tx := &Tx{
		db: db, now: vigil.TruncateTime(db.Now()), actor: actor,
		vis: vigil.VisibilityFor(actor), ctx: ctx, write: write,
	}
	if sqlTx != nil {
		tx.q, tx.sqlTx = sqlTx, sqlTx
	}
	return tx
}
