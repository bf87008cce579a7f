package storetest

import (
	"context"
	"strings"
	"testing"

	"github.com/vigil-ir/vigil"
)

// testDutiesMigration: migration 00026 gives what was stored under Action
// Fraud's name the name of Report Fraud, which replaced it on 4 December
// 2025: the triage outcome, saved views, contact roles and the uk-crime
// duty. A report already made is not asked for again, and keeps the words
// it was made under; a pending one reads the new service. An incident
// that had a relevant digital service provider's duty through its
// essential-service flag gets the digital-service flag that now triggers it.
func testDutiesMigration(t *testing.T, open Opener) {
	s := open(t)
	if s.Migrate == nil {
		t.Skip("this store cannot migrate behind its back")
	}
	ctx := t.Context()
	mgr, _ := MustCreateUser(t, s, vigil.RoleManager)
	admin, _ := MustCreateUser(t, s, vigil.RoleAdmin)
	if err := s.Duties.UpdateProfile(admin, &vigil.OrgProfile{Jurisdictions: []string{"UK"}, UKGDPR: true, NISRDSP: true}); err != nil {
		t.Fatal(err)
	}
	cloud := MustCreateIncident(t, mgr, s, &vigil.Incident{Title: "Object storage API down", Status: vigil.StatusConfirmed, EssentialService: true})
	referred := MustCreateIncident(t, mgr, s, &vigil.Incident{Title: "Invoice fraud against a customer"})
	if _, err := s.Incidents.TransitionIncident(mgr, referred.ID, vigil.Transition{To: vigil.StatusReportFraud, Reason: "Fraud, not our systems.",
		Version: referred.Version}); err != nil {
		t.Fatal(err)
	}
	reported := MustCreateIncident(t, mgr, s, &vigil.Incident{Title: "Ransom note on the file server", Status: vigil.StatusConfirmed, CrimeSuspected: true})
	done := obligation(t, mustObligations(t, s, mgr, reported.ID), "report-fraud")
	if _, err := s.Duties.SubmitObligation(mgr, done.ID, vigil.Submission{Reference: "NFRC-1"}); err != nil {
		t.Fatal(err)
	}
	c := &vigil.Contact{Name: "Fraud desk", Roles: []vigil.ContactRole{vigil.ContactReportFraud, vigil.ContactPolice}, Phone: "0300 123 2040"}
	if err := s.Contacts.CreateContact(mgr, c); err != nil {
		t.Fatal(err)
	}
	if err := s.Views.CreateView(mgr, &vigil.SavedView{Name: "Referred", Query: "status=referred_report_fraud&severity=high"}); err != nil {
		t.Fatal(err)
	}

	// Back to 25: the rows as they were stored before. The store cannot
	// read incidents without the new column; the rows are counted instead.
	if err := s.Migrate(ctx, 25); err != nil {
		t.Fatal(err)
	}
	count := func(q string, args ...any) int64 {
		t.Helper()
		res, err := s.Exec(ctx, q, args...)
		if err != nil {
			t.Fatal(err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(`UPDATE incidents SET title = title WHERE id = ? AND status = 'referred_action_fraud'`, referred.ID); n != 1 {
		t.Fatalf("status before the migration: %d rows with the old value", n)
	}
	if n := count(`UPDATE obligations SET duty = duty WHERE pack = 'uk-crime' AND duty = 'action-fraud'`); n != 2 {
		t.Fatalf("duties before the migration: %d with the old id, want 2", n)
	}
	// The words the old pack gave them.
	if _, err := s.Exec(ctx, `UPDATE obligations SET detail = REPLACE(REPLACE(detail, 'Report Fraud', 'Action Fraud'), 'reportfraud.police.uk', 'actionfraud.police.uk')
		WHERE pack = 'uk-crime'`); err != nil {
		t.Fatal(err)
	}

	if err := s.Migrate(ctx, 26); err != nil {
		t.Fatal(err)
	}
	// And on to the newest, which the store reads.
	if err := s.Migrate(ctx, 1<<40); err != nil {
		t.Fatal(err)
	}
	if got := MustFindIncident(t, mgr, s, cloud.ID); !got.DigitalServiceImpact {
		t.Errorf("the RDSP's incident lost the flag that triggers its duty")
	}
	if got := MustFindIncident(t, mgr, s, referred.ID); got.Status != vigil.StatusReportFraud || vigil.StatusLabel(got.Status) != "referred to Report Fraud" {
		t.Errorf("status after the migration: %q", got.Status)
	}
	pending := obligation(t, mustObligations(t, s, mgr, referred.ID), "report-fraud")
	if pending.Status != vigil.ObligationPending || strings.Contains(pending.Title+pending.Authority+pending.Basis, "Action Fraud") ||
		!strings.Contains(pending.Basis+pending.Source, "reportfraud.police.uk") || pending.Contact != string(vigil.ContactReportFraud) {
		t.Errorf("pending duty after the migration: %+v", pending)
	}
	sent := obligation(t, mustObligations(t, s, mgr, reported.ID), "report-fraud")
	if sent.Status != vigil.ObligationSubmitted || sent.Reference != "NFRC-1" || !strings.Contains(sent.Title, "Action Fraud") {
		t.Errorf("submitted duty after the migration: %+v", sent)
	}
	// The incident's next change asks for no new report.
	cur := MustFindIncident(t, mgr, s, reported.ID)
	high := vigil.SeverityHigh
	if _, err := s.Incidents.UpdateIncident(mgr, reported.ID, vigil.IncidentUpdate{Severity: &high, Version: cur.Version}); err != nil {
		t.Fatal(err)
	}
	for _, o := range mustObligations(t, s, mgr, reported.ID) {
		if o.Pack == "uk-crime" && (o.Duty != "report-fraud" || o.Status != vigil.ObligationSubmitted) {
			t.Errorf("after the next change: %s %s", o.Duty, o.Status)
		}
	}
	contacts, err := s.Contacts.FindContacts(mgr)
	if err != nil {
		t.Fatal(err)
	}
	for _, got := range contacts {
		if got.ID == c.ID && (len(got.Roles) != 2 || got.Roles[0] != vigil.ContactReportFraud) {
			t.Errorf("contact roles after the migration: %v", got.Roles)
		}
	}
	views, err := s.Views.FindViews(mgr)
	if err != nil || len(views) != 1 || !strings.Contains(views[0].Query, "status=referred_report_fraud") {
		t.Errorf("saved views after the migration: %v %+v", err, views)
	}
	// And the old value still finds them.
	page, err := s.Incidents.FindIncidents(mgr, vigil.IncidentFilter{Status: []vigil.Status{"referred_action_fraud"}})
	if err != nil || len(page.Items) != 1 || page.Items[0].ID != referred.ID {
		t.Errorf("list by the old status: %v %+v", err, page)
	}
}

// mustObligations lists an incident's duties.
func mustObligations(t *testing.T, s *Store, ctx context.Context, id int64) []*vigil.Obligation {
	t.Helper()
	obs, err := s.Duties.FindObligations(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return obs
}
