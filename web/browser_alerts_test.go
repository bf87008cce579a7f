package web_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/intake"
)

// TestBrowserAlertQueue triages alerts in Chromium: tick a group in the
// queue, dismiss it with a reason, then promote another from its page.
func TestBrowserAlertQueue(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	open := newBrowser(t)
	e := newEnv(t)
	e.user("rita", vigil.RoleResponder)
	in := &vigil.Integration{Name: "grafana", Kind: vigil.IntegrationGrafana}
	if _, err := e.svc.Integrations.CreateIntegration(system(), in); err != nil {
		t.Fatal(err)
	}
	alerts, err := intake.Parse(in, []byte(`{"receiver":"vigil","status":"firing","alerts":[
		{"status":"firing","labels":{"alertname":"CPU","severity":"warning"},"annotations":{"summary":"CPU saturated on web-1"},"fingerprint":"c1"},
		{"status":"firing","labels":{"alertname":"Logins","severity":"critical"},"annotations":{"summary":"Impossible travel for j.smith"},"fingerprint":"c2"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.svc.Alerts.IngestAlerts(system(), in, alerts)
	if err != nil {
		t.Fatal(err)
	}
	b := open()
	b.login(e.ts.URL, "rita")
	b.run("open the queue",
		chromedp.Click(`nav a[href="/alerts"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#queue`, chromedp.ByQuery),
	)
	b.shot("alert-queue")
	b.run("dismiss the CPU group",
		chromedp.Click(`#group-`+itoa64(res.GroupIDs[0])+` input[type=checkbox]`, chromedp.ByQuery),
		chromedp.SendKeys(`#b-reason`, "Load test, expected", chromedp.ByQuery),
		submit(`button[value=dismiss]`),
	)
	if flash := b.text(".flash"); !strings.Contains(flash, "1 alert group dismissed") {
		t.Errorf("flash %q", flash)
	}
	if q := b.text("main"); strings.Contains(q, "CPU saturated") || !strings.Contains(q, "Impossible travel") {
		t.Errorf("queue after dismissing:\n%s", q)
	}
	b.run("open the login group",
		chromedp.Click(`#group-`+itoa64(res.GroupIDs[1])+` a`, chromedp.ByQuery),
		chromedp.WaitVisible(`#p-title`, chromedp.ByQuery),
	)
	b.shot("alert-group")
	b.run("promote it",
		submit(`button[value=promote]`),
	)
	if h1 := b.text("h1"); !strings.Contains(h1, "Impossible travel") {
		t.Errorf("promoted to %q", h1)
	}
	b.shot("alert-promoted")
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }
