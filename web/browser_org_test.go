package web_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/vigil-ir/vigil"
)

// TestBrowserOrganisations runs organisations through the pages in
// Chromium: the install's administrator creates a member organisation and
// a user of it; that user logs in, sees only their organisation's
// incidents and creates one, which the coordinator's responder cannot
// see; a member of staff reports on the organisation's own page; and the
// user reports the incident up to the coordinator, whose responder
// triages it, and sees where it went and what was shared.
func TestBrowserOrganisations(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	open := newBrowser(t)
	e := newEnv(t)
	ada := e.user("ada", vigil.RoleAdmin)
	e.user("rita", vigil.RoleResponder)
	ours := e.incident(as(ada), &vigil.Incident{Title: "Coordinator: phishing wave against members"})
	base := e.ts.URL

	admin := open()
	admin.login(base, "ada")
	admin.run("open the organisations",
		chromedp.Click(`header nav a[href="/admin/users"]`, chromedp.ByQuery), // the Admin tab
		chromedp.WaitVisible(`.adminnav`, chromedp.ByQuery),
		chromedp.Click(`.adminnav a[href="/admin/organisations"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#o-name`, chromedp.ByQuery),
	)
	admin.run("create Acme",
		chromedp.SendKeys(`#o-name`, "Acme Water Ltd", chromedp.ByQuery),
		chromedp.SendKeys(`#o-slug`, "acme", chromedp.ByQuery),
		chromedp.SendKeys(`#o-sector`, "Water", chromedp.ByQuery),
		chromedp.SendKeys(`#o-email`, "soc@acme.example", chromedp.ByQuery),
		submit(`form[action="/admin/organisations"] button[type=submit]`),
	)
	if h := admin.text("h1"); h != "Acme Water Ltd" {
		t.Fatalf("after creating the organisation the page is %q", h)
	}
	admin.shot("organisation")
	admin.run("create a user of Acme",
		chromedp.Navigate(base+"/admin/users"),
		chromedp.WaitVisible(`#nu-org`, chromedp.ByQuery),
		chromedp.SendKeys(`#nu-username`, "mo", chromedp.ByQuery),
		chromedp.SendKeys(`#nu-name`, "Mo Okafor", chromedp.ByQuery),
		chromedp.SetValue(`#nu-org`, "acme", chromedp.ByQuery),
		chromedp.SetValue(`#nu-role`, "manager", chromedp.ByQuery),
		chromedp.SendKeys(`#nu-pw`, testPassword, chromedp.ByQuery),
		submit(`form[method=post][action="/admin/users"] button[type=submit]`),
	)
	if f := admin.text(".flash"); !strings.Contains(f, "mo (manager in acme) created") {
		t.Errorf("flash %q", f)
	}
	admin.run("see mo among Acme's members",
		chromedp.Navigate(base+"/admin/organisations/acme"),
		chromedp.WaitVisible(`#member-mo`, chromedp.ByQuery),
	)

	// Mo sees Acme's incidents only, and creates one.
	e.ownPassword("mo", testPassword)
	mo := open()
	mo.login(base, "mo")
	if s := mo.text("header.top"); !strings.Contains(s, "Acme Water Ltd") || strings.Contains(s, "Alerts") {
		t.Errorf("mo's header: %q", s)
	}
	mo.run("open the list", chromedp.Navigate(base+"/incidents"), chromedp.WaitVisible(`#incident-results`, chromedp.ByQuery))
	if s := mo.text("#incident-results"); strings.Contains(s, ours.Title) {
		t.Errorf("mo sees the coordinator's incident: %q", s)
	}
	mo.run("create an incident",
		chromedp.Click(`nav a[href="/incidents/new"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#n-title`, chromedp.ByQuery),
		chromedp.SendKeys(`#n-title`, "Acme: chlorine dosing PLC unreachable", chromedp.ByQuery),
		chromedp.SendKeys(`#n-summary`, "The PLC at the treatment works stopped answering at 03:10.", chromedp.ByQuery),
		submit(`form[action="/incidents"] button[type=submit]`),
	)
	if org := mo.text("#incident-org"); org != "Acme Water Ltd" {
		t.Errorf("the new incident's organisation: %q", org)
	}
	var incURL string
	mo.run("where am I", chromedp.Location(&incURL))
	incURL = strings.Split(incURL, "#")[0]
	mo.shot("member-incident")
	mo.run("the list", chromedp.Navigate(base+"/incidents"), chromedp.WaitVisible(`table.list`, chromedp.ByQuery))
	if s := mo.text("#incident-results"); !strings.Contains(s, "chlorine dosing") || strings.Contains(s, ours.Title) {
		t.Errorf("mo's list: %q", s)
	}
	mo.shot("member-list")

	// The coordinator's responder does not see it, in the list or by its address.
	rita := open()
	rita.login(base, "rita")
	rita.run("the list", chromedp.Navigate(base+"/incidents"), chromedp.WaitVisible(`table.list`, chromedp.ByQuery))
	if s := rita.text("#incident-results"); strings.Contains(s, "chlorine") || !strings.Contains(s, ours.Title) {
		t.Errorf("rita's list: %q", s)
	}
	rita.run("open Acme's incident", chromedp.Navigate(incURL), chromedp.WaitVisible(`h1`, chromedp.ByQuery))
	if h := rita.text("h1"); h != "Not Found" {
		t.Errorf("the coordinator's responder opening Acme's incident sees %q", h)
	}

	// A member of Acme's staff reports on Acme's page; it reaches Mo.
	staff := open()
	staff.run("report to Acme",
		chromedp.Navigate(base+"/report/acme"),
		chromedp.WaitVisible(`#r-what`, chromedp.ByQuery),
		chromedp.SendKeys(`#r-what`, "A man in a hi-vis vest asked to see the control room without a badge.", chromedp.ByQuery),
		chromedp.Click(`form[action="/report/acme"] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#receipt`, chromedp.ByQuery),
	)
	staff.shot("member-report-receipt")
	mo.run("see the report", chromedp.Navigate(base+"/incidents?status=triage"), chromedp.WaitVisible(`table.list`, chromedp.ByQuery))
	if s := mo.text("#incident-results"); !strings.Contains(s, "hi-vis vest") {
		t.Errorf("mo does not see Acme's staff report: %q", s)
	}
	rita.run("not the coordinator's", chromedp.Navigate(base+"/incidents?status=triage"), chromedp.WaitVisible(`main`, chromedp.ByQuery))
	if s := rita.text("main"); strings.Contains(s, "hi-vis vest") {
		t.Error("the coordinator's responder sees Acme's staff report")
	}

	// Mo reports the incident to the coordinator; Rita triages it there;
	// Mo sees where it went and what was shared.
	mo.run("report up",
		chromedp.Navigate(incURL),
		chromedp.Click(`#report-up > summary`, chromedp.ByQuery),
		chromedp.WaitVisible(`#ru-message`, chromedp.ByQuery),
		chromedp.Click(`#report-up input[name=share][value=description]`, chromedp.ByQuery),
		chromedp.SendKeys(`#ru-message`, "Drinking water supply at risk: a significant incident.", chromedp.ByQuery),
		submit(`#report-up button[type=submit]`),
	)
	if f := mo.text(".flash"); !strings.Contains(f, "Reported to the coordinator") {
		t.Errorf("flash %q", f)
	}
	rita.run("find it in triage",
		chromedp.Navigate(base+"/incidents?status=triage"),
		chromedp.WaitVisible(`table.list`, chromedp.ByQuery),
		chromedp.Click(`//table[contains(@class,"list")]//a[contains(., "chlorine dosing")]`, chromedp.BySearch),
		chromedp.WaitVisible(`#reported`, chromedp.ByQuery),
	)
	if s := rita.text("#reported"); !strings.Contains(s, "from acme's INC-") || !strings.Contains(s, "Drinking water supply at risk") {
		t.Errorf("the coordinator's incident's origin: %q", s)
	}
	if s := rita.text("#summary"); !strings.Contains(s, "stopped answering at 03:10") {
		t.Errorf("the shared description: %q", s)
	}
	rita.run("confirm it",
		chromedp.Click(`#status-confirmed > summary`, chromedp.ByQuery),
		chromedp.WaitVisible(`#status-confirmed button[type=submit]`, chromedp.ByQuery),
		submit(`#status-confirmed button[type=submit]`),
	)
	rita.shot("coordinator-reported-incident")
	mo.run("see the report", chromedp.Navigate(incURL), chromedp.WaitVisible(`#reported-list`, chromedp.ByQuery))
	if s := mo.text("#reported-list"); !strings.Contains(s, "reported it to the coordinator's INC-") || !strings.Contains(s, "Shared: summary, description.") {
		t.Errorf("the member's record of the report: %q", s)
	}
	mo.shot("member-reported-up")
	t.Logf("screenshots in %s", fmt.Sprint(mo.dir))
}
