package sqlite

import (
	"context"
	"database/sql"
	"sync"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/internal/sqlstore"
)

// TestLazyCommitOnlyForLazyGroups: a dialect's LazyCommit (PostgreSQL's
// synchronous_commit=off) runs only in a group whose every operation came
// with vigil.NewContextDurableLater. Here it is a statement that counts.
func TestLazyCommitOnlyForLazyGroups(t *testing.T) {
	fresh := openTemp(t) // migrated; closed so that the store below has the one writer
	fresh.Close()
	path := fresh.Path
	w, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		t.Fatal(err)
	}
	w.SetMaxOpenConns(1)
	r, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	d := *Dialect
	d.LazyCommit = `INSERT INTO counters (name, value) VALUES ('lazy commits', 1) ON CONFLICT (name) DO UPDATE SET value = counters.value + 1`
	db := sqlstore.New(w, r, &d)
	t.Cleanup(func() { db.Close() })
	var groups []int
	var mu sync.Mutex
	db.ObserveGroup = func(ops, _ int) { mu.Lock(); groups = append(groups, ops); mu.Unlock() }
	svc := db.Services()
	sys := vigil.NewContextWithActor(context.Background(), vigil.SystemActor("test"))
	lazy := vigil.NewContextDurableLater(sys)
	lazyCommits := func() (n int) {
		err := r.QueryRow(`SELECT coalesce((SELECT value FROM counters WHERE name = 'lazy commits'), 0)`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	create := func(ctx context.Context) {
		if err := svc.Incidents.CreateIncident(ctx, &vigil.Incident{Title: "Lazy or not"}); err != nil {
			t.Error(err)
		}
	}

	create(sys)
	if n := lazyCommits(); n != 0 {
		t.Fatalf("a plain write committed lazily (%d)", n)
	}
	create(lazy)
	if n := lazyCommits(); n != 1 {
		t.Fatalf("a lazy write alone: %d lazy commits, want 1", n)
	}

	// A lazy write and a plain one in one group: the plain one decides.
	hold, held := make(chan struct{}), make(chan struct{})
	go db.BetweenWrites(sys, func(context.Context, *sql.Conn) error { close(held); <-hold; return nil })
	<-held
	mu.Lock()
	groups = nil
	mu.Unlock()
	var wg sync.WaitGroup
	for _, ctx := range []context.Context{lazy, sys} {
		wg.Add(1)
		go func() { defer wg.Done(); create(ctx) }()
	}
	time.Sleep(200 * time.Millisecond) // both queued behind the held writer
	close(hold)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(groups) != 1 || groups[0] != 2 {
		t.Fatalf("groups %v: the two writes were not grouped, so the test proves nothing", groups)
	}
	if n := lazyCommits(); n != 1 {
		t.Errorf("a group with a plain write committed lazily (%d lazy commits, want still 1)", n)
	}
}
