package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
)

func testReport(t *testing.T, open Opener) {
	s := open(t)
	anon := context.Background() // the report page has no actor
	ctx, _ := MustCreateUser(t, s, vigil.RoleResponder)
	when := time.Now().Add(-2 * time.Hour).UTC().Truncate(time.Second)

	t.Run("SubmitAnonymous", func(t *testing.T) {
		r := &vigil.StaffReport{What: "I clicked a link in an e-mail about my pension\nand typed my password.", When: &when,
			System: "Outlook", PersonalData: "unsure"}
		receipt, ref, err := s.Reports.SubmitReport(anon, r)
		if err != nil {
			t.Fatalf("SubmitReport: %v", err)
		}
		if _, ok := vigil.NormalizeReceiptCode(receipt); !ok {
			t.Fatalf("receipt %q is not a receipt code", receipt)
		}
		inc, err := s.Incidents.FindIncidentByReference(ctx, ref)
		if err != nil {
			t.Fatalf("the report's incident %s: %v", ref, err)
		}
		if inc.Status != vigil.StatusTriage || inc.Source != vigil.SourceStaffReport || inc.CreatedBy != nil {
			t.Errorf("incident: status %s source %s created_by %v; want triage, staff_report, nil", inc.Status, inc.Source, inc.CreatedBy)
		}
		if inc.Title != "Staff report: I clicked a link in an e-mail about my pension" {
			t.Errorf("title %q", inc.Title)
		}
		if !strings.Contains(inc.Summary, "Reporter: anonymous") || inc.Times.OccurredAt == nil || !inc.Times.OccurredAt.Equal(when) {
			t.Errorf("summary %q occurred %v", inc.Summary, inc.Times.OccurredAt)
		}
		if len(inc.AffectedServices) != 1 || inc.AffectedServices[0] != "Outlook" {
			t.Errorf("affected services %v", inc.AffectedServices)
		}

		// The reporter follows it with the code, typed carelessly.
		typed := strings.ToLower(strings.ReplaceAll(receipt, "-", " "))
		st, err := s.Reports.FindReport(anon, typed)
		if err != nil {
			t.Fatalf("FindReport(%q): %v", typed, err)
		}
		if st.Reference != ref || st.Status != vigil.PublicStatus(vigil.StatusTriage) || len(st.Additions) != 0 {
			t.Errorf("status %+v", st)
		}

		// Adds information later: on the report, and on the incident's timeline.
		if err := s.Reports.AddToReport(anon, receipt, "It also asked for my bank details."); err != nil {
			t.Fatalf("AddToReport: %v", err)
		}
		st, err = s.Reports.FindReport(anon, receipt)
		if err != nil || len(st.Additions) != 1 || st.Additions[0].Text != "It also asked for my bank details." {
			t.Fatalf("after adding: %+v, %v", st, err)
		}
		page, err := s.Timeline.FindTimeline(ctx, inc.ID, vigil.TimelineFilter{Kinds: []vigil.TimelineKind{vigil.KindNote}})
		if err != nil || len(page.Items) != 1 || !strings.Contains(page.Items[0].Message, "bank details") {
			t.Fatalf("timeline notes: %+v, %v", page, err)
		}

		// Triage routes it out; the reporter sees plain words.
		inc, _ = s.Incidents.FindIncidentByID(ctx, inc.ID)
		if _, err := s.Incidents.TransitionIncident(ctx, inc.ID, vigil.Transition{To: vigil.StatusReportFraud,
			Reason: "Pension scam: report to Report Fraud.", Version: inc.Version}); err != nil {
			t.Fatalf("transition: %v", err)
		}
		st, err = s.Reports.FindReport(anon, receipt)
		if err != nil || st.Status != vigil.PublicStatus(vigil.StatusReportFraud) {
			t.Errorf("status after referral: %+v, %v", st, err)
		}
	})

	t.Run("SubmitWithContact", func(t *testing.T) {
		r := &vigil.StaffReport{What: "My laptop was stolen from the car.", PersonalData: "yes", Name: "Sam Patel", Email: "sam@example.org"}
		_, ref, err := s.Reports.SubmitReport(anon, r)
		if err != nil {
			t.Fatalf("SubmitReport: %v", err)
		}
		inc, err := s.Incidents.FindIncidentByReference(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		if !inc.PersonalData || !strings.Contains(inc.Summary, "Sam Patel, sam@example.org") {
			t.Errorf("personal_data %v summary %q", inc.PersonalData, inc.Summary)
		}
	})

	t.Run("BadInput", func(t *testing.T) {
		before, err := s.Incidents.CountIncidents(SystemContext(t), vigil.IncidentFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for name, r := range map[string]*vigil.StaffReport{
			"what":          {What: "   "},
			"email":         {What: "x", Email: "not an address"},
			"personal_data": {What: "x", PersonalData: "maybe"},
			"system":        {What: "x", System: strings.Repeat("s", vigil.MaxReportField+1)},
		} {
			t.Run(name, func(t *testing.T) {
				_, _, err := s.Reports.SubmitReport(anon, r)
				wantField(t, err, name)
			})
		}
		after, _ := s.Incidents.CountIncidents(SystemContext(t), vigil.IncidentFilter{})
		if after != before {
			t.Errorf("bad reports wrote incidents: %d -> %d", before, after)
		}
		if _, err := s.Reports.FindReport(anon, "0000-0000-0000-0000"); vigil.ErrorCode(err) != vigil.ENOTFOUND {
			t.Errorf("unknown code: %v, want ENOTFOUND", err)
		}
		if _, err := s.Reports.FindReport(anon, "'; DROP TABLE reports; --"); vigil.ErrorCode(err) != vigil.ENOTFOUND {
			t.Errorf("garbage code: %v, want ENOTFOUND", err)
		}
		if err := s.Reports.AddToReport(anon, "0000-0000-0000-0000", "more"); vigil.ErrorCode(err) != vigil.ENOTFOUND {
			t.Errorf("add to unknown: %v, want ENOTFOUND", err)
		}
	})
}
