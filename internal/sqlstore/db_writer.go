package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"sync"

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

type writeOp struct {
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
}

func newGroupCommitter(db *DB) *groupCommitter {
	g := &groupCommitter{db: db, queue: make(chan *writeOp, 1024), stop: make(chan struct{}), done: make(chan struct{})}
	g.connect()
	go g.run()
	return g
}

// connect takes a connection for the committer, closing a broken one.
func (g *groupCommitter) connect() error {
	if g.conn != nil {
		g.stmts.close()
		g.conn.Close()
	}
	g.conn, g.err = g.db.Write.Conn(context.Background())
	g.stmts = &stmtCache{conn: g.conn}
	return g.err
}

var errClosed = errors.New("store closed")

// do queues fn and waits for its outcome.
func (g *groupCommitter) do(ctx context.Context, fn func(*Tx) error) error {
	return g.submit(&writeOp{ctx: ctx, fn: fn, lazy: vigil.DurableLater(ctx), done: make(chan error, 1)})
}

// submit queues op and waits for its outcome.
func (g *groupCommitter) submit(op *writeOp) error {
	select {
	case g.queue <- op:
	case <-op.ctx.Done():
		return op.ctx.Err()
	case <-g.stop:
		return errClosed
	}
	// Once queued, the operation runs or is skipped as a whole; waiting for
	// the answer even if ctx ends keeps callers from reporting failure for
	// a write that then commits. If the committer stopped before taking
	// it, it never will.
	select {
	case err := <-op.done:
		return err
	case <-g.done:
		select {
		case err := <-op.done:
			return err
		default:
			return errClosed
		}
	}
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
		if err := g.connect(); err != nil {
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
func (g *groupCommitter) exec(q string) error {
	ctx := context.Background()
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

// runGroup runs ops in one transaction. It first runs them back to back
// without savepoints, the cheap way, which is right whenever every one of
// them succeeds (nearly always). If one fails, the transaction is rolled
// back and the group runs again with each operation in a savepoint of its
// own, so that the failure rolls back alone. Operations must therefore not
// depend on running once: each run gets a fresh Tx, and services build
// their results inside fn.
func (g *groupCommitter) runGroup(ops []*writeOp) {
	results := make([]error, len(ops))
	finish := func(err error) {
		for i, op := range ops {
			if err != nil && results[i] == nil {
				results[i] = err
			}
			op.done <- results[i]
		}
	}
	if !g.begin(finish) {
		return
	}
	failed, ran := false, 0
	for i, op := range ops {
		if err := op.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		if err := g.runOp(op); err != nil {
			results[i] = g.db.formatError(err)
			failed = true
			break
		}
		ran++
	}
	if !failed {
		g.commit(ops, results, ran, finish)
		return
	}
	if err := g.exec("ROLLBACK"); err != nil {
		g.err = err
		finish(fmt.Errorf("rollback: %w", err))
		return
	}
	if len(ops) == 1 {
		// Alone, its failure is the group's: nothing to run again.
		finish(nil)
		return
	}
	clear(results)
	g.runGroupSavepoints(ops, results, finish)
}

// begin starts a group's transaction, replacing a lost connection first.
func (g *groupCommitter) begin(finish func(error)) bool {
	// A connection lost (a database restart) is replaced at the next group.
	if g.conn == nil || g.err != nil {
		if err := g.connect(); err != nil {
			finish(fmt.Errorf("write connection: %w", err))
			return false
		}
	}
	g.stmts.sweep()
	begin := g.db.d.BeginGroup
	if begin == "" {
		begin = "BEGIN"
	}
	if err := g.exec(begin); err != nil {
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
func (g *groupCommitter) runOp(op *writeOp) (err error) {
	// A panic in one operation fails it, not the process.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("write operation panicked: %v", p)
		}
	}()
	if g.db.RerunWrites {
		if err := g.runRolledBack(op); err != nil {
			return err
		}
	}
	tx := g.newTx(op)
	if err := op.fn(tx); err != nil {
		return err
	}
	return tx.flushAudit()
}

// newTx makes the Tx for one run of op on the committer's connection.
func (g *groupCommitter) newTx(op *writeOp) *Tx {
	// Once running, an operation is not interrupted by its caller going
	// away: a statement cancelled half-way would roll back the whole
	// group's transaction under everyone else's writes.
	tx := g.db.newTx(context.WithoutCancel(op.ctx), nil, true)
	tx.q, tx.head = g.conn, &g.head
	if g.db.d.CacheStatements {
		tx.stmts = g.stmts
	}
	return tx
}

// runRolledBack runs op in a savepoint and rolls it back, whatever its
// outcome (for RerunWrites): the run that a failed group throws away.
func (g *groupCommitter) runRolledBack(op *writeOp) error {
	if err := g.exec("SAVEPOINT rerun"); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	head := g.head
	tx := g.newTx(op)
	if err := op.fn(tx); err == nil {
		tx.flushAudit()
	}
	g.head = head
	if err := g.exec("ROLLBACK TO SAVEPOINT rerun"); err != nil {
		return fmt.Errorf("rollback to savepoint: %w", err)
	}
	if err := g.exec("RELEASE SAVEPOINT rerun"); err != nil {
		return fmt.Errorf("release savepoint: %w", err)
	}
	return nil
}

// runGroupSavepoints runs ops in one transaction, each in a savepoint.
func (g *groupCommitter) runGroupSavepoints(ops []*writeOp, results []error, finish func(error)) {
	if !g.begin(finish) {
		return
	}
	committed := 0
	for i, op := range ops {
		if err := op.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		if err := g.exec("SAVEPOINT op"); err != nil {
			g.exec("ROLLBACK")
			finish(fmt.Errorf("savepoint: %w", err))
			return
		}
		head := g.head // to restore if the operation rolls back
		if err := g.runOp(op); err != nil {
			results[i] = g.db.formatError(err)
			g.head = head
			if rerr := g.exec("ROLLBACK TO SAVEPOINT op"); rerr != nil {
				g.exec("ROLLBACK")
				finish(fmt.Errorf("rollback to savepoint: %w", rerr))
				return
			}
		} else {
			committed++
		}
		if err := g.exec("RELEASE SAVEPOINT op"); err != nil {
			g.exec("ROLLBACK")
			finish(fmt.Errorf("release savepoint: %w", err))
			return
		}
	}
	g.commit(ops, results, committed, finish)
}

// commit writes the audit chain head and commits the group.
func (g *groupCommitter) commit(ops []*writeOp, results []error, committed int, finish func(error)) {
	db := g.db
	if g.head.dirty {
		if _, err := g.conn.ExecContext(context.Background(), db.rebind(`UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1`), g.head.seq, g.head.hash); err != nil {
			g.exec("ROLLBACK")
			g.head = auditHead{}
			finish(fmt.Errorf("update audit head: %w", err))
			return
		}
		g.head.dirty = false
	}
	if db.d.LazyCommit != "" && committed > 0 && allLazy(ops) {
		if err := g.exec(db.d.LazyCommit); err != nil {
			g.exec("ROLLBACK")
			finish(fmt.Errorf("lazy commit: %w", err))
			return
		}
	}
	if committed > 0 {
		for _, q := range db.d.BeforeGroupCommit {
			if err := g.exec(q); err != nil {
				g.exec("ROLLBACK")
				finish(fmt.Errorf("before commit: %w", err))
				return
			}
		}
	}
	if err := g.exec("COMMIT"); err != nil {
		g.exec("ROLLBACK")
		g.err = err
		finish(fmt.Errorf("commit: %w", err))
		return
	}
	db.writeGen.Add(1)
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
