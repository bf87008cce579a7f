package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/intake"
)

// axeViolation is what axe-core reports for one broken rule.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any  `json:"target"`
		HTML   string `json:"html"`
	} `json:"nodes"`
}

// axeSource reads axe-core, installed by "make test" from
// tools/axe/package-lock.json.
func axeSource(t *testing.T) string {
	path := os.Getenv("VIGIL_AXE")
	if path == "" {
		path = filepath.Join("..", "tools", "axe", "node_modules", "axe-core", "axe.min.js")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		if os.Getenv("VIGIL_CI") != "" {
			t.Fatalf("axe-core is missing (%v); make test installs it with npm ci", err)
		}
		t.Skipf("axe-core not installed (%v); run make test", err)
	}
	return string(b)
}

// TestAccessibility runs axe-core's WCAG 2.1 A and AA rules on every main
// page in Chromium; any violation fails the test with the elements at fault.
func TestAccessibility(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	axe := axeSource(t)
	open := newBrowser(t)
	e := newEnv(t)
	ada := e.user("ada", vigil.RoleAdmin)
	inc := e.incident(as(ada), &vigil.Incident{Title: "Phishing against finance", Severity: vigil.SeverityHigh, TLP: vigil.TLPRed, PersonalData: true, Status: vigil.StatusConfirmed})
	if _, err := e.svc.Observables.AddObservables(as(ada), inc.ID, []*vigil.Observable{{Type: vigil.ObsIPv4, Value: "203.0.113.9"}}); err != nil {
		t.Fatal(err)
	}
	in := &vigil.Integration{Name: "prometheus", Kind: vigil.IntegrationAlertmanager}
	if _, err := e.svc.Integrations.CreateIntegration(system(), in); err != nil {
		t.Fatal(err)
	}
	alerts, _ := intake.Parse(in, []byte(`{"version":"4","alerts":[{"status":"firing","labels":{"alertname":"Disk","instance":"10.0.0.7:9100","severity":"critical"},"fingerprint":"f1"}]}`))
	res, err := e.svc.Alerts.IngestAlerts(system(), in, alerts)
	if err != nil {
		t.Fatal(err)
	}
	mail := &vigil.Channel{Name: "SOC mail", Kind: vigil.ChannelEmail, Enabled: true, Escalation: true,
		SMTP: &vigil.SMTPConfig{Host: "smtp.example.org", From: "vigil@example.org", To: []string{"soc@example.org"}}}
	if err := e.svc.Notify.CreateChannel(system(), mail); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Notify.TestChannel(system(), mail.ID); err != nil {
		t.Fatal(err)
	}
	// Intelligence that matches the incident's address and the alert's.
	coll := &vigil.Collection{Title: "Sector feed"}
	if err := e.svc.Sharing.CreateCollection(system(), coll); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Sharing.CreatePartner(system(), &vigil.Partner{Name: "isac", Access: []vigil.CollectionAccess{{CollectionID: coll.ID, Read: true}}}); err != nil {
		t.Fatal(err)
	}
	ind := `{"type":"indicator","spec_version":"2.1","id":"indicator--0c6e3d4a-1f2b-4c5d-8e9f-a0b1c2d3e4f5","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"Bad range","confidence":60,"pattern":"[ipv4-addr:value ISSUBSET '203.0.113.0/24'] OR [ipv4-addr:value = '10.0.0.7']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}`
	if _, err := e.svc.Sharing.AddObjects(system(), coll.ID, []*vigil.IncomingObject{{Raw: []byte(ind), ID: "indicator--0c6e3d4a-1f2b-4c5d-8e9f-a0b1c2d3e4f5",
		Type: "indicator", SpecVersion: "2.1", Version: inc.CreatedAt, TLP: vigil.TLPGreen}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.IOC.MatchIOCs(system(), 1000); err != nil {
		t.Fatal(err)
	}
	hits, err := e.svc.IOC.FindHits(as(ada), vigil.HitFilter{AlertID: res.AlertIDs[0]})
	if err != nil || len(hits.Hits) != 1 {
		t.Fatalf("alert hits: %+v, %v", hits, err)
	}
	ev := &vigil.Evidence{IncidentID: inc.ID, Name: "phishing-mail.eml", CollectedBy: "Ada", CollectedFrom: "ada@example.org mailbox",
		Method: "Exported from Outlook as .eml"}
	if err := e.svc.Evidence.AddEvidence(as(ada), ev, strings.NewReader("From: it-support@examp1e.com\r\nSubject: Password expiry\r\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Evidence.TransferEvidence(as(ada), ev.ID, vigil.Transfer{To: "DC Morgan, Regional Cyber Crime Unit", Detail: "Sealed bag 0042"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Plans.InstallStarterPlans(system()); err != nil {
		t.Fatal(err)
	}
	plans, err := e.svc.Plans.FindPlans(as(ada))
	if err != nil {
		t.Fatal(err)
	}
	pl := plans[0]
	src := strings.Replace(pl.Source, "## Learn", "## Learn\n### Tell the board {#board}\nOwner: lead", 1)
	if _, err := e.svc.Plans.UpdatePlan(as(ada), pl.ID, vigil.PlanInput{Source: src, Version: 1, Note: "The board wants to know"}); err != nil {
		t.Fatal(err)
	}
	closed := &vigil.Incident{Title: "Stolen laptop", Type: vigil.TypeLostDevice, Severity: vigil.SeverityHigh}
	if err := e.svc.Incidents.CreateIncident(as(ada), closed); err != nil {
		t.Fatal(err)
	}
	for _, to := range []vigil.Status{vigil.StatusConfirmed, vigil.StatusContained, vigil.StatusRecovered, vigil.StatusClosed} {
		if closed, err = e.svc.Incidents.TransitionIncident(as(ada), closed.ID, vigil.Transition{To: to, Version: closed.Version}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.svc.Reviews.StartReview(as(ada), closed.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Reviews.AddAction(as(ada), closed.ID, vigil.ActionInput{Title: "Encrypt every laptop", PlanID: &pl.ID, PlanChange: "Prepare: check encryption monthly"}); err != nil {
		t.Fatal(err)
	}
	xr, err := e.svc.Exercises.CreateExercise(as(ada), vigil.ExerciseInput{Title: "Lost laptop tabletop", PlanID: pl.ID, Scenario: "A laptop is left on a train.",
		ScheduledAt: inc.CreatedAt, ParticipantIDs: []int64{ada.ID}, Injects: []vigil.InjectInput{{Title: "Found"}, {After: vigil.Duration(3600e9), Title: "The press calls", Detail: "A reporter asks."}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Exercises.StartExercise(as(ada), xr.ID, xr.Version); err != nil {
		t.Fatal(err)
	}
	// A member organisation, and a member of it and of the default one.
	e.org("acme", "Acme Water Ltd")
	e.orgUser("sam", map[string]vigil.Role{vigil.DefaultOrganisationSlug: vigil.RoleViewer, "acme": vigil.RoleResponder})
	acmeInc := e.orgIncident("acme", "Acme: PLC unreachable")
	e.setGrant("acme", vigil.GrantSummary) // the coordinator's staff see its summary
	b := open()
	base := e.ts.URL
	run := func(name string) []axeViolation {
		t.Helper()
		var out string
		ctx, cancel := context.WithTimeout(b.ctx, 30e9)
		defer cancel()
		js := axe + `;axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}).then(function (r) { return JSON.stringify(r.violations) })`
		if err := chromedp.Run(ctx, chromedp.Evaluate(js, &out, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) })); err != nil {
			t.Fatalf("%s: run axe: %v", name, err)
		}
		var vs []axeViolation
		if err := json.Unmarshal([]byte(out), &vs); err != nil {
			t.Fatalf("%s: %v: %s", name, err, out)
		}
		return vs
	}
	check := func(name, path string) {
		t.Helper()
		b.run("open "+name, chromedp.Navigate(base+path), chromedp.WaitReady("main", chromedp.ByQuery))
		for _, v := range run(name) {
			var where []string
			for i, n := range v.Nodes {
				if i == 3 {
					where = append(where, fmt.Sprintf("and %d more", len(v.Nodes)-3))
					break
				}
				where = append(where, fmt.Sprint(n.Target))
			}
			t.Errorf("%s (%s): %s [%s, %s]: %s", name, path, v.Help, v.ID, v.Impact, strings.Join(where, "; "))
		}
	}
	// The check can fail: a form field without a label and an image
	// without a text alternative, added to a page, are caught.
	b.run("break the login page", chromedp.Navigate(base+"/login"), chromedp.WaitReady("main", chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector("main").insertAdjacentHTML("beforeend", '<input id="nolabel"><img src="/static/none.png">')`, nil))
	found := map[string]bool{}
	for _, v := range run("broken login") {
		found[v.ID] = true
	}
	if !found["label"] || !found["image-alt"] {
		t.Fatalf("axe missed planted violations; found %v", found)
	}
	check("login", "/login")
	check("report", "/report")
	check("report status", "/report/status")
	check("member's report", "/report/acme")
	check("member's report status", "/report/acme/status")
	b.login(base, "ada")
	for _, p := range []struct{ name, path string }{
		{"dashboard", "/"},
		{"incident list", "/incidents"},
		{"incident list, search", "/incidents?q=phishing"},
		{"new incident", "/incidents/new"},
		{"incident", fmt.Sprintf("/incidents/%d", inc.ID)},
		{"alert queue", "/alerts"},
		{"alert group", fmt.Sprintf("/alerts/groups/%d", res.GroupIDs[0])},
		{"alert", fmt.Sprintf("/alerts/%d", res.AlertIDs[0])},
		{"account", "/account"},
		{"sessions", "/account/sessions"},
		{"a user's sign-in and tokens", fmt.Sprintf("/admin/users/%d/tokens", ada.ID)},
		{"users", "/admin/users"},
		{"integrations", "/admin/integrations"},
		{"key contacts", "/admin/contacts"},
		{"notifications", "/notifications"},
		{"duty packs", "/admin/duty-packs"},
		{"audit log", "/admin/audit"},
		{"threat intelligence", "/intel"},
		{"share a sighting", fmt.Sprintf("/intel/hits/%d/share", hits.Hits[0].ID)},
		{"evidence", fmt.Sprintf("/evidence/%d", ev.ID)},
		{"plans", "/plans"},
		{"plan", fmt.Sprintf("/plans/%d?compare=1", pl.ID)},
		{"new plan", "/plans/new"},
		{"apply a plan", fmt.Sprintf("/incidents/%d/plans/%d", inc.ID, pl.ID)},
		{"closed incident", fmt.Sprintf("/incidents/%d", closed.ID)},
		{"review", fmt.Sprintf("/incidents/%d/review", closed.ID)},
		{"plan editor", fmt.Sprintf("/plans/%d/edit", pl.ID)},
		{"preparedness", "/preparedness"},
		{"metrics", "/insights"},
		{"exercises", "/exercises"},
		{"exercise", fmt.Sprintf("/exercises/%d", xr.ID)},
		{"member's incident, a summary", fmt.Sprintf("/incidents/%d", acmeInc.ID)},
		{"organisations", "/admin/organisations"},
		{"organisation", "/admin/organisations/acme"},
		{"duties overview", "/duties"},
		{"task board", "/tasks"},
		{"help", "/help/markdown.md"},
	} {
		check(p.name, p.path)
	}
	// The queue shows which alert groups matched intelligence.
	var badge bool
	b.run("queue badge", chromedp.Navigate(base+"/alerts"), chromedp.WaitReady("main", chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector("main").innerText.includes("Intel match (1)")`, &badge))
	if !badge {
		t.Error("the alert queue shows no intel match badge")
	}
	// At a phone's width nothing makes the page scroll sideways (wide
	// tables scroll inside their own box).
	b.run("phone width", chromedp.EmulateViewport(390, 844))
	for _, p := range []string{"/", "/incidents", fmt.Sprintf("/incidents/%d", inc.ID), "/alerts", "/report", "/admin/users", fmt.Sprintf("/evidence/%d", ev.ID),
		"/plans", fmt.Sprintf("/plans/%d?compare=1", pl.ID), fmt.Sprintf("/incidents/%d/review", closed.ID),
		"/preparedness", "/exercises", "/insights", fmt.Sprintf("/exercises/%d", xr.ID), "/duties", "/help/markdown.md", "/tasks"} {
		var wide bool
		b.run("open "+p+" on a phone", chromedp.Navigate(base+p), chromedp.WaitReady("main", chromedp.ByQuery),
			chromedp.Evaluate(`document.documentElement.scrollWidth > window.innerWidth + 1`, &wide))
		if wide {
			b.shot("phone-overflow-" + strings.Trim(strings.ReplaceAll(p, "/", "-"), "-"))
			t.Errorf("%s scrolls sideways at 390 px", p)
		}
	}
	// Someone of two organisations: the header's chooser, the list's
	// Organisation column and filter, the form's Organisation field; at a
	// phone's width too.
	b = open()
	b.login(base, "sam")
	for _, p := range []struct{ name, path string }{
		{"dashboard, two organisations", "/"},
		{"incident list, two organisations", "/incidents"},
		{"new incident, two organisations", "/incidents/new"},
		{"incident, two organisations", fmt.Sprintf("/incidents/%d", acmeInc.ID)},
		{"account, two organisations", "/account"},
	} {
		check(p.name, p.path)
	}
	b.run("open the list", chromedp.Navigate(base+"/incidents"), chromedp.WaitReady("main", chromedp.ByQuery))
	b.shot("incident-list-two-organisations")
	b.run("phone width", chromedp.EmulateViewport(390, 844))
	for _, p := range []string{"/", "/incidents", "/incidents/new"} {
		var wide bool
		b.run("open "+p+" on a phone", chromedp.Navigate(base+p), chromedp.WaitReady("main", chromedp.ByQuery),
			chromedp.Evaluate(`document.documentElement.scrollWidth > window.innerWidth + 1`, &wide))
		if wide {
			b.shot("phone-overflow-two-orgs-" + strings.Trim(strings.ReplaceAll(p, "/", "-"), "-"))
			t.Errorf("%s scrolls sideways at 390 px for a member of two organisations", p)
		}
	}
}
