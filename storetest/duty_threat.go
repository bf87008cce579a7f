package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
)

// testDutyVoluntaryThreat: a DORA financial entity may notify a
// significant cyber threat (DORA Art. 19(2)). Flagging the record lists
// the notification as optional: no due time, never late, never among the
// duties due or in the duty metrics; it is recorded when sent, or set
// aside with the reason, and goes without a trace if the flag is cleared
// before either. The clients potentially affected are owed a word on the
// protection measures (Art. 19(3)), a duty like any other.
func testDutyVoluntaryThreat(t *testing.T, open Opener) {
	s := open(t)
	clk := newClock(s, time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	admin, _ := MustCreateUser(t, s, vigil.RoleAdmin)
	mgr, _ := MustCreateUser(t, s, vigil.RoleManager)
	viewer, _ := MustCreateUser(t, s, vigil.RoleViewer)
	if err := s.Duties.UpdateProfile(admin, &vigil.OrgProfile{Name: "Anybank", Jurisdictions: []string{"IE"}, Timezone: "Europe/Dublin", DORA: true}); err != nil {
		t.Fatal(err)
	}
	from := clk.now()
	threat := func(title string) (*vigil.Incident, *vigil.Obligation, *vigil.Obligation) {
		t.Helper()
		inc := MustCreateIncident(t, mgr, s, &vigil.Incident{Title: title, Status: vigil.StatusConfirmed, SignificantCyberThreat: true})
		if !inc.SignificantCyberThreat {
			t.Fatalf("the flag was not kept: %+v", inc)
		}
		obs := mustObligations(t, s, viewer, inc.ID)
		return inc, stage(t, obs, "cyber-threat", "notification"), stage(t, obs, "threat-clients", "notice")
	}
	inc, n, c := threat("Credential-stuffing kit aimed at our payments API")
	if n == nil || n.Status != vigil.ObligationOptional || !n.Voluntary || n.DueAt != nil || n.Late || n.ASAP || !strings.Contains(n.Basis, "Art. 19(2)") {
		t.Fatalf("voluntary notification: %+v", n)
	}
	if c == nil || c.Status != vigil.ObligationPending || !c.ASAP || c.Voluntary {
		t.Fatalf("clients of the threat: %+v", c)
	}
	if got := MustFindIncident(t, viewer, s, inc.ID); !got.SignificantCyberThreat {
		t.Error("the flag did not round-trip")
	}
	// Days later it is still not late, and it is not among the duties due.
	clk.add(30 * 24 * time.Hour)
	if o, _ := s.Duties.FindObligationByID(viewer, n.ID); o.Late || o.Status != vigil.ObligationOptional {
		t.Errorf("a month on: %+v", o)
	}
	due, err := s.Duties.FindDueObligations(mgr, clk.now().Add(365*24*time.Hour), 50)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range due {
		if o.ID == n.ID {
			t.Error("the voluntary notification is among the duties due")
		}
	}
	tl, _ := s.Timeline.FindTimeline(mgr, inc.ID, vigil.TimelineFilter{Kinds: []vigil.TimelineKind{vigil.KindDuty}})
	var offered bool
	for _, e := range tl.Items {
		offered = offered || strings.HasPrefix(e.Message, "Voluntary, if you choose: Notify the significant cyber threat")
	}
	if !offered {
		t.Error("the timeline does not offer the voluntary notification")
	}
	// Sent: kept as any submission, on time, whatever the flag does next.
	if _, err := s.Duties.SubmitObligation(viewer, n.ID, vigil.Submission{Reference: "x"}); vigil.ErrorCode(err) != vigil.EFORBIDDEN {
		t.Errorf("viewer records it: %v", err)
	}
	sent, err := s.Duties.SubmitObligation(mgr, n.ID, vigil.Submission{Reference: "CBI-T-1", Text: "Threat notification (Annex III)"})
	if err != nil {
		t.Fatal(err)
	}
	if sent.Status != vigil.ObligationSubmitted || sent.Late || sent.DelayUnexplained || sent.Reference != "CBI-T-1" {
		t.Errorf("sent: %+v", sent)
	}
	no := false
	if _, err := s.Incidents.UpdateIncident(mgr, inc.ID, vigil.IncidentUpdate{SignificantCyberThreat: &no, Version: MustFindIncident(t, mgr, s, inc.ID).Version}); err != nil {
		t.Fatal(err)
	}
	if o, err := s.Duties.FindObligationByID(mgr, n.ID); err != nil || o.Status != vigil.ObligationSubmitted {
		t.Errorf("sent, after the flag was cleared: %v %+v", err, o)
	}
	if o, _ := s.Duties.FindObligationByID(mgr, c.ID); o.Status != vigil.ObligationWithdrawn {
		t.Errorf("clients' duty after the flag was cleared: %s", o.Status)
	}

	// Set aside, with the reason.
	_, n2, _ := threat("Phishing kit impersonating us, not yet used")
	if _, err := s.Duties.WaiveObligation(mgr, n2.ID, "", 0); !hasField(err, "justification") {
		t.Errorf("set aside without a reason: %v", err)
	}
	w, err := s.Duties.WaiveObligation(mgr, n2.ID, "Aimed at one small client segment; no relevance to the financial system.", 0)
	if err != nil || w.Status != vigil.ObligationNotRequired || !w.Voluntary {
		t.Errorf("set aside: %v %+v", err, w)
	}
	if _, err := s.Duties.SubmitObligation(mgr, n2.ID, vigil.Submission{Text: "x"}); !hasField(err, "status") {
		t.Errorf("sent after it was set aside: %v", err)
	}

	// Flagged by mistake: cleared before anything was done, it goes.
	inc3, n3, _ := threat("Scanner noise")
	if _, err := s.Incidents.UpdateIncident(mgr, inc3.ID, vigil.IncidentUpdate{SignificantCyberThreat: &no, Version: inc3.Version}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Duties.FindObligationByID(mgr, n3.ID); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Errorf("optional notification after the flag was cleared: %v", err)
	}

	// The duty metrics count the clients' duty still open, not the
	// voluntary notification sent nor the one set aside.
	m, _, err := s.Metrics.IncidentMetrics(mgr, vigil.MetricsFilter{From: from.Add(-time.Hour), To: clk.now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if want := (vigil.DutyStats{Total: 1, Pending: 1}); m.Duties != want {
		t.Errorf("duty metrics: %+v, want %+v", m.Duties, want)
	}
}
