package http_test

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"github.com/vigil-ir/vigil"
	vigilhttp "github.com/vigil-ir/vigil/http"
)

// TestTrustedProxies: the login's limit per address counts the address a
// trusted proxy names in X-Forwarded-For or Forwarded, and ignores those
// headers from anyone else (issue 21: behind a TLS proxy everyone shared
// one address).
func TestTrustedProxies(t *testing.T) {
	login := func(e *env, hdr map[string]string, n int) int {
		r := e.do(req{Method: "POST", Path: "/api/v1/auth/login", Header: hdr, Raw: true,
			Body: map[string]any{"username": fmt.Sprintf("nobody%d", n), "password": "not the password at all"}})
		return r.Status
	}
	// Ten attempts a minute per address: the eleventh is refused.
	exhaust := func(e *env, hdr map[string]string) {
		for i := range 10 {
			if st := login(e, hdr, i); st != http.StatusUnauthorized {
				t.Fatalf("attempt %d: %d", i, st)
			}
		}
		if st := login(e, hdr, 10); st != http.StatusTooManyRequests {
			t.Fatalf("the eleventh attempt: %d", st)
		}
	}

	t.Run("Untrusted", func(t *testing.T) {
		e := newEnv(t)
		exhaust(e, map[string]string{"X-Forwarded-For": "198.51.100.1"})
		// A forged header does not make a new client.
		if st := login(e, map[string]string{"X-Forwarded-For": "198.51.100.2"}, 11); st != http.StatusTooManyRequests {
			t.Errorf("a forged X-Forwarded-For escaped the limit: %d", st)
		}
		if st := login(e, map[string]string{"Forwarded": "for=198.51.100.3"}, 12); st != http.StatusTooManyRequests {
			t.Errorf("a forged Forwarded escaped the limit: %d", st)
		}
	})
	t.Run("Trusted", func(t *testing.T) {
		e := newEnv(t)
		var err error
		if e.srv.TrustedProxies, err = vigilhttp.ParseTrustedProxies("127.0.0.0/8, ::1"); err != nil {
			t.Fatal(err)
		}
		// The client is the rightmost address that is not a trusted proxy.
		exhaust(e, map[string]string{"X-Forwarded-For": "198.51.100.1, 127.0.0.5"})
		if st := login(e, map[string]string{"X-Forwarded-For": "198.51.100.1"}, 20); st != http.StatusTooManyRequests {
			t.Errorf("the same client through one proxy fewer: %d", st)
		}
		// What the client wrote on the left does not count.
		if st := login(e, map[string]string{"X-Forwarded-For": "10.9.9.9, 198.51.100.1"}, 21); st != http.StatusTooManyRequests {
			t.Errorf("a client's own X-Forwarded-For entry escaped the limit: %d", st)
		}
		if st := login(e, map[string]string{"X-Forwarded-For": "198.51.100.2"}, 22); st != http.StatusUnauthorized {
			t.Errorf("another client behind the proxy: %d", st)
		}
		if st := login(e, map[string]string{"Forwarded": `for="[2001:db8::1]:4711";proto=https, for=127.0.0.9`}, 23); st != http.StatusUnauthorized {
			t.Errorf("a client named by Forwarded: %d", st)
		}
	})
	t.Run("Parse", func(t *testing.T) {
		got, err := vigilhttp.ParseTrustedProxies("10.0.0.0/8,192.0.2.1 fd00::/8")
		if err != nil || len(got) != 3 || got[1] != netip.MustParsePrefix("192.0.2.1/32") {
			t.Errorf("ParseTrustedProxies = %v, %v", got, err)
		}
		if _, err := vigilhttp.ParseTrustedProxies("10.0.0.0/33"); err == nil {
			t.Error("a bad prefix was taken")
		}
	})
}

// TestSessionsAPI: one's sessions are a browser session's business, not a
// token's; an admin ends a user's sessions with the admin scope.
func TestSessionsAPI(t *testing.T) {
	e := newEnv(t)
	admin, _ := e.user(vigil.RoleAdmin)
	tok, u := e.user(vigil.RoleResponder)
	e.do(req{Method: "GET", Path: "/api/v1/me/sessions", Token: tok}).want(t, http.StatusForbidden)
	r := e.do(req{Method: "POST", Path: "/api/v1/auth/login", Header: map[string]string{"User-Agent": "vigil-cli/1"},
		Body: map[string]any{"username": u.Username, "password": "correct horse battery staple"}}).want(t, http.StatusOK)
	var lr vigilhttp.LoginResponse
	r.JSON(t, &lr)
	hdr := map[string]string{"Cookie": strings.Split(r.Header.Get("Set-Cookie"), ";")[0], "X-CSRF-Token": lr.CSRFToken}
	var list vigilhttp.SessionList
	e.do(req{Method: "GET", Path: "/api/v1/me/sessions", Header: hdr}).want(t, http.StatusOK).JSON(t, &list)
	if len(list.Items) != 1 || !list.Items[0].Current || list.Items[0].UserAgent != "vigil-cli/1" || list.Items[0].Address != "127.0.0.1" {
		t.Fatalf("sessions: %+v", list.Items)
	}
	var ended vigilhttp.SessionsEnded
	e.do(req{Method: "DELETE", Path: fmt.Sprintf("/api/v1/users/%d/sessions", u.ID), Token: admin}).want(t, http.StatusOK).JSON(t, &ended)
	if ended.Ended != 1 {
		t.Errorf("ended %d", ended.Ended)
	}
	e.do(req{Method: "GET", Path: "/api/v1/me/sessions", Header: hdr}).want(t, http.StatusUnauthorized)
}

// TestMFAAPI: enrolment through the API (listed in the OpenAPI document),
// then a login that waits for its second factor until POST /auth/mfa.
func TestMFAAPI(t *testing.T) {
	e := newEnv(t)
	tok, u := e.user(vigil.RoleResponder)
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
		} `json:"paths"`
	}
	e.do(req{Method: "GET", Path: "/api/v1/openapi.json"}).want(t, http.StatusOK).JSON(t, &doc)
	if doc.Paths["/api/v1/me/mfa/totp"]["post"].OperationID != "beginTOTPEnrolment" || doc.Paths["/api/v1/me/mfa/totp/confirm"]["post"].OperationID != "confirmTOTPEnrolment" {
		t.Errorf("the OpenAPI document lacks the MFA enrolment endpoints")
	}
	e.do(req{Method: "POST", Path: "/api/v1/me/mfa/totp", Token: tok}).want(t, http.StatusForbidden)
	login := func() (map[string]string, vigilhttp.LoginResponse) {
		r := e.do(req{Method: "POST", Path: "/api/v1/auth/login", Body: map[string]any{"username": u.Username, "password": "correct horse battery staple"}}).want(t, http.StatusOK)
		var lr vigilhttp.LoginResponse
		r.JSON(t, &lr)
		return map[string]string{"Cookie": strings.Split(r.Header.Get("Set-Cookie"), ";")[0], "X-CSRF-Token": lr.CSRFToken}, lr
	}
	hdr, _ := login()
	var setup vigilhttp.TOTPSetup
	e.do(req{Method: "POST", Path: "/api/v1/me/mfa/totp", Header: hdr}).want(t, http.StatusCreated).JSON(t, &setup)
	if !strings.HasPrefix(setup.QRCode, "data:image/png;base64,") || !strings.HasPrefix(setup.URL, "otpauth://totp/Vigil:") {
		t.Errorf("setup: %+v", setup)
	}
	p := e.do(req{Method: "POST", Path: "/api/v1/me/mfa/totp/confirm", Header: hdr, Body: map[string]any{"code": "000000"}}).want(t, http.StatusBadRequest).Problem(t)
	if len(p.Errors) != 1 || p.Errors[0].Field != "code" {
		t.Errorf("a wrong code: %+v", p)
	}
	now, _ := totp.GenerateCode(setup.Secret, time.Now())
	var rc vigilhttp.RecoveryCodes
	e.do(req{Method: "POST", Path: "/api/v1/me/mfa/totp/confirm", Header: hdr, Body: map[string]any{"code": now}}).want(t, http.StatusOK).JSON(t, &rc)
	if len(rc.Codes) != vigil.RecoveryCodeCount {
		t.Fatalf("recovery codes: %v", rc.Codes)
	}

	hdr, lr := login()
	if lr.Stage != vigil.StageMFA {
		t.Fatalf("stage %q", lr.Stage)
	}
	e.do(req{Method: "GET", Path: "/api/v1/me", Header: hdr}).want(t, http.StatusUnauthorized)
	e.do(req{Method: "POST", Path: "/api/v1/auth/mfa", Header: hdr, Body: map[string]any{"code": "123456"}}).want(t, http.StatusBadRequest)
	r := e.do(req{Method: "POST", Path: "/api/v1/auth/mfa", Header: hdr, Body: map[string]any{"code": rc.Codes[0]}}).want(t, http.StatusOK)
	hdr["Cookie"] = strings.Split(r.Header.Get("Set-Cookie"), ";")[0]
	e.do(req{Method: "GET", Path: "/api/v1/me", Header: hdr}).want(t, http.StatusOK)
}
