package vigil_test

import (
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
)

func TestPlural(t *testing.T) {
	for n, want := range map[int]string{0: "0 alert groups", 1: "1 alert group", 2: "2 alert groups"} {
		if got := vigil.Plural(n, "alert group", "alert groups"); got != want {
			t.Errorf("Plural(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestCheckClose(t *testing.T) {
	now := time.Date(2026, 6, 10, 9, 0, 0, 0, time.UTC)
	past := now.Add(-time.Hour)
	work := vigil.OpenWorkOf(
		[]*vigil.Task{{ID: 1, Title: "a", Status: vigil.TaskOpen}, {ID: 2, Title: "b", Status: vigil.TaskInProgress},
			{ID: 3, Title: "c", Status: vigil.TaskDone}, {ID: 4, Title: "d", Status: vigil.TaskOpen, FollowUp: true}},
		[]*vigil.Obligation{{ID: 10, Title: "ICO", Status: vigil.ObligationPending, DueAt: &past},
			{ID: 11, Title: "NCSC", Status: vigil.ObligationSubmitted}, {ID: 12, Title: "Register", Status: vigil.ObligationPending}})
	if len(work.Tasks) != 2 || len(work.Duties) != 2 || work.String() != "2 tasks and 2 reporting duties" {
		t.Fatalf("open work: %v", work)
	}
	all := vigil.Transition{To: vigil.StatusClosed,
		Tasks:  []vigil.TaskCloseOut{{TaskID: 1, Action: vigil.CloseTaskDone}, {TaskID: 2, Action: vigil.CloseTaskFollowUp}},
		Duties: []vigil.DutyCloseOut{{ObligationID: 10, Action: vigil.CloseDutySubmitted, Reason: "The DPO was away."}, {ObligationID: 12, Action: vigil.CloseDutyNotRequired, Reason: "Recorded elsewhere."}}}
	if err := vigil.CheckClose(work, all, now); err != nil {
		t.Errorf("all dealt with: %v", err)
	}
	for name, c := range map[string]struct {
		mutate func(*vigil.Transition)
		field  string
	}{
		"nothing":  {func(tr *vigil.Transition) { tr.Tasks, tr.Duties = nil, nil }, "open_work"},
		"one left": {func(tr *vigil.Transition) { tr.Tasks = tr.Tasks[:1] }, "open_work"},
		"a done task": {func(tr *vigil.Transition) {
			tr.Tasks = append(tr.Tasks, vigil.TaskCloseOut{TaskID: 3, Action: vigil.CloseTaskDone})
		}, "tasks[2].task_id"},
		"a follow-up":       {func(tr *vigil.Transition) { tr.Tasks[0].TaskID = 4 }, "tasks[0].task_id"},
		"twice":             {func(tr *vigil.Transition) { tr.Tasks[1].TaskID = 1 }, "tasks[1].task_id"},
		"unknown action":    {func(tr *vigil.Transition) { tr.Tasks[0].Action = "later" }, "tasks[0].action"},
		"late, no reason":   {func(tr *vigil.Transition) { tr.Duties[0].Reason = "" }, "duties[0].reason"},
		"waived, no reason": {func(tr *vigil.Transition) { tr.Duties[1].Reason = " " }, "duties[1].reason"},
		"a sent duty":       {func(tr *vigil.Transition) { tr.Duties[1].ObligationID = 11 }, "duties[1].obligation_id"},
		"not closing":       {func(tr *vigil.Transition) { tr.To = vigil.StatusReviewed }, "open_work"},
	} {
		tr := all
		tr.Tasks = append([]vigil.TaskCloseOut(nil), all.Tasks...)
		tr.Duties = append([]vigil.DutyCloseOut(nil), all.Duties...)
		c.mutate(&tr)
		err := vigil.CheckClose(work, tr, now)
		fields := vigil.ErrorFields(err)
		found := false
		for _, f := range fields {
			found = found || f.Field == c.field
		}
		if !found {
			t.Errorf("%s: %v, want a problem with %s", name, err, c.field)
		}
	}
	// A reason closes with the work left open.
	if err := vigil.CheckClose(work, vigil.Transition{To: vigil.StatusClosed, OpenWorkReason: "Handed to the audit team."}, now); err != nil {
		t.Errorf("with a reason: %v", err)
	}
}
