package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
)

// stages lists an incident's rows of one stage, in the order of their rounds.
func stages(obs []*vigil.Obligation, duty, stage string) []*vigil.Obligation {
	var out []*vigil.Obligation
	for _, o := range obs {
		if o.Duty == duty && o.Stage == stage {
			out = append(out, o)
		}
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Round < out[j-1].Round; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// testDutyRequestedAgain: the CSIRT may ask for an intermediate report
// more than once (NIS2 Art. 23(4)(c)), and DORA's updated intermediate
// reports follow each significant change. Once a request's report is
// sent, the stage is listed again for the next request; each request is a
// duty of its own, with its deadline, countdown and draft, and each
// report sent is kept. DORA's final report counts from the latest update.
func testDutyRequestedAgain(t *testing.T, open Opener) {
	s := open(t)
	clk := newClock(s, time.Date(2026, 9, 20, 9, 0, 0, 0, time.UTC))
	admin, _ := MustCreateUser(t, s, vigil.RoleAdmin)
	mgr, _ := MustCreateUser(t, s, vigil.RoleManager)
	if err := s.Duties.UpdateProfile(admin, &vigil.OrgProfile{Name: "Anygrid", Jurisdictions: []string{"NL"}, Timezone: "Europe/Amsterdam",
		NIS2: "essential", DORA: true}); err != nil {
		t.Fatal(err)
	}
	inc := MustCreateIncident(t, mgr, s, &vigil.Incident{Title: "Settlement engine corrupting records", Status: vigil.StatusConfirmed, Significant: true})
	inter := func() []*vigil.Obligation {
		t.Helper()
		return stages(mustObligations(t, s, mgr, inc.ID), "significant-incident", "intermediate")
	}
	first := inter()
	if len(first) != 1 || first[0].Round != 1 || first[0].Status != vigil.ObligationOnRequest {
		t.Fatalf("before any request: %+v", first)
	}
	// The first request, answered on time.
	clk.add(48 * time.Hour)
	due1 := clk.now().Add(24 * time.Hour)
	o1, err := s.Duties.RequestObligation(mgr, first[0].ID, due1, 0)
	if err != nil {
		t.Fatal(err)
	}
	clk.add(20 * time.Hour)
	if _, err := s.Duties.SubmitObligation(mgr, o1.ID, vigil.Submission{Reference: "CSIRT-1", Text: "First status update"}); err != nil {
		t.Fatal(err)
	}
	rs := inter()
	if len(rs) != 2 || rs[0].ID != o1.ID || rs[0].Status != vigil.ObligationSubmitted || rs[1].Round != 2 || rs[1].Status != vigil.ObligationOnRequest ||
		rs[1].DueAt != nil || rs[1].Late {
		t.Fatalf("after the first report: %+v", rs)
	}
	next := rs[1]
	// The sent report is kept: a request on it names the next one.
	if _, err := s.Duties.RequestObligation(mgr, o1.ID, clk.now().Add(time.Hour), 0); !hasField(err, "status") ||
		!strings.Contains(vigil.ErrorMessage(err), fmt.Sprintf("duty %d", next.ID)) {
		t.Errorf("a request on the sent report: %v", err)
	}
	// The second request: a duty of its own, due when it says.
	clk.add(72 * time.Hour)
	due2 := clk.now().Add(48 * time.Hour)
	o2, err := s.Duties.RequestObligation(mgr, next.ID, due2, next.Version)
	if err != nil {
		t.Fatal(err)
	}
	if o2.ID != next.ID || o2.Round != 2 || o2.Status != vigil.ObligationPending || !o2.DueAt.Equal(due2) {
		t.Errorf("the second request: %+v", o2)
	}
	dueSoon, _ := s.Duties.FindDueObligations(mgr, clk.now().Add(72*time.Hour), 50)
	var listed bool
	for _, o := range dueSoon {
		listed = listed || o.ID == o2.ID
	}
	if !listed {
		t.Error("the second request is not among the duties due")
	}
	// Late, with the reason.
	clk.set(due2.Add(3 * time.Hour))
	if _, err := s.Duties.SubmitObligation(mgr, o2.ID, vigil.Submission{Reference: "CSIRT-2", Text: "Second"}); !hasField(err, "late_reason") {
		t.Errorf("late without a reason: %v", err)
	}
	sent2, err := s.Duties.SubmitObligation(mgr, o2.ID, vigil.Submission{Reference: "CSIRT-2", Text: "Second status update", LateReason: "The request went to a shared mailbox."})
	if err != nil || !sent2.Late {
		t.Fatalf("second report: %v %+v", err, sent2)
	}
	rs = inter()
	if len(rs) != 3 || rs[0].Reference != "CSIRT-1" || rs[0].Late || rs[1].Reference != "CSIRT-2" || !rs[1].Late ||
		rs[1].LateReason == "" || rs[2].Round != 3 || rs[2].Status != vigil.ObligationOnRequest {
		t.Fatalf("after the second report: %+v", rs)
	}
	tl, _ := s.Timeline.FindTimeline(mgr, inc.ID, vigil.TimelineFilter{Kinds: []vigil.TimelineKind{vigil.KindDuty}})
	var words []string
	for _, e := range tl.Items {
		words = append(words, e.Message)
	}
	all := strings.Join(words, "\n")
	for _, want := range []string{"(request 2), due ", "Reporting duty submitted: Report the significant incident (NIS2) — Intermediate report, on request (Art. 23(4)(c)) (request 2)"} {
		if !strings.Contains(all, want) {
			t.Errorf("timeline lacks %q:\n%s", want, all)
		}
	}
	// The facts change: the listed next request goes, the reports stay;
	// they come back as they were, with one next request listed.
	no, yes := false, true
	if _, err := s.Incidents.UpdateIncident(mgr, inc.ID, vigil.IncidentUpdate{Significant: &no, Version: MustFindIncident(t, mgr, s, inc.ID).Version}); err != nil {
		t.Fatal(err)
	}
	if rs := inter(); len(rs) != 2 || rs[0].Status != vigil.ObligationSubmitted || rs[1].Status != vigil.ObligationSubmitted {
		t.Errorf("not significant after all: %+v", rs)
	}
	if _, err := s.Incidents.UpdateIncident(mgr, inc.ID, vigil.IncidentUpdate{Significant: &yes, Version: MustFindIncident(t, mgr, s, inc.ID).Version}); err != nil {
		t.Fatal(err)
	}
	if rs := inter(); len(rs) != 3 || rs[2].Round != 3 || rs[2].Status != vigil.ObligationOnRequest {
		t.Errorf("significant again: %+v", rs)
	}

	// DORA: two updated intermediate reports; the final report is due a
	// month after the later one (Delegated Regulation (EU) 2025/301 Art. 5(1)(c)).
	upd := stages(mustObligations(t, s, mgr, inc.ID), "major-ict-incident", "updated-intermediate")
	if len(upd) != 1 {
		t.Fatalf("updated intermediate reports: %+v", upd)
	}
	var last time.Time
	for round := 1; round <= 2; round++ {
		clk.add(24 * time.Hour)
		o, err := s.Duties.RequestObligation(mgr, upd[len(upd)-1].ID, clk.now().Add(6*time.Hour), 0)
		if err != nil {
			t.Fatal(err)
		}
		clk.add(2 * time.Hour)
		if _, err := s.Duties.SubmitObligation(mgr, o.ID, vigil.Submission{Reference: fmt.Sprintf("DNB-U%d", round), Text: "Update"}); err != nil {
			t.Fatal(err)
		}
		last = clk.now()
		upd = stages(mustObligations(t, s, mgr, inc.ID), "major-ict-incident", "updated-intermediate")
	}
	if len(upd) != 3 || upd[0].Reference != "DNB-U1" || upd[1].Reference != "DNB-U2" || upd[2].Status != vigil.ObligationOnRequest {
		t.Fatalf("updated intermediate reports: %+v", upd)
	}
	ams, _ := time.LoadLocation("Europe/Amsterdam")
	final := stage(t, mustObligations(t, s, mgr, inc.ID), "major-ict-incident", "final")
	if want := last.In(ams).AddDate(0, 1, 0); final == nil || final.DueAt == nil || !final.DueAt.Equal(want) {
		t.Errorf("DORA final report: %+v, want due %v, a month after the later update", final, want)
	}
}

// testDutyRoundsMigration: migration 00030 keeps every duty stored before
// as round 1, and going back takes away only what an older Vigil cannot
// hold: the later requests' rows and the voluntary notifications.
func testDutyRoundsMigration(t *testing.T, open Opener) {
	s := open(t)
	if s.Migrate == nil || s.Exec == nil {
		t.Skip("this store cannot migrate behind its back")
	}
	ctx := t.Context()
	clk := newClock(s, time.Date(2026, 9, 20, 9, 0, 0, 0, time.UTC))
	admin, _ := MustCreateUser(t, s, vigil.RoleAdmin)
	mgr, _ := MustCreateUser(t, s, vigil.RoleManager)
	if err := s.Duties.UpdateProfile(admin, &vigil.OrgProfile{Jurisdictions: []string{"NL"}, Timezone: "UTC", NIS2: "important", DORA: true}); err != nil {
		t.Fatal(err)
	}
	inc := MustCreateIncident(t, mgr, s, &vigil.Incident{Title: "Core banking down", Status: vigil.StatusConfirmed, Significant: true,
		SignificantCyberThreat: true})
	inter := stages(mustObligations(t, s, mgr, inc.ID), "significant-incident", "intermediate")[0]
	if _, err := s.Duties.RequestObligation(mgr, inter.ID, clk.now().Add(time.Hour), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Duties.SubmitObligation(mgr, inter.ID, vigil.Submission{Reference: "CSIRT-1"}); err != nil {
		t.Fatal(err)
	}
	before := mustObligations(t, s, mgr, inc.ID)
	var later, voluntary int
	for _, o := range before {
		if o.Round > 1 {
			later++
		}
		if o.Voluntary {
			voluntary++
		}
	}
	if later != 1 || voluntary != 1 {
		t.Fatalf("%d later rounds and %d voluntary stages, want one of each", later, voluntary)
	}
	// Back to just before 00030 (29 leaves alone whatever comes before it).
	if err := s.Migrate(ctx, 29); err != nil {
		t.Fatal(err)
	}
	res, err := s.Exec(ctx, `UPDATE obligations SET stage = stage WHERE incident_id = ?`, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != int64(len(before)-2) {
		t.Errorf("%d duties after going back, want %d", n, len(before)-2)
	}
	if err := s.Migrate(ctx, 1<<40); err != nil {
		t.Fatal(err)
	}
	after := mustObligations(t, s, mgr, inc.ID)
	for _, o := range after {
		if o.Round != 1 || o.Voluntary {
			t.Errorf("after going back and up: %s/%s round %d voluntary %v", o.Duty, o.Stage, o.Round, o.Voluntary)
		}
	}
	if got := stage(t, after, "significant-incident", "intermediate"); got == nil || got.ID != inter.ID || got.Reference != "CSIRT-1" {
		t.Errorf("the report sent: %+v", got)
	}
	// The next change lists the next request again.
	high := vigil.SeverityHigh
	if _, err := s.Incidents.UpdateIncident(mgr, inc.ID, vigil.IncidentUpdate{Severity: &high, Version: MustFindIncident(t, mgr, s, inc.ID).Version}); err != nil {
		t.Fatal(err)
	}
	if rs := stages(mustObligations(t, s, mgr, inc.ID), "significant-incident", "intermediate"); len(rs) != 2 || rs[1].Status != vigil.ObligationOnRequest {
		t.Errorf("after the next change: %+v", rs)
	}
}
