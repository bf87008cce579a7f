package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/vigil-ir/vigil"
)

// TestReportPageByOrganisation: /report/{slug} takes staff reports for one
// organisation, whose receipt codes work on its page only; an unknown or
// suspended organisation has no page, and the two look alike.
func TestReportPageByOrganisation(t *testing.T) {
	e := newEnv(t)
	e.user("rita", vigil.RoleResponder)
	e.org("acme", "Acme Ltd")
	beta := e.org("beta", "Beta Water")
	e.orgUser("mo", map[string]vigil.Role{"acme": vigil.RoleResponder})
	anon := e.browser()

	resp, body := anon.get("/report/acme")
	wantStatus(t, resp, body, http.StatusOK)
	for _, want := range []string{`action="/report/acme"`, `href="/report/acme/status"`, "the security team of <strong>Acme Ltd</strong>"} {
		if !strings.Contains(body, want) {
			t.Errorf("acme's report page lacks %q", want)
		}
	}
	_, body = anon.get("/report")
	if strings.Contains(body, "security team of") || !strings.Contains(body, `action="/report"`) {
		t.Errorf("the default organisation's page changed:\n%s", excerpt(body))
	}
	_, body = anon.get("/report/default")
	if !strings.Contains(body, `action="/report"`) {
		t.Errorf("/report/default is not the default page:\n%s", excerpt(body))
	}

	resp, body = anon.post("/report/acme", url.Values{"what": {"Someone phoned asking for the VPN password."}, "personal_data": {"no"}})
	wantStatus(t, resp, body, http.StatusOK)
	m := regexp.MustCompile(`id="receipt">([A-Z0-9-]+)<`).FindStringSubmatch(body)
	if m == nil || !strings.Contains(body, `href="/report/acme/status"`) {
		t.Fatalf("no receipt, or a link to another page:\n%s", excerpt(body))
	}
	receipt := m[1]

	// Filed in acme: its member sees it, the coordinator's responder does not.
	_, body = e.login("mo").get("/incidents")
	if !strings.Contains(body, "Staff report: Someone phoned") {
		t.Errorf("acme's responder does not see the report:\n%s", excerpt(body))
	}
	_, body = e.login("rita").get("/incidents")
	if strings.Contains(body, "Someone phoned") {
		t.Error("the coordinator's responder sees acme's report")
	}

	// The receipt works on acme's page, and only there.
	resp, body = anon.post("/report/acme/status", url.Values{"receipt": {receipt}})
	wantStatus(t, resp, body, http.StatusOK)
	if !strings.Contains(body, "looking at it") || !strings.Contains(body, `action="/report/acme/status/add"`) {
		t.Errorf("acme's status page:\n%s", excerpt(body))
	}
	resp, body = anon.post("/report/acme/status/add", url.Values{"receipt": {receipt}, "text": {"The caller's number was withheld."}})
	wantStatus(t, resp, body, http.StatusOK)
	if !strings.Contains(body, "number was withheld") {
		t.Errorf("the addition is not listed:\n%s", excerpt(body))
	}
	for _, page := range []string{"/report/status", "/report/beta/status"} {
		resp, body = anon.post(page, url.Values{"receipt": {receipt}})
		wantStatus(t, resp, body, http.StatusNotFound)
		if strings.Contains(body, "Someone phoned") || strings.Contains(body, "Acme") {
			t.Errorf("%s tells of acme's report:\n%s", page, excerpt(body))
		}
	}
	resp, body = anon.post("/report/status/add", url.Values{"receipt": {receipt}, "text": {"On the wrong page."}})
	wantStatus(t, resp, body, http.StatusNotFound)

	// No page for an unknown organisation, nor for a suspended one: the
	// same 404, which names no organisation.
	resp, unknown := anon.get("/report/nowhere")
	wantStatus(t, resp, unknown, http.StatusNotFound)
	if _, err := e.svc.Orgs.UpdateOrganisation(system(), "beta", vigil.OrganisationUpdate{Suspended: new(true), Version: beta.Version}); err != nil {
		t.Fatal(err)
	}
	for _, page := range []string{"/report/beta", "/report/beta/status"} {
		resp, body = anon.get(page)
		wantStatus(t, resp, body, http.StatusNotFound)
		if excerpt(body) != excerpt(unknown) {
			t.Errorf("%s differs from an unknown organisation's:\n%s\n---\n%s", page, excerpt(body), excerpt(unknown))
		}
	}
	resp, body = anon.post("/report/beta", url.Values{"what": {"A report to a suspended organisation."}})
	wantStatus(t, resp, body, http.StatusNotFound)
	for _, s := range []string{"Beta", "beta", "Acme"} {
		if strings.Contains(excerpt(unknown), s) {
			t.Errorf("the 404 names %q", s)
		}
	}
}
