package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/vigil-ir/vigil"
)

func TestReviewPages(t *testing.T) {
	e := newEnv(t)
	lena := e.user("lena", vigil.RoleManager)
	if _, err := e.svc.Plans.InstallStarterPlans(system()); err != nil {
		t.Fatal(err)
	}
	inc := &vigil.Incident{Title: "Ransomware on the file server", Type: vigil.TypeRansomware, Severity: vigil.SeverityCritical}
	if err := e.svc.Incidents.CreateIncident(as(lena), inc); err != nil {
		t.Fatal(err)
	}
	for _, to := range []vigil.Status{vigil.StatusConfirmed, vigil.StatusContained, vigil.StatusRecovered, vigil.StatusClosed} {
		var err error
		if inc, err = e.svc.Incidents.TransitionIncident(as(lena), inc.ID, vigil.Transition{To: to, Version: inc.Version}); err != nil {
			t.Fatal(err)
		}
	}
	b := e.login("lena")
	incURL := fmt.Sprintf("/incidents/%d", inc.ID)
	_, page := b.get(incURL)
	if !strings.Contains(page, "This incident needs one, closed, before it is marked reviewed") || !strings.Contains(page, "Start the review") {
		t.Fatalf("incident page before the review")
	}
	if resp, _ := b.post(incURL+"/review/start", url.Values{}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("start: %d", resp.StatusCode)
	}
	_, page = b.get(incURL + "/review")
	if !strings.Contains(page, "Status changed from recovered to closed.") || !strings.Contains(page, "Required before the incident is marked reviewed") {
		t.Fatalf("review page:\n%s", page)
	}
	rv, _ := e.svc.Reviews.FindReview(as(lena), inc.ID)
	resp, page := b.post(incURL+"/review", url.Values{"version": {fmt.Sprint(rv.Version)}, "timeline": {"2026-11-02 03:00 | VPN login\nyesterday | ???"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "Line 2: write each event as") || !strings.Contains(page, "yesterday | ???") {
		t.Fatalf("bad timeline: %d", resp.StatusCode)
	}
	resp, _ = b.post(incURL+"/review", url.Values{"version": {fmt.Sprint(rv.Version)}, "timeline": {"2026-11-02 03:00 | VPN login from an unknown address"},
		"root_cause": {"Unpatched VPN appliance"}, "went_well": {"Offline backups"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d", resp.StatusCode)
	}
	plans, _ := e.svc.Plans.FindPlans(as(lena))
	resp, page = b.post(incURL+"/review/actions", url.Values{"title": {"Patch edge devices within 48 hours"}, "plan_id": {fmt.Sprint(plans[0].ID)}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "Say what to change in the plan") || !strings.Contains(page, `id="action-add" open`) {
		t.Errorf("action without its change: %d", resp.StatusCode)
	}
	resp, _ = b.post(incURL+"/review/actions", url.Values{"title": {"Patch edge devices within 48 hours"}, "plan_id": {fmt.Sprint(plans[0].ID)},
		"plan_change": {"Prepare: patch internet-facing devices within 48 hours"}, "due_at": {"2027-01-15"}, "assignee_id": {fmt.Sprint(lena.ID)}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("action: %d", resp.StatusCode)
	}
	// An action without an owner and a due date keeps the review open;
	// one with both is tracked on its own after the review closes.
	if resp, _ = b.post(incURL+"/review/actions", url.Values{"title": {"Tabletop exercise"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("action: %d", resp.StatusCode)
	}
	rv, _ = e.svc.Reviews.FindReview(as(lena), inc.ID)
	resp, page = b.post(incURL+"/review/close", url.Values{"version": {fmt.Sprint(rv.Version)}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "1 action item is open without an owner and a due date") {
		t.Fatalf("close with an untracked open action: %d", resp.StatusCode)
	}
	// The plan's editor offers the proposed change.
	_, page = b.get(fmt.Sprintf("/plans/%d/edit", plans[0].ID))
	if !strings.Contains(page, "Prepare: patch internet-facing devices within 48 hours") || !strings.Contains(page, `name="adopts"`) {
		t.Errorf("plan editor lacks the proposed change")
	}
	if rv.Actions[1].Task.Title != "Tabletop exercise" {
		t.Fatalf("actions: %+v", rv.Actions[1].Task)
	}
	if resp, _ := b.post(fmt.Sprintf("%s/review/actions/%d/done", incURL, rv.Actions[1].Task.ID), url.Values{}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("done: %d", resp.StatusCode)
	}
	rv, _ = e.svc.Reviews.FindReview(as(lena), inc.ID)
	if resp, _ := b.post(incURL+"/review/close", url.Values{"version": {fmt.Sprint(rv.Version)}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("close: %d", resp.StatusCode)
	}
	_, page = b.get(incURL + "/review")
	if !strings.Contains(page, "Closed") || strings.Contains(page, `name="root_cause"`) || !strings.Contains(page, "Unpatched VPN appliance") {
		t.Errorf("closed review page")
	}
	inc, _ = e.svc.Incidents.FindIncidentByID(as(lena), inc.ID)
	if _, err := e.svc.Incidents.TransitionIncident(as(lena), inc.ID, vigil.Transition{To: vigil.StatusReviewed, Version: inc.Version}); err != nil {
		t.Errorf("reviewed: %v", err)
	}
}
