package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/intake"
)

// TestAlertTriage walks the alert pages: an admin adds an integration and
// sees its token once; alerts arrive; a responder dismisses one group with
// a reason from the queue, and promotes another from its page to an
// incident whose timeline records the alerts.
func TestAlertTriage(t *testing.T) {
	e := newEnv(t)
	e.user("ada", vigil.RoleAdmin)
	e.user("rita", vigil.RoleResponder)
	e.user("vic", vigil.RoleViewer)
	admin := e.login("ada")

	resp, body := admin.post("/admin/integrations", url.Values{"name": {""}, "kind": {"alertmanager"}})
	wantStatus(t, resp, body, http.StatusBadRequest)
	if !strings.Contains(body, "Give the integration a name") {
		t.Errorf("no field error:\n%s", excerpt(body))
	}
	resp, body = admin.post("/admin/integrations", url.Values{"name": {"prometheus"}, "kind": {"alertmanager"}, "default_severity": {"medium"}})
	wantStatus(t, resp, body, http.StatusCreated)
	m := regexp.MustCompile(`id="created-token">(vgi_[^<]+)<`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no token shown:\n%s", excerpt(body))
	}
	in, err := e.svc.Integrations.AuthenticateIntegration(system(), m[1])
	if err != nil {
		t.Fatalf("the shown token does not work: %v", err)
	}
	// Only its hint shows on the next visit.
	_, body = admin.get("/admin/integrations")
	if strings.Contains(body, m[1]) || !strings.Contains(body, in.TokenHint) {
		t.Error("the token is shown again, or its hint is missing")
	}

	alerts, err := intake.Parse(in, []byte(`{"version":"4","status":"firing","alerts":[
		{"status":"firing","labels":{"alertname":"DiskFull","instance":"10.0.0.7:9100","severity":"warning"},"annotations":{"summary":"Disk full on db-7"},"startsAt":"yesterday","fingerprint":"aaa"},
		{"status":"firing","labels":{"alertname":"Backups","severity":"critical"},"annotations":{"summary":"Backups failing"},"fingerprint":"bbb"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.svc.Alerts.IngestAlerts(system(), in, alerts)
	if err != nil {
		t.Fatal(err)
	}

	rita := e.login("rita")
	resp, body = rita.get("/alerts")
	wantStatus(t, resp, body, http.StatusOK)
	disk, backups := strings.Index(body, "Disk full on db-7"), strings.Index(body, "Backups failing")
	if disk < 0 || backups < 0 || backups > disk {
		t.Fatalf("queue (most severe first):\n%s", excerpt(body))
	}
	// Dismissing needs a reason; the queue says so and keeps the group.
	resp, body = rita.post("/alerts/actions", url.Values{"action": {"dismiss"}, "group": {fmt.Sprint(res.GroupIDs[0])}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	_, body = rita.get("/alerts")
	if !strings.Contains(body, "Say why") || !strings.Contains(body, "Disk full on db-7") {
		t.Errorf("dismiss without reason:\n%s", excerpt(body))
	}
	resp, body = rita.post("/alerts/actions", url.Values{"action": {"dismiss"}, "reason": {"Planned maintenance"}, "group": {fmt.Sprint(res.GroupIDs[0])}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	_, body = rita.get("/alerts")
	if strings.Contains(body, "Disk full on db-7") {
		t.Error("the dismissed group is still in the queue")
	}
	_, body = rita.get("/alerts?state=dismissed")
	if !strings.Contains(body, "Planned maintenance") {
		t.Errorf("dismissed view:\n%s", excerpt(body))
	}

	// The alert page shows the observable, the raw JSON, and the start
	// time intake could not read.
	resp, body = rita.get(fmt.Sprintf("/alerts/%d", res.AlertIDs[0]))
	wantStatus(t, resp, body, http.StatusOK)
	if !strings.Contains(body, "10.0.0.7") || !strings.Contains(body, "Raw JSON") {
		t.Errorf("alert page:\n%s", excerpt(body))
	}
	if !strings.Contains(body, "1 firing notification since") {
		t.Errorf("alert page lacks the count:\n%s", excerpt(body))
	}
	if !strings.Contains(body, `id="h-warn"`) || !strings.Contains(body, "<code>startsAt</code>") || !strings.Contains(body, "&#34;yesterday&#34;") {
		t.Errorf("alert page lacks the warning:\n%s", excerpt(body))
	}

	// Promote the other group from its page.
	gid := res.GroupIDs[1]
	resp, body = rita.get(fmt.Sprintf("/alerts/groups/%d", gid))
	wantStatus(t, resp, body, http.StatusOK)
	resp, body = rita.post("/alerts/actions", url.Values{"action": {"promote"}, "group": {fmt.Sprint(gid)}, "title": {"Backups failing everywhere"},
		"severity": {"high"}, "type": {"other"}, "back": {fmt.Sprintf("/alerts/groups/%d", gid)}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, "/incidents/") {
		t.Fatalf("promote went to %q", loc)
	}
	_, body = rita.get(loc + "?kind=alert")
	if !strings.Contains(body, "Backups failing everywhere") || !strings.Contains(body, "Backups failing") || !strings.Contains(body, "Alert group #") {
		t.Errorf("incident after promotion:\n%s", excerpt(body))
	}

	// Viewers see the queue but no triage controls; reporters do not see it.
	vic := e.login("vic")
	_, body = vic.get("/alerts?state=promoted")
	if strings.Contains(body, `name="action"`) || !strings.Contains(body, "Backups failing everywhere") && !strings.Contains(body, "Backups failing") {
		t.Errorf("viewer's queue:\n%s", excerpt(body))
	}
	resp, body = vic.get("/admin/integrations")
	wantStatus(t, resp, body, http.StatusForbidden)
}
