package http_test

import (
	"fmt"
	"testing"

	"github.com/vigil-ir/vigil"
)

func TestReviewAPI(t *testing.T) {
	e := newEnv(t)
	mgr, _ := e.user(vigil.RoleManager)
	var inc vigil.Incident
	e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: mgr, Body: map[string]any{"title": "Data sent to the wrong customer", "severity": "high"}}).
		want(t, 201).JSON(t, &inc)
	base := fmt.Sprintf("/api/v1/incidents/%d", inc.ID)
	e.do(req{Method: "POST", Path: base + "/review", Token: mgr}).want(t, 409)
	for _, to := range []string{"confirmed", "contained", "recovered", "closed"} {
		e.do(req{Method: "POST", Path: base + "/transitions", Token: mgr, Body: map[string]any{"to": to, "version": inc.Version}}).want(t, 200).JSON(t, &inc)
	}
	pr := e.do(req{Method: "POST", Path: base + "/transitions", Token: mgr, Body: map[string]any{"to": "reviewed", "version": inc.Version}}).want(t, 400).Problem(t)
	if len(pr.Errors) != 1 || pr.Errors[0].Field != "to" {
		t.Errorf("reviewed without a review: %+v", pr)
	}
	var rv vigil.Review
	e.do(req{Method: "POST", Path: base + "/review", Token: mgr}).want(t, 201).JSON(t, &rv)
	e.do(req{Method: "PATCH", Path: base + "/review", Token: mgr, Body: map[string]any{"root_cause": "Autocomplete picked the wrong address", "version": rv.Version}}).
		want(t, 200).JSON(t, &rv)
	var a vigil.Action
	e.do(req{Method: "POST", Path: base + "/review/actions", Token: mgr, Body: map[string]any{"title": "Delay on external mail"}}).want(t, 201).JSON(t, &a)
	pr = e.do(req{Method: "POST", Path: base + "/review/close", Token: mgr, Body: map[string]any{"version": rv.Version}}).want(t, 400).Problem(t)
	if len(pr.Errors) != 1 || pr.Errors[0].Field != "actions" {
		t.Errorf("close with an open action: %+v", pr)
	}
	e.do(req{Method: "PATCH", Path: fmt.Sprintf("/api/v1/tasks/%d", a.Task.ID), Token: mgr, Body: map[string]any{"status": "done", "version": a.Task.Version}}).want(t, 200)
	e.do(req{Method: "POST", Path: base + "/review/close", Token: mgr, Body: map[string]any{"version": rv.Version}}).want(t, 200).JSON(t, &rv)
	e.do(req{Method: "GET", Path: base, Token: mgr}).want(t, 200).JSON(t, &inc) // the review's changes touched it
	e.do(req{Method: "POST", Path: base + "/transitions", Token: mgr, Body: map[string]any{"to": "reviewed", "version": inc.Version}}).want(t, 200)
}
