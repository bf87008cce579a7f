package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
)

// testClose: an incident closes only when its open tasks and pending
// duties are each dealt with, or with a recorded reason; what the closer
// decided is applied in the same transaction.
func testClose(t *testing.T, open Opener) {
	s := open(t)
	now := time.Date(2026, 6, 10, 9, 0, 0, 0, time.UTC)
	s.SetNow(func() time.Time { return now })
	mgr, mgrUser := MustCreateUser(t, s, vigil.RoleManager)
	inc := MustCreateIncident(t, mgr, s, &vigil.Incident{Title: "Payroll export e-mailed to the wrong firm", Status: vigil.StatusConfirmed, PersonalData: true})
	var tasks []*vigil.Task
	due := now.Add(90 * time.Minute) // due within the hour once the clock moves on
	for _, title := range []string{"Recall the e-mail", "Tell the people affected", "Retrain the payroll team", "Check the other exports"} {
		tk := &vigil.Task{IncidentID: inc.ID, Title: title, AssigneeID: &mgrUser.ID, DueAt: &due}
		if err := s.Tasks.CreateTask(mgr, tk); err != nil {
			t.Fatal(err)
		}
		tasks = append(tasks, tk)
	}
	inc = moveTo(t, s, mgr, MustFindIncident(t, mgr, s, inc.ID), vigil.StatusRecovered)
	obs, err := s.Duties.FindObligations(mgr, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	ico := obligation(t, obs, "ico-notification")
	reg := obligation(t, obs, "breach-register")

	// Refused while anything is open: the problem names what.
	_, err = s.Incidents.TransitionIncident(mgr, inc.ID, vigil.Transition{To: vigil.StatusClosed, Version: inc.Version})
	wantField(t, err, "open_work")
	if msg := vigil.ErrorFields(err)[0].Message; !strings.Contains(msg, "Still open: 4 tasks and 2 reporting duties.") {
		t.Errorf("message: %q", msg)
	}
	// Naming a task that is not open there, or a duty not required without the reason.
	_, err = s.Incidents.TransitionIncident(mgr, inc.ID, vigil.Transition{To: vigil.StatusClosed, Version: inc.Version,
		Tasks: []vigil.TaskCloseOut{{TaskID: 999999, Action: vigil.CloseTaskDone}}, OpenWorkReason: "x"})
	wantField(t, err, "tasks[0].task_id")
	_, err = s.Incidents.TransitionIncident(mgr, inc.ID, vigil.Transition{To: vigil.StatusClosed, Version: inc.Version,
		Duties: []vigil.DutyCloseOut{{ObligationID: ico.ID, Action: vigil.CloseDutyNotRequired}}, OpenWorkReason: "x"})
	wantField(t, err, "duties[0].reason")
	// Dealing with three tasks and the duty still leaves one task: refused.
	closeOut := vigil.Transition{To: vigil.StatusClosed, Version: inc.Version,
		Tasks: []vigil.TaskCloseOut{{TaskID: tasks[0].ID, Action: vigil.CloseTaskDone}, {TaskID: tasks[1].ID, Action: vigil.CloseTaskCancel},
			{TaskID: tasks[2].ID, Action: vigil.CloseTaskFollowUp}},
		Duties: []vigil.DutyCloseOut{{ObligationID: ico.ID, Action: vigil.CloseDutySubmitted, Reference: "ICO-123"},
			{ObligationID: reg.ID, Action: vigil.CloseDutySubmitted}}}
	_, err = s.Incidents.TransitionIncident(mgr, inc.ID, closeOut)
	wantField(t, err, "open_work")
	if msg := vigil.ErrorFields(err)[0].Message; !strings.Contains(msg, "Still open: 1 task.") {
		t.Errorf("message: %q", msg)
	}
	// Nothing was applied by the refused attempts.
	if tk, _ := s.Tasks.FindTaskByID(mgr, tasks[0].ID); tk.Status != vigil.TaskOpen {
		t.Errorf("a refused close changed a task: %+v", tk)
	}
	// With the reason for the last one, it closes.
	closeOut.OpenWorkReason = "The other exports are checked by the audit next month."
	closed, err := s.Incidents.TransitionIncident(mgr, inc.ID, closeOut)
	if err != nil {
		t.Fatal(err)
	}
	if closed.Status != vigil.StatusClosed {
		t.Fatalf("status %s", closed.Status)
	}
	want := map[int64]struct {
		status   vigil.TaskStatus
		followUp bool
	}{tasks[0].ID: {vigil.TaskDone, false}, tasks[1].ID: {vigil.TaskCancelled, false}, tasks[2].ID: {vigil.TaskOpen, true}, tasks[3].ID: {vigil.TaskOpen, false}}
	for id, w := range want {
		tk, err := s.Tasks.FindTaskByID(mgr, id)
		if err != nil || tk.Status != w.status || tk.FollowUp != w.followUp {
			t.Errorf("task %d: %v %+v, want %s follow-up %v", id, err, tk, w.status, w.followUp)
		}
	}
	if o, _ := s.Duties.FindObligationByID(mgr, ico.ID); o.Status != vigil.ObligationSubmitted || o.Reference != "ICO-123" {
		t.Errorf("ICO duty after closing: %+v", o)
	}
	// My tasks leave the closed incident's tasks, but the follow-up action.
	mine, _, err := s.Tasks.FindTasks(mgr, vigil.TaskFilter{AssigneeID: &mgrUser.ID, Live: true, Status: []vigil.TaskStatus{vigil.TaskOpen, vigil.TaskInProgress}})
	if err != nil || len(mine) != 1 || mine[0].ID != tasks[2].ID || mine[0].Incident == nil || mine[0].Incident.Reference != inc.Reference {
		t.Errorf("my tasks after closing: %v %+v", err, mine)
	}
	// Only the follow-up action's due time is reminded of: the task left
	// open on the closed incident is not.
	queued, err := s.Worker.Schedule(workerCtx(), now.Add(time.Hour), 0)
	if err != nil || queued != 1 {
		t.Errorf("reminders queued after closing: %d, %v; want the follow-up action's only", queued, err)
	}
	page, err := s.Timeline.FindTimeline(mgr, inc.ID, vigil.TimelineFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, e := range page.Items {
		msgs = append(msgs, e.Message)
	}
	all := strings.Join(msgs, "\n")
	for _, w := range []string{"Closed with 1 task still open. Reason: The other exports are checked by the audit next month.",
		`Task "Retrain the payroll team" carried over as a follow-up action.`, "(reference ICO-123)"} {
		if !strings.Contains(all, w) {
			t.Errorf("timeline lacks %q:\n%s", w, all)
		}
	}
	// Reopening needs a reason.
	_, err = s.Incidents.TransitionIncident(mgr, inc.ID, vigil.Transition{To: vigil.StatusConfirmed, Version: closed.Version})
	wantField(t, err, "reason")
	if _, err := s.Incidents.TransitionIncident(mgr, inc.ID, vigil.Transition{To: vigil.StatusConfirmed, Version: closed.Version, Reason: "The firm forwarded it on."}); err != nil {
		t.Fatal(err)
	}
	// Close-outs belong to closing only.
	cur := MustFindIncident(t, mgr, s, inc.ID)
	_, err = s.Incidents.TransitionIncident(mgr, inc.ID, vigil.Transition{To: vigil.StatusContained, Version: cur.Version, OpenWorkReason: "x"})
	wantField(t, err, "open_work")
}
