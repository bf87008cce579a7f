package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/vigil-ir/vigil"
)

// TestBrowserSingleSignOn: the whole sign-in in Chromium against a real
// OpenID provider on loopback — the login page's "Sign in with" button,
// the provider's login form, back to Vigil as a responder of the one
// organisation the user's group maps to, seeing only its incidents — and
// the logout, which ends the session at the provider too. axe-core finds
// nothing on the login page with the button nor on the administrators'
// provider page.
func TestBrowserSingleSignOn(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	axe := axeSource(t)
	open := newBrowser(t)
	e := ssoEnv(t)
	e.org("north", "North Trust")
	e.orgIncident("north", "North: ransomware on the file server")
	e.orgIncident(vigil.DefaultOrganisationSlug, "Default: payroll phishing")
	e.user("ada", vigil.RoleAdmin)
	provider := newIDP(t, e.ts.URL, "corp", idpUser{ID: "u-nina", Username: "nina", Name: "Nina", Groups: []string{"north-soc"}})
	p := e.provider(&vigil.OIDCProvider{Slug: "corp", Name: "Corp ID", Issuer: provider.URL, ClientID: "vigil", ClientSecret: "vigil-secret",
		GroupsClaim: "groups", CreateUsers: true, Enabled: true,
		Mappings: []vigil.OIDCMapping{{Group: "north-soc", Organisation: "north", Role: vigil.RoleResponder}}})
	base := e.ts.URL

	axeCheck := func(b *tab, name string) {
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
		for _, v := range vs {
			var where []string
			for _, n := range v.Nodes {
				where = append(where, fmt.Sprint(n.Target))
			}
			t.Errorf("%s: %s [%s, %s]: %s", name, v.Help, v.ID, v.Impact, strings.Join(where, "; "))
		}
	}

	nina := open()
	nina.run("open the login page",
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(`a[href="/login/oidc/corp"]`, chromedp.ByQuery),
	)
	nina.shot("login-sso")
	axeCheck(nina, "login page with a sign-in button")
	if got := nina.text(`a[href="/login/oidc/corp"]`); got != "Sign in with Corp ID" {
		t.Errorf("button %q", got)
	}
	nina.run("sign in with Corp ID",
		chromedp.Click(`a[href="/login/oidc/corp"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`form[action="/login/username"] #username`, chromedp.ByQuery), // the provider's own page
		chromedp.SendKeys("#username", "nina", chromedp.ByQuery),
		chromedp.SendKeys("#password", "idp password", chromedp.ByQuery),
		chromedp.Click(`button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`header.top nav`, chromedp.ByQuery), // back in Vigil, logged in
	)
	nina.shot("sso-dashboard")
	nina.run("her incidents",
		chromedp.Navigate(base+"/incidents"),
		chromedp.WaitVisible(`table.list`, chromedp.ByQuery),
	)
	if list := nina.text("main"); !strings.Contains(list, "North: ransomware") || strings.Contains(list, "Default: payroll") {
		t.Errorf("nina sees:\n%s", list)
	}
	var where string
	nina.run("log out",
		chromedp.Click(`details.usermenu summary`, chromedp.ByQuery),
		chromedp.Click(`form[action="/logout"] button`, chromedp.ByQuery),
		// Vigil's logout, then the provider's, then back to Vigil's login page.
		chromedp.WaitVisible(`a[href="/login/oidc/corp"]`, chromedp.ByQuery),
		chromedp.Location(&where),
	)
	if !strings.HasPrefix(where, base+"/login") {
		t.Errorf("after logging out: %s", where)
	}
	provider.store.mu.Lock()
	ended := slices.Clone(provider.store.ended)
	provider.store.mu.Unlock()
	if !slices.Contains(ended, "u-nina@vigil") {
		t.Errorf("the provider's session was not ended: %v", ended)
	}
	nina.run("the session is over", chromedp.Navigate(base+"/incidents"), chromedp.WaitVisible(`#username`, chromedp.ByQuery))

	ada := open()
	ada.login(base, "ada")
	ada.run("open the provider page",
		chromedp.Navigate(fmt.Sprintf("%s/admin/sign-in/%d", base, p.ID)),
		chromedp.WaitVisible(`#p-map`, chromedp.ByQuery),
	)
	ada.shot("admin-sso")
	axeCheck(ada, "single sign-on administration")
	var m string
	ada.run("read the mappings", chromedp.Value(`#p-map`, &m, chromedp.ByQuery))
	if !strings.Contains(m, "north-soc, north, responder") {
		t.Errorf("mappings shown: %q", m)
	}
}
