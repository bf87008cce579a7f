package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
)

func testExercise(t *testing.T, open Opener) {
	s := open(t)
	clk := newClock(s, time.Date(2026, 9, 1, 9, 0, 0, 0, time.UTC))
	mgr, _ := MustCreateUser(t, s, vigil.RoleManager)
	resp, respUser := MustCreateUser(t, s, vigil.RoleResponder)
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
	in := vigil.ExerciseInput{Title: "Friday ransomware tabletop", Kind: vigil.ExerciseTabletop, PlanID: rw.ID,
		Scenario: "At 09:00 the service desk reports files renamed to .locked on the finance share.", ScheduledAt: clk.now().Add(time.Hour),
		ParticipantIDs: []int64{respUser.ID, respUser.ID},
		Injects: []vigil.InjectInput{{After: 0, Title: "Ransom note found"}, {After: vigil.Duration(5 * time.Minute), Title: "Backups server unreachable"},
			{After: vigil.Duration(time.Hour), Title: "A journalist calls", Detail: "They say your data is on a leak site."}}}
	_, err := s.Exercises.CreateExercise(resp, in)
	wantCode(t, err, vigil.EFORBIDDEN)
	bad := in
	bad.Title, bad.PlanID, bad.Injects = "", 0, []vigil.InjectInput{{After: vigil.Duration(-time.Minute), Title: "x"}}
	err = func() error { _, err := s.Exercises.CreateExercise(mgr, bad); return err }()
	for _, f := range []string{"title", "plan_id", "injects[0].after"} {
		if !hasField(err, f) {
			t.Errorf("bad exercise: no problem at %s (%v)", f, vigil.ErrorFields(err))
		}
	}
	x, err := s.Exercises.CreateExercise(mgr, in)
	if err != nil {
		t.Fatal(err)
	}
	if x.Status != vigil.ExerciseScheduled || len(x.Injects) != 3 || len(x.ParticipantIDs) != 1 || x.PlanTitle != "Ransomware" {
		t.Fatalf("created: %+v", x)
	}
	list, err := s.Exercises.FindExercises(resp)
	if err != nil || len(list) != 1 {
		t.Fatalf("list: %v %d", err, len(list))
	}

	// A channel that hears of every new incident and assignment, to show
	// that an exercise sends nothing outside.
	hook := &vigil.Channel{Name: "SOC", Kind: vigil.ChannelWebhook, URL: "https://soc.example.org/hooks/all", Enabled: true}
	if err := s.Notify.CreateChannel(SystemContext(t), hook); err != nil {
		t.Fatal(err)
	}
	adm, _ := MustCreateUser(t, s, vigil.RoleAdmin)
	if err := s.Notify.CreateSubscription(adm, &vigil.Subscription{ChannelID: hook.ID,
		Events: []vigil.EventKind{vigil.EventIncidentCreated, vigil.EventAssigned, vigil.EventSeverityRaised, vigil.EventTaskDue}}); err != nil {
		t.Fatal(err)
	}
	before := lastDeliveryID(t, s)

	// Starting opens an exercise incident with the plan's tasks; the first
	// inject is out at once.
	clk.add(time.Hour)
	_, err = s.Exercises.StartExercise(mgr, x.ID, x.Version+1)
	wantCode(t, err, vigil.ECONFLICT)
	if x, err = s.Exercises.StartExercise(mgr, x.ID, x.Version); err != nil {
		t.Fatal(err)
	}
	if x.Status != vigil.ExerciseRunning || x.IncidentID == nil || x.Injects[0].ReleasedAt == nil || x.Injects[1].ReleasedAt != nil {
		t.Fatalf("started: %+v", x)
	}
	inc := MustFindIncident(t, resp, s, *x.IncidentID) // the participant sees it
	if !inc.Exercise || inc.Type != vigil.TypeRansomware || !strings.HasPrefix(inc.Title, "EXERCISE: ") {
		t.Errorf("exercise incident: %+v", inc)
	}
	tasks, _, _ := s.Tasks.FindTasks(resp, vigil.TaskFilter{IncidentID: &inc.ID})
	if len(tasks) != len(rw.Definition.Steps()) {
		t.Errorf("%d tasks, want the plan's %d steps", len(tasks), len(rw.Definition.Steps()))
	}
	// It never triggers a reporting duty, even with personal data.
	pd := true
	if _, err := s.Incidents.UpdateIncident(mgr, inc.ID, vigil.IncidentUpdate{PersonalData: &pd, Version: inc.Version}); err != nil {
		t.Fatal(err)
	}
	if duties, err := s.Duties.FindObligations(mgr, inc.ID); err != nil || len(duties) != 0 {
		t.Errorf("an exercise has duties: %v %+v", err, duties)
	}
	// Nor any notification: not its creation, its lead, its tasks' owners.
	if _, err := s.Worker.Schedule(workerCtx(), clk.now(), 0); err != nil {
		t.Fatal(err)
	}
	expandAll(t, s, "w1")
	if got := deliveriesSince(t, s, before); len(got) != 0 {
		t.Errorf("an exercise sent %d notifications: %+v", len(got), got[0].Message)
	}
	// The same channel does hear of a real incident.
	MustCreateIncident(t, mgr, s, &vigil.Incident{Title: "A real one"})
	expandAll(t, s, "w1")
	if got := deliveriesSince(t, s, before); len(got) == 0 {
		t.Error("the channel hears of nothing: the check above proves nothing")
	}

	// Participants see an inject only once it is out.
	if px, err := s.Exercises.FindExerciseByID(resp, x.ID); err != nil || px.Injects[0].Title != "Ransom note found" || px.Injects[2].Title != "Not released yet" || px.Injects[2].Detail != "" {
		t.Errorf("participant's view: %v %+v", err, px.Injects[2])
	}
	// Injects come out when their time comes, or by hand.
	clk.add(10 * time.Minute)
	if n, err := s.Exercises.ReleaseDueInjects(SystemContext(t)); err != nil || n != 1 {
		t.Fatalf("release due: %d %v", n, err)
	}
	if n, err := s.Exercises.ReleaseDueInjects(SystemContext(t)); err != nil || n != 0 {
		t.Fatalf("release due again: %d %v", n, err)
	}
	if x, err = s.Exercises.ReleaseInject(mgr, x.ID, x.Injects[2].ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.Exercises.ReleaseInject(mgr, x.ID, x.Injects[2].ID)
	wantCode(t, err, vigil.ECONFLICT)
	page, err := s.Timeline.FindTimeline(resp, inc.ID, vigil.TimelineFilter{Kinds: []vigil.TimelineKind{vigil.KindExercise}, Asc: true})
	if err != nil || len(page.Items) != 4 || !strings.HasPrefix(page.Items[0].Message, "Exercise started") ||
		page.Items[3].Message != "INJECT: A journalist calls\nThey say your data is on a leak site." {
		t.Fatalf("timeline: %v %+v", err, page.Items)
	}

	// Ending turns the findings into review action items.
	x, _ = s.Exercises.FindExerciseByID(mgr, x.ID)
	_, err = s.Exercises.EndExercise(mgr, x.ID, vigil.ExerciseEnd{Findings: []string{strings.Repeat("f", 301)}, Version: x.Version})
	wantField(t, err, "findings[0]")
	if x, err = s.Exercises.EndExercise(mgr, x.ID, vigil.ExerciseEnd{Findings: []string{"Nobody knew the insurer's number", " ", "The backup admin password was on the encrypted share"},
		Version: x.Version}); err != nil {
		t.Fatal(err)
	}
	rv, err := s.Reviews.FindReview(resp, inc.ID)
	if err != nil || len(rv.Actions) != 2 || rv.Actions[0].Task.Phase != vigil.PhaseLearn {
		t.Fatalf("review after the exercise: %v %+v", err, rv)
	}
	last, err := s.Exercises.LastExercised(resp)
	if err != nil || !last[rw.ID].Equal(clk.now()) || len(last) != 1 {
		t.Errorf("last exercised: %v %v", err, last)
	}
	_, err = s.Exercises.EndExercise(mgr, x.ID, vigil.ExerciseEnd{Version: x.Version})
	wantCode(t, err, vigil.ECONFLICT)
}
