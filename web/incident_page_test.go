package web_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/vigil-ir/vigil"
)

// brokenLinks is a LinkService whose FindLinks fails, as a store that has
// lost a table would.
type brokenLinks struct{ vigil.LinkService }

func (brokenLinks) FindLinks(context.Context, int64) ([]*vigil.Link, error) {
	return nil, errors.New("no such table: links")
}

// brokenDuties is a DutyService whose FindObligations fails.
type brokenDuties struct{ vigil.DutyService }

func (brokenDuties) FindObligations(context.Context, int64) ([]*vigil.Obligation, error) {
	return nil, errors.New("no such table: obligations")
}

// logBuffer keeps what the pages log, for the test to read.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestIncidentSectionFails: a section of the incident page whose data does
// not load is logged, with the request ID, and shows a notice with that ID
// in its place; the page is still a 200 with the incident and every other
// section, and a form posted to another section shows its own errors.
func TestIncidentSectionFails(t *testing.T) {
	for _, tt := range []struct {
		section string
		brk     func(*vigil.Services)
		heading string // the section's heading, still shown
		err     string
	}{
		{"links", func(s *vigil.Services) { s.Links = brokenLinks{s.Links} }, `<h2 id="h-links">Linked incidents</h2>`, "no such table: links"},
		// Shown only when there are duties, so shown when they did not load.
		{"duties", func(s *vigil.Services) { s.Duties = brokenDuties{s.Duties} }, `<h2 id="h-duties">Reporting duties</h2>`, "no such table: obligations"},
	} {
		t.Run(tt.section, func(t *testing.T) {
			log := &logBuffer{}
			e := newEnvWith(t, tt.brk, log)
			lena := e.user("lena", vigil.RoleManager)
			inc := e.incident(as(lena), &vigil.Incident{Title: "Payroll phish", Status: vigil.StatusConfirmed, PersonalData: true})
			if err := e.svc.Tasks.CreateTask(as(lena), &vigil.Task{IncidentID: inc.ID, Title: "Block the sender"}); err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.Timeline.AddNote(as(lena), inc.ID, vigil.Note{Message: "Gateway blocked 212 copies."}); err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.Observables.AddObservables(as(lena), inc.ID, []*vigil.Observable{{Type: vigil.ObsDomain, Value: "evil-payroll.example"}}); err != nil {
				t.Fatal(err)
			}
			b := e.login("lena")
			path := fmt.Sprintf("/incidents/%d", inc.ID)

			req, _ := http.NewRequest(http.MethodGet, e.ts.URL+path, nil)
			req.Header.Set("X-Request-ID", "req-"+tt.section)
			resp, body := b.do(req)
			wantStatus(t, resp, body, http.StatusOK)
			notice := "This section could not be loaded (request req-" + tt.section + ")."
			if n := strings.Count(body, notice); n != 1 {
				t.Errorf("the notice %q shows %d times, want once", notice, n)
			}
			if i, j := strings.Index(body, tt.heading), strings.Index(body, notice); i < 0 || j < i || strings.Contains(body[i:j], "</section>") {
				t.Errorf("the notice is not in the %s section (heading at %d, notice at %d)", tt.section, i, j)
			}
			for _, want := range []string{"Payroll phish", "Block the sender", "Gateway blocked 212 copies.", "evil-payroll.example",
				`id="h-members"`, `id="h-evidence"`, `id="h-times"`, `id="link-add"`, `id="h-links"`} {
				if !strings.Contains(body, want) {
					t.Errorf("the page lacks %q", want)
				}
			}
			logged := log.String()
			for _, want := range []string{"section=" + tt.section, "request_id=req-" + tt.section, tt.err, fmt.Sprintf("incident_id=%d", inc.ID)} {
				if !strings.Contains(logged, want) {
					t.Errorf("the log lacks %q:\n%s", want, logged)
				}
			}

			// A task without a title: the errors are the task form's, not
			// the edit form's (both have a title field); the notice stays.
			resp, body = b.post(path+"/tasks", url.Values{"title": {""}})
			wantStatus(t, resp, body, http.StatusBadRequest)
			if n := strings.Count(body, `class="field-error"`); n != 1 || !strings.Contains(body, `<details id="task" open>`) {
				t.Errorf("task form errors: %d field errors, want 1 in the open task form:\n%s", n, excerpt(body))
			}
			if !strings.Contains(body, "This section could not be loaded (request ") {
				t.Errorf("the re-shown page lacks the notice")
			}

			// A stale tick of a task is that task's conflict, not a stale
			// edit of the incident.
			tasks, _, _ := e.svc.Tasks.FindTasks(as(lena), vigil.TaskFilter{IncidentID: &inc.ID})
			resp, body = b.post(fmt.Sprintf("%s/tasks/%d", path, tasks[0].ID), url.Values{"status": {"done"}, "version": {"99"}})
			wantStatus(t, resp, body, http.StatusConflict)
			if strings.Contains(body, `id="conflict"`) || !strings.Contains(body, `<p class="error" role="alert">`) {
				t.Errorf("a stale task shows the edit form's conflict, or no message:\n%s", excerpt(body))
			}
		})
	}
}
