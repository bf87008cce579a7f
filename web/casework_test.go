package web_test

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
)

// TestEditErrorShown: an edit the rules refuse for a field the form has
// no place for, or a checkbox, shows its message (it came back silent).
func TestEditErrorShown(t *testing.T) {
	e := newEnv(t)
	u := e.user("lena", vigil.RoleManager)
	inc := e.incident(as(u), &vigil.Incident{Title: "Outage of the booking system"})
	b := e.login("lena")
	path := fmt.Sprintf("/incidents/%d", inc.ID)
	resp, body := b.post(path, url.Values{"version": {fmt.Sprint(inc.Version)}, "title": {inc.Title}, "type": {"other"},
		"severity": {"medium"}, "category": {"3"}, "tlp": {"AMBER"}})
	wantStatus(t, resp, body, http.StatusBadRequest)
	err := (&vigil.Incident{Title: "x", Category: 3}).Validate()
	msg := ""
	for _, f := range vigil.ErrorFields(err) {
		if f.Field == "significant" {
			msg = f.Message
		}
	}
	if msg == "" {
		t.Fatalf("the rule changed: %v", err)
	}
	if got := strings.Count(body, html.EscapeString(msg)); got < 2 {
		t.Errorf("the significant error shows %d times, want at the top and beside the box:\n%s", got, excerpt(body))
	}
	if !strings.Contains(body, `class="error-summary"`) {
		t.Errorf("no error summary on the form")
	}
}

// TestObservablePastePartial: good lines are added, the bad ones stay in
// the box with what is wrong, and no message names a type chooser the
// form does not have.
func TestObservablePastePartial(t *testing.T) {
	e := newEnv(t)
	u := e.user("lena", vigil.RoleManager)
	inc := e.incident(as(u), &vigil.Incident{Title: "Phish"})
	b := e.login("lena")
	path := fmt.Sprintf("/incidents/%d", inc.ID)
	resp, body := b.post(path+"/observables", url.Values{"text": {"evil-payroll.example\n198.51.100.7\nnot a valid ip: 999.1.1.1\nsomething odd"}})
	wantStatus(t, resp, body, http.StatusBadRequest)
	obs, err := e.svc.Observables.FindObservables(as(u), inc.ID)
	if err != nil || len(obs) != 2 {
		t.Fatalf("observables: %v %d, want the 2 good lines", err, len(obs))
	}
	for _, want := range []string{"2 observables added.", "2 lines were not read", "Line 3", "Line 4", "start the line with its type"} {
		if !strings.Contains(body, html.EscapeString(want)) {
			t.Errorf("page lacks %q:\n%s", want, excerpt(body))
		}
	}
	if strings.Contains(body, "choose a type") {
		t.Errorf("the message names a type chooser the form lacks")
	}
	box := body[strings.Index(body, `id="obs-text"`):]
	box = box[:strings.Index(box, "</textarea>")]
	if strings.Contains(box, "evil-payroll") || !strings.Contains(box, "something odd") || !strings.Contains(box, "999.1.1.1") {
		t.Errorf("the box should keep the bad lines only: %q", box)
	}
}

// TestCloseWithOpenWork: the close action lists the open tasks and
// pending duties, refuses until each is dealt with or a reason is given,
// and applies the choices.
func TestCloseWithOpenWork(t *testing.T) {
	e := newEnv(t)
	u := e.user("lena", vigil.RoleManager)
	inc := e.incident(as(u), &vigil.Incident{Title: "Payroll file sent to the wrong firm", Status: vigil.StatusConfirmed, PersonalData: true})
	var tasks []*vigil.Task
	for _, title := range []string{"Recall the e-mail", "Retrain the team"} {
		tk := &vigil.Task{IncidentID: inc.ID, Title: title, AssigneeID: &u.ID}
		if err := e.svc.Tasks.CreateTask(as(u), tk); err != nil {
			t.Fatal(err)
		}
		tasks = append(tasks, tk)
	}
	cur, _ := e.svc.Incidents.FindIncidentByID(as(u), inc.ID)
	cur, err := e.svc.Incidents.TransitionIncident(as(u), inc.ID, vigil.Transition{To: vigil.StatusRecovered, Version: cur.Version})
	if err != nil {
		t.Fatal(err)
	}
	duties, _ := e.svc.Duties.FindObligations(as(u), inc.ID)
	b := e.login("lena")
	path := fmt.Sprintf("/incidents/%d", inc.ID)
	_, body := b.get(path)
	for _, want := range []string{"Still open: 2 tasks and 2 reporting duties.", "Recall the e-mail", "Carry over as a follow-up action", "Record as sent"} {
		if !strings.Contains(body, want) {
			t.Errorf("the close form lacks %q", want)
		}
	}
	form := url.Values{"to": {"closed"}, "version": {fmt.Sprint(cur.Version)}}
	for _, tk := range tasks {
		form.Add("task_ids", fmt.Sprint(tk.ID))
	}
	for _, o := range duties {
		form.Add("duty_ids", fmt.Sprint(o.ID))
	}
	form.Set(fmt.Sprintf("task_%d", tasks[0].ID), "done")
	resp, body := b.post(path+"/transition", form)
	wantStatus(t, resp, body, http.StatusBadRequest)
	if !strings.Contains(body, "Still open: 1 task and 2 reporting duties. Close each task") {
		t.Errorf("refusal lacks what is open:\n%s", excerpt(body))
	}
	if got, _ := e.svc.Incidents.FindIncidentByID(as(u), inc.ID); got.Status != vigil.StatusRecovered {
		t.Fatalf("closed anyway: %s", got.Status)
	}
	form.Set(fmt.Sprintf("task_%d", tasks[1].ID), "follow_up")
	for _, o := range duties {
		form.Set(fmt.Sprintf("duty_%d", o.ID), "submitted")
	}
	resp, body = b.post(path+"/transition", form)
	wantStatus(t, resp, body, http.StatusSeeOther)
	got, _ := e.svc.Incidents.FindIncidentByID(as(u), inc.ID)
	if got.Status != vigil.StatusClosed {
		t.Fatalf("status %s", got.Status)
	}
	// The dashboard's "My tasks" keeps the follow-up action, with its incident.
	_, body = b.get("/")
	if !strings.Contains(body, "Retrain the team") || strings.Contains(body, "Recall the e-mail") || !strings.Contains(body, inc.Reference) {
		t.Errorf("My tasks after closing:\n%s", excerpt(body))
	}
	// Reopening is a secondary action that asks why.
	_, body = b.get(path)
	if strings.Contains(body, "Confirm as an incident") {
		t.Errorf("a closed incident offers to be confirmed")
	}
	if !strings.Contains(body, `<button type="submit" class="secondary">Reopen</button>`) {
		t.Errorf("no secondary Reopen action:\n%s", excerpt(body))
	}
	resp, body = b.post(path+"/transition", url.Values{"to": {"confirmed"}, "version": {fmt.Sprint(got.Version)}})
	wantStatus(t, resp, body, http.StatusBadRequest)
	if !strings.Contains(body, "Say why the incident is reopened") {
		t.Errorf("reopening without a reason:\n%s", excerpt(body))
	}
}

// TestSmallDefects: the favicon, the audit log's login events and object
// links, the Subscribe form before any channel, and the intake docs link.
func TestSmallDefects(t *testing.T) {
	e := newEnv(t)
	e.user("ada", vigil.RoleAdmin)
	anon := e.browser()
	resp, body := anon.get("/favicon.ico")
	wantStatus(t, resp, body, http.StatusOK)
	if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, "icon") || len(body) < 100 {
		t.Errorf("favicon: %s, %d bytes", ct, len(body))
	}
	ada := e.login("ada")
	inc := e.incident(system(), &vigil.Incident{Title: "Lost laptop"})
	_, body = ada.get("/admin/audit?action=auth.login")
	if strings.Contains(body, "<td>anonymous</td>") || !strings.Contains(body, "<td>ada</td>") {
		t.Errorf("the login event's actor:\n%s", excerpt(body))
	}
	_, body = ada.get("/admin/audit?object_type=incident")
	if !strings.Contains(body, fmt.Sprintf(`<a href="/incidents/%d">incident %d</a>`, inc.ID, inc.ID)) {
		t.Errorf("the audit log does not link the incident:\n%s", excerpt(body))
	}
	_, body = ada.get("/notifications")
	if strings.Contains(body, `id="s-channel"`) || !strings.Contains(body, `id="subscribe-needs-channel"`) {
		t.Errorf("the Subscribe form shows with no channel to choose:\n%s", excerpt(body))
	}
}

// TestMarkdownPages: the summary, a note and a comment show as Markdown,
// sanitised; comments are added on the page; the preview answers the
// same HTML; the help pages show the docs, and the integrations page
// links the intake guide.
func TestMarkdownPages(t *testing.T) {
	e := newEnv(t)
	u := e.user("lena", vigil.RoleManager)
	inc := e.incident(as(u), &vigil.Incident{Title: "Phish", Summary: "**Bold** start, a [link](https://www.ncsc.gov.uk) and <script>alert(1)</script> [bad](javascript:alert(1))"})
	b := e.login("lena")
	path := fmt.Sprintf("/incidents/%d", inc.ID)
	resp, body := b.post(path+"/notes", url.Values{"message": {"- item _one_\n- <img src=x onerror=alert(1)>"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	resp, body = b.post(path+"/comments", url.Values{"body": {""}})
	wantStatus(t, resp, body, http.StatusBadRequest)
	if !strings.Contains(body, "Write something in the comment.") || !strings.Contains(body, `id="comment" open`) {
		t.Errorf("empty comment:\n%s", excerpt(body))
	}
	resp, body = b.post(path+"/comments", url.Values{"body": {"Agreed, see `proxy.log` and [the runbook](/plans/1)."}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	_, body = b.get(path)
	for _, want := range []string{"<strong>Bold</strong>", `<a href="https://www.ncsc.gov.uk" rel="noopener noreferrer">link</a>`,
		"<em>one</em>", "<code>proxy.log</code>", `<a href="/plans/1" rel="noopener noreferrer">the runbook</a>`, `id="comment-list"`} {
		if !strings.Contains(body, want) {
			t.Errorf("incident page lacks %q", want)
		}
	}
	for _, bad := range []string{"<script>alert(1)", `href="javascript`, "<img src=x", "<img"} { // the edit form's textarea holds the text as written, escaped
		if strings.Contains(body, bad) {
			t.Errorf("incident page contains %q", bad)
		}
	}
	comments, _ := e.svc.Comments.FindComments(as(u), inc.ID, nil)
	if len(comments) != 1 || comments[0].AuthorName == "" {
		t.Errorf("comments: %+v", comments)
	}
	resp, body = b.post("/markdown/preview", url.Values{"text": {"_x_ <script>y</script>"}})
	wantStatus(t, resp, body, http.StatusOK)
	if body != "<p><em>x</em> y</p>\n" && body != "<p><em>x</em> </p>\n" {
		if strings.Contains(body, "<script") || !strings.Contains(body, "<em>x</em>") {
			t.Errorf("preview: %q", body)
		}
	}
	resp, body = b.get("/help/markdown.md")
	wantStatus(t, resp, body, http.StatusOK)
	if !strings.Contains(body, "What is left out") {
		t.Errorf("help page:\n%s", excerpt(body))
	}
	resp, _ = b.get("/help/..%2fREADME")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("help outside docs: %d", resp.StatusCode)
	}
	e.user("ada", vigil.RoleAdmin)
	_, body = e.login("ada").get("/admin/integrations")
	if !strings.Contains(body, `<a href="/help/intake.md">`) {
		t.Errorf("integrations page does not link the intake guide")
	}
	// A viewer may not comment.
	e.user("vic", vigil.RoleViewer)
	resp, _ = e.login("vic").post(path+"/comments", url.Values{"body": {"hi"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer's comment: %d", resp.StatusCode)
	}
}

// TestDutiesOverview: every pending duty across the incidents one may
// see, with its incident and the draft's link; another organisation's
// are never listed.
func TestDutiesOverview(t *testing.T) {
	e := newEnv(t)
	lena := e.user("lena", vigil.RoleManager)
	inc := e.incident(as(lena), &vigil.Incident{Title: "Payroll file sent to the wrong firm", Status: vigil.StatusConfirmed, PersonalData: true})
	obs, err := e.svc.Duties.FindObligations(as(lena), inc.ID)
	if err != nil || len(obs) == 0 {
		t.Fatalf("duties: %v %d", err, len(obs))
	}
	e.org("acme", "Acme Water Ltd")
	e.orgUser("sam", map[string]vigil.Role{"acme": vigil.RoleManager})
	acme := e.orgIncident("acme", "Acme: customer list leaked")
	pd := true
	if _, err := e.svc.Incidents.UpdateIncident(system(), acme.ID, vigil.IncidentUpdate{PersonalData: &pd, Version: acme.Version}); err != nil {
		t.Fatal(err)
	}
	if acmeDuties, err := e.svc.Duties.FindObligations(system(), acme.ID); err != nil || len(acmeDuties) == 0 {
		t.Fatalf("the member's incident has no duty to hide: %v", err)
	}
	_, body := e.login("lena").get("/duties")
	if !strings.Contains(body, inc.Reference) || !strings.Contains(body, "Notify the ICO") || !strings.Contains(body, fmt.Sprintf(`href="/incidents/%d#duty-`, inc.ID)) {
		t.Errorf("duties overview:\n%s", excerpt(body))
	}
	if strings.Contains(body, acme.Reference) {
		t.Errorf("the coordinator's manager sees a member's duty without a grant")
	}
	resp, body := e.login("sam").get("/duties")
	wantStatus(t, resp, body, http.StatusOK)
	if strings.Contains(body, inc.Reference) || strings.Contains(body, "Payroll file") {
		t.Errorf("a member sees another organisation's duty:\n%s", excerpt(body))
	}
	if !strings.Contains(body, acme.Reference) {
		t.Errorf("the member does not see its own duty:\n%s", excerpt(body))
	}
}

// TestTaskBoard: tasks across incidents, mine or anyone's, overdue, the
// closed incidents' too on request; another organisation's never.
func TestTaskBoard(t *testing.T) {
	e := newEnv(t)
	lena := e.user("lena", vigil.RoleManager)
	rita := e.user("rita", vigil.RoleResponder)
	a := e.incident(as(lena), &vigil.Incident{Title: "Phishing wave"})
	past := time.Now().Add(-2 * time.Hour)
	for _, tk := range []*vigil.Task{{IncidentID: a.ID, Title: "Block the sender", AssigneeID: &lena.ID, DueAt: &past},
		{IncidentID: a.ID, Title: "Reset passwords", AssigneeID: &rita.ID}} {
		if err := e.svc.Tasks.CreateTask(as(lena), tk); err != nil {
			t.Fatal(err)
		}
	}
	e.org("acme", "Acme Water Ltd")
	e.orgUser("sam", map[string]vigil.Role{"acme": vigil.RoleManager})
	acme := e.orgIncident("acme", "Acme: PLC unreachable")
	if err := e.svc.Tasks.CreateTask(system(), &vigil.Task{IncidentID: acme.ID, Title: "Power-cycle the PLC"}); err != nil {
		t.Fatal(err)
	}
	b := e.login("lena")
	_, body := b.get("/tasks")
	for _, want := range []string{"Block the sender", "Reset passwords", a.Reference, "2 tasks"} {
		if !strings.Contains(body, want) {
			t.Errorf("task board lacks %q:\n%s", want, excerpt(body))
		}
	}
	if strings.Contains(body, "Power-cycle") {
		t.Errorf("the coordinator's manager sees a member's task")
	}
	_, body = b.get("/tasks?who=me")
	if !strings.Contains(body, "Block the sender") || strings.Contains(body, "Reset passwords") {
		t.Errorf("my tasks:\n%s", excerpt(body))
	}
	_, body = b.get("/tasks?overdue=1")
	if !strings.Contains(body, "Block the sender") || strings.Contains(body, "Reset passwords") {
		t.Errorf("overdue tasks:\n%s", excerpt(body))
	}
	_, body = e.login("sam").get("/tasks")
	if !strings.Contains(body, "Power-cycle the PLC") || strings.Contains(body, "Block the sender") || strings.Contains(body, a.Reference) {
		t.Errorf("a member's task board:\n%s", excerpt(body))
	}
}
