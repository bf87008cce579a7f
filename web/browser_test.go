package web_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/vigil-ir/vigil"
)

// The end-to-end tests drive Debian's Chromium, headless, through the
// DevTools protocol. They skip when Chromium is missing, except in CI
// (VIGIL_CI=1), where .ci/run installs it and a skip would hide a failure.

func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("VIGIL_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := exec.LookPath(p); err == nil {
			return p
		}
	}
	if os.Getenv("VIGIL_CI") != "" {
		t.Fatal("Chromium is not installed; .ci/run installs it with apt-get")
	}
	t.Skip("Chromium not installed (apt-get install chromium); set VIGIL_CI=1 to make this a failure")
	return ""
}

// artifacts is where screenshots go: $VIGIL_ARTIFACTS, or a temporary
// folder whose path the test logs.
func artifacts(t *testing.T) string {
	dir := os.Getenv("VIGIL_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "vigil-artifacts")
	}
	dir = filepath.Join(dir, "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

type tab struct {
	t   *testing.T
	ctx context.Context
	dir string
}

// newBrowser returns a function that starts a headless Chromium and opens
// a tab in it. Each call is a separate browser with its own profile and
// cookies, as a second person at another desk would have. (A second
// browser context in one Chromium would be lighter, but headless Chromium
// refuses to open tabs in one: "no browser is open".)
func newBrowser(t *testing.T) func() *tab {
	path := chromiumPath(t)
	dir := artifacts(t)
	return func() *tab {
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			chromedp.Flag("headless", true),
			chromedp.NoSandbox,
			chromedp.DisableGPU,
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.NoFirstRun,
			chromedp.WindowSize(1280, 900),
		)
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancel := chromedp.NewContext(alloc)
		t.Cleanup(func() { cancel(); cancelAlloc() })
		if err := chromedp.Run(ctx); err != nil {
			t.Fatalf("start Chromium: %v", err)
		}
		return &tab{t: t, ctx: ctx, dir: dir}
	}
}

// run runs actions with a deadline, failing the test with what it was doing.
func (b *tab) run(what string, actions ...chromedp.Action) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		b.shot("failed-" + strings.ReplaceAll(what, " ", "-"))
		b.t.Fatalf("%s: %v", what, err)
	}
}

// shot saves a full-page screenshot as name.png.
func (b *tab) shot(name string) {
	var png []byte
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	os.WriteFile(filepath.Join(b.dir, name+".png"), png, 0o644)
}

// submit clicks a form's submit button and waits for the page it leads
// to: the old page's flash message is removed first, so the wait cannot
// be satisfied by the page being left.
func submit(button string) chromedp.Action {
	return chromedp.Tasks{
		chromedp.Evaluate(`document.querySelectorAll('.flash').forEach(function (e) { e.remove() })`, nil),
		chromedp.Click(button, chromedp.ByQuery),
		chromedp.WaitVisible(`.flash`, chromedp.ByQuery),
	}
}

func (b *tab) text(sel string) string {
	b.t.Helper()
	var s string
	b.run("read "+sel, chromedp.Text(sel, &s, chromedp.ByQuery))
	return s
}

func (b *tab) login(base, username string) {
	b.t.Helper()
	b.run("log in as "+username,
		chromedp.Navigate(base+"/login"),
		chromedp.SendKeys("#username", username, chromedp.ByQuery),
		chromedp.SendKeys("#password", testPassword, chromedp.ByQuery),
		chromedp.Click(`button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`header.top nav`, chromedp.ByQuery), // only on pages after login
	)
	if got := b.text("h1"); got != "Dashboard" {
		b.t.Fatalf("after logging in as %s the page is %q", username, got)
	}
}

func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	open := newBrowser(t)
	e := newEnv(t)
	e.ui.LiveInterval = 300 * time.Millisecond
	lena := e.user("lena", vigil.RoleManager)
	e.user("rita", vigil.RoleResponder)
	base := e.ts.URL

	// A member of staff reports anonymously and gets a receipt code.
	staff := open()
	var receipt string
	staff.run("report anonymously",
		chromedp.Navigate(base+"/report"),
		chromedp.WaitVisible("#r-what", chromedp.ByQuery),
		chromedp.SendKeys("#r-what", "I got an e-mail from 'IT' asking me to re-enter my password on a web page, and I did.", chromedp.ByQuery),
		chromedp.SendKeys("#r-system", "Outlook on my laptop", chromedp.ByQuery),
		chromedp.Click(`input[name=personal_data][value=unsure]`, chromedp.ByQuery),
	)
	staff.shot("report")
	staff.run("send the report",
		chromedp.Click(`form[action="/report"] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible("#receipt", chromedp.ByQuery),
		chromedp.Text("#receipt", &receipt, chromedp.ByQuery),
	)
	staff.shot("report-receipt")
	if _, ok := vigil.NormalizeReceiptCode(receipt); !ok {
		t.Fatalf("receipt %q", receipt)
	}
	staff.run("follow the report",
		chromedp.Navigate(base+"/report/status"),
		chromedp.SendKeys("#s-receipt", receipt, chromedp.ByQuery),
		chromedp.Click(`form[action="/report/status"] button`, chromedp.ByQuery),
		chromedp.WaitVisible("#report-status", chromedp.ByQuery),
	)
	if s := staff.text("#report-status"); !strings.Contains(s, "looking at it") {
		t.Errorf("report status: %q", s)
	}

	// A responder triages it into a confirmed incident.
	rita := open()
	rita.login(base, "rita")
	rita.shot("dashboard")
	rita.run("open the report from the list",
		chromedp.Navigate(base+"/incidents?status=triage"),
		chromedp.WaitVisible(`table.list`, chromedp.ByQuery),
	)
	rita.shot("incident-list")
	rita.run("open it",
		chromedp.Click(`table.list tbody tr td a`, chromedp.ByQuery),
		chromedp.WaitVisible(`.incident-head h1`, chromedp.ByQuery),
	)
	var incURL string
	rita.run("where am I", chromedp.Location(&incURL))
	incURL = strings.Split(incURL, "#")[0]
	if h := rita.text(".incident-head h1"); !strings.HasPrefix(h, "Staff report: I got an e-mail") {
		t.Fatalf("incident title %q", h)
	}
	rita.run("confirm it",
		chromedp.Click(`#status-confirmed > summary`, chromedp.ByQuery),
		chromedp.WaitVisible(`#status-confirmed button[type=submit]`, chromedp.ByQuery),
		submit(`#status-confirmed button[type=submit]`),
	)
	if s := rita.text(".incident-head .badges"); !strings.Contains(s, "confirmed") {
		t.Fatalf("status after confirming: %q", s)
	}

	// Tasks, a note and pasted observables.
	for _, task := range []string{"Reset the reporter's password", "Search mail logs for the same sender"} {
		rita.run("add task "+task,
			chromedp.Click(`#task > summary`, chromedp.ByQuery),
			chromedp.WaitVisible(`#task-title`, chromedp.ByQuery),
			chromedp.SendKeys(`#task-title`, task, chromedp.ByQuery),
			submit(`#task button[type=submit]`),
		)
	}
	rita.run("tick the first task",
		chromedp.Click(`#task-list li:first-child button.tick`, chromedp.ByQuery),
		chromedp.WaitVisible(`#task-list li.done`, chromedp.ByQuery),
	)
	rita.run("add a note",
		chromedp.Click(`#note > summary`, chromedp.ByQuery),
		chromedp.WaitVisible(`#note-message`, chromedp.ByQuery),
		chromedp.SendKeys(`#note-message`, "Password reset done; sessions revoked.", chromedp.ByQuery),
		submit(`#note button[type=submit]`),
	)
	rita.run("paste observables",
		chromedp.Click(`#obs-add > summary`, chromedp.ByQuery),
		chromedp.WaitVisible(`#obs-text`, chromedp.ByQuery),
		chromedp.SendKeys(`#obs-text`, "login-microsoft-verify.example\n203.0.113.45\nhxxps://login-microsoft-verify[.]example/owa", chromedp.ByQuery),
		submit(`#obs-add button[type=submit]`),
	)
	if s := rita.text("#observable-list"); !strings.Contains(s, "203.0.113.45") || !strings.Contains(s, "https://login-microsoft-verify.example/owa") {
		t.Errorf("observables: %q", s)
	}
	rita.shot("incident")

	// Two people on the same incident see each other's changes live.
	lenaTab := open()
	lenaTab.login(base, "lena")
	lenaTab.run("open the incident", chromedp.Navigate(incURL), chromedp.WaitVisible(`body[data-live-connected]`, chromedp.ByQuery))
	rita.run("note while Lena watches",
		chromedp.Navigate(incURL),
		chromedp.Click(`#note > summary`, chromedp.ByQuery),
		chromedp.SendKeys(`#note-message`, "Sender domain blocked at the mail gateway.", chromedp.ByQuery),
		submit(`#note button[type=submit]`),
	)
	lenaTab.run("see Rita's note without reloading",
		chromedp.Poll(`document.querySelector('#timeline-list').innerText.includes('Sender domain blocked')`, nil, chromedp.WithPollingTimeout(15*time.Second)),
	)
	if s := lenaTab.text("#live-toast"); !strings.Contains(s, "Rita") {
		t.Errorf("toast: %q", s)
	}

	// A stale edit meets the conflict message and keeps what was typed.
	lenaTab.run("start editing",
		chromedp.Click(`#edit > summary`, chromedp.ByQuery),
		chromedp.WaitVisible(`#e-title`, chromedp.ByQuery),
		chromedp.SetValue(`#e-title`, "Lena's careful new title", chromedp.ByQuery),
	)
	rita.run("Rita edits first",
		chromedp.Click(`#edit > summary`, chromedp.ByQuery),
		chromedp.WaitVisible(`#e-title`, chromedp.ByQuery),
		chromedp.SetValue(`#e-title`, "Credential phishing: one user entered password", chromedp.ByQuery),
		submit(`#edit button[type=submit]`),
	)
	lenaTab.run("Lena saves her stale edit",
		chromedp.Click(`#edit button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#conflict`, chromedp.ByQuery),
	)
	var kept string
	lenaTab.run("read the kept input", chromedp.Value(`#e-title`, &kept, chromedp.ByQuery))
	if kept != "Lena's careful new title" {
		t.Errorf("the conflict lost the input: %q", kept)
	}
	if h := lenaTab.text(".incident-head h1"); h != "Credential phishing: one user entered password" {
		t.Errorf("the page should show the current title, got %q", h)
	}
	lenaTab.shot("conflict")

	// The list updates when incidents arrive.
	rita.run("watch the list", chromedp.Navigate(base+"/incidents"), chromedp.WaitVisible(`body[data-live-connected]`, chromedp.ByQuery))
	e.incident(as(lena), &vigil.Incident{Title: "DDoS on the public website"})
	rita.run("see the new incident arrive",
		chromedp.Poll(`document.querySelector('#incident-results').innerText.includes('DDoS on the public website')`, nil, chromedp.WithPollingTimeout(15*time.Second)),
	)

	// A TLP:RED incident is invisible to a non-member.
	red := e.incident(as(lena), &vigil.Incident{Title: "Board member's account misused", TLP: vigil.TLPRed})
	rita.run("try the red incident", chromedp.Navigate(fmt.Sprintf("%s/incidents/%d", base, red.ID)), chromedp.WaitVisible(`h1`, chromedp.ByQuery))
	if h := rita.text("h1"); h != "Not Found" {
		t.Errorf("a non-member opening a TLP:RED incident sees %q", h)
	}
	rita.run("list", chromedp.Navigate(base+"/incidents"), chromedp.WaitVisible(`table.list`, chromedp.ByQuery))
	if s := rita.text("#incident-results"); strings.Contains(s, "Board member") {
		t.Error("the TLP:RED incident is in a non-member's list")
	}
	lenaTab.run("the lead sees it", chromedp.Navigate(fmt.Sprintf("%s/incidents/%d", base, red.ID)), chromedp.WaitVisible(`.tlp-banner`, chromedp.ByQuery))
	lenaTab.shot("incident-red")

	// Through to closure: recovered, then closed, as the buttons offer.
	// Closing lists the open work: the tasks are ticked off as done there.
	for _, to := range []string{"recovered", "closed"} {
		rita.run("move to "+to,
			chromedp.Navigate(incURL),
			chromedp.Click(`#status-`+to+` > summary`, chromedp.ByQuery),
			chromedp.WaitVisible(`#status-`+to+` button[type=submit]`, chromedp.ByQuery),
		)
		if to == "closed" {
			var open int
			rita.run("deal with the open work",
				chromedp.Evaluate(`document.querySelectorAll('#open-work input[type=radio][value=done]').length`, &open),
				chromedp.Evaluate(`document.querySelectorAll('#open-work input[type=radio][value=done]').forEach(r => r.click()); document.querySelectorAll('#open-work input[type=radio][value=submitted]').forEach(r => r.click()); true`, nil),
			)
			if open == 0 {
				t.Errorf("the close form lists no open task")
			}
			rita.shot("incident-close")
		}
		rita.run("submit "+to, submit(`#status-`+to+` button[type=submit]`))
		if s := rita.text(".incident-head .badges"); !strings.Contains(s, to) {
			t.Fatalf("status after moving to %s: %q", to, s)
		}
	}

	// The reporter comes back and sees progress in plain words.
	staff.run("check again",
		chromedp.Navigate(base+"/report/status"),
		chromedp.SendKeys("#s-receipt", receipt, chromedp.ByQuery),
		chromedp.Click(`form[action="/report/status"] button`, chromedp.ByQuery),
		chromedp.WaitVisible("#report-status", chromedp.ByQuery),
	)
	if s := staff.text("#report-status"); !strings.Contains(s, "Dealt with and closed") {
		t.Errorf("report status after closing: %q", s)
	}
	staff.shot("report-status")

	// Phone width: the incident page still works.
	lenaTab.run("phone width", chromedp.EmulateViewport(390, 844), chromedp.Navigate(incURL), chromedp.WaitVisible(`.incident-head h1`, chromedp.ByQuery))
	lenaTab.shot("incident-phone")
	t.Logf("screenshots in %s", staff.dir)
}
