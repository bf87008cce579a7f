package http_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vigil-ir/vigil"
)

// TestCloseWithOpenWorkAPI: the API refuses to close an incident with an
// open task, with a field-level problem naming it, and closes once the
// task is carried over as a follow-up action.
func TestCloseWithOpenWorkAPI(t *testing.T) {
	e := newEnv(t)
	mgr, _ := e.user(vigil.RoleManager)
	var inc vigil.Incident
	e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: mgr, Body: map[string]any{"title": "Phishing wave"}}).want(t, 201).JSON(t, &inc)
	base := fmt.Sprintf("/api/v1/incidents/%d", inc.ID)
	var task vigil.Task
	e.do(req{Method: "POST", Path: base + "/tasks", Token: mgr, Body: map[string]any{"title": "Block the sender domain"}}).want(t, 201).JSON(t, &task)
	e.do(req{Method: "GET", Path: base, Token: mgr}).want(t, 200).JSON(t, &inc)
	for _, to := range []string{"confirmed", "recovered"} {
		e.do(req{Method: "POST", Path: base + "/transitions", Token: mgr, Body: map[string]any{"to": to, "version": inc.Version}}).want(t, 200).JSON(t, &inc)
	}
	pr := e.do(req{Method: "POST", Path: base + "/transitions", Token: mgr, Body: map[string]any{"to": "closed", "version": inc.Version}}).want(t, 400).Problem(t)
	if len(pr.Errors) != 1 || pr.Errors[0].Field != "open_work" || !strings.Contains(pr.Errors[0].Message, "Still open: 1 task.") {
		t.Errorf("close with an open task: %+v", pr)
	}
	pr = e.do(req{Method: "POST", Path: base + "/transitions", Token: mgr, Body: map[string]any{"to": "closed", "version": inc.Version,
		"tasks": []map[string]any{{"task_id": task.ID, "action": "postpone"}}}}).want(t, 400).Problem(t)
	if len(pr.Errors) == 0 || pr.Errors[0].Field != "tasks[0].action" {
		t.Errorf("unknown close action: %+v", pr)
	}
	e.do(req{Method: "POST", Path: base + "/transitions", Token: mgr, Body: map[string]any{"to": "closed", "version": inc.Version,
		"tasks": []map[string]any{{"task_id": task.ID, "action": "follow_up"}}}}).want(t, 200).JSON(t, &inc)
	e.do(req{Method: "GET", Path: fmt.Sprintf("/api/v1/tasks/%d", task.ID), Token: mgr}).want(t, 200).JSON(t, &task)
	if inc.Status != vigil.StatusClosed || !task.FollowUp || task.Status != vigil.TaskOpen {
		t.Errorf("closed %s, task %+v", inc.Status, task)
	}
	// Reopening asks why.
	pr = e.do(req{Method: "POST", Path: base + "/transitions", Token: mgr, Body: map[string]any{"to": "confirmed", "version": inc.Version}}).want(t, 400).Problem(t)
	if len(pr.Errors) != 1 || pr.Errors[0].Field != "reason" {
		t.Errorf("reopen without a reason: %+v", pr)
	}
}
