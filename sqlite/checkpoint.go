package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"sync"
	"time"
)

// Checkpoints run beside the writer. With SQLite's automatic checkpoints
// the commit that takes the WAL past 1,000 pages also copies them into
// the database file and waits for its fsync: about one commit in thirty
// of an incident create, each ~20 ms here, which was the whole p99 of
// creates even at 250 a second. The writer connection turns them off
// (wal_autocheckpoint=0) and this goroutine runs PASSIVE checkpoints from
// a connection of its own, which never hold the write lock, so commits go
// on while the pages are copied and synced.
//
// A WAL copied in full is still not started again from its beginning
// while writes follow each other closely (SQLite restarts it only for a
// writer that began when nothing was left to copy), so it would grow
// without bound. Once it holds restartPages, the checkpointer has the
// writer run a RESTART checkpoint between two groups, after a few more
// passes: what is left to copy then is the last few milliseconds of
// commits, and the WAL starts over. Readers that hold old snapshots make it wait, up to
// restartWait, then it gives up and tries again later.

const (
	checkpointEvery = 20 * time.Millisecond
	restartPages    = 16384 // 64 MiB
	restartWait     = 20    // ms
	restartBackoff  = time.Second
)

type checkpointer struct {
	db           *sql.DB
	restartPages int
	wait         time.Time // no restart before
	restartedAt  int       // the WAL's pages at the last restart: until a write starts it over, no other
	restart      func(context.Context) (busy bool, err error)
	stop         chan struct{}
	done         chan struct{}
	stopped      sync.Once
	closed       sync.Once
}

// restartWAL runs a RESTART checkpoint on conn, waiting at most
// restartWait for readers.
func restartWAL(ctx context.Context, conn *sql.Conn) (busy bool, err error) {
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`PRAGMA busy_timeout = %d`, restartWait)); err != nil {
		return false, err
	}
	var b, log, done int
	err = conn.QueryRowContext(ctx, `PRAGMA wal_checkpoint(RESTART)`).Scan(&b, &log, &done)
	// The writer waits 10 s for a lock again (as its DSN says); the
	// pragma is tried twice, as the connection would otherwise keep 20 ms.
	reset := func() error {
		_, err := conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA busy_timeout = 10000`)
		return err
	}
	if rerr := reset(); rerr != nil {
		if rerr = reset(); rerr != nil && err == nil {
			err = fmt.Errorf("reset busy_timeout: %w", rerr)
		}
	}
	return b != 0, err
}

func startCheckpointer(path string, restart func(context.Context) (bool, error)) (*checkpointer, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "synchronous(NORMAL)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	c := &checkpointer{db: db, restartPages: restartPages, restart: restart, stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c, nil
}

func (c *checkpointer) run() {
	defer close(c.done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			c.tick(context.Background())
		}
	}
}

// tick copies the WAL into the database file and, once the WAL holds
// restartPages, has the writer start it over. It says whether it did.
func (c *checkpointer) tick(ctx context.Context) (restarted bool) {
	log, _, err := c.checkpoint(ctx)
	if err != nil || log < c.restartPages || log == c.restartedAt || time.Now().Before(c.wait) {
		return false
	}
	// Each pass copies what was committed during the one before: a few
	// passes leave the writer's pause little to copy.
	for range 3 {
		c.checkpoint(ctx)
	}
	if busy, err := c.restart(ctx); err != nil || busy {
		c.wait = time.Now().Add(restartBackoff)
		return false
	}
	// The WAL keeps its pages until the next write starts it over: an
	// idle store must not be restarted again every tick.
	c.restartedAt, _, _ = c.checkpoint(ctx)
	return true
}

// checkpoint copies what it can of the WAL into the database file. It
// returns the WAL's pages and how many of them are in the file now.
func (c *checkpointer) checkpoint(ctx context.Context) (log, done int, err error) {
	var busy int
	if err := c.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &log, &done); err != nil {
		return 0, 0, fmt.Errorf("checkpoint: %w", err)
	}
	return log, done, nil
}

// stopLoop stops the checkpoints in the background.
func (c *checkpointer) stopLoop() {
	c.stopped.Do(func() {
		close(c.stop)
		<-c.done
	})
}

func (c *checkpointer) close() error {
	c.stopLoop()
	var err error
	c.closed.Do(func() { err = c.db.Close() })
	return err
}
