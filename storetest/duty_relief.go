package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
)

// testDutyWeekendRelief: a DORA entity that takes up the weekend and bank
// holiday relief of Delegated Regulation (EU) 2025/301 Art. 5(4) in its
// profile sees its open incidents' reports due on a weekend day or one
// of its bank holidays move to noon of the next working day, and back
// when it gives it up; the timeline says why each moved.
func testDutyWeekendRelief(t *testing.T, open Opener) {
	s := open(t)
	// Friday 12 June 2026, 22:00 UTC: classified now, the initial
	// notification is due 4 hours later, 02:00 on Saturday.
	clk := newClock(s, time.Date(2026, 6, 12, 22, 0, 0, 0, time.UTC))
	admin, _ := MustCreateUser(t, s, vigil.RoleAdmin)
	mgr, _ := MustCreateUser(t, s, vigil.RoleManager)
	p := &vigil.OrgProfile{Name: "Anybank", Jurisdictions: []string{"IE"}, Timezone: "UTC", DORA: true}
	if err := s.Duties.UpdateProfile(admin, p); err != nil {
		t.Fatal(err)
	}
	inc := MustCreateIncident(t, mgr, s, &vigil.Incident{Title: "Card authorisations failing", Status: vigil.StatusConfirmed, Significant: true})
	initial := func() *vigil.Obligation {
		t.Helper()
		o := stage(t, mustObligations(t, s, mgr, inc.ID), "major-ict-incident", "initial")
		if o == nil {
			t.Fatal("no initial notification")
		}
		return o
	}
	saturday := clk.now().Add(4 * time.Hour)
	if o := initial(); !o.DueAt.Equal(saturday) || o.StrictDueAt != nil {
		t.Fatalf("strict by default: due %v, moved from %v", o.DueAt, o.StrictDueAt)
	}
	setProfile := func(relief string, holidays ...string) {
		t.Helper()
		cur, err := s.Duties.FindProfile(admin)
		if err != nil {
			t.Fatal(err)
		}
		cur.DORAWeekendRelief, cur.BankHolidays = relief, holidays
		if err := s.Duties.UpdateProfile(admin, cur); err != nil {
			t.Fatal(err)
		}
	}
	setProfile("all")
	monday := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	o := initial()
	if !o.DueAt.Equal(monday) || o.StrictDueAt == nil || !o.StrictDueAt.Equal(saturday) || !strings.Contains(o.Basis, "2025/301 Art. 5(4)") {
		t.Errorf("relief taken up: due %v, moved from %v, basis %q", o.DueAt, o.StrictDueAt, o.Basis)
	}
	tl, _ := s.Timeline.FindTimeline(mgr, inc.ID, vigil.TimelineFilter{Kinds: []vigil.TimelineKind{vigil.KindDuty}})
	var said bool
	for _, e := range tl.Items {
		said = said || strings.Contains(e.Message, "falls on a weekend day or bank holiday") && strings.Contains(e.Message, "the rules for its deadline changed")
	}
	if !said {
		t.Error("the timeline does not say why the deadline moved")
	}
	// Monday is a bank holiday: Tuesday noon.
	setProfile("all", "2026-06-15")
	if got, _ := s.Duties.FindProfile(admin); got.DORAWeekendRelief != "all" || len(got.BankHolidays) != 1 || got.BankHolidays[0] != "2026-06-15" {
		t.Errorf("saved profile: %+v", got)
	}
	if o := initial(); !o.DueAt.Equal(monday.Add(24 * time.Hour)) {
		t.Errorf("with Monday a bank holiday: due %v", o.DueAt)
	}
	// Final reports only: the initial notification is strict again.
	setProfile("final", "2026-06-15")
	if o := initial(); !o.DueAt.Equal(saturday) || o.StrictDueAt != nil || strings.Contains(o.Basis, "Art. 5(4)") {
		t.Errorf("relief for final reports only: due %v, moved from %v", o.DueAt, o.StrictDueAt)
	}
	// An essential entity under NIS2 cannot take it for the initial notification.
	cur, _ := s.Duties.FindProfile(admin)
	cur.NIS2, cur.DORAWeekendRelief = "essential", "all"
	if err := s.Duties.UpdateProfile(admin, cur); !hasField(err, "dora_weekend_relief") {
		t.Errorf("NIS2 entity takes the relief for every report: %v", err)
	}
	// Sent on Monday morning, under the relief: on time, and it stays so
	// when the relief is given up later (a change to the relief alone
	// does not judge again a report already sent).
	setProfile("all")
	clk.set(monday.Add(-2 * time.Hour))
	sent, err := s.Duties.SubmitObligation(mgr, initial().ID, vigil.Submission{Reference: "CBI-1", Text: "Initial notification"})
	if err != nil {
		t.Fatal(err)
	}
	if sent.Late || sent.StrictDueAt == nil {
		t.Errorf("sent under the relief: late %v, moved from %v", sent.Late, sent.StrictDueAt)
	}
	setProfile("")
	if o := initial(); o.Late || o.StrictDueAt == nil || !o.DueAt.Equal(monday) {
		t.Errorf("the relief given up after the submission: due %v late %v moved from %v", o.DueAt, o.Late, o.StrictDueAt)
	}
	// A corrected clock is judged under the rules in force: strict now.
	cur, _ = s.Duties.FindProfile(admin)
	if cur.DORAWeekendRelief != "" {
		t.Fatalf("profile: %+v", cur)
	}
	aware, classified := saturday.Add(-6*time.Hour), saturday.Add(-5*time.Hour)
	now := MustFindIncident(t, mgr, s, inc.ID)
	if _, err := s.Incidents.UpdateIncident(mgr, inc.ID, vigil.IncidentUpdate{Times: vigil.IncidentTimesUpdate{AwareAt: vigil.NullableOf(aware),
		ClassifiedAt: vigil.NullableOf(classified)}, Version: now.Version}); err != nil {
		t.Fatal(err)
	}
	if o := initial(); !o.Late || !o.DelayUnexplained || o.StrictDueAt != nil || !o.DueAt.Equal(classified.Add(4*time.Hour)) {
		t.Errorf("classification corrected after the submission: due %v late %v unexplained %v moved from %v", o.DueAt, o.Late, o.DelayUnexplained, o.StrictDueAt)
	}
}
