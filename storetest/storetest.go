// Package storetest is the conformance suite that every Vigil store must
// pass. package sqlite and package postgres call Run with an opener that
// returns a fresh, migrated store, so the two cannot drift: a behaviour is
// specified once, here, and checked against both engines.
package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
)

// Store is a fresh store under test.
type Store struct {
	vigil.Services
	// Engine is "sqlite" or "postgres".
	Engine string
	// SetNow replaces the store's clock.
	SetNow func(func() time.Time)
	// Exec runs raw SQL with ? placeholders behind Vigil's back, for the
	// tests that tamper with rows as an attacker with database access would.
	Exec func(ctx context.Context, q string, args ...any) (sql.Result, error)
	// FillScopeKeys runs the start-up work that gives rows stored before
	// scope keys existed theirs.
	FillScopeKeys func(context.Context) error
	// EvidenceDir is the folder of the store's blob store (package blob's
	// layout: sha256/ab/cdef…), for the tests that tamper with files.
	EvidenceDir string
	// Twin, if set, opens a second instance on the same database, as
	// several Vigil processes behind a load balancer share one PostgreSQL.
	Twin func(t *testing.T) *Store
}

// Opener returns a fresh, migrated store; it registers its own cleanup.
type Opener func(t *testing.T) *Store

// Run runs the whole suite.
func Run(t *testing.T, open Opener) {
	t.Run("Incident", func(t *testing.T) { testIncident(t, open) })
	t.Run("Transition", func(t *testing.T) { testTransition(t, open) })
	t.Run("List", func(t *testing.T) { testList(t, open) })
	t.Run("Visibility", func(t *testing.T) { testVisibility(t, open) })
	t.Run("Timeline", func(t *testing.T) { testTimeline(t, open) })
	t.Run("Task", func(t *testing.T) { testTask(t, open) })
	t.Run("Comment", func(t *testing.T) { testComment(t, open) })
	t.Run("Observable", func(t *testing.T) { testObservable(t, open) })
	t.Run("Link", func(t *testing.T) { testLink(t, open) })
	t.Run("Member", func(t *testing.T) { testMember(t, open) })
	t.Run("Search", func(t *testing.T) { testSearch(t, open) })
	t.Run("User", func(t *testing.T) { testUser(t, open) })
	t.Run("Auth", func(t *testing.T) { testAuth(t, open) })
	t.Run("Audit", func(t *testing.T) { testAudit(t, open) })
	t.Run("Report", func(t *testing.T) { testReport(t, open) })
	t.Run("Alert", func(t *testing.T) { testAlert(t, open) })
	t.Run("AlertIsolation", func(t *testing.T) { testAlertIsolation(t, open) })
	t.Run("AlertTwoInstances", func(t *testing.T) { testAlertTwoInstances(t, open) })
	t.Run("View", func(t *testing.T) { testView(t, open) })
	t.Run("Duty", func(t *testing.T) { testDuty(t, open) })
	t.Run("Contact", func(t *testing.T) { testContact(t, open) })
	t.Run("DutyPacks", func(t *testing.T) { testDutyPacks(t, open) })
	t.Run("Notify", func(t *testing.T) { testNotify(t, open) })
	t.Run("ClassifiedClock", func(t *testing.T) { testClassifiedClock(t, open) })
	t.Run("Sharing", func(t *testing.T) { testSharing(t, open) })
	t.Run("SharingBatches", func(t *testing.T) { testSharingBatches(t, open) })
	t.Run("SharingDateAddedGaps", func(t *testing.T) { testSharingDateAddedGaps(t, open) })
	t.Run("ServerKey", func(t *testing.T) { testServerKey(t, open) })
	t.Run("SharingHiddenVersions", func(t *testing.T) { testSharingHiddenVersions(t, open) })
	t.Run("FeedSchedule", func(t *testing.T) { testFeedSchedule(t, open) })
	t.Run("IOC", func(t *testing.T) { testIOC(t, open) })
	t.Run("IOCNotify", func(t *testing.T) { testIOCNotify(t, open) })
	t.Run("IOCScopeBackfill", func(t *testing.T) { testIOCScopeBackfill(t, open) })
	t.Run("IOCDeleteVersion", func(t *testing.T) { testIOCDeleteVersion(t, open) })
	t.Run("IOCUnsettledVersion", func(t *testing.T) { testIOCUnsettledVersion(t, open) })
	t.Run("Evidence", func(t *testing.T) { testEvidence(t, open) })
	t.Run("EvidenceTamper", func(t *testing.T) { testEvidenceTamper(t, open) })
	t.Run("Plan", func(t *testing.T) { testPlan(t, open) })
	t.Run("PlanReminder", func(t *testing.T) { testPlanReminder(t, open) })
	t.Run("Review", func(t *testing.T) { testReview(t, open) })
	t.Run("Recovery", func(t *testing.T) { testRecovery(t, open) })
	t.Run("Exercise", func(t *testing.T) { testExercise(t, open) })
	t.Run("Metrics", func(t *testing.T) { testMetrics(t, open) })
}

// SystemContext returns a context acting as the system (CLI).
func SystemContext(tb testing.TB) context.Context {
	tb.Helper()
	return vigil.NewContextWithActor(context.Background(), vigil.SystemActor("test"))
}

var userSeq atomic.Int64

// MustCreateUser creates a user with role and returns it with a context
// acting as that user.
func MustCreateUser(tb testing.TB, s *Store, role vigil.Role) (context.Context, *vigil.User) {
	tb.Helper()
	n := userSeq.Add(1)
	u := &vigil.User{Username: fmt.Sprintf("%s%d", role, n), Name: fmt.Sprintf("%s %d", role, n), Role: role}
	if err := s.Users.CreateUser(SystemContext(tb), u, "correct horse battery staple"); err != nil {
		tb.Fatalf("CreateUser: %v", err)
	}
	return ActorContext(u), u
}

// ActorContext returns a context acting as u through a session.
func ActorContext(u *vigil.User) context.Context {
	return vigil.NewContextWithActor(context.Background(), &vigil.Actor{UserID: u.ID, Username: u.Username, Name: u.Name, Role: u.Role})
}

// MustCreateIncident creates an incident, filling a title if it has none.
func MustCreateIncident(tb testing.TB, ctx context.Context, s *Store, inc *vigil.Incident) *vigil.Incident {
	tb.Helper()
	if inc.Title == "" {
		inc.Title = "Suspicious login to payroll"
	}
	if err := s.Incidents.CreateIncident(ctx, inc); err != nil {
		tb.Fatalf("CreateIncident: %v", err)
	}
	return inc
}

// MustFindIncident reloads an incident.
func MustFindIncident(tb testing.TB, ctx context.Context, s *Store, id int64) *vigil.Incident {
	tb.Helper()
	inc, err := s.Incidents.FindIncidentByID(ctx, id)
	if err != nil {
		tb.Fatalf("FindIncidentByID(%d): %v", id, err)
	}
	return inc
}

// wantCode fails the test unless err has the code.
func wantCode(tb testing.TB, err error, code string) {
	tb.Helper()
	if got := vigil.ErrorCode(err); got != code {
		tb.Fatalf("ErrorCode = %q, want %q (err: %v)", got, code, err)
	}
}

// wantField fails the test unless err is EINVALID naming field.
func wantField(tb testing.TB, err error, field string) {
	tb.Helper()
	wantCode(tb, err, vigil.EINVALID)
	for _, f := range vigil.ErrorFields(err) {
		if f.Field == field {
			return
		}
	}
	tb.Fatalf("error names fields %v, want %q", vigil.ErrorFields(err), field)
}

func ptr[T any](v T) *T { return &v }

// clock is a settable clock for the store.
type clock struct{ t atomic.Pointer[time.Time] }

func newClock(s *Store, start time.Time) *clock {
	c := &clock{}
	c.set(start)
	s.SetNow(c.now)
	return c
}

func (c *clock) now() time.Time      { return *c.t.Load() }
func (c *clock) set(t time.Time)     { c.t.Store(&t) }
func (c *clock) add(d time.Duration) { c.set(c.now().Add(d)) }
