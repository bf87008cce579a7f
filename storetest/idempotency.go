package storetest

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/vigil-ir/vigil"
)

// mustReserve reserves k and fails the test unless it got a reservation.
func mustReserve(tb testing.TB, ctx context.Context, s *Store, k vigil.IdempotencyKey) string {
	tb.Helper()
	token, a, err := s.Idempotency.ReserveKey(ctx, k)
	if err != nil || token == "" || a != nil {
		tb.Fatalf("ReserveKey(%+v) = %q, %+v, %v, want a reservation", k, token, a, err)
	}
	return token
}

// wantAnswer reserves k and fails the test unless it got want back.
func wantAnswer(tb testing.TB, ctx context.Context, s *Store, k vigil.IdempotencyKey, want *vigil.IdempotentAnswer) {
	tb.Helper()
	token, a, err := s.Idempotency.ReserveKey(ctx, k)
	if err != nil || token != "" {
		tb.Fatalf("ReserveKey(%+v) = %q, %+v, %v, want the answer", k, token, a, err)
	}
	if diff := cmp.Diff(want, a, cmpopts.EquateEmpty()); diff != "" {
		tb.Errorf("answer (-want +got):\n%s", diff)
	}
}

func testIdempotency(t *testing.T, open Opener) {
	created := &vigil.IdempotentAnswer{Fingerprint: "application/json sha256:0a1b", RequestSize: 42, Status: 201,
		Header: map[string]string{"Content-Type": "application/json", "Location": "/api/v1/incidents/1"},
		Body:   []byte(`{"id":1,"title":"Phishing"}` + "\n"), Grants: []string{"user:read", "incident:create@1"}}
	k := vigil.IdempotencyKey{Target: "POST /api/v1/incidents", Key: "8e03978e-40d5-43e8-bc93-6894a57f9324"}

	t.Run("OK", func(t *testing.T) {
		s := open(t)
		ctx, _ := MustCreateUser(t, s, vigil.RoleResponder)
		token := mustReserve(t, ctx, s, k)
		// While the request runs, the key is taken.
		_, _, err := s.Idempotency.ReserveKey(ctx, k)
		wantCode(t, err, vigil.ECONFLICT)
		if err := s.Idempotency.ExtendKey(ctx, k, token); err != nil {
			t.Fatalf("ExtendKey: %v", err)
		}
		if err := s.Idempotency.CompleteKey(ctx, k, token, created); err != nil {
			t.Fatalf("CompleteKey: %v", err)
		}
		// Every retry gets the answer, exactly.
		wantAnswer(t, ctx, s, k, created)
		wantAnswer(t, ctx, s, k, created)
		// A finished reservation cannot be completed again, nor released.
		wantCode(t, s.Idempotency.CompleteKey(ctx, k, token, created), vigil.ECONFLICT)
		if err := s.Idempotency.ReleaseKey(ctx, k, token); err != nil {
			t.Fatalf("ReleaseKey after the answer: %v", err)
		}
		wantAnswer(t, ctx, s, k, created)

		// An answer without headers or body comes back as one.
		k := vigil.IdempotencyKey{Target: "POST /api/v1/evidence/1/transfers", Key: "empty"}
		token = mustReserve(t, ctx, s, k)
		if err := s.Idempotency.CompleteKey(ctx, k, token, &vigil.IdempotentAnswer{Fingerprint: "x", Status: 204}); err != nil {
			t.Fatal(err)
		}
		wantAnswer(t, ctx, s, k, &vigil.IdempotentAnswer{Fingerprint: "x", Status: 204})

		for _, key := range []string{"", "new\nline", string(make([]byte, vigil.MaxIdempotencyKey+1))} {
			_, _, err := s.Idempotency.ReserveKey(ctx, vigil.IdempotencyKey{Target: k.Target, Key: key})
			wantField(t, err, "Idempotency-Key")
		}
	})

	t.Run("Scopes", func(t *testing.T) {
		s := open(t)
		ctx, u := MustCreateUser(t, s, vigil.RoleResponder)
		other, _ := MustCreateUser(t, s, vigil.RoleResponder)
		token := mustReserve(t, ctx, s, k)
		if err := s.Idempotency.CompleteKey(ctx, k, token, created); err != nil {
			t.Fatal(err)
		}
		// Another user's key, the same user's API token, the anonymous
		// namespace and another route are each a key of their own: none
		// sees the answer.
		viaToken := vigil.NewContextWithActor(context.Background(), &vigil.Actor{UserID: u.ID, Username: u.Username, Role: u.Role, TokenID: 99,
			Scopes: []vigil.Scope{vigil.ScopeRead, vigil.ScopeWrite}})
		anonymous := context.Background()
		for name, c := range map[string]struct {
			ctx context.Context
			k   vigil.IdempotencyKey
		}{
			"OtherUser": {other, k},
			"Token":     {viaToken, k},
			"Anonymous": {anonymous, k},
			"Target":    {ctx, vigil.IdempotencyKey{Target: "POST /api/v1/incidents/1/tasks", Key: k.Key}},
			"Key":       {ctx, vigil.IdempotencyKey{Target: k.Target, Key: k.Key + "-2"}},
		} {
			mustReserve(t, c.ctx, s, c.k)
			_, _, err := s.Idempotency.ReserveKey(c.ctx, c.k)
			if vigil.ErrorCode(err) != vigil.ECONFLICT {
				t.Errorf("%s: second ReserveKey = %v, want ECONFLICT", name, err)
			}
		}
		wantAnswer(t, ctx, s, k, created)
	})

	t.Run("Release", func(t *testing.T) {
		s := open(t)
		ctx, _ := MustCreateUser(t, s, vigil.RoleResponder)
		token := mustReserve(t, ctx, s, k)
		// Only the reservation's own token releases it.
		if err := s.Idempotency.ReleaseKey(ctx, k, "someone else's"); err != nil {
			t.Fatal(err)
		}
		_, _, err := s.Idempotency.ReserveKey(ctx, k)
		wantCode(t, err, vigil.ECONFLICT)
		if err := s.Idempotency.ReleaseKey(ctx, k, token); err != nil {
			t.Fatal(err)
		}
		// Released (the request failed with a 5xx): a retry runs it again.
		again := mustReserve(t, ctx, s, k)
		if again == token {
			t.Errorf("the new reservation has the old token")
		}
		wantCode(t, s.Idempotency.CompleteKey(ctx, k, token, created), vigil.ECONFLICT)
		wantCode(t, s.Idempotency.ExtendKey(ctx, k, token), vigil.ECONFLICT)
	})

	t.Run("LeaseRunsOut", func(t *testing.T) {
		s := open(t)
		clk := newClock(s, time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
		ctx, _ := MustCreateUser(t, s, vigil.RoleResponder)
		token := mustReserve(t, ctx, s, k)
		// Renewed, the reservation holds past its first lease.
		clk.add(vigil.IdempotencyLease - time.Second)
		if err := s.Idempotency.ExtendKey(ctx, k, token); err != nil {
			t.Fatal(err)
		}
		clk.add(vigil.IdempotencyLease - time.Second)
		_, _, err := s.Idempotency.ReserveKey(ctx, k)
		wantCode(t, err, vigil.ECONFLICT)
		// Its process died: once the lease has run out, a retry takes the
		// key, and the dead request can no longer record or renew.
		clk.add(2 * time.Second)
		retry := mustReserve(t, ctx, s, k)
		wantCode(t, s.Idempotency.ExtendKey(ctx, k, token), vigil.ECONFLICT)
		wantCode(t, s.Idempotency.CompleteKey(ctx, k, token, created), vigil.ECONFLICT)
		if err := s.Idempotency.CompleteKey(ctx, k, retry, created); err != nil {
			t.Fatal(err)
		}
		wantAnswer(t, ctx, s, k, created)
	})

	t.Run("AnswerExpires", func(t *testing.T) {
		s := open(t)
		clk := newClock(s, time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
		ctx, _ := MustCreateUser(t, s, vigil.RoleResponder)
		token := mustReserve(t, ctx, s, k)
		clk.add(10 * time.Second) // the request ran for a while
		if err := s.Idempotency.CompleteKey(ctx, k, token, created); err != nil {
			t.Fatal(err)
		}
		// Kept for a day from the answer, not from the reservation.
		clk.add(vigil.IdempotencyTTL - time.Second)
		wantAnswer(t, ctx, s, k, created)
		clk.add(2 * time.Second)
		mustReserve(t, ctx, s, k) // a new request
	})

	t.Run("Prune", func(t *testing.T) {
		s := open(t)
		clk := newClock(s, time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
		ctx, _ := MustCreateUser(t, s, vigil.RoleResponder)
		done := mustReserve(t, ctx, s, k)
		if err := s.Idempotency.CompleteKey(ctx, k, done, created); err != nil {
			t.Fatal(err)
		}
		mustReserve(t, ctx, s, vigil.IdempotencyKey{Target: k.Target, Key: "dead"}) // never completed
		count := func() int64 {
			t.Helper()
			// An UPDATE that changes nothing counts the rows on both engines.
			r, err := s.Exec(t.Context(), `UPDATE idempotency_keys SET state = state`)
			if err != nil {
				t.Fatal(err)
			}
			n, _ := r.RowsAffected()
			return n
		}
		if _, err := s.Worker.Schedule(workerCtx(), clk.now(), 0); err != nil {
			t.Fatal(err)
		}
		if n := count(); n != 2 {
			t.Fatalf("%d keys after a schedule that pruned nothing, want 2", n)
		}
		clk.add(vigil.IdempotencyLease + time.Second)
		if _, err := s.Worker.Schedule(workerCtx(), clk.now(), 0); err != nil {
			t.Fatal(err)
		}
		if n := count(); n != 1 {
			t.Errorf("%d keys after the lease ran out, want 1 (the dead reservation pruned)", n)
		}
		clk.add(vigil.IdempotencyTTL)
		if _, err := s.Worker.Schedule(workerCtx(), clk.now(), 0); err != nil {
			t.Fatal(err)
		}
		if n := count(); n != 0 {
			t.Errorf("%d keys a day later, want 0", n)
		}
	})

	t.Run("Race", func(t *testing.T) {
		s := open(t)
		ctx, _ := MustCreateUser(t, s, vigil.RoleResponder)
		tokens, conflicts := raceReserve(t, []*Store{s}, ctx, k, 16)
		if tokens != 1 || conflicts != 15 {
			t.Errorf("16 racing reservations: %d won and %d conflicted, want 1 and 15", tokens, conflicts)
		}
	})

}

// raceReserve reserves k n times at once, spread over stores, and counts
// the reservations and the conflicts.
func raceReserve(t *testing.T, stores []*Store, ctx context.Context, k vigil.IdempotencyKey, n int) (tokens, conflicts int) {
	t.Helper()
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		start = make(chan struct{})
	)
	for i := range n {
		wg.Go(func() {
			<-start
			token, a, err := stores[i%len(stores)].Idempotency.ReserveKey(ctx, k)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && token != "" && a == nil:
				tokens++
			case vigil.ErrorCode(err) == vigil.ECONFLICT:
				conflicts++
			default:
				t.Errorf("ReserveKey = %q, %+v, %v", token, a, err)
			}
		})
	}
	close(start)
	wg.Wait()
	return tokens, conflicts
}

// testIdempotencyTwoInstances checks keys across two instances on one
// database: a retry sent to the other instance (a load balancer's choice)
// gets the first answer, and requests racing on both take the key once.
func testIdempotencyTwoInstances(t *testing.T, open Opener) {
	s := open(t)
	if s.Twin == nil {
		t.Skip("one instance per database on " + s.Engine)
	}
	twin := s.Twin(t)
	ctx, _ := MustCreateUser(t, s, vigil.RoleResponder)
	k := vigil.IdempotencyKey{Target: "POST /api/v1/incidents", Key: "retry-elsewhere"}
	token := mustReserve(t, ctx, s, k)
	_, _, err := twin.Idempotency.ReserveKey(ctx, k)
	wantCode(t, err, vigil.ECONFLICT) // still running on the first instance
	a := &vigil.IdempotentAnswer{Fingerprint: "application/json sha256:77", RequestSize: 9, Status: 201,
		Header: map[string]string{"Location": "/api/v1/incidents/7"}, Body: []byte(`{"id":7}`)}
	if err := s.Idempotency.CompleteKey(ctx, k, token, a); err != nil {
		t.Fatal(err)
	}
	wantAnswer(t, ctx, twin, k, a)

	for i := range 5 {
		k := vigil.IdempotencyKey{Target: k.Target, Key: "race-" + string(rune('a'+i))}
		tokens, conflicts := raceReserve(t, []*Store{s, twin}, ctx, k, 8)
		if tokens != 1 || conflicts != 7 {
			t.Errorf("8 reservations racing on two instances: %d won and %d conflicted, want 1 and 7", tokens, conflicts)
		}
	}
}

// countTitled counts the incidents titled title, behind the services' back.
func countTitled(tb testing.TB, s *Store, title string) int {
	tb.Helper()
	var n int
	if err := s.QueryRow(context.Background(), `SELECT count(*) FROM incidents WHERE title = ?`, title).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}

// testIdempotencyApplied checks that a write made under a key's claim
// marks the key in its own transaction: once it has committed, a retry is
// never given the key to run the request again, even if its answer was
// never recorded (the connection failed as it committed); while it has
// not, the key is free again once released.
func testIdempotencyApplied(t *testing.T, open Opener) {
	k := vigil.IdempotencyKey{Target: "POST /api/v1/incidents", Key: "a3a0f3b6-5d1e-4a39-9d8e-0c44a0b5f0aa"}

	t.Run("AnswerLost", func(t *testing.T) {
		s := open(t)
		ctx, _ := MustCreateUser(t, s, vigil.RoleResponder)
		token := mustReserve(t, ctx, s, k)
		claimed := vigil.NewContextWithIdempotencyClaim(vigil.NewContextWithRequestID(ctx, "req-first"), k, token)
		MustCreateIncident(t, claimed, s, &vigil.Incident{Title: "Applied once"})
		// Still running: a retry waits.
		_, _, err := s.Idempotency.ReserveKey(ctx, k)
		wantCode(t, err, vigil.ECONFLICT)
		// Its answer is lost (a 503), so the request releases the key;
		// applied, the key is not freed, and a retry hears so.
		if err := s.Idempotency.ReleaseKey(ctx, k, token); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			_, a, err := s.Idempotency.ReserveKey(ctx, k)
			wantCode(t, err, vigil.EANSWERLOST)
			if a != nil || !strings.Contains(vigil.ErrorMessage(err), "req-first") {
				t.Errorf("ReserveKey = %+v, %v; want no answer and the first request's ID", a, err)
			}
		}
		if n := countTitled(t, s, "Applied once"); n != 1 {
			t.Errorf("%d incidents, want 1", n)
		}
		// Another key is another request.
		mustReserve(t, ctx, s, vigil.IdempotencyKey{Target: k.Target, Key: "another"})
	})

	t.Run("AnswerRecorded", func(t *testing.T) {
		s := open(t)
		ctx, _ := MustCreateUser(t, s, vigil.RoleResponder)
		token := mustReserve(t, ctx, s, k)
		claimed := vigil.NewContextWithIdempotencyClaim(ctx, k, token)
		// Two writes under one claim (the first marks, the second finds
		// it marked), then the answer.
		MustCreateIncident(t, claimed, s, &vigil.Incident{Title: "First write"})
		MustCreateIncident(t, claimed, s, &vigil.Incident{Title: "Second write"})
		if err := s.Idempotency.ExtendKey(ctx, k, token); err != nil {
			t.Fatalf("ExtendKey after a write: %v", err)
		}
		a := &vigil.IdempotentAnswer{Fingerprint: "application/json sha256:01", RequestSize: 30, Status: 201, Body: []byte(`{"id":1}`),
			Grants: []string{"incident:create@1"}}
		if err := s.Idempotency.CompleteKey(ctx, k, token, a); err != nil {
			t.Fatalf("CompleteKey after a write: %v", err)
		}
		wantAnswer(t, ctx, s, k, a)
		// Recorded, the claim is spent: a write still under it fails
		// and does nothing.
		_, err := writeTitled(claimed, s, "After the answer")
		wantCode(t, err, vigil.ECONFLICT)
		if n := countTitled(t, s, "After the answer"); n != 0 {
			t.Errorf("a write under a spent claim was applied")
		}
	})

	t.Run("FailedWriteLeavesKeyFree", func(t *testing.T) {
		s := open(t)
		ctx, _ := MustCreateUser(t, s, vigil.RoleResponder)
		token := mustReserve(t, ctx, s, k)
		claimed := vigil.NewContextWithIdempotencyClaim(ctx, k, token)
		_, err := writeTitled(claimed, s, "") // refused: no title
		wantCode(t, err, vigil.EINVALID)
		if err := s.Idempotency.ReleaseKey(ctx, k, token); err != nil {
			t.Fatal(err)
		}
		retry := mustReserve(t, ctx, s, k)
		MustCreateIncident(t, vigil.NewContextWithIdempotencyClaim(ctx, k, retry), s, &vigil.Incident{Title: "Retried"})
		if n := countTitled(t, s, "Retried"); n != 1 {
			t.Errorf("%d incidents, want 1", n)
		}
	})

	t.Run("ClaimLost", func(t *testing.T) {
		s := open(t)
		clk := newClock(s, time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
		ctx, _ := MustCreateUser(t, s, vigil.RoleResponder)
		token := mustReserve(t, ctx, s, k)
		// The first request stalls past its lease; a retry takes the key.
		clk.add(vigil.IdempotencyLease + time.Second)
		retry := mustReserve(t, ctx, s, k)
		// The first request's write then fails, without effect: only one
		// of the two may apply.
		_, err := writeTitled(vigil.NewContextWithIdempotencyClaim(ctx, k, token), s, "Stalled")
		wantCode(t, err, vigil.ECONFLICT)
		if n := countTitled(t, s, "Stalled"); n != 0 {
			t.Errorf("the stalled request's write was applied after its key was taken")
		}
		MustCreateIncident(t, vigil.NewContextWithIdempotencyClaim(ctx, k, retry), s, &vigil.Incident{Title: "Retry"})
	})

	t.Run("OtherActor", func(t *testing.T) {
		s := open(t)
		// A write made as another actor (a service that files as the
		// system, as the public report form's does) marks the key of the
		// actor that reserved it.
		ctx, _ := MustCreateUser(t, s, vigil.RoleResponder)
		token := mustReserve(t, ctx, s, k)
		claimed := vigil.NewContextWithIdempotencyClaim(ctx, k, token)
		MustCreateIncident(t, vigil.NewContextWithActor(claimed, vigil.SystemActor("test")), s, &vigil.Incident{Title: "As the system"})
		if err := s.Idempotency.ReleaseKey(ctx, k, token); err != nil {
			t.Fatal(err)
		}
		_, _, err := s.Idempotency.ReserveKey(ctx, k)
		wantCode(t, err, vigil.EANSWERLOST)
	})

	t.Run("ProcessDied", func(t *testing.T) {
		s := open(t)
		clk := newClock(s, time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
		ctx, _ := MustCreateUser(t, s, vigil.RoleResponder)
		token := mustReserve(t, ctx, s, k)
		MustCreateIncident(t, vigil.NewContextWithIdempotencyClaim(ctx, k, token), s, &vigil.Incident{Title: "Then it died"})
		// Renewed, the applied key is held past its first lease.
		clk.add(vigil.IdempotencyLease - time.Second)
		if err := s.Idempotency.ExtendKey(ctx, k, token); err != nil {
			t.Fatal(err)
		}
		clk.add(vigil.IdempotencyLease - time.Second)
		_, _, err := s.Idempotency.ReserveKey(ctx, k)
		wantCode(t, err, vigil.ECONFLICT)
		// Its process died without recording an answer or releasing:
		// once the lease has run out a retry hears it was applied, not
		// that the key is free, and the schedule's pruning keeps it.
		clk.add(2 * time.Second)
		_, _, err = s.Idempotency.ReserveKey(ctx, k)
		wantCode(t, err, vigil.EANSWERLOST)
		if _, err := s.Worker.Schedule(workerCtx(), clk.now(), 0); err != nil {
			t.Fatal(err)
		}
		_, _, err = s.Idempotency.ReserveKey(ctx, k)
		wantCode(t, err, vigil.EANSWERLOST)
		// A day on, the key is forgotten like an answer.
		clk.add(vigil.IdempotencyTTL)
		mustReserve(t, ctx, s, k)
	})

	t.Run("MigrateDown", func(t *testing.T) {
		s := open(t)
		if s.Migrate == nil {
			t.Skip("this store cannot migrate behind its back")
		}
		ctx, _ := MustCreateUser(t, s, vigil.RoleResponder)
		token := mustReserve(t, ctx, s, k)
		MustCreateIncident(t, vigil.NewContextWithIdempotencyClaim(ctx, k, token), s, &vigil.Incident{Title: "Before a downgrade"})
		// Before 00029 a 'done' row holds an answer: the applied key goes
		// back to a reservation, which holds it rather than freeing it.
		if err := s.Migrate(t.Context(), 27); err != nil {
			t.Fatal(err)
		}
		res, err := s.Exec(t.Context(), `UPDATE idempotency_keys SET state = state WHERE state = 'running' AND status = 0`)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			t.Errorf("%d reservations after the downgrade, want 1", n)
		}
	})
}

// writeTitled creates an incident titled title, returning the error.
func writeTitled(ctx context.Context, s *Store, title string) (*vigil.Incident, error) {
	inc := &vigil.Incident{Title: title}
	return inc, s.Incidents.CreateIncident(ctx, inc)
}
