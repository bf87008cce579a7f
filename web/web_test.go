package web_test

import (
	"bufio"
	"context"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/blob"
	vigilhttp "github.com/vigil-ir/vigil/http"
	"github.com/vigil-ir/vigil/internal/sqlitetest"
	"github.com/vigil-ir/vigil/sqlite"
	"github.com/vigil-ir/vigil/web"
)

func TestMain(m *testing.M) {
	vigil.DefaultPasswordParams = vigil.PasswordParams{Memory: 64, Time: 1, Threads: 1}
	os.Exit(m.Run())
}

const testPassword = "correct horse battery staple"

// env is the API server with the pages mounted, on a real SQLite store.
type env struct {
	t   *testing.T
	ts  *httptest.Server
	svc vigil.Services
	ui  *web.Handler
	db  *sqlite.DB
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, func(*vigil.Services) {}, tlog{t})
}

// newEnvWith is newEnv with the services the pages use changed by pages
// (to break one, say; the API and env.svc keep the store's), and the
// pages' log written to logw.
func newEnvWith(t *testing.T, pages func(*vigil.Services), logw io.Writer) *env {
	t.Helper()
	db, err := sqlite.Open(t.Context(), sqlitetest.FreshFile(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if db.Blobs, err = blob.Open(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	srv := vigilhttp.NewServer(db.Services(), nil)
	svc := db.Services()
	pages(&svc)
	ui, err := web.New(svc, slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		t.Fatal(err)
	}
	ui.LiveInterval = 50 * time.Millisecond
	ui.Location = time.UTC
	srv.Mount(ui.Register)
	ts := httptest.NewServer(srv)
	t.Cleanup(func() { ui.Close(); ts.Close() })
	return &env{t: t, ts: ts, svc: db.Services(), ui: ui, db: db}
}

// tlog writes log lines to the test's log.
type tlog struct{ t *testing.T }

func (l tlog) Write(b []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

func system() context.Context {
	return vigil.NewContextWithActor(context.Background(), vigil.SystemActor("test"))
}

func (e *env) user(username string, role vigil.Role) *vigil.User {
	e.t.Helper()
	u := &vigil.User{Username: username, Name: strings.ToUpper(username[:1]) + username[1:], Role: role}
	if err := e.svc.Users.CreateUser(system(), u, testPassword); err != nil {
		e.t.Fatal(err)
	}
	return u
}

// browser is an HTTP client with cookies that does not follow redirects,
// so tests see each 303.
type browser struct {
	e    *env
	c    *http.Client
	csrf string
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (e *env) login(username string) *browser {
	e.t.Helper()
	b := e.browser()
	resp, _ := b.post("/login", url.Values{"username": {username}, "password": {testPassword}, "next": {"/"}})
	if resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("login %s: status %d", username, resp.StatusCode)
	}
	b.get("/") // picks up the CSRF token
	return b
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func (b *browser) do(req *http.Request) (*http.Response, string) {
	b.e.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if m := csrfRE.FindSubmatch(body); m != nil {
		b.csrf = string(m[1])
	}
	return resp, string(body)
}

func (b *browser) get(path string) (*http.Response, string) {
	req, _ := http.NewRequest(http.MethodGet, b.e.ts.URL+path, nil)
	return b.do(req)
}

// post submits a form with the page's CSRF token, as a browser would.
func (b *browser) post(path string, form url.Values) (*http.Response, string) {
	if b.csrf != "" && form.Get("csrf_token") == "" {
		form.Set("csrf_token", b.csrf)
	}
	return b.postRaw(path, form)
}

func (b *browser) postRaw(path string, form url.Values) (*http.Response, string) {
	req, _ := http.NewRequest(http.MethodPost, b.e.ts.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

func wantStatus(t *testing.T, resp *http.Response, body string, want int) {
	t.Helper()
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d\n%s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, want, excerpt(body))
	}
}

func excerpt(body string) string {
	if i := strings.Index(body, `<main id="main">`); i >= 0 {
		body = body[i:]
	}
	if len(body) > 1500 {
		body = body[:1500]
	}
	return body
}

func (e *env) incident(ctx context.Context, inc *vigil.Incident) *vigil.Incident {
	e.t.Helper()
	if inc.Title == "" {
		inc.Title = "Suspicious sign-in to payroll"
	}
	if err := e.svc.Incidents.CreateIncident(ctx, inc); err != nil {
		e.t.Fatal(err)
	}
	return inc
}

func as(u *vigil.User) context.Context {
	return vigil.NewContextWithActor(context.Background(), &vigil.Actor{UserID: u.ID, Username: u.Username, Name: u.Name, Role: u.Role})
}

func TestLoginLogout(t *testing.T) {
	e := newEnv(t)
	e.user("alice", vigil.RoleResponder)
	b := e.browser()

	resp, _ := b.get("/incidents?status=triage")
	wantStatus(t, resp, "", http.StatusSeeOther)
	if loc := resp.Header.Get("Location"); loc != "/login?next="+url.QueryEscape("/incidents?status=triage") {
		t.Errorf("redirect to %q", loc)
	}
	resp, body := b.get("/login")
	wantStatus(t, resp, body, http.StatusOK)
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
		t.Errorf("CSP %q", csp)
	}

	resp, body = b.post("/login", url.Values{"username": {"alice"}, "password": {"wrong password!"}})
	wantStatus(t, resp, body, http.StatusUnauthorized)
	if !strings.Contains(body, `value="alice"`) || !strings.Contains(body, `role="alert"`) {
		t.Errorf("failed login should keep the username and say why:\n%s", excerpt(body))
	}
	resp, body = b.post("/login", url.Values{"username": {"alice"}, "password": {testPassword}, "next": {"//evil.example/"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	if loc := resp.Header.Get("Location"); loc != "/" {
		t.Errorf("an off-site next must not be followed: %q", loc)
	}
	resp, body = b.get("/")
	wantStatus(t, resp, body, http.StatusOK)
	if !strings.Contains(body, "Alice") || !strings.Contains(body, "Waiting for triage") {
		t.Errorf("dashboard:\n%s", excerpt(body))
	}
	resp, body = b.post("/logout", url.Values{})
	wantStatus(t, resp, body, http.StatusSeeOther)
	resp, _ = b.get("/")
	wantStatus(t, resp, "", http.StatusSeeOther)
}

func TestCSRF(t *testing.T) {
	e := newEnv(t)
	u := e.user("alice", vigil.RoleResponder)
	inc := e.incident(as(u), &vigil.Incident{})
	b := e.login("alice")
	note := url.Values{"message": {"Blocked the sender at the gateway."}}

	resp, body := b.postRaw(fmt.Sprintf("/incidents/%d/notes", inc.ID), note)
	wantStatus(t, resp, body, http.StatusForbidden)
	note.Set("csrf_token", "forged")
	resp, body = b.postRaw(fmt.Sprintf("/incidents/%d/notes", inc.ID), note)
	wantStatus(t, resp, body, http.StatusForbidden)

	// A browser marks a form posted from another site; refused even with
	// the right token.
	note.Set("csrf_token", b.csrf)
	req, _ := http.NewRequest(http.MethodPost, e.ts.URL+fmt.Sprintf("/incidents/%d/notes", inc.ID), strings.NewReader(note.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, body = b.do(req)
	wantStatus(t, resp, body, http.StatusForbidden)

	page, err := e.svc.Timeline.FindTimeline(as(u), inc.ID, vigil.TimelineFilter{Kinds: []vigil.TimelineKind{vigil.KindNote}})
	if err != nil || len(page.Items) != 0 {
		t.Fatalf("refused posts wrote notes: %+v %v", page, err)
	}
	resp, body = b.post(fmt.Sprintf("/incidents/%d/notes", inc.ID), url.Values{"message": {"Blocked the sender at the gateway."}})
	wantStatus(t, resp, body, http.StatusSeeOther)
}

func TestPagesByRole(t *testing.T) {
	e := newEnv(t)
	admin := e.user("ada", vigil.RoleAdmin)
	e.user("rita", vigil.RoleResponder)
	e.user("vic", vigil.RoleViewer)
	e.user("rory", vigil.RoleReporter)
	inc := e.incident(as(admin), &vigil.Incident{Summary: "A user entered credentials on a fake login page."})
	incPath := fmt.Sprintf("/incidents/%d", inc.ID)

	type check struct {
		path   string
		status map[string]int // by username; missing means 200
	}
	pages := []check{
		{"/", nil},
		{"/incidents", nil},
		{"/incidents?status=triage&severity=medium&sort=-severity", nil},
		{incPath, map[string]int{"rory": http.StatusNotFound}},
		{"/incidents/new", nil},
		{"/account", nil},
		{"/admin/users", map[string]int{"rita": 403, "vic": 403, "rory": 403}},
		{"/admin/audit", map[string]int{"rita": 403, "vic": 403, "rory": 403}},
		{fmt.Sprintf("/admin/users/%d/tokens", admin.ID), map[string]int{"rita": 403, "vic": 403, "rory": 403}},
		{"/no/such/page", map[string]int{"ada": 404, "rita": 404, "vic": 404, "rory": 404}},
	}
	for _, who := range []string{"ada", "rita", "vic", "rory"} {
		b := e.login(who)
		for _, p := range pages {
			want := http.StatusOK
			if s, ok := p.status[who]; ok {
				want = s
			}
			t.Run(who+p.path, func(t *testing.T) {
				resp, body := b.get(p.path)
				wantStatus(t, resp, body, want)
				if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
					t.Errorf("content type %q", ct)
				}
			})
		}
	}

	// A viewer sees no edit controls, and the server refuses the edit anyway.
	vic := e.login("vic")
	_, body := vic.get(incPath)
	for _, control := range []string{"Add a note", "Add a task", "Edit details", "Confirm as an incident", "Add observables"} {
		if strings.Contains(body, control) {
			t.Errorf("viewer sees %q", control)
		}
	}
	resp, body := vic.post(incPath+"/notes", url.Values{"message": {"I should not be able to write this."}})
	wantStatus(t, resp, body, http.StatusForbidden)
	resp, body = vic.post(incPath+"/transition", url.Values{"to": {"confirmed"}, "version": {fmt.Sprint(inc.Version)}})
	wantStatus(t, resp, body, http.StatusForbidden)
	got, _ := e.svc.Incidents.FindIncidentByID(as(admin), inc.ID)
	if got.Version != inc.Version || got.Status != vigil.StatusTriage {
		t.Errorf("a viewer's refused posts changed the incident: %+v", got)
	}
	// A responder sees them.
	_, body = e.login("rita").get(incPath)
	for _, control := range []string{"Add a note", "Add a task", "Edit details", "Confirm as an incident", "Refer to the police", "Refer to Report Fraud"} {
		if !strings.Contains(body, control) {
			t.Errorf("responder does not see %q", control)
		}
	}
}

func TestIncidentWork(t *testing.T) {
	e := newEnv(t)
	lead := e.user("lena", vigil.RoleManager)
	b := e.login("lena")

	// Bad input keeps what was typed and names the field.
	resp, body := b.post("/incidents", url.Values{"title": {""}, "summary": {"Kept summary text"}, "type": {"phishing"},
		"severity": {"high"}, "tlp": {"AMBER"}, "category": {"0"}})
	wantStatus(t, resp, body, http.StatusBadRequest)
	if !strings.Contains(body, "Kept summary text") || !strings.Contains(body, `class="field-error"`) {
		t.Errorf("the form should keep input and show the field error:\n%s", excerpt(body))
	}

	resp, body = b.post("/incidents", url.Values{"title": {"Phishing wave against finance"}, "type": {"phishing"},
		"severity": {"high"}, "tlp": {"AMBER"}, "category": {"0"}, "affected_services": {"Exchange Online\nFinance share"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	path := strings.Split(resp.Header.Get("Location"), "#")[0]
	var id int64
	fmt.Sscanf(path, "/incidents/%d", &id)
	inc, err := e.svc.Incidents.FindIncidentByID(as(lead), id)
	if err != nil || inc.Title != "Phishing wave against finance" || len(inc.AffectedServices) != 2 {
		t.Fatalf("created %+v, %v", inc, err)
	}

	// Triage: police referral needs a reason; the advice is on the page.
	_, body = b.get(path)
	if !strings.Contains(body, "101") || !strings.Contains(body, "reportfraud.police.uk") || !strings.Contains(body, "Police Scotland") {
		t.Errorf("the triage outcomes should carry their advice")
	}
	resp, body = b.post(path+"/transition", url.Values{"to": {"referred_police"}, "version": {fmt.Sprint(inc.Version)}})
	wantStatus(t, resp, body, http.StatusBadRequest)
	if !strings.Contains(body, "Say why") {
		t.Errorf("missing reason message:\n%s", excerpt(body))
	}
	resp, body = b.post(path+"/transition", url.Values{"to": {"confirmed"}, "version": {fmt.Sprint(inc.Version)}})
	wantStatus(t, resp, body, http.StatusSeeOther)

	// Tasks, notes, observables.
	for _, title := range []string{"Block sender domain", "Reset passwords of clickers"} {
		resp, body = b.post(path+"/tasks", url.Values{"title": {title}, "phase": {"contain"}, "assignee_id": {fmt.Sprint(lead.ID)}})
		wantStatus(t, resp, body, http.StatusSeeOther)
	}
	resp, body = b.post(path+"/notes", url.Values{"message": {"Gateway blocked 212 copies."}, "at": {"2026-11-20T09:15"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	resp, body = b.post(path+"/observables", url.Values{"text": {"evil-payroll.example\n198.51.100.7\nnot a valid ip: 999.1.1.1"}})
	wantStatus(t, resp, body, http.StatusBadRequest)
	if !strings.Contains(body, "Line 3") || !strings.Contains(body, "evil-payroll.example") {
		t.Errorf("a bad pasted line should be named and the text kept:\n%s", excerpt(body))
	}
	resp, body = b.post(path+"/observables", url.Values{"text": {"evil-payroll.example\n198.51.100.7\nhxxps://evil-payroll[.]example/login"}, "ioc": {"1"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	obs, _ := e.svc.Observables.FindObservables(as(lead), id)
	if len(obs) != 3 {
		t.Errorf("observables: %d, want 3", len(obs))
	}
	tasks, _, _ := e.svc.Tasks.FindTasks(as(lead), vigil.TaskFilter{IncidentID: &id})
	if len(tasks) != 2 {
		t.Fatalf("tasks: %d", len(tasks))
	}
	// Reorder and tick off.
	resp, body = b.post(fmt.Sprintf("%s/tasks/%d/move", path, tasks[1].ID), url.Values{"dir": {"up"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	tasks, _, _ = e.svc.Tasks.FindTasks(as(lead), vigil.TaskFilter{IncidentID: &id})
	resp, body = b.post(fmt.Sprintf("%s/tasks/%d", path, tasks[1].ID), url.Values{"status": {"done"}, "version": {fmt.Sprint(tasks[0].Version)}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	tasks, _, _ = e.svc.Tasks.FindTasks(as(lead), vigil.TaskFilter{IncidentID: &id})
	if tasks[0].Title != "Reset passwords of clickers" || tasks[1].Status != vigil.TaskDone || tasks[1].Title != "Block sender domain" {
		t.Errorf("after reorder and tick: %s first, second %s", tasks[0].Title, tasks[1].Status)
	}

	// A second incident sees the observable "seen before".
	other := e.incident(as(lead), &vigil.Incident{Title: "Another phish"})
	if _, err := e.svc.Observables.AddObservables(as(lead), other.ID, []*vigil.Observable{{Type: vigil.ObsDomain, Value: "EVIL-PAYROLL.example"}}); err != nil {
		t.Fatal(err)
	}
	_, body = b.get(fmt.Sprintf("/incidents/%d", other.ID))
	if !strings.Contains(body, "Seen before in") || !strings.Contains(body, inc.Reference) {
		t.Errorf("seen-before link missing:\n%s", excerpt(body))
	}
	// Link and role.
	resp, body = b.post(fmt.Sprintf("/incidents/%d/links", other.ID), url.Values{"kind": {"related"}, "target": {inc.Reference}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	resp, body = b.post(path+"/members", url.Values{"user_id": {fmt.Sprint(lead.ID)}, "role": {"lead"}})
	wantStatus(t, resp, body, http.StatusSeeOther)

	// The page shows it all; the timeline filter narrows to notes.
	_, body = b.get(path)
	for _, want := range []string{"Gateway blocked 212 copies.", "Block sender domain", "198.51.100.7", "Another phish", "Lena"} {
		if !strings.Contains(body, html.EscapeString(want)) {
			t.Errorf("incident page lacks %q", want)
		}
	}
	_, body = b.get(path + "?kind=note")
	if !strings.Contains(body, "Gateway blocked") || strings.Contains(body, "Task added") {
		t.Errorf("kind=note should show only notes")
	}

	// Removing: an observable, the link, the role.
	resp, body = b.post(fmt.Sprintf("%s/observables/%d/delete", path, obs[0].ID), url.Values{})
	wantStatus(t, resp, body, http.StatusSeeOther)
	links, _ := e.svc.Links.FindLinks(as(lead), id)
	if len(links) != 1 {
		t.Fatalf("links: %d", len(links))
	}
	resp, body = b.post(fmt.Sprintf("%s/links/%d/delete", path, links[0].ID), url.Values{})
	wantStatus(t, resp, body, http.StatusSeeOther)
	resp, body = b.post(path+"/members/remove", url.Values{"user_id": {fmt.Sprint(lead.ID)}, "role": {"lead"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	obsLeft, _ := e.svc.Observables.FindObservables(as(lead), id)
	links, _ = e.svc.Links.FindLinks(as(lead), id)
	members, _ := e.svc.Members.FindMembers(as(lead), id)
	if len(obsLeft) != 2 || len(links) != 0 || len(members) != 0 {
		t.Errorf("after removing: %d observables, %d links, %d members; want 2, 0, 0", len(obsLeft), len(links), len(members))
	}
	// Another incident's observable cannot be removed through this one.
	otherObs, _ := e.svc.Observables.FindObservables(as(lead), other.ID)
	resp, body = b.post(fmt.Sprintf("%s/observables/%d/delete", path, otherObs[0].ID), url.Values{})
	wantStatus(t, resp, body, http.StatusNotFound)

	// Search finds it with a highlighted snippet.
	_, body = b.get("/incidents?q=gateway")
	if !strings.Contains(body, "<mark>") || !strings.Contains(body, inc.Reference) {
		t.Errorf("search results:\n%s", excerpt(body))
	}
}

func TestStaleEdit(t *testing.T) {
	e := newEnv(t)
	u := e.user("lena", vigil.RoleManager)
	inc := e.incident(as(u), &vigil.Incident{Title: "Ransom note on file server"})
	b := e.login("lena")
	path := fmt.Sprintf("/incidents/%d", inc.ID)
	// Someone else saves first.
	title := "Ransomware on FS01"
	if _, err := e.svc.Incidents.UpdateIncident(as(u), inc.ID, vigil.IncidentUpdate{Title: &title, Version: inc.Version}); err != nil {
		t.Fatal(err)
	}
	resp, body := b.post(path, url.Values{"version": {fmt.Sprint(inc.Version)}, "title": {"My better title"}, "summary": {"My careful summary"},
		"type": {"ransomware"}, "severity": {"critical"}, "category": {"0"}, "tlp": {"AMBER"}})
	wantStatus(t, resp, body, http.StatusConflict)
	for _, want := range []string{"Someone changed this incident", "My better title", "My careful summary", "Ransomware on FS01"} {
		if !strings.Contains(body, want) {
			t.Errorf("conflict page lacks %q", want)
		}
	}
	got, _ := e.svc.Incidents.FindIncidentByID(as(u), inc.ID)
	if got.Title != title {
		t.Errorf("the stale edit was written: %q", got.Title)
	}
	// Saving again from the conflict page applies on top of the current version.
	resp, body = b.post(path, url.Values{"version": {fmt.Sprint(got.Version)}, "title": {"My better title"}, "summary": {"My careful summary"},
		"type": {"ransomware"}, "severity": {"critical"}, "category": {"0"}, "tlp": {"AMBER"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
}

func TestRedIncidentHidden(t *testing.T) {
	e := newEnv(t)
	lead := e.user("lena", vigil.RoleManager)
	e.user("rita", vigil.RoleResponder)
	red := e.incident(as(lead), &vigil.Incident{Title: "Insider exfiltration by a senior manager", TLP: vigil.TLPRed})
	b := e.login("rita")
	resp, body := b.get(fmt.Sprintf("/incidents/%d", red.ID))
	wantStatus(t, resp, body, http.StatusNotFound)
	if strings.Contains(body, "exfiltration") {
		t.Errorf("the 404 leaks the title")
	}
	for _, p := range []string{"/incidents", "/incidents?q=exfiltration", "/"} {
		_, body = b.get(p)
		if strings.Contains(body, "senior manager") || strings.Contains(body, red.Reference) {
			t.Errorf("%s shows the TLP:RED incident to a non-member", p)
		}
	}
	_, body = e.login("lena").get(fmt.Sprintf("/incidents/%d", red.ID))
	if !strings.Contains(body, "tlp-red") || !strings.Contains(body, "exfiltration") {
		t.Errorf("the lead should see it with a red banner")
	}
}

func TestStaffReport(t *testing.T) {
	e := newEnv(t)
	u := e.user("rita", vigil.RoleResponder)
	anon := e.browser()
	resp, body := anon.get("/report")
	wantStatus(t, resp, body, http.StatusOK)
	if !strings.Contains(body, "Something doesn't look right? Tell us.") || !strings.Contains(body, "not get into trouble") {
		t.Errorf("report page copy:\n%s", excerpt(body))
	}
	// Nothing typed: the field is named, nothing filed.
	resp, body = anon.post("/report", url.Values{"what": {" "}, "personal_data": {"unsure"}})
	wantStatus(t, resp, body, http.StatusBadRequest)
	// The honeypot: thanked, nothing filed.
	resp, body = anon.post("/report", url.Values{"what": {"Buy cheap watches"}, "website": {"http://spam.example"}})
	wantStatus(t, resp, body, http.StatusOK)
	if n, _ := e.svc.Incidents.CountIncidents(system(), vigil.IncidentFilter{}); n != 0 {
		t.Fatalf("%d incidents after a bad report and a bot", n)
	}
	resp, body = anon.post("/report", url.Values{"what": {"A text message said my parcel was held and I paid £1.99 on the link."},
		"system": {"Work phone"}, "personal_data": {"yes"}})
	wantStatus(t, resp, body, http.StatusOK)
	m := regexp.MustCompile(`id="receipt">([A-Z0-9-]+)<`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no receipt code:\n%s", excerpt(body))
	}
	receipt := m[1]
	page, _ := e.svc.Incidents.FindIncidents(as(u), vigil.IncidentFilter{Source: []vigil.Source{vigil.SourceStaffReport}})
	if len(page.Items) != 1 || page.Items[0].Status != vigil.StatusTriage || !page.Items[0].PersonalData {
		t.Fatalf("staff report incidents: %+v", page.Items)
	}
	inc := page.Items[0]

	resp, body = anon.post("/report/status", url.Values{"receipt": {strings.ToLower(receipt)}})
	wantStatus(t, resp, body, http.StatusOK)
	if !strings.Contains(body, inc.Reference) || !strings.Contains(body, "looking at it") {
		t.Errorf("status page:\n%s", excerpt(body))
	}
	resp, body = anon.post("/report/status/add", url.Values{"receipt": {receipt}, "text": {"The sender was +44 7700 900123."}})
	wantStatus(t, resp, body, http.StatusOK)
	if !strings.Contains(body, "7700 900123") {
		t.Errorf("the addition should be listed")
	}
	resp, body = anon.post("/report/status", url.Values{"receipt": {"AAAA-BBBB-CCCC-DDDD"}})
	wantStatus(t, resp, body, http.StatusNotFound)

	// Triage refers it to Report Fraud; the reporter sees it in plain words.
	if _, err := e.svc.Incidents.TransitionIncident(as(u), inc.ID, vigil.Transition{To: vigil.StatusReportFraud,
		Reason: "Parcel smishing: fraud.", Version: inc.Version + 1}); err != nil {
		t.Fatal(err)
	}
	_, body = anon.post("/report/status", url.Values{"receipt": {receipt}})
	if !strings.Contains(body, "Report Fraud") {
		t.Errorf("status after referral:\n%s", excerpt(body))
	}

	// Rate limit: a flood from one address is refused.
	var last *http.Response
	for range 6 {
		last, body = anon.post("/report", url.Values{"what": {"flood"}})
	}
	wantStatus(t, last, body, http.StatusTooManyRequests)
	// Oversized bodies are refused with a message, not a crash.
	resp, body = e.browser().post("/report", url.Values{"what": {strings.Repeat("x", 300<<10)}})
	wantStatus(t, resp, body, http.StatusBadRequest)
}

// TestStaffReportSentTwice checks the report forms' submit tokens: a form
// sent twice files once and answers the same, and no receipt code is kept
// readable for it.
func TestStaffReportSentTwice(t *testing.T) {
	e := newEnv(t)
	anon := e.browser()
	token := regexp.MustCompile(`name="submit_token" value="([A-Z2-7]{26})"`)
	_, body := anon.get("/report")
	m := token.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no submit token in the form:\n%s", excerpt(body))
	}
	form := url.Values{"what": {"A pop-up asked for my password."}, "personal_data": {"no"}, "submit_token": {m[1]}}
	receiptRE := regexp.MustCompile(`id="receipt">([A-Z0-9-]+)<`)
	var receipts []string
	for range 3 { // a double click, then a reload
		resp, body := anon.post("/report", form)
		wantStatus(t, resp, body, http.StatusOK)
		m := receiptRE.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no receipt code:\n%s", excerpt(body))
		}
		receipts = append(receipts, m[1])
	}
	if receipts[0] != receipts[1] || receipts[1] != receipts[2] {
		t.Errorf("receipts %v, want the first each time", receipts)
	}
	if n, _ := e.svc.Incidents.CountIncidents(system(), vigil.IncidentFilter{}); n != 1 {
		t.Errorf("%d incidents after one form sent three times, want 1", n)
	}
	// Back, edit, send: the form was sent already.
	edited := url.Values{"what": {"A pop-up asked for my password, twice."}, "personal_data": {"no"}, "submit_token": form["submit_token"]}
	resp, body := anon.post("/report", edited)
	wantStatus(t, resp, body, http.StatusUnprocessableEntity)
	if !strings.Contains(body, "sent already") {
		t.Errorf("edited form sent again:\n%s", excerpt(body))
	}
	if n, _ := e.svc.Incidents.CountIncidents(system(), vigil.IncidentFilter{}); n != 1 {
		t.Errorf("%d incidents after the edited form, want 1", n)
	}
	// The kept answer holds no readable receipt code. (An UPDATE that
	// changes nothing counts rows.)
	count := func(q string, args ...any) int64 {
		t.Helper()
		r, err := e.db.Exec(t.Context(), q, args...)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := r.RowsAffected()
		return n
	}
	if n := count(`UPDATE idempotency_keys SET state = state WHERE state = 'done'`); n != 1 {
		t.Errorf("%d answers kept, want 1", n)
	}
	if n := count(`UPDATE idempotency_keys SET state = state WHERE instr(body, ?) > 0`, []byte(receipts[0])); n != 0 {
		t.Errorf("the receipt code is kept readable")
	}

	// Adding to the report, twice, adds once.
	_, body = anon.post("/report/status", url.Values{"receipt": {receipts[0]}})
	m = token.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no submit token in the add form:\n%s", excerpt(body))
	}
	add := url.Values{"receipt": {receipts[0]}, "text": {"It was on the payroll site."}, "submit_token": {m[1]}}
	for range 2 {
		resp, body = anon.post("/report/status/add", add)
		wantStatus(t, resp, body, http.StatusOK)
	}
	if n := strings.Count(body, "It was on the payroll site."); n != 1 {
		t.Errorf("the addition is listed %d times, want once:\n%s", n, excerpt(body))
	}
}

// lostReports files each report, then answers as a store whose
// connection failed after COMMIT was sent: 503, "may have been applied".
type lostReports struct{ vigil.ReportService }

func (r lostReports) SubmitReport(ctx context.Context, rep *vigil.StaffReport) (string, string, error) {
	if _, _, err := r.ReportService.SubmitReport(ctx, rep); err != nil {
		return "", "", err
	}
	return "", "", vigil.Errorf(vigil.EUNAVAILABLE, "The change may have been applied; retry with the same Idempotency-Key.")
}

// TestStaffReportAnswerLost checks that a report form whose filing
// committed but whose answer was lost is not filed again when it is sent
// again (a reload of the error page): the page says it was received.
func TestStaffReportAnswerLost(t *testing.T) {
	e := newEnvWith(t, func(s *vigil.Services) { s.Reports = lostReports{s.Reports} }, tlog{t})
	anon := e.browser()
	_, body := anon.get("/report")
	m := regexp.MustCompile(`name="submit_token" value="([A-Z2-7]{26})"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no submit token in the form:\n%s", excerpt(body))
	}
	form := url.Values{"what": {"The printer asked for my password."}, "personal_data": {"no"}, "submit_token": {m[1]}}
	resp, body := anon.post("/report", form)
	wantStatus(t, resp, body, http.StatusServiceUnavailable)
	for range 2 {
		resp, body = anon.post("/report", form)
		wantStatus(t, resp, body, http.StatusUnprocessableEntity)
		if !strings.Contains(body, "was received") {
			t.Errorf("form sent again after a lost answer:\n%s", excerpt(body))
		}
	}
	if n, _ := e.svc.Incidents.CountIncidents(system(), vigil.IncidentFilter{}); n != 1 {
		t.Errorf("%d incidents after one form filed and sent again twice, want 1", n)
	}
}

func TestAdminPages(t *testing.T) {
	e := newEnv(t)
	e.user("ada", vigil.RoleAdmin)
	b := e.login("ada")
	resp, body := b.post("/admin/users", url.Values{"username": {"newbie"}, "name": {"New Bie"}, "role": {"viewer"}, "password": {"short"}})
	wantStatus(t, resp, body, http.StatusBadRequest)
	if !strings.Contains(body, "newbie") || !strings.Contains(body, "at least 12") {
		t.Errorf("user form errors:\n%s", excerpt(body))
	}
	resp, body = b.post("/admin/users", url.Values{"username": {"newbie"}, "name": {"New Bie"}, "role": {"viewer"}, "password": {testPassword}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	nb, err := e.svc.Users.FindUserByUsername(system(), "newbie")
	if err != nil {
		t.Fatal(err)
	}
	resp, body = b.post(fmt.Sprintf("/admin/users/%d", nb.ID), url.Values{"role": {"responder"}, "version": {fmt.Sprint(nb.Version)}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	if nb, _ = e.svc.Users.FindUserByID(system(), nb.ID); nb.Role != vigil.RoleResponder {
		t.Errorf("role %s", nb.Role)
	}
	resp, body = b.get("/admin/audit?verify=1")
	wantStatus(t, resp, body, http.StatusOK)
	if !strings.Contains(body, "Chain intact") || !strings.Contains(body, "user.create") {
		t.Errorf("audit page:\n%s", excerpt(body))
	}

	// Tokens: created on the account page, shown once, revocable.
	resp, body = b.post("/account/tokens", url.Values{"name": {"SOAR"}, "scopes": {"read", "write"}, "expires_days": {"30"}})
	wantStatus(t, resp, body, http.StatusOK)
	m := regexp.MustCompile(`id="new-token">(vgl_[^<]+)<`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no token shown:\n%s", excerpt(body))
	}
	if _, err := e.svc.Auth.AuthenticateToken(context.Background(), m[1]); err != nil {
		t.Fatalf("the shown token does not work: %v", err)
	}
	toks, _ := e.svc.Auth.FindTokens(as(&vigil.User{ID: 1, Role: vigil.RoleAdmin}), 0)
	if len(toks) != 1 {
		t.Fatalf("tokens: %d", len(toks))
	}
	resp, body = b.post(fmt.Sprintf("/account/tokens/%d/revoke", toks[0].ID), url.Values{})
	wantStatus(t, resp, body, http.StatusSeeOther)
	if _, err := e.svc.Auth.AuthenticateToken(context.Background(), m[1]); vigil.ErrorCode(err) != vigil.EUNAUTHORIZED {
		t.Errorf("revoked token still works: %v", err)
	}
}

func TestLiveStream(t *testing.T) {
	e := newEnv(t)
	u := e.user("lena", vigil.RoleManager)
	inc := e.incident(as(u), &vigil.Incident{})
	b := e.login("lena")
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, fmt.Sprintf("%s/incidents/%d/live?mark=%d", e.ts.URL, inc.ID, inc.Version), nil)
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	if _, err := e.svc.Timeline.AddNote(as(u), inc.ID, vigil.Note{Message: "Live!"}); err != nil {
		t.Fatal(err)
	}
	events := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		var ev string
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "event: ") {
				ev = strings.TrimPrefix(line, "event: ")
			}
			if strings.HasPrefix(line, "data: ") && ev == "change" {
				events <- line
				return
			}
		}
	}()
	select {
	case line := <-events:
		if !strings.Contains(line, fmt.Sprintf(`"mark":"%d"`, inc.Version+1)) || !strings.Contains(line, `"by":"Lena"`) {
			t.Errorf("change event %q", line)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no change event within 10 s")
	}
}

// TestUntouchedEdit saves the edit form as loaded: nothing changes, though
// the browser sends CRLF line ends and datetime-local drops the seconds.
func TestUntouchedEdit(t *testing.T) {
	e := newEnv(t)
	u := e.user("lena", vigil.RoleManager)
	occurred := time.Date(2026, 11, 20, 8, 30, 17, 0, time.UTC)
	inc := e.incident(as(u), &vigil.Incident{Title: "Lost laptop", Summary: "Left on a train.\nEncrypted.",
		AffectedServices: []string{"LAPTOP-042"}, Times: vigil.IncidentTimes{OccurredAt: &occurred}})
	b := e.login("lena")
	path := fmt.Sprintf("/incidents/%d", inc.ID)
	_, body := b.get(path)
	form := url.Values{}
	for _, m := range regexp.MustCompile(`<input (?:id="[^"]*" )?(?:type="(?:hidden|datetime-local)" )?name="([a-z_]+)" value="([^"]*)"`).FindAllStringSubmatch(body[strings.Index(body, `id="edit"`):], -1) {
		if _, ok := form[m[1]]; !ok {
			form.Set(m[1], html.UnescapeString(m[2]))
		}
	}
	form.Set("title", inc.Title)
	form.Set("summary", "Left on a train.\r\nEncrypted.")
	form.Set("affected_services", "LAPTOP-042\r\n")
	form.Set("type", string(inc.Type))
	form.Set("severity", string(inc.Severity))
	form.Set("tlp", string(inc.TLP))
	form.Set("category", "0")
	if form.Get("occurred_at") != "2026-11-20T08:30" || form.Get("orig_occurred_at") != "2026-11-20T08:30" {
		t.Fatalf("form times: %v", form)
	}
	resp, body := b.post(path, form)
	wantStatus(t, resp, body, http.StatusSeeOther)
	got, _ := e.svc.Incidents.FindIncidentByID(as(u), inc.ID)
	if got.Version != inc.Version || !got.Times.OccurredAt.Equal(occurred) || got.Summary != inc.Summary {
		t.Errorf("an untouched save changed the incident: version %d -> %d, occurred %v, summary %q", inc.Version, got.Version, got.Times.OccurredAt, got.Summary)
	}
}

// TestOneTimePassword: a user with a one-time password is sent to the
// account page from every other page until they choose their own.
func TestOneTimePassword(t *testing.T) {
	e := newEnv(t)
	u := &vigil.User{Username: "otto", Name: "Otto", Role: vigil.RoleAdmin, MustChangePassword: true}
	if err := e.svc.Users.CreateUser(system(), u, testPassword); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	resp, _ := b.post("/login", url.Values{"username": {"otto"}, "password": {testPassword}, "next": {"/incidents"}})
	wantStatus(t, resp, "", http.StatusSeeOther)
	for _, path := range []string{"/", "/incidents", "/alerts", "/admin/users"} {
		resp, _ := b.get(path)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account" {
			t.Errorf("%s: %d to %q", path, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	resp, body := b.get("/account")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "one-time password") {
		t.Errorf("account page:\n%s", excerpt(body))
	}
	resp, body = b.post("/account/password", url.Values{"current_password": {testPassword}, "new_password": {"a brand new passphrase"}, "confirm_password": {"a brand new passphrase"}})
	if resp.StatusCode >= 400 {
		t.Fatalf("change: %d\n%s", resp.StatusCode, excerpt(body))
	}
	b = e.browser()
	b.post("/login", url.Values{"username": {"otto"}, "password": {"a brand new passphrase"}, "next": {"/"}})
	resp, body = b.get("/incidents")
	if resp.StatusCode != http.StatusOK {
		t.Errorf("after choosing a password, /incidents: %d\n%s", resp.StatusCode, excerpt(body))
	}
}

// TestSavedViews saves the list's filters under a name, finds the view on
// the list and the dashboard, opens it and deletes it.
func TestSavedViews(t *testing.T) {
	e := newEnv(t)
	e.user("rita", vigil.RoleResponder)
	b := e.login("rita")
	resp, body := b.get("/incidents?status=triage&severity=high&cursor=")
	wantStatus(t, resp, body, http.StatusOK)
	if !strings.Contains(body, "Save this view as") {
		t.Fatalf("no save form on a filtered list:\n%s", excerpt(body))
	}
	resp, body = b.post("/views", url.Values{"name": {"Hot triage"}, "query": {"severity=high&status=triage"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	if loc := resp.Header.Get("Location"); loc != "/incidents?severity=high&status=triage" {
		t.Errorf("saved, then to %q", loc)
	}
	_, body = b.get("/")
	if !strings.Contains(body, `href="/incidents?severity=high&amp;status=triage">Hot triage</a>`) {
		t.Errorf("dashboard lacks the view:\n%s", excerpt(body))
	}
	// The same name again is refused with a message, not an error page.
	resp, _ = b.post("/views", url.Values{"name": {"Hot triage"}, "query": {"status=confirmed"}})
	wantStatus(t, resp, "", http.StatusSeeOther)
	_, body = b.get(resp.Header.Get("Location"))
	if !strings.Contains(body, "already") {
		t.Errorf("duplicate view name:\n%s", excerpt(body))
	}
	views, _ := e.svc.Views.FindViews(as(&vigil.User{ID: 1, Role: vigil.RoleResponder}))
	if len(views) != 1 {
		t.Fatalf("views: %+v", views)
	}
	resp, body = b.post(fmt.Sprintf("/views/%d/delete", views[0].ID), url.Values{})
	wantStatus(t, resp, body, http.StatusSeeOther)
	_, body = b.get("/incidents")
	if strings.Contains(body, "Hot triage") {
		t.Error("the deleted view is still listed")
	}
}

// TestDutiesOnPages: an incident with personal data shows the ICO duty with
// its countdown and a draft; a manager records it as submitted; the
// dashboard lists what is due soon.
func TestDutiesOnPages(t *testing.T) {
	e := newEnv(t)
	lena := e.user("lena", vigil.RoleManager)
	e.user("vic", vigil.RoleViewer)
	inc := e.incident(as(lena), &vigil.Incident{Title: "Payroll file sent to the wrong firm", Status: vigil.StatusConfirmed, PersonalData: true})
	other := e.incident(as(lena), &vigil.Incident{Title: "Lost laptop with patient letters", Status: vigil.StatusConfirmed, PersonalData: true})
	b := e.login("lena")
	resp, body := b.get(fmt.Sprintf("/incidents/%d", inc.ID))
	wantStatus(t, resp, body, http.StatusOK)
	for _, want := range []string{"Reporting duties", "Notify the ICO of the personal data breach", "data-due=", "in 2 d 23 h", "Record it",
		inc.Reference, "Art. 33(3)(a)", "Record the breach in the breach register",
		// Each stage cites its source, beside the duty and in the draft.
		`<a href="https://www.legislation.gov.uk/eur/2016/679/article/33" rel="noopener noreferrer" class="cite">UK GDPR Art. 33(1)`,
		"Source: &lt;https://www.legislation.gov.uk/eur/2016/679/article/33&gt;"} {
		if !strings.Contains(body, want) {
			t.Errorf("incident page lacks %q", want)
		}
	}
	obs, _ := e.svc.Duties.FindObligations(as(lena), inc.ID)
	ico := obs[0]
	resp, body = b.post(fmt.Sprintf("/incidents/%d/duties/%d/submit", inc.ID, ico.ID), url.Values{"reference": {"ICO/2026/123"},
		"text": {"We report a breach."}, "version": {fmt.Sprint(ico.Version)}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	_, body = b.get(fmt.Sprintf("/incidents/%d", inc.ID))
	if !strings.Contains(body, "Submitted") || !strings.Contains(body, "ICO/2026/123") || strings.Contains(body, "Reasons for the delay") {
		t.Errorf("after submitting:\n%s", excerpt(body))
	}
	// Awareness corrected to 80 hours ago: the submission was late, and
	// the page asks for the reasons for the delay.
	cur, _ := e.svc.Incidents.FindIncidentByID(as(lena), inc.ID)
	if _, err := e.svc.Incidents.UpdateIncident(as(lena), inc.ID, vigil.IncidentUpdate{Version: cur.Version,
		Times: vigil.IncidentTimesUpdate{AwareAt: vigil.NullableOf(time.Now().Add(-80 * time.Hour))}}); err != nil {
		t.Fatal(err)
	}
	_, body = b.get(fmt.Sprintf("/incidents/%d", inc.ID))
	if !strings.Contains(body, "Reasons for the delay") || !strings.Contains(body, fmt.Sprintf("/duties/%d/late-reason", ico.ID)) {
		t.Errorf("no reasons asked for after the correction:\n%s", excerpt(body))
	}
	late, _ := e.svc.Duties.FindObligationByID(as(lena), ico.ID)
	resp, body = b.post(fmt.Sprintf("/incidents/%d/duties/%d/late-reason", inc.ID, ico.ID), url.Values{"late_reason": {"The logs were read on day four."},
		"version": {fmt.Sprint(late.Version)}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	_, body = b.get(fmt.Sprintf("/incidents/%d", inc.ID))
	if !strings.Contains(body, "The logs were read on day four.") || strings.Contains(body, "/late-reason") {
		t.Errorf("after giving the reasons:\n%s", excerpt(body))
	}
	_, body = b.get("/")
	if !strings.Contains(body, "Reporting duties due soon") || !strings.Contains(body, other.Reference) {
		t.Errorf("dashboard:\n%s", excerpt(body))
	}
	// A viewer sees the duties but cannot record them.
	v := e.login("vic")
	_, body = v.get(fmt.Sprintf("/incidents/%d", other.ID))
	if !strings.Contains(body, "Notify the ICO") || strings.Contains(body, "Record it") {
		t.Error("viewer's duties section")
	}
	resp, _ = v.post(fmt.Sprintf("/incidents/%d/duties/%d/submit", other.ID, ico.ID+2), url.Values{"reference": {"x"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer submits: %d", resp.StatusCode)
	}
}

// TestContactsOnPages: a manager adds the DPO; an incident with personal
// data shows the DPO and the ICO's public route under "Who to call".
func TestContactsOnPages(t *testing.T) {
	e := newEnv(t)
	lena := e.user("lena", vigil.RoleManager)
	e.user("vic", vigil.RoleViewer)
	b := e.login("lena")
	resp, body := b.post("/admin/contacts", url.Values{"name": {"Dana Patel"}, "email": {"not-an-address"}, "roles": {"dpo"}})
	wantStatus(t, resp, body, http.StatusBadRequest)
	if !strings.Contains(body, "not an e-mail address") || !strings.Contains(body, "Dana Patel") {
		t.Errorf("form errors:\n%s", excerpt(body))
	}
	resp, body = b.post("/admin/contacts", url.Values{"name": {"Dana Patel"}, "email": {"dpo@anytown.example"}, "phone": {"01632 960000"}, "roles": {"dpo", "legal"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	inc := e.incident(as(lena), &vigil.Incident{Title: "Payroll file sent to the wrong firm", Status: vigil.StatusConfirmed, PersonalData: true})
	v := e.login("vic")
	_, body = v.get(fmt.Sprintf("/incidents/%d", inc.ID))
	for _, want := range []string{"Who to call", "Dana Patel", `href="tel:01632%20960000"`, "Information Commissioner", "0303 123 1113"} {
		if !strings.Contains(body, want) {
			t.Errorf("incident page lacks %q", want)
		}
	}
	if resp, _ := v.get("/admin/contacts"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer opens the contacts admin page: %d", resp.StatusCode)
	}
}

// TestNotificationsPage: an admin adds channels (a bad one first), sees a
// webhook's secret once and tests a channel; a responder subscribes by
// e-mail to their own address and sees only the e-mail channels.
func TestNotificationsPage(t *testing.T) {
	e := newEnv(t)
	e.user("ada", vigil.RoleAdmin)
	rita := e.user("rita", vigil.RoleResponder)
	email := "rita@example.org"
	if _, err := e.svc.Users.UpdateUser(system(), rita.ID, vigil.UserUpdate{Email: &email, Version: rita.Version}); err != nil {
		t.Fatal(err)
	}
	a := e.login("ada")
	_, body := a.get("/notifications")
	if !strings.Contains(body, "No channels yet") || !strings.Contains(body, "Nothing sent yet") {
		t.Errorf("empty page:\n%s", excerpt(body))
	}
	resp, body := a.post("/notifications/channels", url.Values{"name": {"SOC mail"}, "kind": {"email"}, "smtp_host": {"smtp.example.org"}, "smtp_from": {"nope"}})
	wantStatus(t, resp, body, http.StatusBadRequest)
	if !strings.Contains(body, "sender&#39;s e-mail address") || !strings.Contains(body, `value="smtp.example.org"`) {
		t.Errorf("form errors:\n%s", excerpt(body))
	}
	resp, body = a.post("/notifications/channels", url.Values{"name": {"SOC mail"}, "kind": {"email"}, "smtp_host": {"smtp.example.org"},
		"smtp_from": {"vigil@example.org"}, "smtp_to": {"soc@example.org, dpo@example.org"}, "smtp_password": {"pw"}, "escalation": {"on"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	// An internal receiver is refused at save time (no allow-list here).
	resp, body = a.post("/notifications/channels", url.Values{"name": {"SIEM"}, "kind": {"webhook"}, "url": {"http://127.0.0.1:9200/"}})
	wantStatus(t, resp, body, http.StatusBadRequest)
	if !strings.Contains(body, "loopback address") || !strings.Contains(body, `value="http://127.0.0.1:9200/"`) {
		t.Errorf("internal webhook form errors:\n%s", excerpt(body))
	}
	resp, body = a.post("/notifications/channels", url.Values{"name": {"SIEM"}, "kind": {"webhook"}, "url": {"https://siem.example.org/in"}})
	wantStatus(t, resp, body, http.StatusCreated)
	if !strings.Contains(body, `id="created-secret">whsec_`) {
		t.Errorf("webhook secret not shown:\n%s", excerpt(body))
	}
	_, body = a.get("/notifications")
	if strings.Contains(body, "whsec_") || !strings.Contains(body, "smtp.example.org:587 (starttls)") || !strings.Contains(body, "escalations") {
		t.Errorf("channels table:\n%s", excerpt(body))
	}
	chans, _ := e.svc.Notify.FindChannels(system())
	var mailID int64
	for _, c := range chans {
		if c.Kind == vigil.ChannelEmail {
			mailID = c.ID
		}
	}
	resp, body = a.post(fmt.Sprintf("/notifications/channels/%d/test", mailID), url.Values{})
	wantStatus(t, resp, body, http.StatusSeeOther)
	_, body = a.get("/notifications")
	if !strings.Contains(body, "Vigil: test notification") || !strings.Contains(body, "pending") {
		t.Errorf("delivery log:\n%s", excerpt(body))
	}

	r := e.login("rita")
	_, body = r.get("/notifications")
	if strings.Contains(body, "SIEM") || !strings.Contains(body, "SOC mail (email)") || strings.Contains(body, "Add a channel") {
		t.Errorf("responder's page:\n%s", excerpt(body))
	}
	resp, body = r.post("/notifications/subscriptions", url.Values{"channel_id": {fmt.Sprint(mailID)}})
	wantStatus(t, resp, body, http.StatusBadRequest)
	if !strings.Contains(body, "at least one event") {
		t.Errorf("subscription errors:\n%s", excerpt(body))
	}
	resp, body = r.post("/notifications/subscriptions", url.Values{"channel_id": {fmt.Sprint(mailID)}, "events": {"assigned", "duty.due_soon"}, "mine": {"on"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	_, body = r.get("/notifications")
	if !strings.Contains(body, "rita@example.org") || !strings.Contains(body, "Only mine") {
		t.Errorf("subscription list:\n%s", excerpt(body))
	}
	if resp, _ := r.post(fmt.Sprintf("/notifications/channels/%d/delete", mailID), url.Values{}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("responder removes a channel: %d", resp.StatusCode)
	}
}

// TestDutyPacksPage: an admin sees the packs in force, a broken pack is
// refused with every problem named and the text kept, and a good one
// replaces the shipped pack until removed.
func TestDutyPacksPage(t *testing.T) {
	e := newEnv(t)
	e.user("ada", vigil.RoleAdmin)
	e.user("mia", vigil.RoleManager)
	a := e.login("ada")
	_, body := a.get("/admin/duty-packs")
	for _, want := range []string{"UK GDPR", "as shipped", `id="body-uk-ncsc"`,
		`<a href="https://eur-lex.europa.eu/eli/dir/2022/2555/oj" rel="noopener noreferrer">NIS2 Art. 23(4)(a)`, "a bill, not yet law"} {
		if !strings.Contains(body, want) {
			t.Errorf("packs page lacks %q", want)
		}
	}
	bad := `{"id":"insurer","name":"","version":1,"duties":[{"id":"notify","clock":"lunch"}]}`
	resp, body := a.post("/admin/duty-packs", url.Values{"edit": {"new"}, "body": {bad}})
	wantStatus(t, resp, body, http.StatusBadRequest)
	for _, want := range []string{"<code>name</code>", "<code>duties[0].clock</code>", html.EscapeString(`"clock":"lunch"`)} {
		if !strings.Contains(body, want) {
			t.Errorf("refusal lacks %q:\n%s", want, excerpt(body))
		}
	}
	good := `{"id":"uk-ncsc","name":"NCSC (ours)","version":9,"basis":"Our policy","duties":[{"id":"tell","title":"Tell the NCSC",
		"authority":"NCSC","basis":"Policy 1","clock":"aware_at","when":{"fact":"significant","eq":true},
		"stages":[{"id":"report","name":"Report","due":"12h"}]}]}`
	resp, body = a.post("/admin/duty-packs", url.Values{"edit": {"uk-ncsc"}, "body": {good}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	_, body = a.get("/admin/duty-packs")
	if !strings.Contains(body, "NCSC (ours)") || !strings.Contains(body, "changed here") || !strings.Contains(body, "no citation of its own") {
		t.Errorf("saved pack not shown:\n%s", excerpt(body))
	}
	resp, body = a.post("/admin/duty-packs/uk-ncsc/delete", url.Values{})
	wantStatus(t, resp, body, http.StatusSeeOther)
	if _, body = a.get("/admin/duty-packs"); strings.Contains(body, "NCSC (ours)") {
		t.Error("removing the admin's pack did not bring the shipped one back")
	}
	if resp, _ := e.login("mia").get("/admin/duty-packs"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a manager opens the packs page: %d", resp.StatusCode)
	}
}

// TestDutyOnRequestPage: NIS2's intermediate report is listed as owed on
// request; a manager records the CSIRT's request and its deadline, and it
// becomes a duty with a countdown.
func TestDutyOnRequestPage(t *testing.T) {
	e := newEnv(t)
	ada := e.user("ada", vigil.RoleAdmin)
	lena := e.user("lena", vigil.RoleManager)
	if err := e.svc.Duties.UpdateProfile(as(ada), &vigil.OrgProfile{Jurisdictions: []string{"IE"}, Timezone: "UTC", NIS2: "important"}); err != nil {
		t.Fatal(err)
	}
	inc := e.incident(as(lena), &vigil.Incident{Title: "Grid telemetry lost", Status: vigil.StatusConfirmed, Significant: true})
	var inter *vigil.Obligation
	obs, _ := e.svc.Duties.FindObligations(as(lena), inc.ID)
	for _, o := range obs {
		if o.Stage == "intermediate" {
			inter = o
		}
	}
	b := e.login("lena")
	_, body := b.get(fmt.Sprintf("/incidents/%d", inc.ID))
	action := fmt.Sprintf("/incidents/%d/duties/%d/request", inc.ID, inter.ID)
	if !strings.Contains(body, "On request") || !strings.Contains(body, action) {
		t.Fatalf("no request form:\n%s", excerpt(body))
	}
	resp, body := b.post(action, url.Values{"due_at": {"2030-01-02T12:00"}, "version": {fmt.Sprint(inter.Version)}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	got, _ := e.svc.Duties.FindObligationByID(as(lena), inter.ID)
	if got.Status != vigil.ObligationPending || got.DueAt == nil || !got.DueAt.Equal(time.Date(2030, 1, 2, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("after the request: %s due %v", got.Status, got.DueAt)
	}
	_, body = b.get(fmt.Sprintf("/incidents/%d", inc.ID))
	if strings.Contains(body, action) || !strings.Contains(body, fmt.Sprintf(`id="duty-%d"`, inter.ID)) {
		t.Errorf("after the request:\n%s", excerpt(body))
	}
	// Sent, the stage is there for the CSIRT's next request.
	resp, body = b.post(fmt.Sprintf("/incidents/%d/duties/%d/submit", inc.ID, inter.ID), url.Values{"reference": {"CSIRT-1"}, "text": {"Update"},
		"version": {fmt.Sprint(got.Version)}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	var again *vigil.Obligation
	obs, _ = e.svc.Duties.FindObligations(as(lena), inc.ID)
	for _, o := range obs {
		if o.Stage == "intermediate" && o.Round == 2 {
			again = o
		}
	}
	if again == nil || again.Status != vigil.ObligationOnRequest {
		t.Fatalf("no second request listed: %+v", obs)
	}
	_, body = b.get(fmt.Sprintf("/incidents/%d", inc.ID))
	if !strings.Contains(body, fmt.Sprintf("/incidents/%d/duties/%d/request", inc.ID, again.ID)) || !strings.Contains(body, "(request 2)") {
		t.Errorf("the next request is not offered:\n%s", excerpt(body))
	}
}

// TestDutyVoluntaryPage: a DORA entity flags a significant cyber threat
// from the new incident form; the page lists the notification as
// voluntary, with no countdown, and offers to record it as sent or that
// it will not be sent.
func TestDutyVoluntaryPage(t *testing.T) {
	e := newEnv(t)
	ada := e.user("ada", vigil.RoleAdmin)
	lena := e.user("lena", vigil.RoleManager)
	if err := e.svc.Duties.UpdateProfile(as(ada), &vigil.OrgProfile{Jurisdictions: []string{"IE"}, Timezone: "UTC", DORA: true}); err != nil {
		t.Fatal(err)
	}
	b := e.login("lena")
	resp, body := b.post("/incidents", url.Values{"title": {"Exploit kit for our core banking platform on sale"}, "type": {"other"},
		"severity": {"medium"}, "tlp": {"AMBER"}, "category": {"0"}, "significant_cyber_threat": {"1"}, "confirmed": {"1"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	path := strings.Split(resp.Header.Get("Location"), "#")[0]
	var id int64
	fmt.Sscanf(path, "/incidents/%d", &id)
	inc, err := e.svc.Incidents.FindIncidentByID(as(lena), id)
	if err != nil || !inc.SignificantCyberThreat {
		t.Fatalf("created %+v, %v", inc, err)
	}
	var n *vigil.Obligation
	obs, _ := e.svc.Duties.FindObligations(as(lena), id)
	for _, o := range obs {
		if o.Duty == "cyber-threat" {
			n = o
		}
	}
	if n == nil || n.Status != vigil.ObligationOptional {
		t.Fatalf("voluntary notification: %+v", n)
	}
	_, body = b.get(path)
	block := body[strings.Index(body, fmt.Sprintf(`id="duty-%d"`, n.ID)):]
	block = block[:strings.Index(block, "</section>")] // the last duty: voluntary ones come after the rest
	for _, want := range []string{"Significant cyber threat", "Voluntary", "no deadline", "It was sent", "Not sending it, because",
		fmt.Sprintf("/incidents/%d/duties/%d/submit", id, n.ID), "DORA Art. 19(2)"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q:\n%s", want, excerpt(body))
		}
	}
	if strings.Contains(block, "countdown") {
		t.Errorf("a countdown on the voluntary notification:\n%s", block)
	}
	resp, body = b.post(fmt.Sprintf("/incidents/%d/duties/%d/submit", id, n.ID), url.Values{"reference": {"T-7"}, "text": {"Annex III"},
		"version": {fmt.Sprint(n.Version)}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	if got, _ := e.svc.Duties.FindObligationByID(as(lena), n.ID); got.Status != vigil.ObligationSubmitted || got.Reference != "T-7" {
		t.Errorf("after recording it: %+v", got)
	}
}
