package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
)

// moveTo walks an incident through the lifecycle to status.
func moveTo(t *testing.T, s *Store, ctx context.Context, inc *vigil.Incident, path ...vigil.Status) *vigil.Incident {
	t.Helper()
	for _, to := range path {
		var err error
		tr := vigil.Transition{To: to, Version: inc.Version}
		if to == vigil.StatusClosed { // what stays open is not these tests' concern (testClose)
			tr.OpenWorkReason = "Closed by the test."
		}
		if inc.Status == vigil.StatusClosed || inc.Status == vigil.StatusReviewed {
			tr.Reason = "Reopened by the test."
		}
		inc, err = s.Incidents.TransitionIncident(ctx, inc.ID, tr)
		if err != nil {
			t.Fatalf("to %s: %v", to, err)
		}
	}
	return inc
}

func testReview(t *testing.T, open Opener) {
	s := open(t)
	mgr, _ := MustCreateUser(t, s, vigil.RoleManager)
	resp, respUser := MustCreateUser(t, s, vigil.RoleResponder)
	viewer, _ := MustCreateUser(t, s, vigil.RoleViewer)
	inc := MustCreateIncident(t, mgr, s, &vigil.Incident{Title: "Ransomware on the file server", Type: vigil.TypeRansomware, Severity: vigil.SeverityHigh})
	if _, err := s.Timeline.AddNote(resp, inc.ID, vigil.Note{Message: "Backups were offline and intact."}); err != nil {
		t.Fatal(err)
	}

	// Too early for a review; then recovered and closed.
	_, err := s.Reviews.StartReview(resp, inc.ID)
	wantCode(t, err, vigil.ECONFLICT)
	inc = moveTo(t, s, mgr, MustFindIncident(t, mgr, s, inc.ID), vigil.StatusConfirmed, vigil.StatusContained, vigil.StatusRecovered, vigil.StatusClosed)

	// A high-severity incident is not reviewed without its review.
	_, err = s.Incidents.TransitionIncident(mgr, inc.ID, vigil.Transition{To: vigil.StatusReviewed, Version: inc.Version})
	wantField(t, err, "to")
	if !strings.Contains(vigil.ErrorFields(err)[0].Message, "high-severity incident needs its post-incident review") {
		t.Errorf("message: %v", err)
	}

	_, err = s.Reviews.StartReview(viewer, inc.ID)
	wantCode(t, err, vigil.EFORBIDDEN)
	rv, err := s.Reviews.StartReview(resp, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	var tl []string
	for _, e := range rv.Timeline {
		tl = append(tl, e.What)
	}
	all := strings.Join(tl, "\n")
	for _, want := range []string{"Backups were offline and intact.", "Status changed from in triage to confirmed", "Contained.", "Recovered."} {
		if !strings.Contains(all, want) {
			t.Errorf("seeded timeline lacks %q:\n%s", want, all)
		}
	}
	for i := 1; i < len(rv.Timeline); i++ {
		if rv.Timeline[i].At.Before(rv.Timeline[i-1].At) {
			t.Errorf("seeded timeline out of order at %d", i)
		}
	}
	_, err = s.Reviews.StartReview(resp, inc.ID)
	wantCode(t, err, vigil.ECONFLICT)

	// Editing, with the version seen.
	cause := "An internet-facing VPN appliance without the vendor's patch."
	_, err = s.Reviews.UpdateReview(resp, inc.ID, vigil.ReviewUpdate{RootCause: &cause, Version: 7})
	wantCode(t, err, vigil.ECONFLICT)
	bad := []vigil.ReviewEvent{{At: time.Now(), What: " "}}
	_, err = s.Reviews.UpdateReview(resp, inc.ID, vigil.ReviewUpdate{Timeline: &bad, Version: rv.Version})
	wantField(t, err, "timeline[0].what")
	edited := append(rv.Timeline, vigil.ReviewEvent{At: time.Date(2026, 11, 2, 3, 0, 0, 0, time.UTC), What: "Attacker logged in through the VPN."})
	well := "Offline backups; the restore took a day."
	if _, err = s.Reviews.UpdateReview(resp, inc.ID, vigil.ReviewUpdate{Timeline: &edited, WentWell: &well, Version: rv.Version}); err != nil {
		t.Fatal(err)
	}

	// Actions: one proposing a plan change, one plain.
	if _, err := s.Plans.InstallStarterPlans(SystemContext(t)); err != nil {
		t.Fatal(err)
	}
	plans, _ := s.Plans.FindPlans(mgr)
	var rw *vigil.Plan
	for _, p := range plans {
		if p.Key == "ransomware" {
			rw = p
		}
	}
	_, err = s.Reviews.AddAction(resp, inc.ID, vigil.ActionInput{Title: "Patch faster", PlanID: &rw.ID})
	wantField(t, err, "plan_change")
	due := time.Now().Add(14 * 24 * time.Hour)
	planAct, err := s.Reviews.AddAction(resp, inc.ID, vigil.ActionInput{Title: "Add 'patch internet-facing devices' to the ransomware plan",
		AssigneeID: &respUser.ID, DueAt: &due, PlanID: &rw.ID, PlanChange: "Prepare: patch internet-facing devices within 48 hours of a critical advisory."})
	if err != nil {
		t.Fatal(err)
	}
	if planAct.Task.Phase != vigil.PhaseLearn || planAct.PlanTitle != "Ransomware" || planAct.Task.AssigneeID == nil {
		t.Errorf("action: %+v %+v", planAct, planAct.Task)
	}
	plain, err := s.Reviews.AddAction(resp, inc.ID, vigil.ActionInput{Title: "Tabletop exercise of the plan"})
	if err != nil {
		t.Fatal(err)
	}
	// A long-term action, with an owner and a due date, is tracked to done
	// on its own: the review may close while it is open.
	later := time.Now().Add(90 * 24 * time.Hour)
	longTerm, err := s.Reviews.AddAction(resp, inc.ID, vigil.ActionInput{Title: "Replace the VPN appliance", AssigneeID: &respUser.ID, DueAt: &later})
	if err != nil {
		t.Fatal(err)
	}
	if !longTerm.Task.FollowUp {
		t.Errorf("an action is a follow-up action: %+v", longTerm.Task)
	}
	if open, err := s.Reviews.FindOpenActions(viewer); err != nil || len(open) != 3 {
		t.Errorf("open actions: %v %d", err, len(open))
	}

	// Closing: managers only, with a root cause, and no open actions.
	rv, _ = s.Reviews.FindReview(viewer, inc.ID)
	_, err = s.Reviews.CloseReview(resp, inc.ID, rv.Version)
	wantCode(t, err, vigil.EFORBIDDEN)
	_, err = s.Reviews.CloseReview(mgr, inc.ID, rv.Version)
	wantField(t, err, "root_cause")
	if fields := vigil.ErrorFields(err); len(fields) != 2 || fields[1].Field != "actions" || !strings.Contains(fields[1].Message, "1 action item is open without an owner and a due date (\"Tabletop exercise of the plan\")") {
		t.Errorf("close with open actions: %+v", fields)
	}
	if rv, err = s.Reviews.UpdateReview(resp, inc.ID, vigil.ReviewUpdate{RootCause: &cause, Version: rv.Version}); err != nil {
		t.Fatal(err)
	}

	// The plan's next version adopts the proposed change, which closes it.
	src := strings.Replace(rw.Source, "## Detect", "### Patch internet-facing devices {#patch-edge}\nOwner: technical\n\n## Detect", 1)
	_, err = s.Plans.UpdatePlan(mgr, rw.ID, vigil.PlanInput{Source: src, Version: rw.Version, Adopts: []int64{plain.Task.ID}})
	wantField(t, err, "adopts")
	if _, err := s.Plans.UpdatePlan(mgr, rw.ID, vigil.PlanInput{Source: src, Version: rw.Version, Adopts: []int64{planAct.Task.ID},
		Note: "Lessons from " + inc.Reference}); err != nil {
		t.Fatal(err)
	}
	pa, err := s.Reviews.FindPlanActions(viewer, rw.ID)
	if err != nil || len(pa) != 1 || pa[0].AdoptedVersion != 2 || pa[0].Open() {
		t.Fatalf("plan actions: %v %+v", err, pa)
	}
	pt, _ := s.Tasks.FindTaskByID(resp, plain.Task.ID)
	cancelled := vigil.TaskCancelled
	if _, err := s.Tasks.UpdateTask(resp, pt.ID, vigil.TaskUpdate{Status: &cancelled, Version: pt.Version}); err != nil {
		t.Fatal(err)
	}
	if rv, err = s.Reviews.CloseReview(mgr, inc.ID, rv.Version); err != nil {
		t.Fatal(err)
	}
	if rv.Status != vigil.ReviewClosed || rv.ClosedAt == nil || len(rv.Actions) != 3 {
		t.Errorf("closed: %+v", rv)
	}
	// The long-term action stays on its owner's tasks, though the incident
	// is closed.
	mine, _, err := s.Tasks.FindTasks(resp, vigil.TaskFilter{AssigneeID: &respUser.ID, Live: true, Status: []vigil.TaskStatus{vigil.TaskOpen}})
	if err != nil || len(mine) != 1 || mine[0].ID != longTerm.Task.ID || mine[0].Incident == nil || mine[0].Incident.Reference != inc.Reference {
		t.Errorf("my live tasks after the review closed: %v %+v", err, mine)
	}
	cause2 := "x"
	_, err = s.Reviews.UpdateReview(resp, inc.ID, vigil.ReviewUpdate{RootCause: &cause2, Version: rv.Version})
	wantCode(t, err, vigil.ECONFLICT)
	inc = MustFindIncident(t, mgr, s, inc.ID)
	if _, err := s.Incidents.TransitionIncident(mgr, inc.ID, vigil.Transition{To: vigil.StatusReviewed, Version: inc.Version}); err != nil {
		t.Fatalf("reviewed after the review: %v", err)
	}
	page, err := s.Timeline.FindTimeline(viewer, inc.ID, vigil.TimelineFilter{Kinds: []vigil.TimelineKind{vigil.KindReview}})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, e := range page.Items {
		msgs = append(msgs, e.Message)
	}
	if m := strings.Join(msgs, "\n"); !strings.Contains(m, "version 2 adopted the change") || !strings.Contains(m, "review closed; 1 action item stays open") {
		t.Errorf("timeline:\n%s", m)
	}

	// A low-severity incident may be marked reviewed without a review.
	low := MustCreateIncident(t, mgr, s, &vigil.Incident{Title: "Spam wave", Severity: vigil.SeverityLow})
	moveTo(t, s, mgr, low, vigil.StatusConfirmed, vigil.StatusContained, vigil.StatusRecovered, vigil.StatusClosed, vigil.StatusReviewed)
	// A significant one of low severity may not.
	sig := MustCreateIncident(t, mgr, s, &vigil.Incident{Title: "Sector outage", Severity: vigil.SeverityLow, Significant: true})
	sig = moveTo(t, s, mgr, sig, vigil.StatusConfirmed, vigil.StatusContained, vigil.StatusRecovered, vigil.StatusClosed)
	_, err = s.Incidents.TransitionIncident(mgr, sig.ID, vigil.Transition{To: vigil.StatusReviewed, Version: sig.Version})
	wantField(t, err, "to")
}
