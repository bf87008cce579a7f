package web

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/vigil-ir/vigil"
	vigilhttp "github.com/vigil-ir/vigil/http"
)

type loginData struct {
	Username string
	Next     string
	Error    string
	// Providers are the single sign-on buttons (web/oidc.go).
	Providers []vigil.OIDCButton
}

// safeNext keeps a post-login redirect on this site: a site-relative path
// ("/incidents?x=1"), never one a browser could read as another host. It
// refuses control characters and white space anywhere, before and after
// decoding percent-escapes (browsers drop a tab or newline, so "/\t/evil"
// becomes "//evil"), and a second slash or a backslash after the first
// (browsers read "/\evil" as "//evil").
func safeNext(next string) string {
	if !siteRelative(next) {
		return "/"
	}
	// Decode as often as it changes (bounded), checking each form: a
	// redirect target may be decoded again by whatever reads it next.
	for s, i := next, 0; i < 3; i++ {
		d, err := url.PathUnescape(s)
		if err != nil {
			return "/"
		}
		if d == s {
			break
		}
		if !siteRelative(d) {
			return "/"
		}
		s = d
	}
	return next
}

// siteRelative reports whether p is a path on this site with nothing a
// browser would strip or read as a host.
func siteRelative(p string) bool {
	if len(p) > 2048 || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		return false
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f || r == '\\' || unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError {
			return false
		}
	}
	return true
}

func (h *Handler) loginForm(w http.ResponseWriter, r *http.Request) error {
	next := safeNext(r.URL.Query().Get("next"))
	if vigil.ActorFromContext(r.Context()) != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return nil
	}
	p := h.newPage(r, "Log in", "", &loginData{Next: next, Providers: h.ssoButtons(r)})
	p.Public = true
	return h.render(w, r, http.StatusOK, "login.html", p)
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	d := &loginData{Username: strings.TrimSpace(r.PostFormValue("username")), Next: safeNext(r.PostFormValue("next"))}
	fail := func(status int, msg string) error {
		d.Error, d.Providers = msg, h.ssoButtons(r)
		p := h.newPage(r, "Log in", "", d)
		p.Public = true
		return h.render(w, r, status, "login.html", p)
	}
	if ok, wait := h.loginLimiter.Allow(clientIP(r), h.Now()); !ok {
		w.Header().Set("Retry-After", fmt.Sprint(int(math.Ceil(wait.Seconds()))))
		return fail(http.StatusTooManyRequests, "Too many attempts from your address. Wait a minute and try again.")
	}
	sess, secret, err := h.Services.Auth.Login(r.Context(), d.Username, r.PostFormValue("password"))
	if err != nil {
		if c := vigil.ErrorCode(err); c == vigil.EUNAUTHORIZED || c == vigil.ETOOMANY {
			return fail(vigil.HTTPStatus(c), vigil.ErrorMessage(err))
		}
		return err
	}
	http.SetCookie(w, vigilhttp.SessionCookieFor(secret, sess.ExpiresAt, h.SecureCookies || r.TLS != nil))
	// The password is one step; a second factor, or enrolling one, may follow.
	http.Redirect(w, r, mfaNext(sess.Stage, d.Next), http.StatusSeeOther)
	return nil
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) error {
	providerLogout, provider := h.ssoLogout(r)
	if c, err := r.Cookie(vigilhttp.SessionCookie); err == nil && c.Value != "" && vigilhttp.SessionFromContext(r.Context()) != nil {
		if err := h.Services.Auth.Logout(r.Context(), c.Value); err != nil {
			return err
		}
	}
	http.SetCookie(w, vigilhttp.SessionCookieFor("", time.Time{}, h.SecureCookies || r.TLS != nil))
	if _, err := r.Cookie(orgCookie); err == nil {
		http.SetCookie(w, &http.Cookie{Name: orgCookie, Path: "/", MaxAge: -1})
	}
	if providerLogout != "" {
		return h.ssoAfterLogout(w, r, providerLogout, provider)
	}
	h.redirect(w, r, "/login", "You are logged out.")
	return nil
}

type accountData struct {
	User        *vigil.User
	Tokens      []*vigil.Token
	NewToken    string // the secret of a token just made, shown once
	Errors      map[string]string
	Scopes      []vigil.Scope
	TokenName   string
	CanAdminTok bool
}

func (h *Handler) account(w http.ResponseWriter, r *http.Request) error {
	return h.renderAccount(w, r, http.StatusOK, &accountData{})
}

func (h *Handler) renderAccount(w http.ResponseWriter, r *http.Request, status int, d *accountData) error {
	a := vigil.ActorFromContext(r.Context())
	u, err := h.Services.Users.FindUserByID(r.Context(), a.UserID)
	if err != nil {
		return err
	}
	d.User = u
	d.Scopes = []vigil.Scope{vigil.ScopeRead, vigil.ScopeWrite}
	if a.Role == vigil.RoleAdmin {
		d.Scopes = vigil.Scopes
	}
	if d.Errors == nil {
		d.Errors = map[string]string{}
	}
	if a.Can(vigil.PermTokenOwn) {
		if d.Tokens, err = h.Services.Auth.FindTokens(r.Context(), 0); err != nil {
			return err
		}
	}
	return h.render(w, r, status, "account.html", h.newPage(r, "Your account", "account", d))
}

func (h *Handler) changePassword(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	a := vigil.ActorFromContext(r.Context())
	next := r.PostFormValue("new_password")
	if next != r.PostFormValue("confirm_password") {
		return h.renderAccount(w, r, statusInvalid, &accountData{Errors: map[string]string{"confirm_password": "The two new passwords differ."}})
	}
	err := h.Services.Users.SetPassword(r.Context(), a.UserID, r.PostFormValue("current_password"), next)
	if err != nil {
		if c := vigil.ErrorCode(err); c == vigil.EINVALID || c == vigil.EUNAUTHORIZED || c == vigil.EFORBIDDEN {
			errs := fieldErrors(err)
			if len(errs) == 0 {
				errs["current_password"] = vigil.ErrorMessage(err)
			}
			return h.renderAccount(w, r, vigil.HTTPStatus(c), &accountData{Errors: errs})
		}
		return err
	}
	// Changing the password ends every other session; this one goes on.
	h.redirect(w, r, "/account", "Password changed. Your other sessions have ended.")
	return nil
}

func (h *Handler) createToken(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	t := &vigil.Token{Name: r.PostFormValue("name")}
	for _, s := range r.PostForm["scopes"] {
		t.Scopes = append(t.Scopes, vigil.Scope(s))
	}
	if days := r.PostFormValue("expires_days"); days != "" && days != "0" {
		var n int
		if _, err := fmt.Sscan(days, &n); err != nil || n < 1 || n > 3650 {
			return h.renderAccount(w, r, statusInvalid, &accountData{TokenName: t.Name,
				Errors: map[string]string{"expires_at": "Choose how many days the token lasts, 1 to 3650, or never."}})
		}
		exp := h.Now().AddDate(0, 0, n)
		t.ExpiresAt = &exp
	}
	secret, err := h.Services.Auth.CreateToken(r.Context(), 0, t)
	if err != nil {
		if vigil.ErrorCode(err) == vigil.EINVALID {
			return h.renderAccount(w, r, statusInvalid, &accountData{TokenName: t.Name, Errors: fieldErrors(err)})
		}
		return err
	}
	return h.renderAccount(w, r, http.StatusOK, &accountData{NewToken: secret})
}

func (h *Handler) revokeToken(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("tid"))
	if err == nil {
		err = h.Services.Auth.RevokeToken(r.Context(), id)
	}
	if err != nil {
		return err
	}
	back := "/account"
	if b := r.FormValue("back"); b != "" {
		back = safeNext(b)
	}
	h.redirect(w, r, back, "Token revoked.")
	return nil
}
