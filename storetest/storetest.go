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
	// SetOutboundAllow replaces the allow-list that channels' and feeds'
	// destinations are checked against (none by default).
	SetOutboundAllow func(vigil.OutboundAllow)
	// Exec runs raw SQL with ? placeholders behind Vigil's back, for the
	// tests that tamper with rows as an attacker with database access would.
	Exec func(ctx context.Context, q string, args ...any) (sql.Result, error)
	// FillScopeKeys runs the start-up work that gives rows stored before
	// scope keys existed theirs.
	FillScopeKeys func(context.Context) error
	// QueryRow reads one row straight from the database (? placeholders),
	// as an attacker with a copy of it would.
	QueryRow func(ctx context.Context, q string, args ...any) *sql.Row
	// SealSecrets runs the start-up work that seals secrets stored before
	// sealing began.
	SealSecrets func(context.Context) (int, error)
	// EvidenceDir is the folder of the store's blob store (package blob's
	// layout: sha256/ab/cdef…), for the tests that tamper with files.
	EvidenceDir string
	// Twin, if set, opens a second instance on the same database, as
	// several Vigil processes behind a load balancer share one PostgreSQL.
	Twin func(t *testing.T) *Store
	// Migrate, if set, moves the schema to the version (down or up)
	// behind the store's back, for the tests of a migration's data.
	Migrate func(ctx context.Context, version int64) error
}

// Opener returns a fresh, migrated store; it registers its own cleanup.
type Opener func(t *testing.T) *Store

// suite is every conformance test, by name.
var suite = []struct {
	name string
	test func(*testing.T, Opener)
}{
	{"Incident", testIncident},
	{"Transition", testTransition},
	{"List", testList},
	{"Visibility", testVisibility},
	{"Organisations", testOrganisations},
	{"OrganisationLeaks", testOrganisationLeaks},
	{"Advisory", testAdvisory},
	{"AdvisoryVisibility", testAdvisoryVisibility},
	{"AdvisoryFromIncident", testAdvisoryFromIncident},
	{"AdvisoryResponses", testAdvisoryResponses},
	{"Timeline", testTimeline},
	{"Task", testTask},
	{"Close", testClose},
	{"Comment", testComment},
	{"Observable", testObservable},
	{"Link", testLink},
	{"UnseenReferences", testUnseenReferences},
	{"Member", testMember},
	{"Search", testSearch},
	{"User", testUser},
	{"OIDC", testOIDC},
	{"Auth", testAuth},
	{"Sessions", testSessions},
	{"MFA", testMFA},
	{"Audit", testAudit},
	{"Anchor", testAnchor},
	{"Report", testReport},
	{"ReportByOrganisation", testReportByOrganisation},
	{"Alert", testAlert},
	{"AlertIsolation", testAlertIsolation},
	{"AlertTwoInstances", testAlertTwoInstances},
	{"View", testView},
	{"Duty", testDuty},
	{"Contact", testContact},
	{"DutyPacks", testDutyPacks},
	{"Notify", testNotify},
	{"ClassifiedClock", testClassifiedClock},
	{"DutyLateClassification", testLateClassification},
	{"DutyNIS2Significant", testNIS2Significant},
	{"DutyCorrectedAfterSubmission", testDutyCorrectedAfterSubmission},
	{"DutyMigration", testDutiesMigration},
	{"DutyOnRequest", testDutyOnRequest},
	{"DutyVoluntaryThreat", testDutyVoluntaryThreat},
	{"DutyWeekendRelief", testDutyWeekendRelief},
	{"DutyRequestedAgain", testDutyRequestedAgain},
	{"DutyRoundsMigration", testDutyRoundsMigration},
	{"Sharing", testSharing},
	{"SharingBatches", testSharingBatches},
	{"SharingDateAddedGaps", testSharingDateAddedGaps},
	{"ServerKey", testServerKey},
	{"SecretsAtRest", testSecretsAtRest},
	{"SharingHiddenVersions", testSharingHiddenVersions},
	{"FeedSchedule", testFeedSchedule},
	{"OutboundDestinations", testOutboundDestinations},
	{"IOC", testIOC},
	{"IOCNotify", testIOCNotify},
	{"IOCScopeBackfill", testIOCScopeBackfill},
	{"IOCDeleteVersion", testIOCDeleteVersion},
	{"IOCUnsettledVersion", testIOCUnsettledVersion},
	{"Evidence", testEvidence},
	{"Mailboxes", testMailboxes},
	{"EvidenceTamper", testEvidenceTamper},
	{"Plan", testPlan},
	{"PlanReminder", testPlanReminder},
	{"PlanStarterRevision", testPlanStarterRevision},
	{"Review", testReview},
	{"Recovery", testRecovery},
	{"Exercise", testExercise},
	{"Metrics", testMetrics},
	{"Idempotency", testIdempotency},
	{"IdempotencyApplied", testIdempotencyApplied},
	{"IdempotencyTwoInstances", testIdempotencyTwoInstances},
}

// Run runs the whole suite. Each test opens its own store, so they run
// in parallel.
func Run(t *testing.T, open Opener) {
	for _, c := range suite {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.test(t, open)
		})
	}
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
