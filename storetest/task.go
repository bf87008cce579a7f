package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vigil-ir/vigil"
)

func testTask(t *testing.T, open Opener) {
	t.Run("CRUD", func(t *testing.T) {
		s := open(t)
		c := newClock(s, time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC))
		ctx, u := MustCreateUser(t, s, vigil.RoleResponder)
		inc := MustCreateIncident(t, ctx, s, &vigil.Incident{})
		due := time.Date(2026, 7, 1, 17, 0, 0, 0, time.UTC)
		task := &vigil.Task{IncidentID: inc.ID, Title: "Reset the finance mailbox passwords", Phase: vigil.PhaseContain, AssigneeID: &u.ID, DueAt: &due}
		if err := s.Tasks.CreateTask(ctx, task); err != nil {
			t.Fatal(err)
		}
		if task.Position != 1 || task.Status != vigil.TaskOpen || task.Version != 1 {
			t.Errorf("new task = %+v", task)
		}
		got, err := s.Tasks.FindTaskByID(ctx, task.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(task, got); diff != "" {
			t.Errorf("FindTaskByID (-created +found):\n%s", diff)
		}
		c.add(time.Hour)
		done, err := s.Tasks.UpdateTask(ctx, task.ID, vigil.TaskUpdate{Status: ptr(vigil.TaskDone), Version: task.Version})
		if err != nil {
			t.Fatal(err)
		}
		if done.CompletedAt == nil || !done.CompletedAt.Equal(c.now()) || done.Version != 2 {
			t.Errorf("done task = %+v", done)
		}
		_, err = s.Tasks.UpdateTask(ctx, task.ID, vigil.TaskUpdate{Title: ptr("stale"), Version: task.Version})
		wantCode(t, err, vigil.ECONFLICT)
		_, err = s.Tasks.UpdateTask(ctx, task.ID, vigil.TaskUpdate{Title: ptr(""), Version: done.Version})
		wantField(t, err, "title")
		reopened, err := s.Tasks.UpdateTask(ctx, task.ID, vigil.TaskUpdate{Status: ptr(vigil.TaskOpen), AssigneeID: vigil.Null[int64](), Version: done.Version})
		if err != nil {
			t.Fatal(err)
		}
		if reopened.CompletedAt != nil || reopened.AssigneeID != nil {
			t.Errorf("reopened = %+v, want no completion time and no assignee", reopened)
		}
		tl, err := s.Timeline.FindTimeline(ctx, inc.ID, vigil.TimelineFilter{Kinds: []vigil.TimelineKind{vigil.KindTask}})
		if err != nil {
			t.Fatal(err)
		}
		if len(tl.Items) != 3 {
			t.Errorf("task timeline entries = %d, want 3", len(tl.Items))
		}
		err = s.Tasks.CreateTask(ctx, &vigil.Task{IncidentID: inc.ID, Title: "x", AssigneeID: ptr(int64(424242))})
		wantField(t, err, "assignee_id")
	})

	t.Run("ReorderAndFilters", func(t *testing.T) {
		s := open(t)
		c := newClock(s, time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC))
		ctx, u := MustCreateUser(t, s, vigil.RoleResponder)
		inc := MustCreateIncident(t, ctx, s, &vigil.Incident{})
		other := MustCreateIncident(t, ctx, s, &vigil.Incident{})
		past := c.now().Add(-time.Hour)
		var ids []int64
		for _, title := range []string{"one", "two", "three"} {
			task := &vigil.Task{IncidentID: inc.ID, Title: title}
			if title == "two" {
				task.DueAt, task.AssigneeID = &past, &u.ID
			}
			if err := s.Tasks.CreateTask(ctx, task); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, task.ID)
		}
		if err := s.Tasks.CreateTask(ctx, &vigil.Task{IncidentID: other.ID, Title: "elsewhere"}); err != nil {
			t.Fatal(err)
		}
		tasks, err := s.Tasks.ReorderTasks(ctx, inc.ID, []int64{ids[2], ids[0], ids[1]})
		if err != nil {
			t.Fatal(err)
		}
		var titles []string
		for _, task := range tasks {
			titles = append(titles, task.Title)
		}
		if diff := cmp.Diff([]string{"three", "one", "two"}, titles); diff != "" {
			t.Errorf("after reorder (-want +got):\n%s", diff)
		}
		_, err = s.Tasks.ReorderTasks(ctx, inc.ID, []int64{ids[0], ids[1]})
		wantField(t, err, "ids")
		listed, n, err := s.Tasks.FindTasks(ctx, vigil.TaskFilter{IncidentID: &inc.ID})
		if err != nil {
			t.Fatal(err)
		}
		if n != 3 || listed[0].Title != "three" {
			t.Errorf("FindTasks = %d tasks starting %q, want 3 starting three", n, listed[0].Title)
		}
		overdue, n, err := s.Tasks.FindTasks(ctx, vigil.TaskFilter{Overdue: true})
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 || overdue[0].Title != "two" || !overdue[0].Overdue(c.now()) {
			t.Errorf("overdue = %d tasks (%v), want two", n, overdue)
		}
		mine, n, err := s.Tasks.FindTasks(ctx, vigil.TaskFilter{AssigneeID: &u.ID})
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 || mine[0].Title != "two" {
			t.Errorf("my tasks = %d, want two", n)
		}
	})
}
