package storetest

import (
	"testing"

	"github.com/vigil-ir/vigil"
)

func testComment(t *testing.T, open Opener) {
	s := open(t)
	ctx, u := MustCreateUser(t, s, vigil.RoleResponder)
	other, _ := MustCreateUser(t, s, vigil.RoleResponder)
	inc := MustCreateIncident(t, ctx, s, &vigil.Incident{})
	task := &vigil.Task{IncidentID: inc.ID, Title: "Image the laptop"}
	if err := s.Tasks.CreateTask(ctx, task); err != nil {
		t.Fatal(err)
	}
	c := &vigil.Comment{IncidentID: inc.ID, TaskID: &task.ID, Body: " Who has the write blocker? "}
	if err := s.Comments.CreateComment(ctx, c); err != nil {
		t.Fatal(err)
	}
	if c.Body != "Who has the write blocker?" || *c.AuthorID != u.ID {
		t.Errorf("comment = %+v", c)
	}
	if err := s.Comments.CreateComment(other, &vigil.Comment{IncidentID: inc.ID, Body: "On the incident itself"}); err != nil {
		t.Fatal(err)
	}
	all, err := s.Comments.FindComments(ctx, inc.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	onTask, err := s.Comments.FindComments(ctx, inc.ID, &task.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || len(onTask) != 1 {
		t.Errorf("comments: %d on incident, %d on task; want 2, 1", len(all), len(onTask))
	}
	_, err = s.Comments.UpdateComment(other, c.ID, "hijack", c.Version)
	wantCode(t, err, vigil.EFORBIDDEN)
	edited, err := s.Comments.UpdateComment(ctx, c.ID, "Who has the Tableau write blocker?", c.Version)
	if err != nil {
		t.Fatal(err)
	}
	if edited.Version != 2 {
		t.Errorf("Version = %d, want 2", edited.Version)
	}
	_, err = s.Comments.UpdateComment(ctx, c.ID, "again", c.Version)
	wantCode(t, err, vigil.ECONFLICT)
	wantField(t, s.Comments.CreateComment(ctx, &vigil.Comment{IncidentID: inc.ID, Body: ""}), "body")
	otherInc := MustCreateIncident(t, ctx, s, &vigil.Incident{})
	wantField(t, s.Comments.CreateComment(ctx, &vigil.Comment{IncidentID: otherInc.ID, TaskID: &task.ID, Body: "x"}), "task_id")
}
