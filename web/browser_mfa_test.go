package web_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"
	"github.com/vigil-ir/vigil"
)

// TestBrowserMFA: in Chromium, a person sets up an authenticator app (the
// test computes its codes), signs out, signs in with the password and then
// a code; a wrong code is shown beside the field; a recovery code works
// once. axe finds nothing on the new pages (issue 21).
func TestBrowserMFA(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	axe := axeSource(t)
	open := newBrowser(t)
	e := newEnv(t)
	e.user("mia", vigil.RoleResponder)
	base := e.ts.URL
	b := open()
	axeCheck := func(name string) {
		t.Helper()
		var out string
		ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
		defer cancel()
		js := axe + `;axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}).then(function (r) { return JSON.stringify(r.violations) })`
		if err := chromedp.Run(ctx, chromedp.Evaluate(js, &out, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) })); err != nil {
			t.Fatalf("%s: run axe: %v", name, err)
		}
		var vs []axeViolation
		if err := json.Unmarshal([]byte(out), &vs); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, v := range vs {
			t.Errorf("%s: %s [%s, %s]: %v", name, v.Help, v.ID, v.Impact, v.Nodes)
		}
	}
	signIn := func() {
		t.Helper()
		b.run("sign in with the password",
			chromedp.Navigate(base+"/login"),
			chromedp.SendKeys("#username", "mia", chromedp.ByQuery),
			chromedp.SendKeys("#password", testPassword, chromedp.ByQuery),
			chromedp.Click(`button[type=submit]`, chromedp.ByQuery),
			chromedp.WaitVisible(`#mfa-code`, chromedp.ByQuery),
		)
	}
	code := func(secret string, c string) {
		t.Helper()
		b.run("type "+c,
			chromedp.Evaluate(`document.querySelector('#mfa-code').value = ''`, nil),
			chromedp.SendKeys(`#mfa-code`, c, chromedp.ByQuery),
			chromedp.Click(`form[action="/login/mfa"] button[type=submit]`, chromedp.ByQuery),
			chromedp.WaitVisible(`#mfa-code-err, header.top nav`, chromedp.ByQuery),
		)
	}
	signOut := func() {
		t.Helper()
		b.run("sign out", chromedp.Evaluate(`document.querySelector('form[action="/logout"]').requestSubmit()`, nil), chromedp.WaitVisible(`#username`, chromedp.ByQuery))
	}

	b.login(base, "mia")
	b.run("open two-factor sign-in", chromedp.Navigate(base+"/account/mfa"), chromedp.WaitVisible(`#mfa-status`, chromedp.ByQuery))
	axeCheck("two-factor page")
	b.run("start setting up", chromedp.Click(`form[action="/account/mfa/totp"] button`, chromedp.ByQuery), chromedp.WaitVisible(`#totp-secret`, chromedp.ByQuery))
	axeCheck("enrolment page")
	var qr string
	var ok bool
	b.run("read the QR code", chromedp.AttributeValue(`img[alt^="QR code"]`, "src", &qr, &ok, chromedp.ByQuery))
	if !strings.HasPrefix(qr, "data:image/png;base64,") {
		t.Errorf("the QR code is %.40q", qr)
	}
	secret := b.text("#totp-secret")
	b.run("a wrong code", chromedp.SendKeys(`#totp-code`, "000000", chromedp.ByQuery),
		chromedp.Click(`form[action="/account/mfa/totp/confirm"] button`, chromedp.ByQuery), chromedp.WaitVisible(`#totp-code-err`, chromedp.ByQuery))
	axeCheck("enrolment page with an error")
	if s := b.text("#totp-secret"); s != secret {
		t.Fatalf("the secret changed after a wrong code: %q, %q", secret, s)
	}
	now, _ := totp.GenerateCode(secret, time.Now())
	b.run("the right code", chromedp.Evaluate(`document.querySelector('#totp-code').value = ''`, nil), chromedp.SendKeys(`#totp-code`, now, chromedp.ByQuery),
		chromedp.Click(`form[action="/account/mfa/totp/confirm"] button`, chromedp.ByQuery), chromedp.WaitVisible(`#recovery-codes`, chromedp.ByQuery))
	axeCheck("recovery codes")
	b.shot("mfa-recovery-codes")
	codes := strings.Fields(b.text("#recovery-codes"))
	if len(codes) != vigil.RecoveryCodeCount {
		t.Fatalf("recovery codes: %q", codes)
	}

	// Sign out; the password alone is not enough.
	signOut()
	signIn()
	axeCheck("second-factor page")
	code(secret, "111111")
	if msg := b.text("#mfa-code-err"); !strings.Contains(msg, "not right") {
		t.Errorf("the wrong code's error: %q", msg)
	}
	var described string
	b.run("read aria-describedby", chromedp.AttributeValue(`#mfa-code`, "aria-describedby", &described, &ok, chromedp.ByQuery))
	if described != "mfa-code-err" {
		t.Errorf("the field is not described by its error: %q", described)
	}
	axeCheck("second-factor page with an error")
	b.shot("mfa-wrong-code")
	// The next step's code (the current one was used at enrolment).
	next, _ := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	code(secret, next)
	if h := b.text("h1"); h != "Dashboard" {
		t.Fatalf("after the code the page is %q", h)
	}

	// A recovery code works once.
	signOut()
	signIn()
	code(secret, codes[0])
	if h := b.text("h1"); h != "Dashboard" {
		t.Fatalf("after a recovery code the page is %q", h)
	}
	signOut()
	signIn()
	code(secret, codes[0])
	if msg := b.text("#mfa-code-err"); !strings.Contains(msg, "used already") {
		t.Errorf("a recovery code used twice: %q", msg)
	}
}
