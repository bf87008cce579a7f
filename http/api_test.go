package http_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/vigil-ir/vigil"
	vigilhttp "github.com/vigil-ir/vigil/http"
)

func TestOpenAPIDocument(t *testing.T) {
	e := newEnv(t) // loads and validates the document
	r := e.do(req{Method: "GET", Path: "/api/v1/openapi.json"}).want(t, http.StatusOK)
	var d struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	r.JSON(t, &d)
	if d.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", d.OpenAPI)
	}
	ids := map[string]bool{}
	for path, item := range d.Paths {
		for method, op := range item {
			id, _ := op["operationId"].(string)
			if id == "" || ids[id] {
				t.Errorf("%s %s: operationId %q missing or repeated", method, path, id)
			}
			ids[id] = true
		}
	}
	if len(ids) < 40 {
		t.Errorf("the document has %d operations; want every route", len(ids))
	}
}

func TestIncidentFlow(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.user(vigil.RoleManager)
	_, other := e.user(vigil.RoleResponder)

	var inc vigil.Incident
	r := e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: tok, Body: map[string]any{
		"title": "Ransomware on the file server", "type": "ransomware", "severity": "critical", "tlp": "AMBER",
		"personal_data": true, "affected_services": []string{"File shares"},
		"times": map[string]any{"occurred_at": "2026-11-20T02:00:00Z"},
	}}).want(t, http.StatusCreated)
	r.JSON(t, &inc)
	if r.Header.Get("Location") != fmt.Sprintf("/api/v1/incidents/%d", inc.ID) || r.Header.Get("ETag") != `"1"` {
		t.Errorf("Location %q, ETag %q", r.Header.Get("Location"), r.Header.Get("ETag"))
	}
	path := fmt.Sprintf("/api/v1/incidents/%d", inc.ID)

	// Read by ID and by reference; a matching If-None-Match is 304.
	e.do(req{Method: "GET", Path: "/api/v1/incidents/" + inc.Reference, Token: tok}).want(t, http.StatusOK)
	// Every incident route takes the reference, as the OpenAPI document says.
	for _, sub := range []string{"/timeline", "/evidence", "/obligations", "/plans", "/report"} {
		e.do(req{Method: "GET", Path: "/api/v1/incidents/" + inc.Reference + sub, Token: tok}).want(t, http.StatusOK)
	}
	e.do(req{Method: "GET", Path: "/api/v1/incidents/INC-1999-000001/evidence", Token: tok}).want(t, http.StatusNotFound)
	e.do(req{Method: "GET", Path: path, Token: tok, Header: map[string]string{"If-None-Match": `"1"`}}).want(t, http.StatusNotModified)

	// Update with If-Match, then a stale update gets 412 with the current incident.
	r = e.do(req{Method: "PATCH", Path: path, Token: tok, Header: map[string]string{"If-Match": `"1"`},
		Body: map[string]any{"category": 3, "lead_id": other.ID}}).want(t, http.StatusOK)
	r.JSON(t, &inc)
	if !inc.Significant || inc.Version != 2 {
		t.Errorf("after update: %+v", inc)
	}
	r = e.do(req{Method: "PATCH", Path: path, Token: tok, Header: map[string]string{"If-Match": `"1"`},
		Body: map[string]any{"title": "Lost update"}}).want(t, http.StatusPreconditionFailed)
	p := r.Problem(t)
	if cur, ok := p.Current.(map[string]any); !ok || cur["title"] != "Ransomware on the file server" {
		t.Errorf("412 current = %v", p.Current)
	}
	e.do(req{Method: "PATCH", Path: path, Token: tok, Body: map[string]any{"title": "No version"}}).want(t, http.StatusPreconditionRequired)

	// Lifecycle.
	e.do(req{Method: "POST", Path: path + "/transitions", Token: tok, Body: map[string]any{"to": "contained", "version": 2}}).want(t, http.StatusBadRequest)
	r = e.do(req{Method: "POST", Path: path + "/transitions", Token: tok, Body: map[string]any{"to": "confirmed", "version": 2}}).want(t, http.StatusOK)
	r.JSON(t, &inc)
	if inc.Status != vigil.StatusConfirmed || inc.Times.AwareAt == nil {
		t.Errorf("after confirm: %+v", inc)
	}
	var lc vigilhttp.Lifecycle
	e.do(req{Method: "GET", Path: "/api/v1/lifecycle", Token: tok}).want(t, http.StatusOK).JSON(t, &lc)
	if len(lc.Statuses) != len(vigil.Statuses) {
		t.Errorf("lifecycle lists %d statuses", len(lc.Statuses))
	}

	// Notes, tasks, comments.
	e.do(req{Method: "POST", Path: path + "/timeline", Token: tok, Body: map[string]any{"message": "Isolated the server from the network.", "at": "2026-11-20T03:00:00Z"}}).want(t, http.StatusCreated)
	var tl vigil.TimelinePage
	e.do(req{Method: "GET", Path: path + "/timeline?kind=note,status&order=asc", Token: tok}).want(t, http.StatusOK).JSON(t, &tl)
	if len(tl.Items) != 2 || tl.Items[0].Kind != vigil.KindNote {
		t.Errorf("timeline = %+v", tl.Items)
	}
	var task vigil.Task
	e.do(req{Method: "POST", Path: path + "/tasks", Token: tok, Body: map[string]any{"title": "Restore from backup", "phase": "recover", "assignee_id": other.ID, "due_at": "2026-11-21T17:00:00Z"}}).want(t, http.StatusCreated).JSON(t, &task)
	var task2 vigil.Task
	e.do(req{Method: "POST", Path: path + "/tasks", Token: tok, Body: map[string]any{"title": "Brief the board"}}).want(t, http.StatusCreated).JSON(t, &task2)
	e.do(req{Method: "PATCH", Path: fmt.Sprintf("/api/v1/tasks/%d", task.ID), Token: tok, Body: map[string]any{"status": "done", "version": 1}}).want(t, http.StatusOK)
	e.do(req{Method: "PATCH", Path: fmt.Sprintf("/api/v1/tasks/%d", task.ID), Token: tok, Body: map[string]any{"status": "open", "version": 1}}).want(t, http.StatusPreconditionFailed)
	e.do(req{Method: "PUT", Path: path + "/tasks/order", Token: tok, Body: map[string]any{"ids": []int64{task2.ID, task.ID}}}).want(t, http.StatusOK)
	var tasks vigilhttp.TaskList
	e.do(req{Method: "GET", Path: path + "/tasks", Token: tok}).want(t, http.StatusOK).JSON(t, &tasks)
	if len(tasks.Items) != 2 || tasks.Items[0].ID != task2.ID {
		t.Errorf("tasks = %+v", tasks.Items)
	}
	e.do(req{Method: "GET", Path: "/api/v1/tasks?assignee=" + fmt.Sprint(other.ID) + "&status=done", Token: tok}).want(t, http.StatusOK).JSON(t, &tasks)
	if tasks.Total != 1 {
		t.Errorf("done tasks of the assignee = %d, want 1", tasks.Total)
	}
	var c vigil.Comment
	e.do(req{Method: "POST", Path: path + "/comments", Token: tok, Body: map[string]any{"body": "Backups from Sunday are clean.", "task_id": task.ID}}).want(t, http.StatusCreated).JSON(t, &c)
	e.do(req{Method: "PATCH", Path: fmt.Sprintf("/api/v1/comments/%d", c.ID), Token: tok, Body: map[string]any{"body": "Backups from Saturday are clean.", "version": 1}}).want(t, http.StatusOK)
	var comments vigilhttp.CommentList
	e.do(req{Method: "GET", Path: path + fmt.Sprintf("/comments?task=%d", task.ID), Token: tok}).want(t, http.StatusOK).JSON(t, &comments)
	if len(comments.Items) != 1 || comments.Items[0].Version != 2 {
		t.Errorf("comments = %+v", comments.Items)
	}

	// Observables: a list and pasted lines in one request.
	var obs vigilhttp.ObservableList
	e.do(req{Method: "POST", Path: path + "/observables", Token: tok, Body: map[string]any{
		"observables": []map[string]any{{"type": "ipv4-addr", "value": "203.0.113.9", "ioc": true}},
		"text":        "hxxps://evil[.]example/payload\n# a comment\ndomain:Login.Example.NET\nd41d8cd98f00b204e9800998ecf8427e\n",
	}}).want(t, http.StatusCreated).JSON(t, &obs)
	if len(obs.Items) != 4 {
		t.Fatalf("observables added = %+v, want 4", obs.Items)
	}
	var sight vigilhttp.SightingList
	e.do(req{Method: "GET", Path: "/api/v1/observables/sightings?value=203.0.113.9", Token: tok}).want(t, http.StatusOK).JSON(t, &sight)
	if len(sight.Items) != 1 || sight.Type != vigil.ObsIPv4 {
		t.Errorf("sightings = %+v", sight)
	}
	o := obs.Items[0]
	e.do(req{Method: "PATCH", Path: fmt.Sprintf("/api/v1/observables/%d", o.ID), Token: tok, Body: map[string]any{"description": "C2", "version": o.Version}}).want(t, http.StatusOK)
	e.do(req{Method: "GET", Path: fmt.Sprintf("/api/v1/observables/%d", o.ID), Token: tok}).want(t, http.StatusOK)
	e.do(req{Method: "DELETE", Path: fmt.Sprintf("/api/v1/observables/%d", obs.Items[3].ID), Token: tok}).want(t, http.StatusNoContent)

	// Links and members.
	var second vigil.Incident
	e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: tok, Body: map[string]any{"title": "Second encryption wave"}}).want(t, http.StatusCreated).JSON(t, &second)
	var link vigil.Link
	e.do(req{Method: "POST", Path: path + "/links", Token: tok, Body: map[string]any{"target": second.Reference, "kind": "related"}}).want(t, http.StatusCreated).JSON(t, &link)
	e.do(req{Method: "POST", Path: path + "/links", Token: tok, Body: map[string]any{"target": "INC-1999-000001", "kind": "related"}}).want(t, http.StatusBadRequest)
	var links vigilhttp.LinkList
	e.do(req{Method: "GET", Path: fmt.Sprintf("/api/v1/incidents/%d/links", second.ID), Token: tok}).want(t, http.StatusOK).JSON(t, &links)
	if len(links.Items) != 1 || !links.Items[0].Inbound {
		t.Errorf("links = %+v", links.Items)
	}
	e.do(req{Method: "DELETE", Path: fmt.Sprintf("/api/v1/links/%d", link.ID), Token: tok}).want(t, http.StatusNoContent)
	e.do(req{Method: "POST", Path: path + "/members", Token: tok, Body: map[string]any{"user_id": other.ID, "role": "scribe"}}).want(t, http.StatusCreated)
	var members vigilhttp.MemberList
	e.do(req{Method: "GET", Path: path + "/members", Token: tok}).want(t, http.StatusOK).JSON(t, &members)
	if len(members.Items) != 2 || members.Items[0].Role != vigil.RoleLead {
		t.Errorf("members = %+v", members.Items)
	}
	e.do(req{Method: "DELETE", Path: fmt.Sprintf("%s/members/%d/scribe", path, other.ID), Token: tok}).want(t, http.StatusNoContent)

	// Lists, counts and search.
	var list vigilhttp.IncidentList
	e.do(req{Method: "GET", Path: "/api/v1/incidents?q=ransomware&count=true", Token: tok}).want(t, http.StatusOK).JSON(t, &list)
	if len(list.Items) != 1 || list.Total == nil || *list.Total != 1 || !strings.Contains(list.Snippets[fmt.Sprint(inc.ID)], "<mark>") {
		t.Errorf("search list = %+v", list)
	}
	e.do(req{Method: "GET", Path: "/api/v1/incidents?status=confirmed,triage&severity=critical&sort=-severity&limit=1", Token: tok}).want(t, http.StatusOK).JSON(t, &list)
	if len(list.Items) != 1 || list.NextCursor != "" {
		t.Errorf("filtered list = %+v", list)
	}
	e.do(req{Method: "GET", Path: "/api/v1/incidents?limit=1", Token: tok}).want(t, http.StatusOK).JSON(t, &list)
	if list.NextCursor == "" {
		t.Fatal("no next cursor on a full page")
	}
	e.do(req{Method: "GET", Path: "/api/v1/incidents?limit=1&cursor=" + list.NextCursor, Token: tok}).want(t, http.StatusOK)
	var count vigilhttp.IncidentCount
	e.do(req{Method: "GET", Path: "/api/v1/incidents/count?open=true", Token: tok}).want(t, http.StatusOK).JSON(t, &count)
	if count.Count != 2 {
		t.Errorf("count = %d, want 2", count.Count)
	}
	var hits vigilhttp.SearchResults
	e.do(req{Method: "GET", Path: "/api/v1/search?q=isolated&kind=note", Token: tok}).want(t, http.StatusOK).JSON(t, &hits)
	if len(hits.Items) != 1 || hits.Items[0].Kind != vigil.SearchNote {
		t.Errorf("search = %+v", hits.Items)
	}
}

func TestAdministration(t *testing.T) {
	e := newEnv(t)
	admin, _ := e.user(vigil.RoleAdmin)
	var u vigil.User
	e.do(req{Method: "POST", Path: "/api/v1/users", Token: admin, Body: map[string]any{"username": "dpo", "name": "Data Protection Officer",
		"role": "viewer", "password": "a long enough passphrase", "email": "dpo@example.org"}}).want(t, http.StatusCreated).JSON(t, &u)
	r := e.do(req{Method: "POST", Path: "/api/v1/users", Token: admin, Body: map[string]any{"username": "dpo", "role": "viewer", "password": "a long enough passphrase"}}).want(t, http.StatusConflict)
	if p := r.Problem(t); len(p.Errors) != 1 || p.Errors[0].Field != "username" {
		t.Errorf("conflict names %+v", p.Errors)
	}
	var users vigilhttp.UserList
	e.do(req{Method: "GET", Path: "/api/v1/users?role=viewer", Token: admin}).want(t, http.StatusOK).JSON(t, &users)
	if users.Total != 1 {
		t.Errorf("viewers = %d", users.Total)
	}
	e.do(req{Method: "PATCH", Path: fmt.Sprintf("/api/v1/users/%d", u.ID), Token: admin, Header: map[string]string{"If-Match": `"1"`},
		Body: map[string]any{"role": "manager"}}).want(t, http.StatusOK)
	e.do(req{Method: "PUT", Path: fmt.Sprintf("/api/v1/users/%d/password", u.ID), Token: admin, Body: map[string]any{"new_password": "reset by the admin team"}}).want(t, http.StatusNoContent)

	var created vigilhttp.TokenCreated
	e.do(req{Method: "POST", Path: "/api/v1/tokens", Token: admin, Body: map[string]any{"name": "for dpo", "scopes": []string{"read"}, "user_id": u.ID}}).want(t, http.StatusForbidden)
	// Tokens cannot mint tokens; a session can. Log in as the DPO (who
	// has chosen their own password after the admin's reset).
	e.ownPassword("dpo", "reset by the admin team")
	login := e.do(req{Method: "POST", Path: "/api/v1/auth/login", Body: map[string]any{"username": "dpo", "password": "reset by the admin team"}}).want(t, http.StatusOK)
	var lr vigilhttp.LoginResponse
	login.JSON(t, &lr)
	cookie := login.Header.Get("Set-Cookie")
	if !strings.Contains(cookie, "HttpOnly") || !strings.Contains(cookie, "SameSite=Lax") {
		t.Errorf("cookie = %q", cookie)
	}
	session := strings.Split(cookie, ";")[0]
	hdr := map[string]string{"Cookie": session}
	e.do(req{Method: "POST", Path: "/api/v1/tokens", Header: hdr, Body: map[string]any{"name": "scripts", "scopes": []string{"read"}}}).want(t, http.StatusForbidden) // no CSRF token
	hdr["X-CSRF-Token"] = lr.CSRFToken
	e.do(req{Method: "POST", Path: "/api/v1/tokens", Header: hdr, Body: map[string]any{"name": "scripts", "scopes": []string{"read"}}}).want(t, http.StatusCreated).JSON(t, &created)
	if !strings.HasPrefix(created.Secret, vigil.TokenPrefix) {
		t.Errorf("secret = %q", created.Secret)
	}
	var me vigilhttp.MeResponse
	e.do(req{Method: "GET", Path: "/api/v1/me", Token: created.Secret}).want(t, http.StatusOK).JSON(t, &me)
	if me.User.Username != "dpo" || len(me.Scopes) != 1 {
		t.Errorf("me = %+v", me)
	}
	var tokens vigilhttp.TokenList
	e.do(req{Method: "GET", Path: "/api/v1/tokens", Header: hdr}).want(t, http.StatusOK).JSON(t, &tokens)
	if len(tokens.Items) != 1 {
		t.Errorf("tokens = %d", len(tokens.Items))
	}
	e.do(req{Method: "DELETE", Path: fmt.Sprintf("/api/v1/tokens/%d", created.ID), Header: hdr}).want(t, http.StatusNoContent)
	e.do(req{Method: "GET", Path: "/api/v1/me", Token: created.Secret}).want(t, http.StatusUnauthorized)
	e.do(req{Method: "PUT", Path: "/api/v1/me/password", Header: hdr, Body: map[string]any{"current_password": "reset by the admin team", "new_password": "my own secret phrase"}}).want(t, http.StatusNoContent)
	e.do(req{Method: "GET", Path: "/api/v1/me", Header: hdr}).want(t, http.StatusOK) // this session goes on; the others ended (issue 21)
	e.do(req{Method: "POST", Path: "/api/v1/auth/logout"}).want(t, http.StatusNoContent)

	var audit vigilhttp.AuditList
	e.do(req{Method: "GET", Path: "/api/v1/audit?limit=5", Token: admin}).want(t, http.StatusOK).JSON(t, &audit)
	if len(audit.Items) != 5 || audit.NextBefore == 0 {
		t.Errorf("audit page = %d items, next %d", len(audit.Items), audit.NextBefore)
	}
	var v vigil.AuditVerification
	e.do(req{Method: "GET", Path: "/api/v1/audit/verify", Token: admin}).want(t, http.StatusOK).JSON(t, &v)
	if !v.OK || v.Checked == 0 {
		t.Errorf("verify = %+v", v)
	}
}
