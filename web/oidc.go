package web

import (
	"crypto/subtle"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-ir/vigil"
	vigilhttp "github.com/vigil-ir/vigil/http"
	"github.com/vigil-ir/vigil/internal/ratelimit"
	"github.com/vigil-ir/vigil/sso"
)

// Single sign-on with OpenID Connect (docs/identity.md): the login page's
// "Sign in with <provider>" buttons lead to /login/oidc/{slug}, which
// sends the browser to the provider; the provider sends it back to
// /login/oidc/{slug}/callback, where the answer is checked and the same
// session a password login makes is started. Administrators keep the
// providers at /admin/sign-in.

// oidcCookie holds the state of the sign-in under way in this browser,
// so that an answer is taken only by the browser that asked.
const oidcCookie = "vigil_oidc"

func (h *Handler) registerOIDC(mux *http.ServeMux) {
	mux.HandleFunc("GET /login/oidc/{slug}", h.serve(h.oidcStart))
	mux.HandleFunc("GET /login/oidc/{slug}/callback", h.serve(h.oidcCallback))
	mux.HandleFunc("GET /admin/sign-in", h.requireLogin(h.adminSSO))
	mux.HandleFunc("POST /admin/sign-in", h.requireLogin(h.adminSSOSave))
	mux.HandleFunc("GET /admin/sign-in/{pid}", h.requireLogin(h.adminSSO))
	mux.HandleFunc("POST /admin/sign-in/{pid}", h.requireLogin(h.adminSSOSave))
	mux.HandleFunc("POST /admin/sign-in/{pid}/delete", h.requireLogin(h.adminSSODelete))
}

// sso returns the client for the providers, made on first use.
func (h *Handler) sso() *sso.Client {
	h.ssoOnce.Do(func() {
		if h.SSO == nil {
			h.SSO = sso.New(h.OutboundAllow)
		}
		// Per client address, as for passwords; a sign-in is a few
		// requests, and one that fails is tried again.
		h.ssoLimiter = ratelimit.New(30, time.Minute)
	})
	return h.SSO
}

// baseURL is this Vigil's public address: BaseURL, or the request's.
func (h *Handler) baseURL(r *http.Request) string {
	if h.BaseURL != "" {
		return strings.TrimSuffix(h.BaseURL, "/")
	}
	scheme := "http"
	if r.TLS != nil || h.SecureCookies {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// ssoButtons lists the providers for the login page; a store that fails
// here costs the buttons, not the page.
func (h *Handler) ssoButtons(r *http.Request) []vigil.OIDCButton {
	if h.Services.OIDC == nil {
		return nil
	}
	b, err := h.Services.OIDC.SignInProviders(r.Context())
	if err != nil {
		h.Logger.Warn("sign-in providers", "err", err)
	}
	return b
}

// ssoFail shows the login page with msg.
func (h *Handler) ssoFail(w http.ResponseWriter, r *http.Request, status int, msg, next string) error {
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Path: "/login/oidc/", MaxAge: -1})
	p := h.newPage(r, "Log in", "", &loginData{Error: msg, Next: safeNext(next), Providers: h.ssoButtons(r)})
	p.Public = true
	return h.render(w, r, status, "login.html", p)
}

func (h *Handler) oidcStart(w http.ResponseWriter, r *http.Request) error {
	next := safeNext(r.URL.Query().Get("next"))
	h.sso()
	if ok, _ := h.ssoLimiter.Allow(clientIP(r), h.Now()); !ok {
		return h.ssoFail(w, r, http.StatusTooManyRequests, "Too many attempts from your address. Wait a minute and try again.", next)
	}
	p, err := h.Services.OIDC.ProviderForSignIn(r.Context(), r.PathValue("slug"))
	if vigil.ErrorCode(err) == vigil.ENOTFOUND {
		return h.ssoFail(w, r, http.StatusNotFound, "That sign-in provider is not (or no longer) set up here.", next)
	} else if err != nil {
		return err
	}
	target, login, err := h.sso().Begin(r.Context(), p, h.callbackURL(r, p))
	if err != nil {
		h.Logger.Warn("single sign-on: provider unavailable", "provider", p.Slug, "err", sso.Detail(err))
		return h.ssoFail(w, r, http.StatusBadGateway, err.Error(), next)
	}
	login.Next = next
	if err := h.Services.OIDC.BeginSignIn(r.Context(), login); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: login.State, Path: "/login/oidc/", HttpOnly: true,
		// Lax: the provider sends the browser back with a top-level GET.
		SameSite: http.SameSiteLaxMode, Secure: h.SecureCookies || r.TLS != nil, MaxAge: int(vigil.OIDCLoginLifetime / time.Second)})
	http.Redirect(w, r, target, http.StatusSeeOther)
	return nil
}

func (h *Handler) callbackURL(r *http.Request, p *vigil.OIDCProvider) string {
	return h.baseURL(r) + "/login/oidc/" + p.Slug + "/callback"
}

func (h *Handler) oidcCallback(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	state := q.Get("state")
	c, cerr := r.Cookie(oidcCookie)
	if cerr != nil || state == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(state)) != 1 {
		return h.ssoFail(w, r, http.StatusBadRequest, "This sign-in was not started in this browser, was used already or took too long. Try again.", "/")
	}
	// Taken once: a second use of the same answer finds nothing.
	login, err := h.Services.OIDC.TakeSignIn(r.Context(), state)
	if vigil.ErrorCode(err) == vigil.EUNAUTHORIZED {
		return h.ssoFail(w, r, http.StatusBadRequest, vigil.ErrorMessage(err), "/")
	} else if err != nil {
		return err
	}
	p, err := h.Services.OIDC.ProviderForSignIn(r.Context(), r.PathValue("slug"))
	if vigil.ErrorCode(err) == vigil.ENOTFOUND || (err == nil && p.ID != login.ProviderID) {
		return h.ssoFail(w, r, http.StatusBadRequest, "That sign-in provider is not (or no longer) set up here.", login.Next)
	} else if err != nil {
		return err
	}
	if e := q.Get("error"); e != "" {
		msg := p.Name + " did not sign you in"
		if d := q.Get("error_description"); d != "" && len(d) < 300 {
			msg += ": " + d
		} else {
			msg += " (" + e + ")"
		}
		return h.ssoFail(w, r, http.StatusUnauthorized, msg+".", login.Next)
	}
	id, raw, err := h.sso().Finish(r.Context(), p, h.callbackURL(r, p), q.Get("code"), login)
	if err != nil {
		h.Logger.Warn("single sign-on refused", "provider", p.Slug, "err", sso.Detail(err))
		status := http.StatusUnauthorized
		if sso.IsUnavailable(err) {
			status = http.StatusBadGateway
		}
		return h.ssoFail(w, r, status, err.Error(), login.Next)
	}
	sess, secret, err := h.Services.OIDC.SignIn(r.Context(), p.ID, id, raw)
	if c := vigil.ErrorCode(err); c == vigil.EFORBIDDEN || c == vigil.ECONFLICT || c == vigil.ENOTFOUND {
		return h.ssoFail(w, r, http.StatusForbidden, vigil.ErrorMessage(err), login.Next)
	} else if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Path: "/login/oidc/", MaxAge: -1})
	http.SetCookie(w, vigilhttp.SessionCookieFor(secret, sess.ExpiresAt, h.SecureCookies || r.TLS != nil))
	http.Redirect(w, r, login.Next, http.StatusSeeOther)
	return nil
}

// ssoLogout returns where to end the session at its provider as well
// (RP-initiated logout), and the provider's name, for a session a
// provider started whose discovery advertises end_session_endpoint.
func (h *Handler) ssoLogout(r *http.Request) (string, string) {
	sess := vigilhttp.SessionFromContext(r.Context())
	if sess == nil || h.Services.OIDC == nil {
		return "", ""
	}
	p, idToken, err := h.Services.OIDC.SignedInWith(r.Context(), sess.ID)
	if err != nil || p == nil {
		return "", ""
	}
	return h.sso().EndSessionURL(r.Context(), p, idToken, h.baseURL(r)+"/login"), p.Name
}

type loggedOutData struct {
	Provider string
	URL      string
}

// --- administration ---

type ssoForm struct {
	vigil.OIDCProvider
	MappingText string
}

type adminSSOData struct {
	Providers []*vigil.OIDCProvider
	Form      ssoForm
	Editing   bool
	Errors    map[string]string
	Redirect  string // the redirect URI to register at the provider, for the form's provider
	Roles     []vigil.Role
}

func mappingText(ms []vigil.OIDCMapping) string {
	var b strings.Builder
	for _, m := range ms {
		b.WriteString(m.Group + ", " + m.Organisation + ", " + string(m.Role) + "\n")
	}
	return b.String()
}

// parseMappings reads "group, organisation, role" lines (the group may
// hold commas: the last two fields are split off).
func parseMappings(s string) ([]vigil.OIDCMapping, string) {
	out := []vigil.OIDCMapping{}
	for i, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Split(line, ",")
		if len(parts) < 3 {
			return nil, "Line " + strconv.Itoa(i+1) + ": write group, organisation, role (such as vigil-responders, default, responder)."
		}
		n := len(parts)
		out = append(out, vigil.OIDCMapping{Group: strings.TrimSpace(strings.Join(parts[:n-2], ",")),
			Organisation: strings.TrimSpace(parts[n-2]), Role: vigil.Role(strings.ToLower(strings.TrimSpace(parts[n-1])))})
	}
	return out, ""
}

func (h *Handler) adminSSO(w http.ResponseWriter, r *http.Request) error {
	d := &adminSSOData{}
	if pid := r.PathValue("pid"); pid != "" {
		id, err := vigil.ParseID(pid)
		if err != nil {
			return err
		}
		p, err := h.Services.OIDC.FindProvider(r.Context(), id)
		if err != nil {
			return err
		}
		d.Form = ssoForm{OIDCProvider: *p, MappingText: mappingText(p.Mappings)}
		d.Editing = true
	} else {
		d.Form.Enabled = true
		d.Form.Scopes = vigil.DefaultOIDCScopes
		d.Form.UsernameClaim = vigil.DefaultUsernameClaim
		d.Form.GroupsClaim = vigil.DefaultGroupsClaim
	}
	return h.renderAdminSSO(w, r, http.StatusOK, d)
}

func (h *Handler) renderAdminSSO(w http.ResponseWriter, r *http.Request, status int, d *adminSSOData) error {
	list, err := h.Services.OIDC.FindProviders(r.Context())
	if err != nil {
		return err
	}
	d.Providers, d.Roles = list, vigil.Roles
	if d.Errors == nil {
		d.Errors = map[string]string{}
	}
	slug := d.Form.Slug
	if slug == "" {
		slug = "{slug}"
	}
	d.Redirect = h.baseURL(r) + "/login/oidc/" + slug + "/callback"
	return h.render(w, r, status, "admin_sso.html", h.newPage(r, "Single sign-on", "admin", d))
}

func (h *Handler) adminSSOSave(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	p := vigil.OIDCProvider{Slug: f.Get("slug"), Name: f.Get("name"), Issuer: f.Get("issuer"), ClientID: f.Get("client_id"),
		ClientSecret: f.Get("client_secret"), Scopes: strings.Fields(f.Get("scopes")), UsernameClaim: f.Get("username_claim"),
		GroupsClaim: f.Get("groups_claim"), CreateUsers: f.Get("create_users") != "", Exclusive: f.Get("exclusive") != "",
		Enabled: f.Get("enabled") != ""}
	if p.Scopes == nil {
		p.Scopes = []string{}
	}
	d := &adminSSOData{Form: ssoForm{OIDCProvider: p, MappingText: f.Get("mappings")}, Errors: map[string]string{}}
	d.Form.ClientSecret = ""
	ms, msg := parseMappings(f.Get("mappings"))
	if msg != "" {
		d.Errors["mappings"] = msg
		return h.renderAdminSSO(w, r, statusInvalid, d)
	}
	p.Mappings = ms
	var err error
	if pid := r.PathValue("pid"); pid != "" {
		d.Editing = true
		if p.ID, err = vigil.ParseID(pid); err != nil {
			return err
		}
		p.Version, _ = strconv.Atoi(f.Get("version"))
		d.Form.ID, d.Form.Version = p.ID, p.Version
		err = h.Services.OIDC.UpdateProvider(r.Context(), &p)
	} else {
		err = h.Services.OIDC.CreateProvider(r.Context(), &p)
	}
	if c := vigil.ErrorCode(err); c == vigil.EINVALID || c == vigil.ECONFLICT {
		d.Errors = fieldErrors(err)
		if len(d.Errors) == 0 {
			d.Errors["form"] = vigil.ErrorMessage(err)
		}
		return h.renderAdminSSO(w, r, vigil.HTTPStatus(c), d)
	} else if err != nil {
		return err
	}
	h.redirect(w, r, "/admin/sign-in/"+strconv.FormatInt(p.ID, 10), "Sign-in provider "+p.Name+" saved.")
	return nil
}

func (h *Handler) adminSSODelete(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("pid"))
	if err == nil {
		err = h.Services.OIDC.DeleteProvider(r.Context(), id)
	}
	if err != nil {
		return err
	}
	h.redirect(w, r, "/admin/sign-in", "Sign-in provider removed.")
	return nil
}

// ssoAfterLogout is the page after logging out of a session a provider
// started: it goes on to the provider's logout by itself (vigil.js), and
// offers the link for a browser without scripts. (A redirect would do,
// but the logout is a form, and the pages' Content-Security-Policy lets
// forms lead only to this site.)
func (h *Handler) ssoAfterLogout(w http.ResponseWriter, r *http.Request, target, provider string) error {
	p := h.newPage(r, "Logged out", "", &loggedOutData{Provider: provider, URL: target})
	p.Public = true
	p.Actor = nil
	p.Flash = ""
	return h.render(w, r, http.StatusOK, "logged_out.html", p)
}
