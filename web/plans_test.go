package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/vigil-ir/vigil"
)

func TestPlanPages(t *testing.T) {
	e := newEnv(t)
	lena := e.user("lena", vigil.RoleManager)
	e.user("rita", vigil.RoleResponder)
	e.user("rory", vigil.RoleReporter)
	if _, err := e.svc.Plans.InstallStarterPlans(system()); err != nil {
		t.Fatal(err)
	}
	boss := e.login("lena")
	_, page := boss.get("/plans")
	for _, want := range []string{"Ransomware", "Lost or stolen device", "Not approved", "Starter", `href="/plans/new"`} {
		if !strings.Contains(page, want) {
			t.Errorf("plans page lacks %q", want)
		}
	}
	// A plan with a mistake comes back with the line, and what was typed.
	bad := "---\nkey: web-plan\ntitle: Web plan\ntypes: malware\n---\n## Contain\n### Isolate\nOwner: wizard\n"
	resp, page := boss.post("/plans", url.Values{"source": {bad}, "note": {"first"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "Line 8, owner: &#34;wizard&#34; is not an incident role") || !strings.Contains(page, "Owner: wizard") {
		t.Fatalf("bad plan: %d\n%s", resp.StatusCode, page)
	}
	resp, _ = boss.post("/plans", url.Values{"source": {strings.Replace(bad, "wizard", "technical", 1)}, "note": {"first"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	planURL := resp.Header.Get("Location")
	_, page = boss.get(planURL)
	if !strings.Contains(page, "<h1>Web plan</h1>") || !strings.Contains(page, "Approve version 1") || !strings.Contains(page, "Isolate") {
		t.Fatalf("plan page:\n%s", page)
	}
	if resp, _ := boss.post(planURL+"/approve", url.Values{"version": {"1"}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("approve: %d", resp.StatusCode)
	}
	if resp, _ := boss.post(planURL+"/meta", url.Values{"owner_id": {fmt.Sprint(lena.ID)}, "review_due": {"2027-06-30"}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("meta: %d", resp.StatusCode)
	}
	_, page = boss.get(planURL)
	if !strings.Contains(page, "Approved v1") || !strings.Contains(page, "30 Jun 2027") || !strings.Contains(page, `selected>Lena`) {
		t.Errorf("after approval and owner")
	}
	// A second version, and what changed.
	v2 := strings.Replace(bad, "wizard", "technical", 1) + "### Wipe {#wipe}\nOwner: technical\n"
	if resp, _ := boss.post(planURL, url.Values{"source": {v2}, "version": {"1"}, "note": {"Wipe too"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("update: %d", resp.StatusCode)
	}
	resp, page = boss.post(planURL, url.Values{"source": {v2 + "\n"}, "version": {"1"}})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(page, "changed this since you loaded it") {
		t.Errorf("stale edit: %d", resp.StatusCode)
	}
	_, page = boss.get(planURL + "?compare=1")
	if !strings.Contains(page, "v2 awaiting approval") || !strings.Contains(page, `<span class="add">&#43; ### Wipe {#wipe}</span>`) || !strings.Contains(page, "Wipe too") {
		t.Errorf("history and diff:\n%s", page)
	}

	// A responder applies it to an incident from the incident page.
	inc := &vigil.Incident{Title: "Worm on the lab network", Type: vigil.TypeMalware}
	if err := e.svc.Incidents.CreateIncident(as(lena), inc); err != nil {
		t.Fatal(err)
	}
	rita := e.login("rita")
	_, page = rita.get(fmt.Sprintf("/incidents/%d", inc.ID))
	if !strings.Contains(page, "Apply Web plan") || !strings.Contains(page, "Apply Malware") {
		t.Fatalf("incident page suggests no plans")
	}
	var pid int64
	fmt.Sscanf(planURL, "/plans/%d", &pid)
	applyURL := fmt.Sprintf("/incidents/%d/plans/%d", inc.ID, pid)
	_, page = rita.get(applyURL)
	if !strings.Contains(page, "Tasks to add (2)") || !strings.Contains(page, "Wipe") {
		t.Fatalf("preview:\n%s", page)
	}
	if resp, _ := rita.post(applyURL, url.Values{}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("apply: %d", resp.StatusCode)
	}
	_, page = rita.get(fmt.Sprintf("/incidents/%d", inc.ID))
	if !strings.Contains(page, "Web plan</a> version 2 applied") || !strings.Contains(page, "Isolate") {
		t.Errorf("incident after apply")
	}
	_, page = rita.get(applyURL)
	if !strings.Contains(page, "Nothing to do") {
		t.Errorf("second preview")
	}
	// Any plan, through the picker.
	resp, page = rita.get(fmt.Sprintf("/incidents/%d/plans/0?plan=%d", inc.ID, pid))
	if resp.StatusCode != 200 || !strings.Contains(page, "Nothing to do") {
		t.Errorf("picker: %d", resp.StatusCode)
	}
	// Responders read plans but do not write them; reporters do neither.
	if resp, _ := rita.get("/plans/new"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("responder new plan: %d", resp.StatusCode)
	}
	if resp, _ := rita.post(planURL+"/approve", url.Values{"version": {"2"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("responder approve: %d", resp.StatusCode)
	}
	if resp, _ := e.login("rory").get("/plans"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("reporter plans: %d", resp.StatusCode)
	}
}
