package web_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/vigil-ir/vigil"
)

// org creates a member organisation.
func (e *env) org(slug, name string) *vigil.Organisation {
	e.t.Helper()
	o := &vigil.Organisation{Slug: slug, Name: name}
	if err := e.svc.Orgs.CreateOrganisation(system(), o); err != nil {
		e.t.Fatal(err)
	}
	return o
}

// orgUser creates a user with a role in each organisation given (slug to
// role; "default" for the default organisation).
func (e *env) orgUser(username string, roles map[string]vigil.Role) *vigil.User {
	e.t.Helper()
	u := &vigil.User{Username: username, Name: strings.ToUpper(username[:1]) + username[1:], Role: roles[vigil.DefaultOrganisationSlug]}
	if err := e.svc.Users.CreateUser(system(), u, testPassword); err != nil {
		e.t.Fatal(err)
	}
	for slug, r := range roles {
		if slug != vigil.DefaultOrganisationSlug {
			if _, err := e.svc.Orgs.AddMember(system(), slug, username, r); err != nil {
				e.t.Fatal(err)
			}
		}
	}
	return u
}

// orgIncident creates an incident in organisation slug.
func (e *env) orgIncident(slug, title string) *vigil.Incident {
	e.t.Helper()
	inc := &vigil.Incident{Title: title, Organisation: slug}
	if err := e.svc.Incidents.CreateIncident(system(), inc); err != nil {
		e.t.Fatal(err)
	}
	return inc
}

var hrefRE = regexp.MustCompile(`href="(/[^"#]*)`)

// crawl follows every link on this site from start, as far as limit
// pages, and returns each page's status by path.
func (b *browser) crawl(limit int, start ...string) map[string]int {
	seen := map[string]int{}
	queue := start
	for len(queue) > 0 && len(seen) < limit {
		p := html.UnescapeString(queue[0])
		queue = queue[1:]
		if _, ok := seen[p]; ok || strings.HasPrefix(p, "/static/") {
			continue
		}
		resp, body := b.get(p)
		seen[p] = resp.StatusCode
		if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			for _, m := range hrefRE.FindAllStringSubmatch(body, -1) {
				queue = append(queue, m[1])
			}
		}
	}
	return seen
}

// TestMemberOnlyUser: someone who belongs only to a member organisation,
// with no role in the default one, uses the incident pages; the header
// offers only what they may use, and the rest answers 403 with a reason.
func TestMemberOnlyUser(t *testing.T) {
	e := newEnv(t)
	ada := e.user("ada", vigil.RoleAdmin)
	e.org("acme", "Acme Ltd")
	e.orgUser("mo", map[string]vigil.Role{"acme": vigil.RoleManager})
	theirs := e.orgIncident("acme", "Acme: invoice fraud attempt")
	ours := e.incident(as(ada), &vigil.Incident{Title: "Coordinator: DDoS on the portal"})
	if err := e.svc.Tasks.CreateTask(system(), &vigil.Task{IncidentID: theirs.ID, Title: "Call the bank"}); err != nil {
		t.Fatal(err)
	}
	b := e.login("mo")

	// Every link from the dashboard leads to a page that works.
	for path, status := range b.crawl(150, "/") {
		if status != http.StatusOK {
			t.Errorf("%s: status %d (a link the member was offered)", path, status)
		}
	}

	_, body := b.get("/")
	for _, want := range []string{`href="/incidents"`, `href="/incidents/new"`, `<span class="orgname">Acme Ltd</span>`,
		`<span class="role">manager</span>`, `href="/report/acme">Staff report page: Acme Ltd`} {
		if !strings.Contains(body, want) {
			t.Errorf("the header lacks %s", want)
		}
	}
	for _, hidden := range []string{`href="/alerts"`, `href="/insights"`, `href="/preparedness"`, `href="/admin/users"`, `href="/admin/audit"`,
		`href="/admin/organisations"`, `href="/report">`} {
		if strings.Contains(body, hidden) {
			t.Errorf("the header offers %s", hidden)
		}
	}
	// The coordinator's pages answer 403, saying why.
	for _, p := range []string{"/alerts", "/intel", "/plans", "/preparedness", "/exercises", "/admin/users", "/admin/audit",
		"/admin/integrations", "/admin/contacts", "/admin/duty-packs", "/admin/organisations"} {
		resp, body := b.get(p)
		wantStatus(t, resp, body, http.StatusForbidden)
		if p != "/admin/organisations" && !strings.Contains(body, "the organisation that runs this Vigil") {
			t.Errorf("%s: the 403 does not say why:\n%s", p, excerpt(body))
		}
	}
	// Their organisation's incidents only.
	_, body = b.get("/incidents")
	if !strings.Contains(body, theirs.Title) || strings.Contains(body, ours.Title) {
		t.Errorf("the member's list:\n%s", excerpt(body))
	}
	if strings.Contains(body, ">Organisation<") {
		t.Error("one organisation's list has an Organisation column")
	}
	resp, body := b.get(fmt.Sprintf("/incidents/%d", ours.ID))
	wantStatus(t, resp, body, http.StatusNotFound)
	resp, body = b.get(fmt.Sprintf("/incidents/%d", theirs.ID))
	wantStatus(t, resp, body, http.StatusOK)
	for _, want := range []string{"Edit details", "Add a task", `id="incident-org">Acme Ltd<`, `<option value="`} {
		if !strings.Contains(body, want) {
			t.Errorf("the member's incident page lacks %q", want)
		}
	}
	// The people to choose from are their organisation's members.
	if !strings.Contains(body, ">Mo</option>") {
		t.Errorf("the member is not offered as an assignee:\n%s", excerpt(body))
	}

	// A new incident goes to their organisation; the form asks nothing.
	_, body = b.get("/incidents/new")
	if strings.Contains(body, `id="n-org"`) {
		t.Error("the new-incident form asks a member of one organisation which")
	}
	resp, body = b.post("/incidents", url.Values{"title": {"Acme: lost laptop"}, "type": {"other"}, "severity": {"medium"}, "tlp": {"AMBER"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	page, err := e.svc.Incidents.FindIncidents(system(), vigil.IncidentFilter{Query: "lost laptop"})
	if err != nil || len(page.Items) != 1 || page.Items[0].Organisation != "acme" {
		t.Fatalf("the member's new incident: %+v, %v", page, err)
	}
	// Their account page names their role.
	_, body = b.get("/account")
	if !strings.Contains(body, "(manager in Acme Ltd)") {
		t.Errorf("the account page:\n%s", excerpt(body))
	}
}

// TestSingleOrganisationPages: with the default organisation alone, no
// page shows organisations.
func TestSingleOrganisationPages(t *testing.T) {
	e := newEnv(t)
	ada := e.user("ada", vigil.RoleAdmin)
	e.user("rita", vigil.RoleResponder)
	inc := e.incident(as(ada), &vigil.Incident{Title: "Phishing"})
	// Another organisation exists, but Rita belongs to the default one only.
	e.org("acme", "Acme Ltd")
	b := e.login("rita")
	for _, p := range []string{"/", "/incidents", "/incidents/new", fmt.Sprintf("/incidents/%d", inc.ID), "/account"} {
		resp, body := b.get(p)
		wantStatus(t, resp, body, http.StatusOK)
		for _, s := range []string{"orgswitch", "orgname", "Organisation", "incident-org", `name="organisation"`, "/report/", "organisation="} {
			if strings.Contains(body, s) {
				t.Errorf("%s shows %q", p, s)
			}
		}
	}
	_, body := b.get("/")
	for _, link := range []string{`href="/incidents?open=true"`, `href="/incidents?status=triage"`, `href="/report">Staff report page</a>`} {
		if !strings.Contains(body, link) {
			t.Errorf("the dashboard lacks %s", link)
		}
	}
}

// TestSeveralOrganisations: a member of several organisations sees the
// organisation on the list and the incident page, filters by it, chooses
// it for a new incident, and sets a current one for the session.
func TestSeveralOrganisations(t *testing.T) {
	e := newEnv(t)
	ada := e.user("ada", vigil.RoleAdmin)
	e.org("acme", "Acme Ltd")
	beta := e.org("beta", "Beta Water")
	e.orgUser("sam", map[string]vigil.Role{vigil.DefaultOrganisationSlug: vigil.RoleViewer, "acme": vigil.RoleResponder, "beta": vigil.RoleResponder})
	a := e.orgIncident("acme", "Acme: ransomware on a file server")
	bi := e.orgIncident("beta", "Beta: SCADA alarm")
	d := e.incident(as(ada), &vigil.Incident{Title: "Coordinator: phishing wave"})
	b := e.login("sam")

	_, body := b.get("/incidents")
	for _, want := range []string{`<th scope="col">Organisation</th>`, `<td>Acme Ltd</td>`, `<td>Beta Water</td>`, `<td>Default organisation</td>`,
		`id="f-org"`, `id="org-current"`, a.Title, bi.Title, d.Title} {
		if !strings.Contains(body, want) {
			t.Errorf("the list lacks %q", want)
		}
	}
	_, body = b.get("/incidents?organisation=acme")
	if !strings.Contains(body, a.Title) || strings.Contains(body, bi.Title) || strings.Contains(body, d.Title) {
		t.Errorf("filtered to acme:\n%s", excerpt(body))
	}

	// The current organisation filters the list until changed.
	resp, body := b.post("/account/organisation", url.Values{"organisation": {"beta"}, "next": {"/incidents?organisation=acme"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	if loc := resp.Header.Get("Location"); loc != "/incidents" {
		t.Errorf("after switching: to %q, want /incidents", loc)
	}
	_, body = b.get("/incidents")
	if !strings.Contains(body, bi.Title) || strings.Contains(body, a.Title) || !strings.Contains(body, `<option value="beta" selected>`) {
		t.Errorf("the list with beta current:\n%s", excerpt(body))
	}
	if strings.Contains(body, ">Clear</a>") {
		t.Error("the current organisation counts as a filter to clear")
	}
	// The dashboard counts all of Sam's organisations, and its links list
	// what it counted.
	_, body = b.get("/")
	if !strings.Contains(body, `href="/incidents?status=triage&amp;organisation="`) || !strings.Contains(body, `href="/incidents?open=true&amp;organisation="`) {
		t.Errorf("the dashboard's links with a current organisation:\n%s", excerpt(body))
	}
	// Search from the header searches the current organisation too.
	_, body = b.get("/incidents?q=alarm")
	if !strings.Contains(body, bi.Title) {
		t.Errorf("search in beta:\n%s", excerpt(body))
	}
	// "All my organisations" in the filter overrides it, page after page.
	_, body = b.get("/incidents?organisation=&limit=1")
	m := regexp.MustCompile(`href="(/incidents\?[^"]*cursor=[^"]*)">Next page`).FindStringSubmatch(body)
	if m == nil || !strings.Contains(html.UnescapeString(m[1]), "organisation=&") && !strings.HasSuffix(html.UnescapeString(m[1]), "organisation=") {
		t.Fatalf("the next page's link drops the choice of all organisations: %v\n%s", m, excerpt(body))
	}
	_, body = b.get(html.UnescapeString(m[1]))
	if !strings.Contains(body, "Next page") {
		t.Errorf("the second page of all three is the last:\n%s", excerpt(body))
	}

	// The new-incident form asks which organisation, beta first (the
	// current one); the default organisation, where Sam is a viewer, is
	// not offered.
	_, body = b.get("/incidents/new")
	field := regexp.MustCompile(`<select id="n-org"[\s\S]*?</select>`).FindString(body)
	if !strings.Contains(field, `<option value="beta" selected>Beta Water</option>`) || !strings.Contains(field, `<option value="acme" >Acme Ltd</option>`) ||
		strings.Contains(field, `<option value="default"`) {
		t.Errorf("the organisation field: %s", field)
	}
	resp, body = b.post("/incidents", url.Values{"title": {"Where does this go?"}, "type": {"other"}, "severity": {"medium"}, "tlp": {"AMBER"}})
	wantStatus(t, resp, body, http.StatusBadRequest)
	if got := fieldError(body, "n-org"); got != "Choose the organisation the incident belongs to." {
		t.Errorf("no error beside the organisation field:\n%s", excerpt(body))
	}
	resp, body = b.post("/incidents", url.Values{"organisation": {"acme"}, "title": {"Acme: a second server"}, "type": {"other"}, "severity": {"medium"}, "tlp": {"AMBER"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	page, err := e.svc.Incidents.FindIncidents(system(), vigil.IncidentFilter{Query: "second server"})
	if err != nil || len(page.Items) != 1 || page.Items[0].Organisation != "acme" {
		t.Fatalf("the new incident: %+v, %v", page, err)
	}
	// Not an organisation of theirs: refused, nothing set.
	resp, body = b.post("/account/organisation", url.Values{"organisation": {"nowhere"}, "next": {"/"}})
	wantStatus(t, resp, body, http.StatusBadRequest)
	// Back to all.
	resp, body = b.post("/account/organisation", url.Values{"organisation": {""}, "next": {"/"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	_, body = b.get("/incidents")
	if !strings.Contains(body, a.Title) || !strings.Contains(body, bi.Title) {
		t.Errorf("all organisations again:\n%s", excerpt(body))
	}

	// The incident page offers what Sam may do in its organisation: work
	// on acme's, read the coordinator's (a viewer there).
	for _, c := range []struct {
		inc  *vigil.Incident
		org  string
		edit bool
	}{{a, "Acme Ltd", true}, {d, "Default organisation", false}} {
		_, body := b.get(fmt.Sprintf("/incidents/%d", c.inc.ID))
		if !strings.Contains(body, `id="incident-org">`+c.org+`<`) {
			t.Errorf("%s: the page does not name %s", c.inc.Title, c.org)
		}
		for _, control := range []string{"Edit details", "Add a note", "Add a task"} {
			if strings.Contains(body, control) != c.edit {
				t.Errorf("%s: %q shown %v, want %v", c.inc.Title, control, !c.edit, c.edit)
			}
		}
		if !strings.Contains(body, `href="/incidents/new"`) {
			t.Errorf("%s: the header lost New incident", c.inc.Title)
		}
	}

	// A suspended organisation: read-only, and not offered for new incidents.
	if _, err := e.svc.Orgs.UpdateOrganisation(system(), "beta", vigil.OrganisationUpdate{Suspended: new(true), Version: beta.Version}); err != nil {
		t.Fatal(err)
	}
	_, body = b.get(fmt.Sprintf("/incidents/%d", bi.ID))
	if !strings.Contains(body, "Beta Water is suspended: its incidents are read-only.") || strings.Contains(body, "Edit details") {
		t.Errorf("a suspended organisation's incident:\n%s", excerpt(body))
	}
	_, body = b.get("/incidents/new")
	if strings.Contains(body, `id="n-org"`) {
		t.Error("the form still asks, with acme the only organisation open to Sam")
	}
}

// fieldError returns the error shown beside the form field id (before
// the form's next label or button), or "".
func fieldError(body, id string) string {
	i := strings.Index(body, `id="`+id+`"`)
	if i < 0 {
		return ""
	}
	rest := body[i+len(id)+5:]
	end := len(rest)
	for _, next := range []string{"<label", "<button"} {
		if j := strings.Index(rest, next); j >= 0 && j < end {
			end = j
		}
	}
	m := regexp.MustCompile(`<p class="field-error" role="alert">([^<]*)</p>`).FindStringSubmatch(rest[:end])
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// TestOrganisationAdminPages: the install's administrators create,
// change, suspend and resume organisations and manage members; an
// organisation's own administrators manage theirs; nobody else does.
func TestOrganisationAdminPages(t *testing.T) {
	e := newEnv(t)
	e.user("ada", vigil.RoleAdmin)
	e.user("rita", vigil.RoleResponder)
	ada := e.login("ada")

	resp, body := ada.get("/admin/organisations")
	wantStatus(t, resp, body, http.StatusOK)
	if !strings.Contains(body, "Default organisation") || !strings.Contains(body, `action="/admin/organisations"`) {
		t.Errorf("the organisations page:\n%s", excerpt(body))
	}
	// One Admin tab, and on each administration page every other one.
	if _, body := ada.get("/"); !strings.Contains(body, `href="/admin/users" >Admin</a>`) {
		t.Errorf("no Admin tab:\n%s", excerpt(body))
	} else if menu := body[strings.Index(body, `class="usermenu"`):]; strings.Contains(menu[:strings.Index(menu, "</details>")], "/admin/") {
		t.Errorf("administration pages in the user menu:\n%s", menu)
	}
	if _, body := ada.get("/admin/users"); !strings.Contains(body, `<nav class="adminnav"`) || !strings.Contains(body, `href="/admin/organisations"`) || !strings.Contains(body, `href="/admin/audit"`) {
		t.Error("the install's administrator has no link to the organisations among the administration pages")
	}

	// Every error beside its field, the input kept.
	resp, body = ada.post("/admin/organisations", url.Values{"name": {""}, "slug": {"Acme Ltd!"}, "sector": {"Retail"},
		"contact_email": {"not an address"}, "contact_phone": {strings.Repeat("1", 60)}})
	wantStatus(t, resp, body, http.StatusBadRequest)
	for id, want := range map[string]string{"o-name": "Give the organisation a name.", "o-slug": "A slug is", "o-email": "Not a valid e-mail address.",
		"o-phone": "at most 50 characters"} {
		if got := fieldError(body, id); !strings.Contains(got, want) {
			t.Errorf("error beside %s = %q, want %q", id, got, want)
		}
	}
	if !strings.Contains(body, `value="Retail"`) {
		t.Error("the form lost the sector typed")
	}
	resp, body = ada.post("/admin/organisations", url.Values{"name": {"Status Ltd"}, "slug": {"status"}})
	wantStatus(t, resp, body, http.StatusBadRequest)
	if got := fieldError(body, "o-slug"); !strings.Contains(got, "kept for the pages") {
		t.Errorf("the reserved slug: %q", got)
	}
	resp, body = ada.post("/admin/organisations", url.Values{"name": {"Acme Ltd"}, "slug": {"acme"}, "sector": {"Retail"}, "contact_email": {"soc@acme.example"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	if loc := resp.Header.Get("Location"); loc != "/admin/organisations/acme" {
		t.Errorf("after creating: %q", loc)
	}
	resp, body = ada.post("/admin/organisations", url.Values{"name": {"Acme again"}, "slug": {"acme"}})
	wantStatus(t, resp, body, http.StatusConflict)
	if got := fieldError(body, "o-slug"); got != "That slug is taken." {
		t.Errorf("a taken slug: %q", got)
	}

	// A user of acme only, made on the users page.
	_, body = ada.get("/admin/users")
	if !strings.Contains(body, `id="nu-org"`) {
		t.Fatalf("the users page offers no organisation:\n%s", excerpt(body))
	}
	resp, body = ada.post("/admin/users", url.Values{"username": {"mo"}, "name": {"Mo"}, "organisation": {"acme"}, "role": {"admin"}, "password": {testPassword}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	e.ownPassword("mo", testPassword)
	mo, err := e.svc.Users.FindUserByUsername(system(), "mo")
	if err != nil || mo.Role != "" {
		t.Fatalf("mo: %+v, %v; want no role in the default organisation", mo, err)
	}
	_, body = ada.get("/admin/users")
	if !regexp.MustCompile(`id="role-` + fmt.Sprint(mo.ID) + `"[\s\S]*?<option value="none" selected>`).MatchString(body) {
		t.Error("the users page does not show mo without a role in the default organisation")
	}
	resp, body = ada.post("/admin/users", url.Values{"username": {"nobody"}, "organisation": {"nowhere"}, "role": {"viewer"}, "password": {testPassword}})
	wantStatus(t, resp, body, http.StatusBadRequest)
	if got := fieldError(body, "nu-org"); got != "Choose an organisation." {
		t.Errorf("an unknown organisation: %q", got)
	}

	// The organisation's page: members.
	resp, body = ada.get("/admin/organisations/acme")
	wantStatus(t, resp, body, http.StatusOK)
	if !strings.Contains(body, `id="member-mo"`) || !strings.Contains(body, `href="/report/acme"`) {
		t.Errorf("acme's page:\n%s", excerpt(body))
	}
	resp, body = ada.post("/admin/organisations/acme/members", url.Values{"username": {"ghost"}, "role": {"viewer"}})
	wantStatus(t, resp, body, http.StatusBadRequest)
	if got := fieldError(body, "m-username"); !strings.Contains(got, "No user") || !strings.Contains(body, `value="ghost"`) {
		t.Errorf("an unknown user: %q", got)
	}
	resp, body = ada.post("/admin/organisations/acme/members", url.Values{"username": {"rita"}, "role": {"responder"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	resp, body = ada.post("/admin/organisations/acme/members", url.Values{"username": {"rita"}, "role": {"viewer"}})
	wantStatus(t, resp, body, http.StatusConflict)
	if got := fieldError(body, "m-username"); got != "Already a member." {
		t.Errorf("a member added twice: %q", got)
	}
	resp, body = ada.post("/admin/organisations/acme/members/rita", url.Values{"role": {"viewer"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	ms, _ := e.svc.Orgs.FindMembers(system(), "acme")
	if len(ms) != 2 || ms[1].Username != "rita" || ms[1].Role != vigil.RoleViewer {
		t.Errorf("acme's members: %+v", ms)
	}

	// Details, with errors beside the fields and a stale form refused.
	o, _ := e.svc.Orgs.FindOrganisation(system(), "acme")
	resp, body = ada.post("/admin/organisations/acme", url.Values{"version": {fmt.Sprint(o.Version)}, "name": {"Acme Retail Ltd"}, "contact_email": {"bad"}})
	wantStatus(t, resp, body, http.StatusBadRequest)
	if got := fieldError(body, "o-email"); got != "Not a valid e-mail address." || !strings.Contains(body, `value="Acme Retail Ltd"`) {
		t.Errorf("a bad e-mail: %q", got)
	}
	resp, body = ada.post("/admin/organisations/acme", url.Values{"version": {fmt.Sprint(o.Version)}, "name": {"Acme Retail Ltd"}, "sector": {"Retail"},
		"contact_email": {"soc@acme.example"}, "contact_phone": {"+44 20 7946 0000"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	resp, body = ada.post("/admin/organisations/acme", url.Values{"version": {fmt.Sprint(o.Version)}, "name": {"Stale"}})
	wantStatus(t, resp, body, http.StatusConflict)
	if !strings.Contains(body, "Someone else changed this organisation") {
		t.Errorf("a stale form:\n%s", excerpt(body))
	}
	o, _ = e.svc.Orgs.FindOrganisation(system(), "acme")
	if o.Name != "Acme Retail Ltd" || o.ContactPhone != "+44 20 7946 0000" {
		t.Errorf("acme after saving: %+v", o)
	}

	// Acme's own administrator manages acme, and nothing else.
	mob := e.login("mo")
	resp, body = mob.get("/admin/organisations")
	wantStatus(t, resp, body, http.StatusOK)
	if !strings.Contains(body, "Acme Retail Ltd") || strings.Contains(body, "Default organisation") || strings.Contains(body, `action="/admin/organisations"`) {
		t.Errorf("acme's administrator's list:\n%s", excerpt(body))
	}
	resp, body = mob.post("/admin/organisations", url.Values{"name": {"Mine"}, "slug": {"mine"}})
	wantStatus(t, resp, body, http.StatusForbidden)
	resp, body = mob.get("/admin/organisations/acme")
	wantStatus(t, resp, body, http.StatusOK)
	if strings.Contains(body, `id="suspension"`) {
		t.Error("acme's administrator is offered suspension")
	}
	resp, body = mob.post("/admin/organisations/acme", url.Values{"version": {fmt.Sprint(o.Version)}, "suspended": {"true"}})
	wantStatus(t, resp, body, http.StatusForbidden)
	resp, body = mob.post("/admin/organisations/acme/members/rita", url.Values{"action": {"remove"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	resp, body = mob.get("/admin/organisations/default")
	wantStatus(t, resp, body, http.StatusNotFound)
	// A member who administers nothing has no organisations' pages.
	ada.post("/admin/organisations/acme/members", url.Values{"username": {"rita"}, "role": {"responder"}})
	rita := e.login("rita")
	for _, p := range []string{"/admin/organisations", "/admin/organisations/acme"} {
		resp, body = rita.get(p)
		wantStatus(t, resp, body, http.StatusForbidden)
	}
	if _, body := rita.get("/"); strings.Contains(body, `href="/admin/organisations"`) {
		t.Error("a responder is offered the organisations' pages")
	}

	// Suspend and resume; the default organisation cannot be suspended.
	resp, body = ada.post("/admin/organisations/acme", url.Values{"version": {fmt.Sprint(o.Version)}, "suspended": {"true"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	_, body = ada.get("/admin/organisations/acme")
	if !strings.Contains(body, "Suspended since") || !strings.Contains(body, "Resume Acme Retail Ltd") {
		t.Errorf("a suspended organisation's page:\n%s", excerpt(body))
	}
	o, _ = e.svc.Orgs.FindOrganisation(system(), "acme")
	resp, body = ada.post("/admin/organisations/acme", url.Values{"version": {fmt.Sprint(o.Version)}, "suspended": {"false"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	if o, _ = e.svc.Orgs.FindOrganisation(system(), "acme"); o.SuspendedAt != nil {
		t.Error("acme is still suspended")
	}
	def, _ := e.svc.Orgs.FindOrganisation(system(), "default")
	resp, body = ada.post("/admin/organisations/default", url.Values{"version": {fmt.Sprint(def.Version)}, "suspended": {"true"}})
	wantStatus(t, resp, body, http.StatusBadRequest)
	if !strings.Contains(body, "cannot be suspended") {
		t.Errorf("suspending the default organisation:\n%s", excerpt(body))
	}
}

// TestMemberOnlyNavigation: for each role in a member organisation alone,
// every link the pages offer, from the dashboard on, works.
func TestMemberOnlyNavigation(t *testing.T) {
	e := newEnv(t)
	e.user("ada", vigil.RoleAdmin)
	e.org("acme", "Acme Ltd")
	inc := e.orgIncident("acme", "Acme: credential phishing")
	if _, err := e.svc.Observables.AddObservables(system(), inc.ID, []*vigil.Observable{{Type: vigil.ObsIPv4, Value: "203.0.113.7"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Timeline.AddNote(system(), inc.ID, vigil.Note{Message: "Mailbox rules checked."}); err != nil {
		t.Fatal(err)
	}
	for _, r := range vigil.Roles {
		t.Run(string(r), func(t *testing.T) {
			e.orgUser("acme-"+string(r), map[string]vigil.Role{"acme": r})
			b := e.login("acme-" + string(r))
			pages := b.crawl(200, "/")
			for p, s := range pages {
				if s != http.StatusOK {
					t.Errorf("%s: status %d", p, s)
				}
			}
			if len(pages) < 10 {
				t.Errorf("only %d pages reached: %v", len(pages), pages)
			}
		})
	}
}

// setGrant sets what organisation slug lets the coordinator's staff see.
func (e *env) setGrant(slug string, g vigil.Grant) {
	e.t.Helper()
	o, err := e.svc.Orgs.FindOrganisation(system(), slug)
	if err == nil {
		_, err = e.svc.Orgs.UpdateOrganisation(system(), slug, vigil.OrganisationUpdate{CoordinatorGrant: &g, Version: o.Version})
	}
	if err != nil {
		e.t.Fatal(err)
	}
}

// TestCoordinatorGrantPages: the coordinator's staff see members'
// incidents as each grants: on the list with their organisation, a
// summary alone, or the whole incident read-only; nothing is logged as a
// fault.
func TestCoordinatorGrantPages(t *testing.T) {
	var logs logBuffer
	e := newEnvWith(t, func(*vigil.Services) {}, &logs)
	e.user("ada", vigil.RoleAdmin)
	e.user("rita", vigil.RoleResponder)
	e.org("acme", "Acme Ltd")
	e.org("beta", "Beta Water")
	sum := e.orgIncident("acme", "Acme: ransomware on a file server")
	full := e.orgIncident("beta", "Beta: SCADA alarm")
	if _, err := e.svc.Timeline.AddNote(system(), full.ID, vigil.Note{Message: "Operators on site."}); err != nil {
		t.Fatal(err)
	}
	e.setGrant("acme", vigil.GrantSummary)
	e.setGrant("beta", vigil.GrantFull)
	b := e.login("rita")

	_, body := b.get("/incidents")
	for _, want := range []string{`<th scope="col">Organisation</th>`, `<td>acme <span class="badge">summary</span></td>`, `<td>beta</td>`,
		`id="f-org"`, `<option value="acme" >acme</option>`, `<option value="default" >Default organisation</option>`} {
		if !strings.Contains(body, want) {
			t.Errorf("the coordinator's list lacks %s", want)
		}
	}
	_, body = b.get("/incidents?organisation=beta")
	if !strings.Contains(body, full.Title) || strings.Contains(body, sum.Title) || !strings.Contains(body, `<option value="beta" selected>beta</option>`) {
		t.Errorf("filtered to beta:\n%s", excerpt(body))
	}
	// The install's administrators know the organisations' names.
	_, body = e.login("ada").get("/incidents")
	if !strings.Contains(body, `<td>Acme Ltd <span class="badge">summary</span></td>`) {
		t.Errorf("the administrator's list:\n%s", excerpt(body))
	}

	resp, body := b.get(fmt.Sprintf("/incidents/%d", sum.ID))
	wantStatus(t, resp, body, http.StatusOK)
	for _, want := range []string{`id="incident-org">acme<`, "acme lets the coordinator see a summary of its incidents", "Key facts"} {
		if !strings.Contains(body, want) {
			t.Errorf("the summary page lacks %q", want)
		}
	}
	for _, absent := range []string{"could not be loaded", "Timeline", "Edit details", "Lead:", "Incident report:"} {
		if strings.Contains(body, absent) {
			t.Errorf("the summary page shows %q", absent)
		}
	}
	resp, body = b.get(fmt.Sprintf("/incidents/%d", full.ID))
	wantStatus(t, resp, body, http.StatusOK)
	if !strings.Contains(body, "Operators on site.") || !strings.Contains(body, "beta lets the coordinator read its incidents") {
		t.Errorf("the fully granted page:\n%s", excerpt(body))
	}
	for _, absent := range []string{"could not be loaded", "Edit details", "Add a note", "Confirm as an incident"} {
		if strings.Contains(body, absent) {
			t.Errorf("the fully granted page shows %q", absent)
		}
	}
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("faults logged:\n%s", logs.String())
	}
}

// TestReportUpPages: a member's administrator chooses what the
// coordinator sees and reports an incident up; the coordinator's staff
// find it in triage with where it came from, and the member sees where it
// went and what was shared.
func TestReportUpPages(t *testing.T) {
	e := newEnv(t)
	e.user("ada", vigil.RoleAdmin)
	e.user("rita", vigil.RoleResponder)
	e.org("acme", "Acme Ltd")
	e.orgUser("mo", map[string]vigil.Role{"acme": vigil.RoleAdmin})
	inc := e.orgIncident("acme", "Acme: invoice fraud")
	red := &vigil.Incident{Title: "Acme: the chief executive's mailbox", Organisation: "acme", TLP: vigil.TLPRed}
	if err := e.svc.Incidents.CreateIncident(system(), red); err != nil {
		t.Fatal(err)
	}
	mo := e.login("mo")
	incPath := fmt.Sprintf("/incidents/%d", inc.ID)

	// The grant: Acme's administrator chooses; the install's sees it.
	_, body := mo.get("/admin/organisations/acme")
	if !strings.Contains(body, `id="o-grant"`) {
		t.Fatalf("acme's administrator is not offered the grant:\n%s", excerpt(body))
	}
	o, _ := e.svc.Orgs.FindOrganisation(system(), "acme")
	resp, body := mo.post("/admin/organisations/acme", url.Values{"version": {fmt.Sprint(o.Version)}, "name": {o.Name}, "coordinator_grant": {"summary"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	if o, _ = e.svc.Orgs.FindOrganisation(system(), "acme"); o.CoordinatorGrant != vigil.GrantSummary {
		t.Errorf("grant %q, want summary", o.CoordinatorGrant)
	}
	ada := e.login("ada")
	_, body = ada.get("/admin/organisations/acme")
	if strings.Contains(body, `id="o-grant"`) || !strings.Contains(body, "The coordinator's staff see a summary of its incidents") {
		t.Errorf("the install's administrator's view of the grant:\n%s", excerpt(body))
	}
	resp, body = ada.post("/admin/organisations/acme", url.Values{"version": {fmt.Sprint(o.Version)}, "name": {o.Name}, "coordinator_grant": {"full"}})
	wantStatus(t, resp, body, http.StatusForbidden)

	// Report up, with errors beside the fields.
	_, body = mo.get(incPath)
	if !strings.Contains(body, "Not reported to the coordinator.") || !strings.Contains(body, `action="`+incPath+`/report-up"`) {
		t.Fatalf("the report-up section:\n%s", excerpt(body))
	}
	resp, body = mo.post(incPath+"/report-up", url.Values{"share": {"everything"}})
	wantStatus(t, resp, body, http.StatusBadRequest)
	if !strings.Contains(body, `<details id="report-up" open>`) || !regexp.MustCompile(`</fieldset>\s*<p class="field-error" role="alert">Share`).MatchString(body) {
		t.Errorf("no error beside what to share:\n%s", excerpt(body))
	}
	resp, body = mo.post(incPath+"/report-up", url.Values{"share": {"description"}, "message": {"Significant: we may need the NCSC."}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	_, body = mo.get(incPath)
	if !regexp.MustCompile(`Mo reported it to the coordinator's <strong>INC-\d{4}-\d+</strong>. Shared: summary, description. “Significant: we may need the NCSC.”`).MatchString(body) ||
		!strings.Contains(body, "Send an update to the coordinator") {
		t.Errorf("the member's record of the report:\n%s", excerpt(body))
	}
	// A TLP:RED incident offers no report, and is refused one.
	redPath := fmt.Sprintf("/incidents/%d", red.ID)
	_, body = mo.get(redPath)
	if strings.Contains(body, `action="`+redPath+`/report-up"`) {
		t.Error("a TLP:RED incident offers to report up")
	}
	resp, body = mo.post(redPath+"/report-up", url.Values{})
	wantStatus(t, resp, body, http.StatusBadRequest)
	if !strings.Contains(body, "stays with its members") {
		t.Errorf("a TLP:RED report up:\n%s", excerpt(body))
	}

	// The coordinator's responder finds it in triage, with its origin.
	rita := e.login("rita")
	page, err := e.svc.Incidents.FindIncidents(system(), vigil.IncidentFilter{Source: []vigil.Source{vigil.SourceMember}})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("the coordinator's incident: %+v, %v", page, err)
	}
	resp, body = rita.get(fmt.Sprintf("/incidents/%d", page.Items[0].ID))
	wantStatus(t, resp, body, http.StatusOK)
	if !strings.Contains(body, "Reported by a member") || !strings.Contains(body, "from acme's <strong>"+inc.Reference+"</strong>") ||
		!strings.Contains(body, "Edit details") || strings.Contains(body, `/report-up"`) {
		t.Errorf("the coordinator's incident:\n%s", excerpt(body))
	}
	_, body = rita.get("/incidents?status=triage")
	if !strings.Contains(body, "Acme: invoice fraud") {
		t.Errorf("the coordinator's triage queue:\n%s", excerpt(body))
	}
}

// sessionContext logs username in and returns a context acting as the
// session's actor, with their memberships, as a request's is.
func (e *env) sessionContext(username string) context.Context {
	e.t.Helper()
	_, secret, err := e.svc.Auth.Login(context.Background(), username, testPassword)
	if err != nil {
		e.t.Fatal(err)
	}
	a, _, err := e.svc.Auth.AuthenticateSession(context.Background(), secret)
	if err != nil {
		e.t.Fatal(err)
	}
	return vigil.NewContextWithActor(context.Background(), a)
}

// TestMemberDutyDrafts: a member's incident's duty drafts come from the
// member's own profile, not the coordinator's; the coordinator's staff
// reading it by grant get the duties without drafts.
func TestMemberDutyDrafts(t *testing.T) {
	e := newEnv(t)
	ada := e.user("ada", vigil.RoleAdmin)
	e.user("rita", vigil.RoleResponder)
	e.org("acme", "Acme Ltd")
	e.orgUser("mo", map[string]vigil.Role{"acme": vigil.RoleAdmin})
	setName := func(ctx context.Context, slug, name string) {
		t.Helper()
		p, err := e.svc.Duties.FindOrgProfile(ctx, slug)
		if err == nil {
			p.Name = name
			err = e.svc.Duties.UpdateOrgProfile(ctx, slug, p)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	setName(as(ada), vigil.DefaultOrganisationSlug, "Coordinating CERT")
	moCtx := e.sessionContext("mo")
	setName(moCtx, "acme", "Acme Ltd (data controller)")
	inc := &vigil.Incident{Title: "Acme: payroll file sent to the wrong firm", Organisation: "acme", Status: vigil.StatusConfirmed, PersonalData: true}
	if err := e.svc.Incidents.CreateIncident(moCtx, inc); err != nil {
		t.Fatal(err)
	}
	_, body := e.login("mo").get(fmt.Sprintf("/incidents/%d", inc.ID))
	if !strings.Contains(body, "From: Acme Ltd (data controller)") || strings.Contains(body, "Coordinating CERT") {
		t.Errorf("the member's draft:\n%s", excerpt(body))
	}
	e.setGrant("acme", vigil.GrantFull)
	resp, body := e.login("rita").get(fmt.Sprintf("/incidents/%d", inc.ID))
	wantStatus(t, resp, body, http.StatusOK)
	if !strings.Contains(body, "Notify the ICO") || strings.Contains(body, "From: ") || strings.Contains(body, "could not be loaded") {
		t.Errorf("the coordinator's view of the member's duties:\n%s", excerpt(body))
	}
}
