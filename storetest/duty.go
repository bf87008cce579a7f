package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
)

func obligation(t *testing.T, obs []*vigil.Obligation, duty string) *vigil.Obligation {
	t.Helper()
	for _, o := range obs {
		if o.Duty == duty {
			return o
		}
	}
	t.Fatalf("no %s duty among %d", duty, len(obs))
	return nil
}

func testDuty(t *testing.T, open Opener) {
	s := open(t)
	now := time.Date(2026, 6, 10, 9, 0, 0, 0, time.UTC)
	s.SetNow(func() time.Time { return now })
	mgr, _ := MustCreateUser(t, s, vigil.RoleManager)
	viewer, _ := MustCreateUser(t, s, vigil.RoleViewer)
	admin, _ := MustCreateUser(t, s, vigil.RoleAdmin)

	// The default profile: a UK organisation that controls personal data.
	inc := MustCreateIncident(t, mgr, s, &vigil.Incident{Title: "Payroll export e-mailed to the wrong firm", Status: vigil.StatusConfirmed,
		PersonalData: true})
	obs, err := s.Duties.FindObligations(viewer, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	ico := obligation(t, obs, "ico-notification")
	if ico.Status != vigil.ObligationPending || ico.DueAt == nil || !ico.DueAt.Equal(now.Add(72*time.Hour)) || ico.Authority != "ICO" {
		t.Fatalf("ICO duty: %+v", ico)
	}
	reg := obligation(t, obs, "breach-register")
	if !reg.Register || reg.DueAt != nil {
		t.Errorf("register: %+v", reg)
	}
	if len(obs) != 2 {
		t.Errorf("%d obligations, want ICO and register", len(obs))
	}
	if one, err := s.Duties.FindObligationByID(viewer, ico.ID); err != nil || one.Duty != "ico-notification" {
		t.Errorf("FindObligationByID: %v %+v", err, one)
	}

	t.Run("FactsChange", func(t *testing.T) {
		cur := MustFindIncident(t, mgr, s, inc.ID)
		earlier := now.Add(-20 * time.Hour)
		if _, err := s.Incidents.UpdateIncident(mgr, inc.ID, vigil.IncidentUpdate{Times: vigil.IncidentTimesUpdate{AwareAt: vigil.NullableOf(earlier)}, Version: cur.Version}); err != nil {
			t.Fatal(err)
		}
		obs, _ := s.Duties.FindObligations(mgr, inc.ID)
		if o := obligation(t, obs, "ico-notification"); !o.DueAt.Equal(earlier.Add(72 * time.Hour)) {
			t.Errorf("after awareness corrected: due %v", o.DueAt)
		}
		// Raising the severity brings the duty to tell the people affected.
		cur = MustFindIncident(t, mgr, s, inc.ID)
		high := vigil.SeverityHigh
		if _, err := s.Incidents.UpdateIncident(mgr, inc.ID, vigil.IncidentUpdate{Severity: &high, Version: cur.Version}); err != nil {
			t.Fatal(err)
		}
		obs, _ = s.Duties.FindObligations(mgr, inc.ID)
		if o := obligation(t, obs, "data-subjects"); !o.ASAP || o.Status != vigil.ObligationPending {
			t.Errorf("data subjects: %+v", o)
		}
		// Clearing the personal data flag withdraws them, with the reason.
		cur = MustFindIncident(t, mgr, s, inc.ID)
		no := false
		if _, err := s.Incidents.UpdateIncident(mgr, inc.ID, vigil.IncidentUpdate{PersonalData: &no, Version: cur.Version}); err != nil {
			t.Fatal(err)
		}
		obs, _ = s.Duties.FindObligations(mgr, inc.ID)
		for _, o := range obs {
			if o.Status != vigil.ObligationWithdrawn || o.WithdrawnReason == "" {
				t.Errorf("after clearing personal data: %s %s %q", o.Duty, o.Status, o.WithdrawnReason)
			}
		}
		// And setting it again brings them back.
		cur = MustFindIncident(t, mgr, s, inc.ID)
		yes := true
		if _, err := s.Incidents.UpdateIncident(mgr, inc.ID, vigil.IncidentUpdate{PersonalData: &yes, Version: cur.Version}); err != nil {
			t.Fatal(err)
		}
		obs, _ = s.Duties.FindObligations(mgr, inc.ID)
		if o := obligation(t, obs, "ico-notification"); o.Status != vigil.ObligationPending {
			t.Errorf("after setting personal data again: %s", o.Status)
		}
		tl, _ := s.Timeline.FindTimeline(mgr, inc.ID, vigil.TimelineFilter{Kinds: []vigil.TimelineKind{vigil.KindDuty}})
		var words []string
		for _, e := range tl.Items {
			words = append(words, e.Message)
		}
		all := strings.Join(words, "\n")
		for _, want := range []string{"Reporting duty: Notify the ICO", "withdrawn", "applies again", "the clock start changed"} {
			if !strings.Contains(all, want) {
				t.Errorf("timeline lacks %q:\n%s", want, all)
			}
		}
	})

	t.Run("Submit", func(t *testing.T) {
		obs, _ := s.Duties.FindObligations(mgr, inc.ID)
		ico := obligation(t, obs, "ico-notification")
		if _, err := s.Duties.SubmitObligation(viewer, ico.ID, vigil.Submission{Reference: "x"}); vigil.ErrorCode(err) != vigil.EFORBIDDEN {
			t.Errorf("viewer submits: %v", err)
		}
		// Late without a reason is refused; the reason is kept.
		now = ico.DueAt.Add(2 * time.Hour)
		if _, err := s.Duties.SubmitObligation(mgr, ico.ID, vigil.Submission{Reference: "IC-123"}); !hasField(err, "late_reason") {
			t.Errorf("late without reason: %v", err)
		}
		got, err := s.Duties.SubmitObligation(mgr, ico.ID, vigil.Submission{Reference: "IC-123", Text: "We notify a breach…", LateReason: "The DPO was on leave."})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != vigil.ObligationSubmitted || !got.Late || got.SubmittedAt == nil || !got.SubmittedAt.Equal(now) ||
			got.Reference != "IC-123" || got.SubmittedText != "We notify a breach…" || got.SubmittedByName == "" {
			t.Errorf("submitted: %+v", got)
		}
		// What was submitted does not change.
		if _, err := s.Duties.SubmitObligation(mgr, ico.ID, vigil.Submission{Reference: "again"}); !hasField(err, "status") {
			t.Errorf("second submission: %v", err)
		}
		// The register entry cannot be waived; telling people can, with a reason.
		reg := obligation(t, obs, "breach-register")
		if _, err := s.Duties.WaiveObligation(mgr, reg.ID, "no", 0); !hasField(err, "justification") {
			t.Errorf("waive the register: %v", err)
		}
		ds := obligation(t, obs, "data-subjects")
		if _, err := s.Duties.WaiveObligation(mgr, ds.ID, "", 0); !hasField(err, "justification") {
			t.Errorf("waive without reason: %v", err)
		}
		w, err := s.Duties.WaiveObligation(mgr, ds.ID, "The files were encrypted (Art. 34(3)(a)).", 0)
		if err != nil || w.Status != vigil.ObligationNotRequired || w.Justification == "" {
			t.Errorf("waive: %v %+v", err, w)
		}
		// Submitted and waived duties stay when the facts change.
		cur := MustFindIncident(t, mgr, s, inc.ID)
		no := false
		if _, err := s.Incidents.UpdateIncident(mgr, inc.ID, vigil.IncidentUpdate{PersonalData: &no, Version: cur.Version}); err != nil {
			t.Fatal(err)
		}
		obs, _ = s.Duties.FindObligations(mgr, inc.ID)
		if o := obligation(t, obs, "ico-notification"); o.Status != vigil.ObligationSubmitted {
			t.Errorf("submitted duty after facts changed: %s", o.Status)
		}
	})

	t.Run("DueSoonAndVisibility", func(t *testing.T) {
		now = time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC)
		amber := MustCreateIncident(t, mgr, s, &vigil.Incident{Title: "Laptop stolen", Status: vigil.StatusConfirmed, PersonalData: true})
		red := MustCreateIncident(t, admin, s, &vigil.Incident{Title: "Board papers leaked", Status: vigil.StatusConfirmed, PersonalData: true, TLP: vigil.TLPRed})
		due, err := s.Duties.FindDueObligations(viewer, now.Add(96*time.Hour), 50)
		if err != nil {
			t.Fatal(err)
		}
		var incs []int64
		for _, o := range due {
			incs = append(incs, o.IncidentID)
			if o.Incident == nil || o.Incident.Reference == "" {
				t.Errorf("due duty without its incident: %+v", o)
			}
		}
		if !contains64(incs, amber.ID) || contains64(incs, red.ID) {
			t.Errorf("due soon for a viewer: %v (amber %d, red %d)", incs, amber.ID, red.ID)
		}
		if _, err := s.Duties.FindObligations(viewer, red.ID); vigil.ErrorCode(err) != vigil.ENOTFOUND {
			t.Errorf("viewer reads a TLP:RED incident's duties: %v", err)
		}
		// Routed out: not an incident withdraws its duties.
		if _, err := s.Incidents.TransitionIncident(mgr, amber.ID, vigil.Transition{To: vigil.StatusNotIncident, Reason: "Found in the car park.", Version: MustFindIncident(t, mgr, s, amber.ID).Version}); err != nil {
			// Confirmed incidents may not be routed out; fall back to the facts.
			no := false
			if _, err := s.Incidents.UpdateIncident(mgr, amber.ID, vigil.IncidentUpdate{PersonalData: &no, Version: MustFindIncident(t, mgr, s, amber.ID).Version}); err != nil {
				t.Fatal(err)
			}
		}
		obs, _ := s.Duties.FindObligations(mgr, amber.ID)
		for _, o := range obs {
			if o.Status != vigil.ObligationWithdrawn {
				t.Errorf("after routing out: %s %s", o.Duty, o.Status)
			}
		}
	})

	t.Run("Profile", func(t *testing.T) {
		p, err := s.Duties.FindProfile(viewer)
		if err != nil || !p.UKGDPR || p.Version != 0 {
			t.Fatalf("default profile: %+v %v", p, err)
		}
		ess := MustCreateIncident(t, mgr, s, &vigil.Incident{Title: "Water treatment SCADA down", Status: vigil.StatusConfirmed, EssentialService: true})
		if err := s.Duties.UpdateProfile(mgr, &vigil.OrgProfile{NISOES: true}); vigil.ErrorCode(err) != vigil.EFORBIDDEN {
			t.Errorf("manager sets the profile: %v", err)
		}
		if err := s.Duties.UpdateProfile(admin, &vigil.OrgProfile{Timezone: "Mars/Olympus"}); !hasField(err, "timezone") {
			t.Errorf("bad zone: %v", err)
		}
		np := &vigil.OrgProfile{Name: "Anytown Water", Jurisdictions: []string{"uk"}, UKGDPR: true, NISOES: true, CompetentAuthority: "DWI"}
		if err := s.Duties.UpdateProfile(admin, np); err != nil {
			t.Fatal(err)
		}
		// Open incidents are evaluated again under the new profile.
		obs, _ := s.Duties.FindObligations(mgr, ess.ID)
		if o := obligation(t, obs, "oes-notification"); o.Status != vigil.ObligationPending {
			t.Errorf("OES duty: %+v", o)
		}
		if err := s.Duties.UpdateProfile(admin, &vigil.OrgProfile{Version: 99}); vigil.ErrorCode(err) != vigil.ECONFLICT {
			t.Errorf("stale profile: %v", err)
		}
		if p, _ := s.Duties.FindProfile(viewer); p.Name != "Anytown Water" || p.Version != 1 || p.Jurisdictions[0] != "UK" {
			t.Errorf("saved profile: %+v", p)
		}
	})
}

func contains64(xs []int64, x int64) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func testDutyPacks(t *testing.T, open Opener) {
	s := open(t)
	mgr, _ := MustCreateUser(t, s, vigil.RoleManager)
	admin, _ := MustCreateUser(t, s, vigil.RoleAdmin)
	packs, err := s.Duties.FindPacks(mgr)
	if err != nil || len(packs) != 7 {
		t.Fatalf("packs: %v %d", err, len(packs))
	}
	inc := MustCreateIncident(t, mgr, s, &vigil.Incident{Title: "Ransomware on the file server", Status: vigil.StatusConfirmed, CrimeSuspected: true})
	// An insurer's clause, added without code.
	insurer := `{"id": "insurer", "name": "Cyber insurance policy", "version": 1, "basis": "Policy 12345, clause 7.2",
		"duties": [{"id": "notify", "title": "Tell the insurer", "authority": "Insurer", "basis": "Clause 7.2", "clock": "aware_at",
			"when": {"fact": "crime_suspected", "eq": true, "why": "a crime is suspected"},
			"stages": [{"id": "notice", "name": "Notice of a claim", "due": "48h"}], "contact": "insurer"}]}`
	if _, err := s.Duties.SavePack(mgr, []byte(insurer)); vigil.ErrorCode(err) != vigil.EFORBIDDEN {
		t.Errorf("manager saves a pack: %v", err)
	}
	info, err := s.Duties.SavePack(admin, []byte(insurer))
	if err != nil || !info.Custom || info.Shipped {
		t.Fatalf("save: %v %+v", err, info)
	}
	// Open incidents get its duty at once.
	obs, _ := s.Duties.FindObligations(mgr, inc.ID)
	if o := obligation(t, obs, "notify"); o.Pack != "insurer" || o.DueAt == nil {
		t.Errorf("insurer duty: %+v", o)
	}
	// A broken pack is refused with its problems named; the one in force stays.
	broken := strings.Replace(insurer, `"due": "48h"`, `"due": "two days"`, 1)
	if _, err := s.Duties.SavePack(admin, []byte(broken)); !hasField(err, "duties[0].stages[0].due") {
		t.Errorf("broken pack: %v %v", err, vigil.ErrorFields(err))
	}
	packs, _ = s.Duties.FindPacks(mgr)
	if len(packs) != 8 || !strings.Contains(string(packs[7].Body), `"48h"`) {
		t.Errorf("packs after the refused save: %d", len(packs))
	}
	// Replacing a shipped pack, then deleting the replacement, brings it back.
	ncsc := `{"id": "uk-ncsc", "name": "NCSC (ours)", "version": 2, "basis": "Our reading", "duties": [{"id": "report", "title": "Tell the NCSC",
		"authority": "NCSC", "basis": "x", "clock": "aware_at", "when": {"fact": "crime_suspected", "eq": true}, "stages": [{"id": "r", "name": "Report", "due": "asap"}]}]}`
	if info, err = s.Duties.SavePack(admin, []byte(ncsc)); err != nil || !info.Shipped || !info.Custom {
		t.Fatalf("replace shipped: %v %+v", err, info)
	}
	obs, _ = s.Duties.FindObligations(mgr, inc.ID)
	if o := obligation(t, obs, "report"); o.Pack != "uk-ncsc" || o.Title != "Tell the NCSC" {
		t.Errorf("replaced pack's duty: %+v", o)
	}
	if err := s.Duties.DeletePack(admin, "uk-ncsc"); err != nil {
		t.Fatal(err)
	}
	if err := s.Duties.DeletePack(admin, "uk-ncsc"); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Errorf("delete twice: %v", err)
	}
	packs, _ = s.Duties.FindPacks(mgr)
	for _, p := range packs {
		if p.ID == "uk-ncsc" && (p.Custom || p.Name == "NCSC (ours)") {
			t.Errorf("shipped pack not back: %+v", p)
		}
	}
}

// testClassifiedClock: flagging an incident significant records when it
// was classified, and DORA's initial notification falls due 4 hours later
// (or 24 hours after awareness, whichever is first).
func testClassifiedClock(t *testing.T, open Opener) {
	s := open(t)
	clk := newClock(s, time.Date(2026, 10, 24, 22, 0, 0, 0, time.UTC))
	admin, _ := MustCreateUser(t, s, vigil.RoleAdmin)
	mgr, _ := MustCreateUser(t, s, vigil.RoleManager)
	p := &vigil.OrgProfile{Name: "Anybank", Jurisdictions: []string{"IE"}, Timezone: "Europe/Dublin", DORA: true}
	if err := s.Duties.UpdateProfile(admin, p); err != nil {
		t.Fatal(err)
	}
	inc := MustCreateIncident(t, mgr, s, &vigil.Incident{Title: "Payments platform outage", Status: vigil.StatusConfirmed})
	aware := clk.now()
	if inc.Times.ClassifiedAt != nil {
		t.Errorf("classified before it was significant: %v", inc.Times.ClassifiedAt)
	}
	clk.add(3 * time.Hour)
	yes := true
	inc, err := s.Incidents.UpdateIncident(mgr, inc.ID, vigil.IncidentUpdate{Significant: &yes, Version: inc.Version})
	if err != nil {
		t.Fatal(err)
	}
	if inc.Times.ClassifiedAt == nil || !inc.Times.ClassifiedAt.Equal(clk.now()) {
		t.Fatalf("classified_at %v, want %v", inc.Times.ClassifiedAt, clk.now())
	}
	obs, _ := s.Duties.FindObligations(mgr, inc.ID)
	initial := obligation(t, obs, "major-ict-incident")
	if initial.Stage != "initial" || !initial.DueAt.Equal(aware.Add(7*time.Hour)) {
		t.Errorf("DORA initial: stage %s due %v, want %v", initial.Stage, initial.DueAt, aware.Add(7*time.Hour))
	}
	// Correcting the classification time moves the deadline; clearing
	// significance keeps the time it was first classified.
	later := aware.Add(22 * time.Hour)
	inc, err = s.Incidents.UpdateIncident(mgr, inc.ID, vigil.IncidentUpdate{Times: vigil.IncidentTimesUpdate{ClassifiedAt: vigil.NullableOf(later)}, Version: inc.Version})
	if err != nil {
		t.Fatal(err)
	}
	obs, _ = s.Duties.FindObligations(mgr, inc.ID)
	if o := obligation(t, obs, "major-ict-incident"); !o.DueAt.Equal(aware.Add(24 * time.Hour)) {
		t.Errorf("after correction: due %v, want 24 h after awareness", o.DueAt)
	}
	if got := MustFindIncident(t, mgr, s, inc.ID); got.Times.ClassifiedAt == nil || !got.Times.ClassifiedAt.Equal(later) {
		t.Errorf("stored classified_at %v", got.Times.ClassifiedAt)
	}
}

// testLateClassification: an incident classified as major more than 24
// hours after awareness owes DORA's initial notification 4 hours after the
// classification (Delegated Regulation (EU) 2025/301 Art. 5(2)), so it is
// not born overdue; the store evaluates it again when significance is
// flagged and when the classification time is corrected.
func testLateClassification(t *testing.T, open Opener) {
	s := open(t)
	clk := newClock(s, time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC))
	admin, _ := MustCreateUser(t, s, vigil.RoleAdmin)
	mgr, _ := MustCreateUser(t, s, vigil.RoleManager)
	if err := s.Duties.UpdateProfile(admin, &vigil.OrgProfile{Name: "Anybank", Jurisdictions: []string{"UK"}, Timezone: "Europe/London", DORA: true}); err != nil {
		t.Fatal(err)
	}
	inc := MustCreateIncident(t, mgr, s, &vigil.Incident{Title: "Card payments failing", Status: vigil.StatusConfirmed})
	aware := clk.now()
	// 30 hours later, over the March change, it is classified as major.
	clk.add(30 * time.Hour)
	yes := true
	inc, err := s.Incidents.UpdateIncident(mgr, inc.ID, vigil.IncidentUpdate{Significant: &yes, Version: inc.Version})
	if err != nil {
		t.Fatal(err)
	}
	obs, err := s.Duties.FindObligations(mgr, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	initial := obligation(t, obs, "major-ict-incident")
	if want := aware.Add(34 * time.Hour); initial.Stage != "initial" || initial.DueAt == nil || !initial.DueAt.Equal(want) || initial.Late {
		t.Fatalf("initial notification: stage %s due %v late %v, want due %v (classification + 4 h)", initial.Stage, initial.DueAt, initial.Late, want)
	}
	if !initial.ClockStart.Equal(clk.now()) {
		t.Errorf("clock start %v, want the classification %v", initial.ClockStart, clk.now())
	}
	// Correcting the classification to within the 24 hours brings back
	// the backstop: 24 hours after awareness, now past.
	inc, err = s.Incidents.UpdateIncident(mgr, inc.ID, vigil.IncidentUpdate{Times: vigil.IncidentTimesUpdate{ClassifiedAt: vigil.NullableOf(aware.Add(22 * time.Hour))}, Version: inc.Version})
	if err != nil {
		t.Fatal(err)
	}
	obs, _ = s.Duties.FindObligations(mgr, inc.ID)
	if o := obligation(t, obs, "major-ict-incident"); !o.DueAt.Equal(aware.Add(24*time.Hour)) || !o.Late {
		t.Errorf("classified within 24 h: due %v late %v, want %v and late", o.DueAt, o.Late, aware.Add(24*time.Hour))
	}
	// And back to 26 hours: 4 hours after it.
	if _, err = s.Incidents.UpdateIncident(mgr, inc.ID, vigil.IncidentUpdate{Times: vigil.IncidentTimesUpdate{ClassifiedAt: vigil.NullableOf(aware.Add(26 * time.Hour))}, Version: inc.Version}); err != nil {
		t.Fatal(err)
	}
	obs, _ = s.Duties.FindObligations(mgr, inc.ID)
	if o := obligation(t, obs, "major-ict-incident"); !o.DueAt.Equal(aware.Add(30 * time.Hour)) {
		t.Errorf("classified 26 h after awareness: due %v, want %v", o.DueAt, aware.Add(30*time.Hour))
	}
}

// testNIS2Significant: NIS2's clocks start when the entity became aware
// that the incident is significant (Art. 23(4)(a), (b)): an incident
// flagged significant five days in is not born overdue.
func testNIS2Significant(t *testing.T, open Opener) {
	s := open(t)
	clk := newClock(s, time.Date(2026, 10, 20, 9, 0, 0, 0, time.UTC))
	admin, _ := MustCreateUser(t, s, vigil.RoleAdmin)
	mgr, _ := MustCreateUser(t, s, vigil.RoleManager)
	if err := s.Duties.UpdateProfile(admin, &vigil.OrgProfile{Name: "Anywater", Jurisdictions: []string{"IE"}, Timezone: "Europe/Dublin", NIS2: "essential"}); err != nil {
		t.Fatal(err)
	}
	inc := MustCreateIncident(t, mgr, s, &vigil.Incident{Title: "Telemetry gaps at the pumping stations", Status: vigil.StatusConfirmed})
	clk.add(5 * 24 * time.Hour)
	classified := clk.now()
	cat := 3
	inc, err := s.Incidents.UpdateIncident(mgr, inc.ID, vigil.IncidentUpdate{Category: &cat, Version: inc.Version})
	if err != nil {
		t.Fatal(err)
	}
	obs, err := s.Duties.FindObligations(mgr, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Time{"early-warning": classified.Add(24 * time.Hour), "notification": classified.Add(72 * time.Hour)}
	for _, o := range obs {
		if w, ok := want[o.Stage]; ok {
			if o.DueAt == nil || !o.DueAt.Equal(w) || o.Late || !o.ClockStart.Equal(classified) {
				t.Errorf("%s: due %v from %v, late %v; want %v from the classification", o.Stage, o.DueAt, o.ClockStart, o.Late, w)
			}
			delete(want, o.Stage)
		}
	}
	if len(want) != 0 {
		t.Errorf("missing stages %v among %d duties", want, len(obs))
	}
}

// testDutyCorrectedAfterSubmission: awareness corrected to an earlier time
// after the ICO was notified puts the submission past the corrected
// deadline: the duty shows as submitted late and asks for the reasons for
// the delay (UK GDPR Art. 33(1)), which are then recorded once.
func testDutyCorrectedAfterSubmission(t *testing.T, open Opener) {
	s := open(t)
	clk := newClock(s, time.Date(2026, 10, 23, 9, 0, 0, 0, time.UTC))
	mgr, _ := MustCreateUser(t, s, vigil.RoleManager)
	viewer, _ := MustCreateUser(t, s, vigil.RoleViewer)
	inc := MustCreateIncident(t, mgr, s, &vigil.Incident{Title: "HR share readable by all staff", Status: vigil.StatusConfirmed, PersonalData: true})
	aware := clk.now()
	obs, _ := s.Duties.FindObligations(mgr, inc.ID)
	ico := obligation(t, obs, "ico-notification")
	clk.add(60 * time.Hour)
	got, err := s.Duties.SubmitObligation(mgr, ico.ID, vigil.Submission{Reference: "IC-1", Text: "We report…"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Late || got.DelayUnexplained {
		t.Fatalf("submitted 60 h after awareness: late %v, delay unexplained %v", got.Late, got.DelayUnexplained)
	}
	// Submitted on time, it takes no reasons for a delay.
	if _, err := s.Duties.ExplainDelay(mgr, ico.ID, "x", 0); !hasField(err, "late_reason") {
		t.Errorf("reasons for an on-time submission: %v", err)
	}
	// Logs show the breach was known a day earlier: the deadline moves
	// 24 hours back, before the submission.
	clk.add(time.Hour)
	cur := MustFindIncident(t, mgr, s, inc.ID)
	earlier := aware.Add(-24 * time.Hour)
	if _, err := s.Incidents.UpdateIncident(mgr, inc.ID, vigil.IncidentUpdate{Times: vigil.IncidentTimesUpdate{AwareAt: vigil.NullableOf(earlier)}, Version: cur.Version}); err != nil {
		t.Fatal(err)
	}
	o, err := s.Duties.FindObligationByID(viewer, ico.ID)
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != vigil.ObligationSubmitted || o.DueAt == nil || !o.DueAt.Equal(earlier.Add(72*time.Hour)) || !o.Late || !o.DelayUnexplained {
		t.Fatalf("after the correction: status %s due %v late %v unexplained %v; want submitted, due %v, late, reasons asked",
			o.Status, o.DueAt, o.Late, o.DelayUnexplained, earlier.Add(72*time.Hour))
	}
	if o.SubmittedAt == nil || !o.SubmittedAt.Equal(aware.Add(60*time.Hour)) || o.Reference != "IC-1" || o.SubmittedText != "We report…" {
		t.Errorf("the submission changed: %+v", o)
	}
	tl, _ := s.Timeline.FindTimeline(mgr, inc.ID, vigil.TimelineFilter{Kinds: []vigil.TimelineKind{vigil.KindDuty}})
	var asked bool
	for _, e := range tl.Items {
		asked = asked || strings.Contains(e.Message, "was late. Record the reasons for the delay")
	}
	if !asked {
		t.Error("the timeline does not ask for the reasons for the delay")
	}
	if _, err := s.Duties.ExplainDelay(viewer, ico.ID, "Logs read later.", 0); vigil.ErrorCode(err) != vigil.EFORBIDDEN {
		t.Errorf("viewer explains: %v", err)
	}
	if _, err := s.Duties.ExplainDelay(mgr, ico.ID, "  ", 0); !hasField(err, "late_reason") {
		t.Errorf("empty reasons: %v", err)
	}
	if _, err := s.Duties.ExplainDelay(mgr, ico.ID, "Logs read later.", o.Version-1); vigil.ErrorCode(err) != vigil.ECONFLICT {
		t.Errorf("stale version: %v", err)
	}
	o, err = s.Duties.ExplainDelay(mgr, ico.ID, "The proxy logs that dated the first access were only read on the third day.", o.Version)
	if err != nil {
		t.Fatal(err)
	}
	if !o.Late || o.DelayUnexplained || !strings.HasPrefix(o.LateReason, "The proxy logs") {
		t.Errorf("after explaining: late %v unexplained %v reason %q", o.Late, o.DelayUnexplained, o.LateReason)
	}
	if _, err := s.Duties.ExplainDelay(mgr, ico.ID, "Again.", 0); !hasField(err, "late_reason") {
		t.Errorf("explained twice: %v", err)
	}
	// Correcting awareness back puts the submission on time again.
	cur = MustFindIncident(t, mgr, s, inc.ID)
	if _, err := s.Incidents.UpdateIncident(mgr, inc.ID, vigil.IncidentUpdate{Times: vigil.IncidentTimesUpdate{AwareAt: vigil.NullableOf(aware)}, Version: cur.Version}); err != nil {
		t.Fatal(err)
	}
	if o, _ = s.Duties.FindObligationByID(mgr, ico.ID); o.Late || !o.DueAt.Equal(aware.Add(72*time.Hour)) {
		t.Errorf("corrected back: due %v late %v", o.DueAt, o.Late)
	}
}

// stage finds an incident's duty at one stage.
func stage(t *testing.T, obs []*vigil.Obligation, duty, stage string) *vigil.Obligation {
	t.Helper()
	for _, o := range obs {
		if o.Duty == duty && o.Stage == stage {
			return o
		}
	}
	return nil
}

// testDutyOnRequest: NIS2's intermediate report is owed when the CSIRT
// asks for it (Art. 23(4)(c)): listed with no due time until someone
// records the request and its deadline, then a pending duty like any
// other, which keeps that deadline through re-evaluation, is withdrawn
// and comes back with the facts; one never opened just goes. The stages
// that follow the end of handling appear when the incident recovers:
// NIS2's final report after handling (Art. 23(4)(e)) for an incident
// still ongoing at its final report, DORA's update on recovery.
func testDutyOnRequest(t *testing.T, open Opener) {
	s := open(t)
	clk := newClock(s, time.Date(2026, 9, 20, 9, 0, 0, 0, time.UTC))
	admin, _ := MustCreateUser(t, s, vigil.RoleAdmin)
	mgr, _ := MustCreateUser(t, s, vigil.RoleManager)
	viewer, _ := MustCreateUser(t, s, vigil.RoleViewer)
	if err := s.Duties.UpdateProfile(admin, &vigil.OrgProfile{Name: "Anygrid", Jurisdictions: []string{"NL"}, Timezone: "Europe/Amsterdam",
		NIS2: "essential", DORA: true}); err != nil {
		t.Fatal(err)
	}
	inc := MustCreateIncident(t, mgr, s, &vigil.Incident{Title: "SCADA historian encrypted", Status: vigil.StatusConfirmed, Significant: true})
	obs, _ := s.Duties.FindObligations(viewer, inc.ID)
	inter := stage(t, obs, "significant-incident", "intermediate")
	if inter == nil || inter.Status != vigil.ObligationOnRequest || inter.DueAt != nil || !inter.OnRequest || inter.Late {
		t.Fatalf("intermediate report before any request: %+v", inter)
	}
	if o := stage(t, obs, "major-ict-incident", "updated-intermediate"); o == nil || o.Status != vigil.ObligationOnRequest {
		t.Errorf("DORA's updated intermediate report: %+v", o)
	}
	if o := stage(t, obs, "major-ict-incident", "recovered-update"); o != nil {
		t.Errorf("DORA's update on recovery before recovery: %+v", o)
	}
	if _, err := s.Duties.SubmitObligation(mgr, inter.ID, vigil.Submission{Text: "x"}); !hasField(err, "status") {
		t.Errorf("submitting a stage nobody asked for: %v", err)
	}
	// Five days in, the CSIRT asks for a status update within 48 hours.
	clk.add(5 * 24 * time.Hour)
	due := clk.now().Add(48 * time.Hour)
	if _, err := s.Duties.RequestObligation(viewer, inter.ID, due, 0); vigil.ErrorCode(err) != vigil.EFORBIDDEN {
		t.Errorf("viewer records a request: %v", err)
	}
	if _, err := s.Duties.RequestObligation(mgr, inter.ID, time.Time{}, 0); !hasField(err, "due_at") {
		t.Errorf("request without a deadline: %v", err)
	}
	ew := stage(t, obs, "significant-incident", "early-warning")
	if _, err := s.Duties.RequestObligation(mgr, ew.ID, due, 0); !hasField(err, "due_at") {
		t.Errorf("requesting a stage the pack times: %v", err)
	}
	if _, err := s.Duties.RequestObligation(mgr, inter.ID, due, inter.Version+1); vigil.ErrorCode(err) != vigil.ECONFLICT {
		t.Errorf("stale request: %v", err)
	}
	got, err := s.Duties.RequestObligation(mgr, inter.ID, due, inter.Version)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != vigil.ObligationPending || got.DueAt == nil || !got.DueAt.Equal(due) || !got.ClockStart.Equal(clk.now()) {
		t.Fatalf("after the request: %+v", got)
	}
	dueSoon, _ := s.Duties.FindDueObligations(mgr, clk.now().Add(72*time.Hour), 50)
	var listed bool
	for _, o := range dueSoon {
		listed = listed || o.ID == inter.ID
	}
	if !listed {
		t.Error("the requested report is not among the duties due soon")
	}
	// Re-evaluation keeps the requested deadline.
	cur := MustFindIncident(t, mgr, s, inc.ID)
	high := vigil.SeverityHigh
	if _, err := s.Incidents.UpdateIncident(mgr, inc.ID, vigil.IncidentUpdate{Severity: &high, Version: cur.Version}); err != nil {
		t.Fatal(err)
	}
	if o, _ := s.Duties.FindObligationByID(mgr, inter.ID); o.Status != vigil.ObligationPending || !o.DueAt.Equal(due) {
		t.Errorf("after re-evaluation: %s due %v", o.Status, o.DueAt)
	}
	// Not significant after all: the opened stage is withdrawn, the one
	// nobody opened goes; significant again, both come back.
	updated := stage(t, obs, "major-ict-incident", "updated-intermediate")
	cur = MustFindIncident(t, mgr, s, inc.ID)
	no, yes := false, true
	if _, err := s.Incidents.UpdateIncident(mgr, inc.ID, vigil.IncidentUpdate{Significant: &no, Version: cur.Version}); err != nil {
		t.Fatal(err)
	}
	if o, _ := s.Duties.FindObligationByID(mgr, inter.ID); o.Status != vigil.ObligationWithdrawn {
		t.Errorf("requested stage after the facts changed: %s", o.Status)
	}
	if _, err := s.Duties.FindObligationByID(mgr, updated.ID); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Errorf("a stage never opened, after the facts changed: %v", err)
	}
	cur = MustFindIncident(t, mgr, s, inc.ID)
	if _, err := s.Incidents.UpdateIncident(mgr, inc.ID, vigil.IncidentUpdate{Significant: &yes, Version: cur.Version}); err != nil {
		t.Fatal(err)
	}
	obs, _ = s.Duties.FindObligations(mgr, inc.ID)
	if o := stage(t, obs, "significant-incident", "intermediate"); o.Status != vigil.ObligationPending || !o.DueAt.Equal(due) {
		t.Errorf("requested stage when the facts came back: %s due %v", o.Status, o.DueAt)
	}
	if o := stage(t, obs, "major-ict-incident", "updated-intermediate"); o == nil || o.Status != vigil.ObligationOnRequest {
		t.Errorf("stage never opened, when the facts came back: %+v", o)
	}
	// Sent; a request cannot reopen what was sent.
	clk.add(24 * time.Hour)
	if _, err := s.Duties.SubmitObligation(mgr, inter.ID, vigil.Submission{Reference: "CSIRT-7", Text: "Status update"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Duties.RequestObligation(mgr, inter.ID, clk.now().Add(time.Hour), 0); !hasField(err, "status") {
		t.Errorf("request on a submitted stage: %v", err)
	}
	// Recovered two months in, after the final report was due: NIS2's
	// final report after handling, a month on, and DORA's update on
	// recovery, as soon as possible.
	notif := stage(t, obs, "significant-incident", "final-report")
	clk.set(notif.DueAt.Add(10 * 24 * time.Hour))
	cur = MustFindIncident(t, mgr, s, inc.ID)
	if _, err := s.Incidents.TransitionIncident(mgr, inc.ID, vigil.Transition{To: vigil.StatusRecovered, Version: cur.Version}); err != nil {
		t.Fatal(err)
	}
	obs, _ = s.Duties.FindObligations(mgr, inc.ID)
	ams, _ := time.LoadLocation("Europe/Amsterdam")
	after := stage(t, obs, "significant-incident", "final-after-handling")
	if want := clk.now().In(ams).AddDate(0, 1, 0); after == nil || after.DueAt == nil || !after.DueAt.Equal(want) {
		t.Errorf("final report after handling: %+v, want due %v", after, want)
	}
	if o := stage(t, obs, "major-ict-incident", "recovered-update"); o == nil || !o.ASAP || !o.ClockStart.Equal(clk.now()) {
		t.Errorf("DORA's update on recovery: %+v", o)
	}
}
