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
		st, err := s.Reports.FindReport(anon, "", typed)
		if err != nil {
			t.Fatalf("FindReport(%q): %v", typed, err)
		}
		if st.Reference != ref || st.Status != vigil.PublicStatus(vigil.StatusTriage) || len(st.Additions) != 0 {
			t.Errorf("status %+v", st)
		}

		// Adds information later: on the report, and on the incident's timeline.
		if err := s.Reports.AddToReport(anon, "", receipt, "It also asked for my bank details."); err != nil {
			t.Fatalf("AddToReport: %v", err)
		}
		st, err = s.Reports.FindReport(anon, "", receipt)
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
		st, err = s.Reports.FindReport(anon, "", receipt)
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
		if _, err := s.Reports.FindReport(anon, "", "0000-0000-0000-0000"); vigil.ErrorCode(err) != vigil.ENOTFOUND {
			t.Errorf("unknown code: %v, want ENOTFOUND", err)
		}
		if _, err := s.Reports.FindReport(anon, "", "'; DROP TABLE reports; --"); vigil.ErrorCode(err) != vigil.ENOTFOUND {
			t.Errorf("garbage code: %v, want ENOTFOUND", err)
		}
		if err := s.Reports.AddToReport(anon, "", "0000-0000-0000-0000", "more"); vigil.ErrorCode(err) != vigil.ENOTFOUND {
			t.Errorf("add to unknown: %v, want ENOTFOUND", err)
		}
	})
}

// testReportByOrganisation: each organisation has its own report page.
// A report is filed in the page's organisation, its receipt code works
// only on that page, and an unknown or suspended organisation has no page,
// answered alike.
func testReportByOrganisation(t *testing.T, open Opener) {
	s := open(t)
	anon := context.Background()
	sys := SystemContext(t)
	mustCreateOrg(t, s, "north", "North Water plc")
	mustCreateOrg(t, s, "south", "South Grid Ltd")
	northCtx, _ := orgUser(t, s, map[string]vigil.Role{"north": vigil.RoleResponder})
	coordCtx, _ := orgUser(t, s, map[string]vigil.Role{vigil.DefaultOrganisationSlug: vigil.RoleResponder})

	t.Run("Page", func(t *testing.T) {
		for slug, want := range map[string]vigil.ReportPage{
			"":        {Organisation: vigil.DefaultOrganisationSlug},
			"default": {Organisation: vigil.DefaultOrganisationSlug},
			" North ": {Organisation: "north", Name: "North Water plc"},
		} {
			p, err := s.Reports.FindReportPage(anon, slug)
			if err != nil {
				t.Fatalf("FindReportPage(%q): %v", slug, err)
			}
			if p.Organisation != want.Organisation || p.Name == "" || (want.Name != "" && p.Name != want.Name) {
				t.Errorf("FindReportPage(%q) = %+v, want %+v", slug, p, want)
			}
		}
		for _, slug := range []string{"nowhere", "Not a slug!", strings.Repeat("a", 60)} {
			if _, err := s.Reports.FindReportPage(anon, slug); vigil.ErrorCode(err) != vigil.ENOTFOUND {
				t.Errorf("FindReportPage(%q): %v, want ENOTFOUND", slug, err)
			}
		}
	})

	t.Run("FiledInTheOrganisation", func(t *testing.T) {
		receipt, ref, err := s.Reports.SubmitReport(anon, &vigil.StaffReport{Organisation: "north", What: "The pumping station's HMI shows a ransom note."})
		if err != nil {
			t.Fatalf("SubmitReport: %v", err)
		}
		inc, err := s.Incidents.FindIncidentByReference(northCtx, ref)
		if err != nil {
			t.Fatalf("north's responder finds the report's incident: %v", err)
		}
		if inc.Organisation != "north" || inc.Source != vigil.SourceStaffReport || inc.Status != vigil.StatusTriage {
			t.Errorf("incident: organisation %q source %s status %s; want north, staff_report, triage", inc.Organisation, inc.Source, inc.Status)
		}
		if _, err := s.Incidents.FindIncidentByReference(coordCtx, ref); vigil.ErrorCode(err) != vigil.ENOTFOUND {
			t.Errorf("the coordinator's responder finds north's report: %v, want ENOTFOUND", err)
		}

		// The code works on north's page, and on no other.
		st, err := s.Reports.FindReport(anon, "north", receipt)
		if err != nil || st.Reference != ref {
			t.Fatalf("FindReport(north) = %+v, %v", st, err)
		}
		for _, org := range []string{"", vigil.DefaultOrganisationSlug, "south", "nowhere"} {
			if st, err := s.Reports.FindReport(anon, org, receipt); vigil.ErrorCode(err) != vigil.ENOTFOUND {
				t.Errorf("FindReport(%q) of north's receipt = %+v, %v; want ENOTFOUND", org, st, err)
			}
			if err := s.Reports.AddToReport(anon, org, receipt, "Added on the wrong page."); vigil.ErrorCode(err) != vigil.ENOTFOUND {
				t.Errorf("AddToReport(%q) of north's receipt: %v, want ENOTFOUND", org, err)
			}
		}
		if err := s.Reports.AddToReport(anon, "north", receipt, "The HMI is on the plant network."); err != nil {
			t.Fatalf("AddToReport(north): %v", err)
		}
		st, err = s.Reports.FindReport(anon, "north", receipt)
		if err != nil || len(st.Additions) != 1 {
			t.Fatalf("after adding: %+v, %v (want exactly the one addition made on north's page)", st, err)
		}

		// The default organisation's receipts stay on the default page.
		dr, dref, err := s.Reports.SubmitReport(anon, &vigil.StaffReport{What: "A USB stick in the car park."})
		if err != nil {
			t.Fatal(err)
		}
		if inc, err := s.Incidents.FindIncidentByReference(coordCtx, dref); err != nil || inc.Organisation != vigil.DefaultOrganisationSlug {
			t.Errorf("a report on the default page: %+v, %v", inc, err)
		}
		if _, err := s.Reports.FindReport(anon, "north", dr); vigil.ErrorCode(err) != vigil.ENOTFOUND {
			t.Errorf("the default page's receipt on north's page: %v, want ENOTFOUND", err)
		}
		if _, err := s.Reports.FindReport(anon, "", dr); err != nil {
			t.Errorf("the default page's receipt: %v", err)
		}
	})

	t.Run("Suspended", func(t *testing.T) {
		receipt, _, err := s.Reports.SubmitReport(anon, &vigil.StaffReport{Organisation: "south", What: "A phone call asking for my password."})
		if err != nil {
			t.Fatal(err)
		}
		o, err := s.Orgs.FindOrganisation(sys, "south")
		if err != nil {
			t.Fatal(err)
		}
		if o, err = s.Orgs.UpdateOrganisation(sys, "south", vigil.OrganisationUpdate{Suspended: new(true), Version: o.Version}); err != nil {
			t.Fatal(err)
		}
		before, _ := s.Incidents.CountIncidents(sys, vigil.IncidentFilter{})
		_, unknown := s.Reports.FindReportPage(anon, "nowhere")
		_, err = s.Reports.FindReportPage(anon, "south")
		if vigil.ErrorCode(err) != vigil.ENOTFOUND || vigil.ErrorMessage(err) != vigil.ErrorMessage(unknown) {
			t.Errorf("a suspended organisation's page: %v; want ENOTFOUND, as for an unknown one (%v)", err, unknown)
		}
		if _, _, err := s.Reports.SubmitReport(anon, &vigil.StaffReport{Organisation: "south", What: "Another call."}); vigil.ErrorCode(err) != vigil.ENOTFOUND {
			t.Errorf("a report to a suspended organisation: %v, want ENOTFOUND", err)
		}
		if _, err := s.Reports.FindReport(anon, "south", receipt); vigil.ErrorCode(err) != vigil.ENOTFOUND {
			t.Errorf("a receipt of a suspended organisation: %v, want ENOTFOUND", err)
		}
		if err := s.Reports.AddToReport(anon, "south", receipt, "More."); vigil.ErrorCode(err) != vigil.ENOTFOUND {
			t.Errorf("adding to a report of a suspended organisation: %v, want ENOTFOUND", err)
		}
		if after, _ := s.Incidents.CountIncidents(sys, vigil.IncidentFilter{}); after != before {
			t.Errorf("incidents %d -> %d while suspended", before, after)
		}
		// Resumed, the page and the code work again: nothing was deleted.
		if _, err := s.Orgs.UpdateOrganisation(sys, "south", vigil.OrganisationUpdate{Suspended: new(false), Version: o.Version}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Reports.FindReport(anon, "south", receipt); err != nil {
			t.Errorf("the receipt after resuming: %v", err)
		}
	})

	t.Run("StatusSlugReserved", func(t *testing.T) {
		// /report/status is the default page's receipt lookup.
		err := s.Orgs.CreateOrganisation(sys, &vigil.Organisation{Slug: "status", Name: "Status Ltd"})
		wantField(t, err, "slug")
	})
}
