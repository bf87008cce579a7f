package storetest

import (
	"fmt"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vigil-ir/vigil"
)

func testIncident(t *testing.T, open Opener) {
	t.Run("OK", func(t *testing.T) {
		s := open(t)
		ctx, u := MustCreateUser(t, s, vigil.RoleResponder)
		inc := &vigil.Incident{
			Title: "  Phishing e-mail to finance  ", Summary: "Several staff got a fake invoice.",
			Type: vigil.TypePhishing, Severity: vigil.SeverityHigh, TLP: vigil.TLPGreen,
			PersonalData: true, AffectedServices: []string{"Mail", " mail ", "Finance"},
		}
		MustCreateIncident(t, ctx, s, inc)
		if inc.ID == 0 {
			t.Fatal("ID = 0, want an ID")
		}
		if !regexp.MustCompile(`^INC-\d{4}-\d{6}$`).MatchString(inc.Reference) {
			t.Errorf("Reference = %q, want INC-YYYY-NNNNNN", inc.Reference)
		}
		if got, want := inc.Title, "Phishing e-mail to finance"; got != want {
			t.Errorf("Title = %q, want %q", got, want)
		}
		if got, want := inc.Status, vigil.StatusTriage; got != want {
			t.Errorf("Status = %q, want %q", got, want)
		}
		if inc.CreatedBy == nil || *inc.CreatedBy != u.ID {
			t.Errorf("CreatedBy = %v, want %d", inc.CreatedBy, u.ID)
		}
		if inc.Times.DetectedAt == nil || inc.Times.ReportedAt == nil {
			t.Errorf("DetectedAt, ReportedAt = %v, %v; want defaults", inc.Times.DetectedAt, inc.Times.ReportedAt)
		}
		got := MustFindIncident(t, ctx, s, inc.ID)
		if diff := cmp.Diff(inc, got); diff != "" {
			t.Errorf("FindIncidentByID mismatch (-created +found):\n%s", diff)
		}
		byRef, err := s.Incidents.FindIncidentByReference(ctx, inc.Reference)
		if err != nil {
			t.Fatal(err)
		}
		if byRef.ID != inc.ID {
			t.Errorf("FindIncidentByReference ID = %d, want %d", byRef.ID, inc.ID)
		}
		// Its reporting duties (personal data is involved) are on the
		// timeline too; see testDuty.
		tl, err := s.Timeline.FindTimeline(ctx, inc.ID, vigil.TimelineFilter{Kinds: []vigil.TimelineKind{vigil.KindCreated}})
		if err != nil {
			t.Fatal(err)
		}
		if len(tl.Items) != 1 || tl.Items[0].Kind != vigil.KindCreated || tl.Items[0].ActorName != u.Name {
			t.Errorf("timeline = %+v, want one created entry by %s", tl.Items, u.Name)
		}
	})

	t.Run("ReferencesCountUpPerYear", func(t *testing.T) {
		s := open(t)
		c := newClock(s, time.Date(2025, 12, 31, 23, 59, 0, 0, time.UTC))
		ctx, _ := MustCreateUser(t, s, vigil.RoleResponder)
		a := MustCreateIncident(t, ctx, s, &vigil.Incident{})
		b := MustCreateIncident(t, ctx, s, &vigil.Incident{})
		c.set(time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC))
		d := MustCreateIncident(t, ctx, s, &vigil.Incident{})
		got := []string{a.Reference, b.Reference, d.Reference}
		want := []string{"INC-2025-000001", "INC-2025-000002", "INC-2026-000001"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("references (-want +got):\n%s", diff)
		}
	})

	t.Run("ConcurrentCreatesGetUniqueReferences", func(t *testing.T) {
		s := open(t)
		ctx, _ := MustCreateUser(t, s, vigil.RoleResponder)
		const n = 24
		refs := make([]string, n)
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				inc := &vigil.Incident{Title: fmt.Sprintf("Concurrent %d", i)}
				if err := s.Incidents.CreateIncident(ctx, inc); err != nil {
					errs <- err
					return
				}
				refs[i] = inc.Reference
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("CreateIncident: %v", err)
		}
		seen := map[string]bool{}
		for _, r := range refs {
			if seen[r] {
				t.Fatalf("reference %s given twice", r)
			}
			seen[r] = true
		}
	})

	t.Run("TimesRoundTripExactly", func(t *testing.T) {
		s := open(t)
		ctx, _ := MustCreateUser(t, s, vigil.RoleResponder)
		occurred := time.Date(2026, 3, 29, 0, 59, 59, 123456789, time.FixedZone("BST", 3600))
		inc := MustCreateIncident(t, ctx, s, &vigil.Incident{Times: vigil.IncidentTimes{OccurredAt: &occurred}})
		got := MustFindIncident(t, ctx, s, inc.ID)
		want := time.Date(2026, 3, 28, 23, 59, 59, 123456000, time.UTC)
		if got.Times.OccurredAt == nil || !got.Times.OccurredAt.Equal(want) || got.Times.OccurredAt.Location() != time.UTC {
			t.Errorf("OccurredAt = %v, want %v in UTC (microseconds kept)", got.Times.OccurredAt, want)
		}
		if !got.CreatedAt.Equal(inc.CreatedAt) {
			t.Errorf("CreatedAt = %v, want %v", got.CreatedAt, inc.CreatedAt)
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		s := open(t)
		ctx, _ := MustCreateUser(t, s, vigil.RoleResponder)
		err := s.Incidents.CreateIncident(ctx, &vigil.Incident{Title: " ", Category: 9})
		wantField(t, err, "title")
		wantField(t, err, "category")
		long := make([]byte, vigil.MaxTitleLen+1)
		for i := range long {
			long[i] = 'x'
		}
		wantField(t, s.Incidents.CreateIncident(ctx, &vigil.Incident{Title: string(long)}), "title")
		wantField(t, s.Incidents.CreateIncident(ctx, &vigil.Incident{Title: "x", Status: vigil.StatusClosed}), "status")
		before := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
		after := before.Add(time.Hour)
		wantField(t, s.Incidents.CreateIncident(ctx, &vigil.Incident{Title: "x",
			Times: vigil.IncidentTimes{OccurredAt: &after, DetectedAt: &before}}), "times.detected_at")
		n, err := s.Incidents.CountIncidents(ctx, vigil.IncidentFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("CountIncidents = %d after only invalid creates, want 0", n)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		s := open(t)
		ctx, _ := MustCreateUser(t, s, vigil.RoleViewer)
		_, err := s.Incidents.FindIncidentByID(ctx, 12345)
		wantCode(t, err, vigil.ENOTFOUND)
		_, err = s.Incidents.FindIncidentByReference(ctx, "INC-2026-999999")
		wantCode(t, err, vigil.ENOTFOUND)
	})

	t.Run("ErrForbidden", func(t *testing.T) {
		s := open(t)
		rctx, _ := MustCreateUser(t, s, vigil.RoleResponder)
		inc := MustCreateIncident(t, rctx, s, &vigil.Incident{})
		vctx, _ := MustCreateUser(t, s, vigil.RoleViewer)
		wantCode(t, s.Incidents.CreateIncident(vctx, &vigil.Incident{Title: "x"}), vigil.EFORBIDDEN)
		_, err := s.Incidents.UpdateIncident(vctx, inc.ID, vigil.IncidentUpdate{Title: ptr("y"), Version: inc.Version})
		wantCode(t, err, vigil.EFORBIDDEN)
		_, err = s.Incidents.FindIncidentByID(t.Context(), inc.ID)
		wantCode(t, err, vigil.EUNAUTHORIZED)
	})

	t.Run("ReporterCreatesOnlyForTriage", func(t *testing.T) {
		s := open(t)
		ctx, u := MustCreateUser(t, s, vigil.RoleReporter)
		_, lead := MustCreateUser(t, s, vigil.RoleResponder)
		inc := MustCreateIncident(t, ctx, s, &vigil.Incident{Status: vigil.StatusConfirmed, LeadID: &lead.ID})
		if inc.Status != vigil.StatusTriage || inc.LeadID != nil {
			t.Errorf("Status, LeadID = %q, %v; want triage and no lead", inc.Status, inc.LeadID)
		}
		if got := MustFindIncident(t, ctx, s, inc.ID); *got.CreatedBy != u.ID {
			t.Errorf("CreatedBy = %d, want %d", *got.CreatedBy, u.ID)
		}
	})

	t.Run("Update", func(t *testing.T) {
		s := open(t)
		ctx, _ := MustCreateUser(t, s, vigil.RoleResponder)
		_, lead := MustCreateUser(t, s, vigil.RoleManager)
		mctx := ActorContext(lead)
		inc := MustCreateIncident(t, ctx, s, &vigil.Incident{Severity: vigil.SeverityLow})
		aware := time.Date(2026, 5, 1, 9, 30, 0, 0, time.UTC)
		got, err := s.Incidents.UpdateIncident(mctx, inc.ID, vigil.IncidentUpdate{
			Severity: ptr(vigil.SeverityCritical), Category: ptr(2), LeadID: vigil.NullableOf(lead.ID),
			Times: vigil.IncidentTimesUpdate{AwareAt: vigil.NullableOf(aware)}, Version: inc.Version,
		})
		if err != nil {
			t.Fatal(err)
		}
		if got.Severity != vigil.SeverityCritical || got.Category != 2 || !got.Significant || *got.LeadID != lead.ID {
			t.Errorf("after update = %+v", got)
		}
		if got.Version != inc.Version+1 {
			t.Errorf("Version = %d, want %d", got.Version, inc.Version+1)
		}
		if !got.Times.AwareAt.Equal(aware) {
			t.Errorf("AwareAt = %v, want %v", got.Times.AwareAt, aware)
		}
		reload := MustFindIncident(t, ctx, s, inc.ID)
		if diff := cmp.Diff(got, reload); diff != "" {
			t.Errorf("reloaded differs (-updated +reloaded):\n%s", diff)
		}
		// Clearing a time with an explicit null.
		cleared, err := s.Incidents.UpdateIncident(ctx, inc.ID, vigil.IncidentUpdate{
			Times: vigil.IncidentTimesUpdate{AwareAt: vigil.Null[time.Time]()}, Version: got.Version})
		if err != nil {
			t.Fatal(err)
		}
		if cleared.Times.AwareAt != nil {
			t.Errorf("AwareAt = %v after null, want nil", cleared.Times.AwareAt)
		}
		tl, err := s.Timeline.FindTimeline(ctx, inc.ID, vigil.TimelineFilter{Kinds: []vigil.TimelineKind{vigil.KindUpdate}})
		if err != nil {
			t.Fatal(err)
		}
		if len(tl.Items) != 2 {
			t.Fatalf("update entries = %d, want 2", len(tl.Items))
		}
		var fields []string
		for _, c := range tl.Items[1].Changes { // oldest update, newest first list
			fields = append(fields, c.Field)
		}
		if diff := cmp.Diff([]string{"severity", "category", "significant", "lead_id", "times.aware_at"}, fields); diff != "" {
			t.Errorf("changes recorded (-want +got):\n%s", diff)
		}
	})

	t.Run("UpdateNoChangeKeepsVersion", func(t *testing.T) {
		s := open(t)
		ctx, _ := MustCreateUser(t, s, vigil.RoleResponder)
		inc := MustCreateIncident(t, ctx, s, &vigil.Incident{Title: "Same"})
		got, err := s.Incidents.UpdateIncident(ctx, inc.ID, vigil.IncidentUpdate{Title: ptr("Same"), Version: inc.Version})
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != inc.Version {
			t.Errorf("Version = %d, want %d (nothing changed)", got.Version, inc.Version)
		}
	})

	t.Run("ErrStaleVersion", func(t *testing.T) {
		s := open(t)
		ctx, _ := MustCreateUser(t, s, vigil.RoleResponder)
		inc := MustCreateIncident(t, ctx, s, &vigil.Incident{})
		if _, err := s.Incidents.UpdateIncident(ctx, inc.ID, vigil.IncidentUpdate{Title: ptr("First"), Version: inc.Version}); err != nil {
			t.Fatal(err)
		}
		_, err := s.Incidents.UpdateIncident(ctx, inc.ID, vigil.IncidentUpdate{Title: ptr("Second"), Version: inc.Version})
		wantCode(t, err, vigil.ECONFLICT)
		if got := MustFindIncident(t, ctx, s, inc.ID); got.Title != "First" {
			t.Errorf("Title = %q, want %q (the stale write must not land)", got.Title, "First")
		}
	})

	t.Run("ErrUpdateInvalidLeavesRowAlone", func(t *testing.T) {
		s := open(t)
		ctx, _ := MustCreateUser(t, s, vigil.RoleResponder)
		inc := MustCreateIncident(t, ctx, s, &vigil.Incident{})
		_, err := s.Incidents.UpdateIncident(ctx, inc.ID, vigil.IncidentUpdate{Title: ptr(""), Severity: ptr(vigil.SeverityHigh), Version: inc.Version})
		wantField(t, err, "title")
		got := MustFindIncident(t, ctx, s, inc.ID)
		if got.Severity != inc.Severity || got.Version != inc.Version {
			t.Errorf("after a refused update: Severity %q Version %d, want %q %d", got.Severity, got.Version, inc.Severity, inc.Version)
		}
		_, err = s.Incidents.UpdateIncident(ctx, inc.ID, vigil.IncidentUpdate{LeadID: vigil.NullableOf(int64(999)), Version: inc.Version})
		wantCode(t, err, vigil.EFORBIDDEN) // responders cannot set the lead
	})
}

func testTransition(t *testing.T, open Opener) {
	t.Run("Lifecycle", func(t *testing.T) {
		s := open(t)
		c := newClock(s, time.Date(2026, 2, 1, 8, 0, 0, 0, time.UTC))
		ctx, _ := MustCreateUser(t, s, vigil.RoleResponder)
		mctx, _ := MustCreateUser(t, s, vigil.RoleManager)
		inc := MustCreateIncident(t, ctx, s, &vigil.Incident{})
		steps := []vigil.Status{vigil.StatusConfirmed, vigil.StatusContained, vigil.StatusRecovered, vigil.StatusClosed}
		for _, to := range steps {
			c.add(time.Hour)
			next, err := s.Incidents.TransitionIncident(ctx, inc.ID, vigil.Transition{To: to, Version: inc.Version})
			if err != nil {
				t.Fatalf("-> %s: %v", to, err)
			}
			inc = next
		}
		for name, got := range map[string]*time.Time{"aware": inc.Times.AwareAt, "contained": inc.Times.ContainedAt,
			"recovered": inc.Times.RecoveredAt, "closed": inc.Times.ClosedAt} {
			if got == nil {
				t.Errorf("%s time not set by the lifecycle", name)
			}
		}
		if want := time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC); !inc.Times.AwareAt.Equal(want) {
			t.Errorf("AwareAt = %v, want the confirmation time %v", inc.Times.AwareAt, want)
		}
		_, err := s.Incidents.TransitionIncident(ctx, inc.ID, vigil.Transition{To: vigil.StatusReviewed, Version: inc.Version})
		wantCode(t, err, vigil.EFORBIDDEN)
		inc, err = s.Incidents.TransitionIncident(mctx, inc.ID, vigil.Transition{To: vigil.StatusReviewed, Version: inc.Version})
		if err != nil {
			t.Fatal(err)
		}
		tl, err := s.Timeline.FindTimeline(ctx, inc.ID, vigil.TimelineFilter{Kinds: []vigil.TimelineKind{vigil.KindStatus}, Asc: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(tl.Items) != 5 {
			t.Errorf("status entries = %d, want 5", len(tl.Items))
		}
	})

	t.Run("ErrNotAllowed", func(t *testing.T) {
		s := open(t)
		ctx, _ := MustCreateUser(t, s, vigil.RoleResponder)
		inc := MustCreateIncident(t, ctx, s, &vigil.Incident{})
		_, err := s.Incidents.TransitionIncident(ctx, inc.ID, vigil.Transition{To: vigil.StatusClosed, Version: inc.Version})
		wantField(t, err, "to")
		_, err = s.Incidents.TransitionIncident(ctx, inc.ID, vigil.Transition{To: vigil.StatusPolice, Version: inc.Version})
		wantField(t, err, "reason")
		_, err = s.Incidents.TransitionIncident(ctx, inc.ID, vigil.Transition{To: vigil.StatusConfirmed, Version: inc.Version + 5})
		wantCode(t, err, vigil.ECONFLICT)
		if got := MustFindIncident(t, ctx, s, inc.ID); got.Status != vigil.StatusTriage {
			t.Errorf("Status = %q, want triage", got.Status)
		}
	})

	t.Run("RoutedOutAndReopened", func(t *testing.T) {
		s := open(t)
		ctx, _ := MustCreateUser(t, s, vigil.RoleResponder)
		inc := MustCreateIncident(t, ctx, s, &vigil.Incident{})
		inc, err := s.Incidents.TransitionIncident(ctx, inc.ID, vigil.Transition{To: vigil.StatusReportFraud, Reason: "Invoice fraud against a customer", Version: inc.Version})
		if err != nil {
			t.Fatal(err)
		}
		if inc.Times.ClosedAt == nil {
			t.Error("ClosedAt not set when routed out")
		}
		inc, err = s.Incidents.TransitionIncident(ctx, inc.ID, vigil.Transition{To: vigil.StatusTriage, Version: inc.Version})
		if err != nil {
			t.Fatal(err)
		}
		if inc.Times.ClosedAt != nil || inc.Status != vigil.StatusTriage {
			t.Errorf("after reopen: Status %q ClosedAt %v", inc.Status, inc.Times.ClosedAt)
		}
	})

	t.Run("Duplicate", func(t *testing.T) {
		s := open(t)
		ctx, _ := MustCreateUser(t, s, vigil.RoleResponder)
		orig := MustCreateIncident(t, ctx, s, &vigil.Incident{Title: "Original"})
		dup := MustCreateIncident(t, ctx, s, &vigil.Incident{Title: "Same thing again"})
		_, err := s.Incidents.TransitionIncident(ctx, dup.ID, vigil.Transition{To: vigil.StatusDuplicate, Version: dup.Version})
		wantField(t, err, "duplicate_of")
		_, err = s.Incidents.TransitionIncident(ctx, dup.ID, vigil.Transition{To: vigil.StatusDuplicate, DuplicateOf: 99999, Version: dup.Version})
		wantField(t, err, "duplicate_of")
		dup, err = s.Incidents.TransitionIncident(ctx, dup.ID, vigil.Transition{To: vigil.StatusDuplicate, DuplicateOf: orig.ID, Version: dup.Version})
		if err != nil {
			t.Fatal(err)
		}
		if dup.DuplicateOf == nil || *dup.DuplicateOf != orig.ID {
			t.Errorf("DuplicateOf = %v, want %d", dup.DuplicateOf, orig.ID)
		}
		links, err := s.Links.FindLinks(ctx, orig.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(links) != 1 || links[0].Kind != vigil.LinkDuplicateOf || !links[0].Inbound || links[0].TargetID != dup.ID {
			t.Errorf("links of original = %+v, want one inbound duplicate_of from %d", links, dup.ID)
		}
	})
}
