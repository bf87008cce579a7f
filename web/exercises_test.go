package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/vigil-ir/vigil"
)

func TestExerciseAndPreparednessPages(t *testing.T) {
	e := newEnv(t)
	lena := e.user("lena", vigil.RoleManager)
	if _, err := e.svc.Plans.InstallStarterPlans(system()); err != nil {
		t.Fatal(err)
	}
	b := e.login("lena")
	_, page := b.get("/preparedness")
	for _, want := range []string{"<strong>1 of 27</strong> in place", "Never approved", "Never exercised", "No backup recorded", "No restore tested", "Nobody named"} {
		if !strings.Contains(page, want) {
			t.Errorf("preparedness lacks %q", want)
		}
	}
	plans, _ := e.svc.Plans.FindPlans(as(lena))
	pid := fmt.Sprint(plans[0].ID)
	form := url.Values{"title": {"Quarterly tabletop"}, "plan_id": {pid}, "kind": {"tabletop"}, "scheduled_at": {"2026-12-04T10:00"},
		"scenario": {"Traffic floods the web shop."}, "injects": {"+10m Shop down: the status page is down too\nsoon The CEO calls"},
		"participant_ids": {fmt.Sprint(lena.ID)}}
	resp, page := b.post("/exercises", form)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "Line 2: start each inject with the time") || !strings.Contains(page, "Quarterly tabletop") {
		t.Fatalf("bad inject: %d", resp.StatusCode)
	}
	form.Set("injects", "+0m Shop down: the status page is down too\n+30m The CEO calls")
	resp, _ = b.post("/exercises", form)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("schedule: %d", resp.StatusCode)
	}
	xURL := resp.Header.Get("Location")
	_, page = b.get(xURL)
	if !strings.Contains(page, "Start the exercise") || !strings.Contains(page, "+30m0s") {
		t.Fatalf("exercise page:\n%s", page)
	}
	if resp, _ := b.post(xURL+"/start", url.Values{"version": {"1"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("start: %d", resp.StatusCode)
	}
	x, _ := e.svc.Exercises.FindExerciseByID(as(lena), mustID(t, xURL, "/exercises/%d"))
	if x.Injects[0].ReleasedAt == nil || x.IncidentID == nil {
		t.Fatalf("started: %+v", x)
	}
	if resp, _ := b.post(xURL+"/release", url.Values{"inject": {fmt.Sprint(x.Injects[1].ID)}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("release: %d", resp.StatusCode)
	}
	_, page = b.get(fmt.Sprintf("/incidents/%d", *x.IncidentID))
	if !strings.Contains(page, "<span class=\"badge\">Exercise</span>") || !strings.Contains(page, "INJECT: The CEO calls") {
		t.Errorf("exercise incident page")
	}
	if resp, _ := b.post(xURL+"/end", url.Values{"version": {fmt.Sprint(x.Version)}, "findings": {"Status page hosted with the shop\nNo DDoS contract"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("end: %d", resp.StatusCode)
	}
	_, page = b.get(fmt.Sprintf("/incidents/%d/review", *x.IncidentID))
	if !strings.Contains(page, "No DDoS contract") {
		t.Errorf("findings are not review actions")
	}
	// Contacts confirmed on the contacts page.
	c := &vigil.Contact{Name: "Dana Patel", Roles: []vigil.ContactRole{vigil.ContactDPO}, Phone: "01632 960000"}
	if err := e.svc.Contacts.CreateContact(as(lena), c); err != nil {
		t.Fatal(err)
	}
	if resp, _ := b.post(fmt.Sprintf("/admin/contacts/%d/verify", c.ID), url.Values{}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("verify contact: %d", resp.StatusCode)
	}
	_, page = b.get("/preparedness")
	if !strings.Contains(page, "Exercised ") || !strings.Contains(page, "Dana Patel: confirmed") || !strings.Contains(page, "No DDoS contract") {
		t.Errorf("preparedness after the exercise:\n%s", page)
	}
}

func mustID(t *testing.T, s, format string) int64 {
	t.Helper()
	var id int64
	if _, err := fmt.Sscanf(s, format, &id); err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return id
}
