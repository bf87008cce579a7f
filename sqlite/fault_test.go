package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/storetest"
)

// TestWriteDeadline: a caller whose deadline passes while its write waits
// in the committer's queue withdraws it and hears that nothing was changed;
// one whose write the committer had already taken hears that it may have
// been applied, and it may indeed be.
func TestWriteDeadline(t *testing.T) {
	t.Run("Queued", func(t *testing.T) {
		db := MustOpenDB(t)
		svc := db.Services()
		// Hold the committer with an operation that waits for release.
		started, release := make(chan struct{}), make(chan struct{})
		held := make(chan error, 1)
		go func() {
			held <- db.BetweenWrites(context.Background(), func(context.Context, *sql.Conn) error {
				close(started)
				<-release
				return nil
			})
		}()
		<-started
		ctx, cancel := context.WithTimeout(storetest.SystemContext(t), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := svc.Incidents.CreateIncident(ctx, &vigil.Incident{Title: "Queued past its deadline"})
		elapsed := time.Since(start)
		close(release)
		if err := <-held; err != nil {
			t.Fatal(err)
		}
		if got, want := vigil.ErrorCode(err), vigil.EUNAVAILABLE; got != want {
			t.Fatalf("ErrorCode = %q, want %q (err: %v)", got, want, err)
		}
		if msg := vigil.ErrorMessage(err); !strings.Contains(msg, "nothing was changed") {
			t.Errorf("message = %q, want it to say nothing was changed", msg)
		}
		if vigil.RetryAfter(err) <= 0 {
			t.Error("no retry hint")
		}
		if elapsed > time.Second {
			t.Errorf("answered after %v, want about the 100ms deadline", elapsed)
		}
		// The committer is free again, and the withdrawn write never ran.
		if err := svc.Incidents.CreateIncident(storetest.SystemContext(t), &vigil.Incident{Title: "After"}); err != nil {
			t.Fatal(err)
		}
		page, err := svc.Incidents.FindIncidents(storetest.SystemContext(t), vigil.IncidentFilter{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != 1 || page.Items[0].Title != "After" {
			t.Errorf("incidents = %d (want only the one written after)", len(page.Items))
		}
	})
	t.Run("Taken", func(t *testing.T) {
		db := MustOpenDB(t)
		release := make(chan struct{})
		var ran sync.WaitGroup
		ran.Add(1)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := db.BetweenWrites(ctx, func(_ context.Context, conn *sql.Conn) error {
			defer ran.Done()
			<-release
			_, err := conn.ExecContext(context.Background(), `CREATE TABLE applied_late (x INTEGER)`)
			return err
		})
		elapsed := time.Since(start)
		close(release)
		ran.Wait()
		if got, want := vigil.ErrorCode(err), vigil.EUNAVAILABLE; got != want {
			t.Fatalf("ErrorCode = %q, want %q (err: %v)", got, want, err)
		}
		if got, want := vigil.ErrorMessage(err), "The change may have been applied; retry with the same Idempotency-Key."; got != want {
			t.Errorf("message = %q, want %q", got, want)
		}
		if elapsed > time.Second {
			t.Errorf("answered after %v, want about the 100ms deadline", elapsed)
		}
		// It was: the operation went on after its caller stopped waiting.
		var n int
		if err := db.Read.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name = 'applied_late'`).Scan(&n); err != nil || n != 1 {
			t.Errorf("the table made after the deadline: %d, %v", n, err)
		}
	})
}

// TestDatabaseFull fills the database up to a size limit SQLite enforces
// itself (PRAGMA max_page_count, which fails writes with SQLITE_FULL, as a
// full disk does) and checks that writes fail with ESTORAGEFULL, that reads
// go on, that the episode is reported once, and that writes work again
// when room is made. It does not fill a disk: cmd/vigil's TestDiskFull
// does, on a small tmpfs, where the machine allows mounting one.
func TestDatabaseFull(t *testing.T) {
	db := MustOpenDB(t)
	svc := db.Services()
	ctx := storetest.SystemContext(t)
	var mu sync.Mutex
	var events []string
	db.OnStorage = func(volume string, full bool, err error) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, fmt.Sprintf("%s full=%v", volume, full))
	}
	setMax := func(pages string) {
		t.Helper()
		err := db.BetweenWrites(ctx, func(ctx context.Context, conn *sql.Conn) error {
			_, err := conn.ExecContext(ctx, `PRAGMA max_page_count = `+pages)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	seed := &vigil.Incident{Title: "Written before the disk filled"}
	if err := svc.Incidents.CreateIncident(ctx, seed); err != nil {
		t.Fatal(err)
	}
	var pages int
	if err := db.Read.QueryRow(`PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	setMax(fmt.Sprint(pages))
	var err error
	for i := range 200 {
		err = svc.Incidents.CreateIncident(ctx, &vigil.Incident{Title: fmt.Sprintf("Incident %d", i), Summary: strings.Repeat("x", 2000)})
		if err != nil {
			break
		}
	}
	if got, want := vigil.ErrorCode(err), vigil.ESTORAGEFULL; got != want {
		t.Fatalf("ErrorCode = %q, want %q (err: %v)", got, want, err)
	}
	if got := vigil.HTTPStatus(vigil.ErrorCode(err)); got != 507 {
		t.Errorf("HTTPStatus = %d, want 507", got)
	}
	if err := db.StorageErr(); vigil.ErrorCode(err) != vigil.ESTORAGEFULL {
		t.Errorf("StorageErr = %v, want ESTORAGEFULL during the episode", err)
	}
	// A second failure is the same episode.
	if err := svc.Incidents.CreateIncident(ctx, &vigil.Incident{Title: "Another", Summary: strings.Repeat("y", 2000)}); vigil.ErrorCode(err) != vigil.ESTORAGEFULL {
		t.Errorf("second write: %v, want ESTORAGEFULL", err)
	}
	// Reads go on.
	if _, err := svc.Incidents.FindIncidentByID(ctx, seed.ID); err != nil {
		t.Errorf("read during the episode: %v", err)
	}
	// Room again: writes work, and the probe of the folder ends the episode.
	setMax("1073741823")
	if err := svc.Incidents.CreateIncident(ctx, &vigil.Incident{Title: "After room was made"}); err != nil {
		t.Fatalf("write after room was made: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for db.StorageErr() != nil && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if err := db.StorageErr(); err != nil {
		t.Errorf("StorageErr = %v after room was made, want nil", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if got, want := strings.Join(events, "; "), "database full=true; database full=false"; got != want {
		t.Errorf("OnStorage calls = %q, want %q", got, want)
	}
}

// TestPoolExhausted: a read that finds no connection free within its
// deadline is EUNAVAILABLE (503 with Retry-After), not an internal error.
func TestPoolExhausted(t *testing.T) {
	db := MustOpenDB(t)
	db.Read.SetMaxOpenConns(1)
	held, err := db.Read.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	ctx, cancel := context.WithTimeout(storetest.SystemContext(t), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = db.Services().Incidents.FindIncidentByID(ctx, 1)
	if got, want := vigil.ErrorCode(err), vigil.EUNAVAILABLE; got != want {
		t.Fatalf("ErrorCode = %q, want %q (err: %v)", got, want, err)
	}
	if vigil.RetryAfter(err) <= 0 || time.Since(start) > time.Second {
		t.Errorf("retry hint %v, answered after %v", vigil.RetryAfter(err), time.Since(start))
	}
}
