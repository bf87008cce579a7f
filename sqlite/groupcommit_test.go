package sqlite_test

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/storetest"
)

// TestGroupCommitIsolatesFailures writes many incidents at once, every
// third of them bound to fail inside its transaction (a lead who does not
// exist). Groups run without savepoints first and again with them when an
// operation fails: each failure must roll back alone, every success must be
// stored exactly once, and the audit chain must hold.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	db := MustOpenDB(t)
	svc := db.Services()
	var groups, bigGroups int
	var mu sync.Mutex
	db.ObserveGroup = func(ops, committed int) {
		mu.Lock()
		groups++
		if ops > 1 && committed < ops {
			bigGroups++
		}
		mu.Unlock()
	}
	ctx := storetest.SystemContext(t)
	const n = 300
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			inc := &vigil.Incident{Title: fmt.Sprintf("Incident %d", i)}
			if i%3 == 0 {
				ghost := int64(999999)
				inc.LeadID = &ghost
			}
			errs[i] = svc.Incidents.CreateIncident(ctx, inc)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if (i%3 == 0) != (err != nil) {
			t.Errorf("incident %d: %v", i, err)
		}
	}
	count, err := svc.Incidents.CountIncidents(ctx, vigil.IncidentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if want := n - n/3; count != want {
		t.Errorf("%d incidents stored, want %d", count, want)
	}
	v, err := svc.Audit.VerifyAudit(ctx)
	if err != nil || !v.OK || v.Checked != int64(count) {
		t.Errorf("audit: %+v %v", v, err)
	}
	t.Logf("%d groups, %d with a failure among several operations", groups, bigGroups)
	if bigGroups == 0 {
		t.Log("no group mixed failures and successes; the savepoint path went untested this run")
	}
}

// TestGroupsGrowWhenSaturated keeps one of two Ps busy, as a checkpoint's
// fsync does, while 16 callers write back to back. The committer must let
// the callers it has just answered queue their next operations before it
// takes the next group: otherwise it and one caller pass the scheduler's
// run-next slot back and forth in groups of one, and the other callers
// wait for a 10 ms preemption (the saturated create p99 on two cores).
func TestGroupsGrowWhenSaturated(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	db := MustOpenDB(t)
	svc := db.Services()
	var groups, ops atomic.Int64
	db.ObserveGroup = func(n, _ int) {
		groups.Add(1)
		ops.Add(int64(n))
	}
	ctx := storetest.SystemContext(t)
	stop := make(chan struct{})
	var busy sync.WaitGroup
	busy.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			for i := 0; i < 1e5; i++ {
				spin++
			}
		}
	})
	var wg sync.WaitGroup
	for c := range 16 {
		wg.Go(func() {
			for i := range 50 {
				if err := svc.Incidents.CreateIncident(ctx, &vigil.Incident{Title: fmt.Sprintf("Incident %d-%d", c, i)}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	busy.Wait()
	mean := float64(ops.Load()) / float64(groups.Load())
	t.Logf("%d operations in %d groups: %.1f per group", ops.Load(), groups.Load(), mean)
	if mean < 4 {
		t.Errorf("%.1f operations per group with 16 callers writing back to back; want at least 4", mean)
	}
}

var spin int

// TestReaderResetAfterWrites: a read connection frees its page cache
// before its first read after a write, and only then (see
// sqlstore.DB.beginRead).
func TestReaderResetAfterWrites(t *testing.T) {
	db := MustOpenDB(t)
	db.Read.SetMaxOpenConns(1) // one reader, so every read below uses it
	var resets atomic.Int64
	db.ObserveReaderReset = func() { resets.Add(1) }
	svc := db.Services()
	ctx := storetest.SystemContext(t)
	count := func() int {
		t.Helper()
		n, err := svc.Incidents.CountIncidents(ctx, vigil.IncidentFilter{})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := count()
	r0 := resets.Load()
	count()
	if got := resets.Load(); got != r0 {
		t.Errorf("%d resets between two reads with no write between them", got-r0)
	}
	if err := svc.Incidents.CreateIncident(ctx, &vigil.Incident{Title: "Written between reads"}); err != nil {
		t.Fatal(err)
	}
	if got := count(); got != before+1 {
		t.Errorf("read after the write counts %d incidents, want %d", got, before+1)
	}
	if got := resets.Load(); got != r0+1 {
		t.Errorf("%d resets for the first read after a write, want 1", got-r0)
	}
	count()
	if got := resets.Load(); got != r0+1 {
		t.Errorf("%d resets after a second read, want still 1", got-r0)
	}
}

// TestReaderKeepsCacheAfterEmptyWrite: a write that changes no row — the
// job poller's claim when there is no work, once a second on every server
// — does not make the readers empty their caches. It did: under that
// poller every search started cold, at 10–30 times the CPU.
func TestReaderKeepsCacheAfterEmptyWrite(t *testing.T) {
	db := MustOpenDB(t)
	db.Read.SetMaxOpenConns(1)
	var resets atomic.Int64
	db.ObserveReaderReset = func() { resets.Add(1) }
	svc := db.Services()
	ctx := storetest.SystemContext(t)
	read := func() {
		t.Helper()
		if _, err := svc.Incidents.CountIncidents(ctx, vigil.IncidentFilter{}); err != nil {
			t.Fatal(err)
		}
	}
	read()
	r0 := resets.Load()
	for range 3 {
		jobs, err := svc.Worker.ClaimJobs(ctx, "test", []string{"no-such-kind"}, 10, time.Minute)
		if err != nil || len(jobs) != 0 {
			t.Fatalf("claim: %v, %d jobs", err, len(jobs))
		}
		read()
	}
	if got := resets.Load() - r0; got != 0 {
		t.Errorf("%d reader resets after claims that changed nothing, want 0", got)
	}
	// A write that changes a row still resets the reader, once.
	if err := svc.Incidents.CreateIncident(ctx, &vigil.Incident{Title: "Changes a row"}); err != nil {
		t.Fatal(err)
	}
	read()
	if got := resets.Load() - r0; got != 1 {
		t.Errorf("%d reader resets after a write that changed rows, want 1", got)
	}
}

// TestReaderMapsTheFile: read connections use memory-mapped I/O (see dsn).
func TestReaderMapsTheFile(t *testing.T) {
	db := MustOpenDB(t)
	var n int64
	if err := db.Read.QueryRow("PRAGMA mmap_size").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n < 1<<30 {
		t.Errorf("reader mmap_size = %d, want at least 1 GiB", n)
	}
}

// TestGroupRerunAnswersOnce writes, all at once, incidents bound to fail
// (a lead who does not exist) beside writes that return what they wrote:
// one observable added, two tasks reordered. A failure runs its group again
// with savepoints, so the other writes run twice; each must still answer
// with one run's result (before writeV, AddObservables returned 2
// observables for 1 and ReorderTasks 4 tasks for 2).
func TestGroupRerunAnswersOnce(t *testing.T) {
	db := MustOpenDB(t)
	svc := db.Services()
	var mixed atomic.Int64
	db.ObserveGroup = func(ops, committed int) {
		if ops > 1 && committed < ops {
			mixed.Add(1)
		}
	}
	ctx := storetest.SystemContext(t)
	inc := &vigil.Incident{Title: "Target"}
	if err := svc.Incidents.CreateIncident(ctx, inc); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, title := range []string{"First", "Second"} {
		task := &vigil.Task{IncidentID: inc.ID, Title: title}
		if err := svc.Tasks.CreateTask(ctx, task); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, task.ID)
	}
	// Groups form by chance: go on until some mixed a failure with others.
	for round := 0; round < 50 && mixed.Load() < 5; round++ {
		var wg sync.WaitGroup
		for i := range 40 {
			wg.Go(func() {
				switch i % 4 {
				case 0, 2:
					ghost := int64(999999)
					svc.Incidents.CreateIncident(ctx, &vigil.Incident{Title: "Doomed", LeadID: &ghost})
				case 1:
					obs, err := svc.Observables.AddObservables(ctx, inc.ID, []*vigil.Observable{
						{Type: vigil.ObsIPv4, Value: fmt.Sprintf("192.0.2.%d", round*10+i/4+1)}})
					if err != nil || len(obs) != 1 {
						t.Errorf("AddObservables returned %d observables for 1 (%v)", len(obs), err)
					}
				case 3:
					order := ids
					if i%8 == 3 {
						order = []int64{ids[1], ids[0]}
					}
					tasks, err := svc.Tasks.ReorderTasks(ctx, inc.ID, order)
					if err != nil || len(tasks) != 2 {
						t.Errorf("ReorderTasks returned %d tasks for 2 (%v)", len(tasks), err)
					}
				}
			})
		}
		wg.Wait()
	}
	if mixed.Load() == 0 {
		t.Fatal("no group mixed a failure with other writes: nothing was run again")
	}
}
