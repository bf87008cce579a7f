package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
)

// startWriters creates incidents from n goroutines, back to back, until
// the function it returns is called.
func startWriters(t *testing.T, db *DB, n int) (stop func()) {
	admin := vigil.NewContextWithActor(context.Background(), vigil.SystemActor("test"))
	done := make(chan struct{})
	var wg sync.WaitGroup
	for w := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				if err := db.Services().Incidents.CreateIncident(admin, &vigil.Incident{Title: fmt.Sprintf("Writer %d, %d", w, i)}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	return func() {
		close(done)
		wg.Wait()
	}
}

func walPages(t *testing.T, db *DB) (log, done int) {
	t.Helper()
	log, done, err := db.ckpt.checkpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return log, done
}

// openTemp opens a fresh store in a temporary folder, closed when the
// test ends (closing it twice is harmless).
func openTemp(t *testing.T) *DB {
	t.Helper()
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), FileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestCheckpointer: checkpoints copy the WAL from beside the writer (the
// writer's own automatic ones are off), and once the WAL holds enough
// pages the writer starts it over, so it does not grow without bound.
func TestCheckpointer(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	db.ckpt.stopLoop() // ticks by hand
	db.ckpt.restartPages = 50
	var autockpt int
	if err := db.BetweenWrites(ctx, func(ctx context.Context, conn *sql.Conn) error {
		return conn.QueryRowContext(ctx, `PRAGMA wal_autocheckpoint`).Scan(&autockpt)
	}); err != nil || autockpt != 0 {
		t.Errorf("the writer checkpoints itself every %d pages (%v)", autockpt, err)
	}
	admin := vigil.NewContextWithActor(ctx, vigil.SystemActor("test"))
	create := func(n int) {
		for i := range n {
			if err := db.Services().Incidents.CreateIncident(admin, &vigil.Incident{Title: fmt.Sprintf("Incident %d", i)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Writes back to back: SQLite itself starts the WAL over only for a
	// writer that begins when every page is copied, which then hardly
	// happens; the restart between two groups does it.
	stop := startWriters(t, db, 4)
	for deadline := time.Now().Add(time.Minute); ; {
		if log, _ := walPages(t, db); log >= 2000 {
			break
		}
		if time.Now().After(deadline) {
			stop()
			t.Fatal("the WAL never reached 2,000 pages")
		}
		time.Sleep(time.Millisecond)
	}
	before, _ := walPages(t, db)
	restarted := db.ckpt.tick(ctx)
	stop()
	if !restarted {
		t.Fatal("a tick did not start the WAL over")
	}
	create(1) // a write that begins after the restart
	after, _ := walPages(t, db)
	if after >= before/2 {
		t.Errorf("the WAL was not started over: %d pages after the tick, %d before", after, before)
	}
	// An idle store is not restarted again and again: the WAL keeps its
	// pages until a write starts it over.
	create(300)
	db.ckpt.restartPages = 50
	if !db.ckpt.tick(ctx) {
		t.Fatal("a tick did not start a big WAL over")
	}
	for range 3 {
		if db.ckpt.tick(ctx) {
			t.Error("an idle store's WAL was restarted again")
		}
	}
	// Below restartPages a tick only copies.
	db.ckpt.restartPages = 1 << 30
	create(5)
	if db.ckpt.tick(ctx) {
		t.Error("a tick restarted a small WAL")
	}
	if log, done := walPages(t, db); done != log || log == 0 {
		t.Errorf("after a copying tick: %d of %d pages copied", done, log)
	}
}

// TestBetweenWrites: the function runs on the write connection outside
// any transaction, while writes keep coming.
func TestBetweenWrites(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	stop := startWriters(t, db, 4)
	for range 50 {
		err := db.BetweenWrites(ctx, func(ctx context.Context, conn *sql.Conn) error {
			// Fails inside a transaction ("cannot start a transaction within a transaction").
			if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
				return err
			}
			_, err := conn.ExecContext(ctx, `ROLLBACK`)
			return err
		})
		if err != nil {
			t.Fatalf("BetweenWrites: %v", err)
		}
	}
	stop()
}
