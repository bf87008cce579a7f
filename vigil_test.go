package vigil_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vigil-ir/vigil"
)

func TestTransitions(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		from, to vigil.Status
		ok       bool
	}{
		{vigil.StatusTriage, vigil.StatusConfirmed, true},
		{vigil.StatusTriage, vigil.StatusNotIncident, true},
		{vigil.StatusTriage, vigil.StatusPolice, true},
		{vigil.StatusTriage, vigil.StatusReportFraud, true},
		{vigil.StatusTriage, vigil.StatusContained, false},
		{vigil.StatusTriage, vigil.StatusClosed, false},
		{vigil.StatusConfirmed, vigil.StatusContained, true},
		{vigil.StatusConfirmed, vigil.StatusTriage, false},
		{vigil.StatusContained, vigil.StatusRecovered, true},
		{vigil.StatusRecovered, vigil.StatusClosed, true},
		{vigil.StatusClosed, vigil.StatusReviewed, true},
		{vigil.StatusClosed, vigil.StatusConfirmed, true},
		{vigil.StatusReviewed, vigil.StatusClosed, false},
		{vigil.StatusNotIncident, vigil.StatusTriage, true},
		{vigil.StatusNotIncident, vigil.StatusConfirmed, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.from)+"->"+string(tt.to), func(t *testing.T) {
			inc := &vigil.Incident{ID: 1, Title: "x", Type: vigil.TypeOther, Status: tt.from, Severity: vigil.SeverityLow,
				TLP: vigil.TLPAmber, Source: vigil.SourceManual}
			tr := vigil.Transition{To: tt.to, Reason: "because"}
			_, err := inc.ApplyTransition(tr, now)
			if tt.ok && err != nil {
				t.Fatalf("ApplyTransition: %v", err)
			}
			if !tt.ok {
				if vigil.ErrorCode(err) != vigil.EINVALID {
					t.Fatalf("ErrorCode = %q, want invalid", vigil.ErrorCode(err))
				}
				if inc.Status != tt.from {
					t.Errorf("Status = %q after a refused move", inc.Status)
				}
			}
			if got := vigil.CanTransition(tt.from, tt.to); got != tt.ok {
				t.Errorf("CanTransition = %v, want %v", got, tt.ok)
			}
		})
	}
}

func TestTransitionTimes(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	earlier := now.Add(-time.Hour)
	inc := &vigil.Incident{ID: 1, Title: "x", Type: vigil.TypeOther, Status: vigil.StatusTriage, Severity: vigil.SeverityLow,
		TLP: vigil.TLPAmber, Source: vigil.SourceManual, Times: vigil.IncidentTimes{AwareAt: &earlier}}
	if _, err := inc.ApplyTransition(vigil.Transition{To: vigil.StatusConfirmed}, now); err != nil {
		t.Fatal(err)
	}
	if !inc.Times.AwareAt.Equal(earlier) {
		t.Errorf("AwareAt = %v; confirming must keep an awareness time recorded by hand", inc.Times.AwareAt)
	}
	changes, err := inc.ApplyTransition(vigil.Transition{To: vigil.StatusRecovered}, now)
	if err != nil {
		t.Fatal(err)
	}
	var fields []string
	for _, c := range changes {
		fields = append(fields, c.Field)
	}
	if diff := cmp.Diff([]string{"status", "times.contained_at", "times.recovered_at"}, fields); diff != "" {
		t.Errorf("recovering straight from confirmed (-want +got):\n%s", diff)
	}
}

func TestTriageAdvice(t *testing.T) {
	for _, s := range []vigil.Status{vigil.StatusPolice, vigil.StatusReportFraud} {
		if a := vigil.TriageAdvice(s); !strings.Contains(a, "101") || !strings.Contains(a, "Police Scotland") {
			t.Errorf("advice for %s lacks 101 or Police Scotland: %q", s, a)
		}
	}
	if a := vigil.TriageAdvice(vigil.StatusReportFraud); !strings.Contains(a, "Report Fraud") || !strings.Contains(a, "reportfraud.police.uk") ||
		!strings.Contains(a, "0300 123 2040") {
		t.Errorf("the fraud advice does not name Report Fraud and its routes: %q", a)
	}
	if got, want := vigil.StatusLabel(vigil.StatusReportFraud), "referred to Report Fraud"; got != want {
		t.Errorf("StatusLabel = %q, want %q", got, want)
	}
}

// TestActionFraudStatus: Report Fraud replaced Action Fraud on 4 December
// 2025; a client that still sends the old status value is understood.
func TestActionFraudStatus(t *testing.T) {
	tr := vigil.Transition{To: "referred_action_fraud", Reason: "Invoice fraud"}
	if err := tr.Validate(); err != nil || tr.To != vigil.StatusReportFraud {
		t.Errorf("old status in a transition: %v, to %q", err, tr.To)
	}
	f := vigil.IncidentFilter{Status: []vigil.Status{"referred_action_fraud", vigil.StatusTriage}}
	if err := f.Normalize(); err != nil || f.Status[0] != vigil.StatusReportFraud || f.Status[1] != vigil.StatusTriage {
		t.Errorf("old status in a filter: %v, %v", err, f.Status)
	}
	inc := &vigil.Incident{Title: "x", Status: "referred_action_fraud"}
	inc.Normalize()
	if inc.Status != vigil.StatusReportFraud {
		t.Errorf("old status on a new incident: %q", inc.Status)
	}
	c := &vigil.Contact{Organisation: "Our fraud desk", Roles: []vigil.ContactRole{"action_fraud"}, Phone: "1"}
	if err := c.Validate(); err != nil || c.Roles[0] != vigil.ContactReportFraud {
		t.Errorf("old contact role: %v, %v", err, c.Roles)
	}
}

func TestParseTLP(t *testing.T) {
	for in, want := range map[string]vigil.TLP{
		"red": vigil.TLPRed, "TLP:AMBER+STRICT": vigil.TLPAmberStrict, "amber strict": vigil.TLPAmberStrict,
		" tlp:clear ": vigil.TLPClear, "WHITE": vigil.TLPClear,
	} {
		if got, ok := vigil.ParseTLP(in); !ok || got != want {
			t.Errorf("ParseTLP(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	if _, ok := vigil.ParseTLP("purple"); ok {
		t.Error("ParseTLP accepted purple")
	}
}

func TestValidateNamesEveryField(t *testing.T) {
	inc := &vigil.Incident{Title: "", Type: "weird", Severity: "huge", TLP: "PINK", Status: "lost", Source: "rumour", Category: 9}
	err := inc.Validate()
	var fields []string
	for _, f := range vigil.ErrorFields(err) {
		fields = append(fields, f.Field)
	}
	want := []string{"title", "type", "severity", "tlp", "status", "source", "category"}
	if diff := cmp.Diff(want, fields); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
}

func TestApplyCategoryMakesSignificant(t *testing.T) {
	inc := &vigil.Incident{Title: "x", Type: vigil.TypeOther, Status: vigil.StatusTriage, Severity: vigil.SeverityLow, TLP: vigil.TLPAmber, Source: vigil.SourceManual}
	if _, err := inc.Apply(vigil.IncidentUpdate{Category: ptr(2)}); err != nil {
		t.Fatal(err)
	}
	if !inc.Significant {
		t.Error("NCSC category 2 did not mark the incident significant")
	}
	if _, err := inc.Apply(vigil.IncidentUpdate{Significant: ptr(false)}); vigil.ErrorCode(err) != vigil.EINVALID {
		t.Errorf("unflagging a category 2 incident: %v, want invalid", err)
	}
}

func ptr[T any](v T) *T { return &v }

func TestPermissions(t *testing.T) {
	reader := &vigil.Actor{UserID: 1, Role: vigil.RoleResponder, TokenID: 9, Scopes: []vigil.Scope{vigil.ScopeRead}}
	if !reader.Can(vigil.PermIncidentRead) || reader.Can(vigil.PermIncidentEdit) {
		t.Error("a read-scoped responder token must read and not edit")
	}
	if reader.Can(vigil.PermTokenOwn) {
		t.Error("a token must not manage tokens")
	}
	session := &vigil.Actor{UserID: 1, Role: vigil.RoleResponder}
	if !session.Can(vigil.PermIncidentEdit) || session.Can(vigil.PermUserAdmin) || session.Can(vigil.PermIncidentMembers) {
		t.Error("responder permissions are wrong")
	}
	if err := vigil.Require(nil, vigil.PermIncidentRead); vigil.ErrorCode(err) != vigil.EUNAUTHORIZED {
		t.Errorf("Require(nil) = %v", err)
	}
}

func TestVisibility(t *testing.T) {
	uid := int64(7)
	other := int64(8)
	red := &vigil.Incident{TLP: vigil.TLPRed, CreatedBy: &other}
	amber := &vigil.Incident{TLP: vigil.TLPAmber, CreatedBy: &other}
	own := &vigil.Incident{TLP: vigil.TLPAmber, CreatedBy: &uid}
	tests := []struct {
		role             vigil.Role
		member           bool
		red, amber, mine bool
	}{
		{vigil.RoleAdmin, false, true, true, true},
		{vigil.RoleManager, false, false, true, true},
		{vigil.RoleResponder, true, true, true, true},
		{vigil.RoleViewer, false, false, true, true},
		{vigil.RoleReporter, false, false, false, true},
	}
	for _, tt := range tests {
		v := vigil.VisibilityFor(&vigil.Actor{UserID: uid, Role: tt.role})
		if got := v.CanSee(red, tt.member); got != tt.red {
			t.Errorf("%s sees RED = %v", tt.role, got)
		}
		if got := v.CanSee(amber, false); got != tt.amber {
			t.Errorf("%s sees AMBER = %v", tt.role, got)
		}
		if got := v.CanSee(own, false); got != tt.mine {
			t.Errorf("%s sees their own = %v", tt.role, got)
		}
	}
	if vigil.VisibilityFor(nil).CanSee(amber, true) {
		t.Error("nobody sees something")
	}
}

func TestLockout(t *testing.T) {
	for failures, want := range map[int]time.Duration{0: 0, 4: 0, 5: 30 * time.Second, 6: time.Minute, 7: 2 * time.Minute, 20: vigil.MaxLockout} {
		if got := vigil.LockoutFor(failures); got != want {
			t.Errorf("LockoutFor(%d) = %v, want %v", failures, got, want)
		}
	}
}

func TestPasswordHash(t *testing.T) {
	h, err := vigil.HashPassword("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash = %q, want argon2id with the OWASP parameters", h)
	}
	if !vigil.CheckPassword(h, "correct horse battery staple") || vigil.CheckPassword(h, "correct horse battery stapler") {
		t.Error("CheckPassword is wrong")
	}
	h2, _ := vigil.HashPassword("correct horse battery staple")
	if h == h2 {
		t.Error("two hashes of one password are equal: no salt")
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=1,t=1,p=1$YQ$YQ", "$argon2id$v=19$m=99999999,t=1,p=1$YQ$YQ", "plain"} {
		if vigil.CheckPassword(bad, "x") {
			t.Errorf("CheckPassword(%q) accepted", bad)
		}
	}
}

func TestAuditHashCoversEveryField(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	id := int64(3)
	base := vigil.AuditEvent{Seq: 1, At: at, ActorID: &id, ActorName: "a", Action: "x.y", ObjectType: "o", ObjectID: "1",
		Before: []byte(`null`), After: []byte(`{}`), RequestID: "r", PrevHash: vigil.AuditGenesis}
	h := base.ComputeHash()
	other := int64(4)
	for name, mutate := range map[string]func(e *vigil.AuditEvent){
		"seq": func(e *vigil.AuditEvent) { e.Seq = 2 }, "at": func(e *vigil.AuditEvent) { e.At = at.Add(time.Microsecond) },
		"actor": func(e *vigil.AuditEvent) { e.ActorID = &other }, "name": func(e *vigil.AuditEvent) { e.ActorName = "b" },
		"action": func(e *vigil.AuditEvent) { e.Action = "x.z" }, "type": func(e *vigil.AuditEvent) { e.ObjectType = "p" },
		"id": func(e *vigil.AuditEvent) { e.ObjectID = "2" }, "before": func(e *vigil.AuditEvent) { e.Before = []byte(`{}`) },
		"after": func(e *vigil.AuditEvent) { e.After = []byte(`null`) }, "request": func(e *vigil.AuditEvent) { e.RequestID = "s" },
		"prev": func(e *vigil.AuditEvent) { e.PrevHash = strings.Repeat("1", 64) },
		// Moving bytes between fields must change the hash too.
		"shift": func(e *vigil.AuditEvent) { e.ActorName, e.Action = "ax", ".y" },
	} {
		e := base
		mutate(&e)
		if e.ComputeHash() == h {
			t.Errorf("changing %s leaves the hash unchanged", name)
		}
	}
}

func TestHTTPStatus(t *testing.T) {
	for code, want := range map[string]int{
		"": 200, vigil.EINVALID: 400, vigil.EUNAUTHORIZED: 401, vigil.EFORBIDDEN: 403, vigil.ENOTFOUND: 404,
		vigil.ECONFLICT: 409, vigil.ETOOLARGE: 413, vigil.EPRECONDITION: 428, vigil.ETOOMANY: 429,
		vigil.ENOTIMPLEMENTED: 501, vigil.EIDEMPOTENCY: 422, vigil.EUNAVAILABLE: 503, vigil.ESTORAGEFULL: 507, vigil.EINTERNAL: 500, "no such code": 500,
	} {
		if got := vigil.HTTPStatus(code); got != want {
			t.Errorf("HTTPStatus(%q) = %d, want %d", code, got, want)
		}
	}
}

// TestRetryAfter: only EUNAVAILABLE carries a retry hint, its own or the
// default; an *Error's cause stays reachable for the log and errors.Is.
func TestRetryAfter(t *testing.T) {
	cause := errors.New("connection refused")
	for _, tt := range []struct {
		err  error
		want time.Duration
	}{
		{vigil.Wrap(cause, vigil.EUNAVAILABLE, "Try again."), vigil.DefaultRetryAfter},
		{&vigil.Error{Code: vigil.EUNAVAILABLE, Message: "Try again.", RetryAfter: time.Second}, time.Second},
		{fmt.Errorf("create incident: %w", vigil.Wrap(cause, vigil.EUNAVAILABLE, "Try again.")), vigil.DefaultRetryAfter},
		{vigil.Wrap(cause, vigil.ESTORAGEFULL, "The disk is full."), 0},
		{vigil.Errorf(vigil.ETOOMANY, "Slow down."), 0},
		{cause, 0},
	} {
		if got := vigil.RetryAfter(tt.err); got != tt.want {
			t.Errorf("RetryAfter(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
	err := vigil.Wrap(cause, vigil.EUNAVAILABLE, "Try again.")
	if !errors.Is(err, cause) {
		t.Error("errors.Is does not reach the cause")
	}
	if got, want := vigil.ErrorMessage(err), "Try again."; got != want {
		t.Errorf("ErrorMessage = %q, want %q", got, want)
	}
}

func TestTimedOut(t *testing.T) {
	if got := vigil.ErrorCode(vigil.TimedOut(fmt.Errorf("acquire: %w", context.DeadlineExceeded))); got != vigil.EUNAVAILABLE {
		t.Errorf("a deadline: code %q, want %q", got, vigil.EUNAVAILABLE)
	}
	nf := vigil.Errorf(vigil.ENOTFOUND, "Gone.")
	if got := vigil.TimedOut(nf); got != error(nf) {
		t.Errorf("an *Error came back as %v", got)
	}
	if got := vigil.ErrorCode(vigil.TimedOut(context.Canceled)); got != vigil.EINTERNAL {
		t.Errorf("a cancellation: code %q, want %q", got, vigil.EINTERNAL)
	}
}

func TestParseID(t *testing.T) {
	for s, want := range map[string]int64{"1": 1, "42": 42, "9223372036854775807": 1<<63 - 1} {
		if got, err := vigil.ParseID(s); got != want || err != nil {
			t.Errorf("ParseID(%q) = %d, %v, want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "0", "-1", "1.5", "x", "INC-2026-000001", "9223372036854775808", " 1"} {
		if _, err := vigil.ParseID(s); vigil.ErrorCode(err) != vigil.ENOTFOUND {
			t.Errorf("ParseID(%q) code = %q, want %q", s, vigil.ErrorCode(err), vigil.ENOTFOUND)
		}
	}
}

// TestNoActionFraudAsCurrent: no pack, page, plan or document names
// Action Fraud as the service to report to; it may appear as the former
// name, on a line that says Report Fraud replaced it.
func TestNoActionFraudAsCurrent(t *testing.T) {
	var files []string
	for _, pattern := range []string{"README.md", "docs/*.md", "duty/packs/*.json", "web/templates/*.html", "plan/starter/*.md"} {
		m, err := filepath.Glob(pattern)
		if err != nil || len(m) == 0 {
			t.Fatalf("no files match %s: %v", pattern, err)
		}
		files = append(files, m...)
	}
	former := regexp.MustCompile(`(?i)replaced action ?fraud|formerly action ?fraud`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			if l := strings.ToLower(line); (strings.Contains(l, "action fraud") || strings.Contains(l, "actionfraud")) && !former.MatchString(line) {
				t.Errorf("%s:%d names Action Fraud as current: %s", f, i+1, strings.TrimSpace(line))
			}
		}
	}
	for _, s := range []string{vigil.StatusLabel(vigil.StatusReportFraud), vigil.TriageAdvice(vigil.StatusReportFraud), vigil.PublicStatus(vigil.StatusReportFraud)} {
		if !strings.Contains(s, "Report Fraud") || strings.Contains(s, "Action Fraud") && !former.MatchString(s) {
			t.Errorf("names Action Fraud as current, or not Report Fraud: %q", s)
		}
	}
	for _, c := range vigil.PublicContacts {
		if c.Has(vigil.ContactReportFraud) && (c.Organisation != "Report Fraud" || !strings.Contains(c.Notes, "reportfraud.police.uk") || c.Phone != "0300 123 2040") {
			t.Errorf("public contact: %+v", c)
		}
	}
}
