package casework_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/casework"
	"github.com/vigil-ir/vigil/internal/sqlitetest"
	"github.com/vigil-ir/vigil/sqlite"
)

// MustOpenServices opens a fresh SQLite store and returns its services
// with a context acting as a new manager, Mary Manager.
func MustOpenServices(tb testing.TB) (vigil.Services, context.Context) {
	tb.Helper()
	db, err := sqlite.Open(tb.Context(), sqlitetest.FreshFile(tb))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	svc := db.Services()
	u := &vigil.User{Username: "mary", Name: "Mary Manager", Role: vigil.RoleManager}
	sys := vigil.NewContextWithActor(tb.Context(), vigil.SystemActor("test"))
	if err := svc.Users.CreateUser(sys, u, "correct horse battery staple"); err != nil {
		tb.Fatalf("CreateUser: %v", err)
	}
	return svc, vigil.NewContextWithActor(tb.Context(), &vigil.Actor{UserID: u.ID, Username: u.Username, Name: u.Name, Role: u.Role})
}

func TestIncidentReport(t *testing.T) {
	svc, ctx := MustOpenServices(t)
	inc := &vigil.Incident{Title: "Payroll mailbox takeover", Type: vigil.TypeUnauthorisedAccess, Severity: vigil.SeverityHigh}
	if err := svc.Incidents.CreateIncident(ctx, inc); err != nil {
		t.Fatalf("CreateIncident: %v", err)
	}
	if _, err := svc.Timeline.AddNote(ctx, inc.ID, vigil.Note{Message: "Forwarding rule removed."}); err != nil {
		t.Fatalf("AddNote: %v", err)
	}
	d, err := casework.IncidentReport(ctx, svc, inc.ID, time.Now(), time.UTC)
	if err != nil {
		t.Fatalf("IncidentReport: %v", err)
	}
	md := d.Markdown()
	for _, want := range []string{inc.Reference, "Payroll mailbox takeover", "Forwarding rule removed.", "Mary Manager"} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q:\n%s", want, md)
		}
	}

	if _, err := casework.IncidentReport(ctx, svc, inc.ID+1, time.Now(), time.UTC); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Errorf("IncidentReport of no incident: code %q, want %q", vigil.ErrorCode(err), vigil.ENOTFOUND)
	}
}

func TestManagementReport(t *testing.T) {
	svc, ctx := MustOpenServices(t)
	inc := &vigil.Incident{Title: "Phishing wave", Type: vigil.TypePhishing}
	if err := svc.Incidents.CreateIncident(ctx, inc); err != nil {
		t.Fatalf("CreateIncident: %v", err)
	}
	now := time.Now().UTC()
	f := vigil.MetricsFilter{From: now.Add(-24 * time.Hour), To: now.Add(time.Hour)}
	d, err := casework.ManagementReport(ctx, svc, f, "today", now, time.UTC)
	if err != nil {
		t.Fatalf("ManagementReport: %v", err)
	}
	md := d.Markdown()
	for _, want := range []string{"1 incident opened in the period", inc.Reference, "Preparedness"} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q:\n%s", want, md)
		}
	}
}

func TestAssessPreparedness(t *testing.T) {
	svc, ctx := MustOpenServices(t)
	p, err := casework.AssessPreparedness(ctx, svc, time.Now())
	if err != nil {
		t.Fatalf("AssessPreparedness: %v", err)
	}
	if len(p.Items) == 0 || len(p.OpenActions) != 0 {
		t.Errorf("a fresh store's preparedness: %d items, %d open actions; want some items and no actions", len(p.Items), len(p.OpenActions))
	}
}

func TestPrepareSighting(t *testing.T) {
	svc, ctx := MustOpenServices(t)
	if _, _, err := casework.PrepareSighting(ctx, svc, 1); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Errorf("PrepareSighting of no hit: code %q, want %q (err: %v)", vigil.ErrorCode(err), vigil.ENOTFOUND, err)
	}
}
