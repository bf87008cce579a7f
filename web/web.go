// Package web serves Vigil's pages: server-rendered html/template pages and
// plain HTML forms, with one small script for live updates. Assets are
// embedded; nothing is loaded from another host, and every page carries a
// strict Content-Security-Policy. Handlers read the actor that package http's
// middleware put in the context (which also checks the CSRF token of every
// state-changing request) and call the services, which enforce roles and TLP.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/vigil-ir/vigil"
	vigilhttp "github.com/vigil-ir/vigil/http"
	"github.com/vigil-ir/vigil/internal/ratelimit"
	"github.com/vigil-ir/vigil/sso"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// CSP is the Content-Security-Policy of every page: scripts, styles and
// connections only from this origin, no inline script or style, no frames.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Handler serves the pages.
type Handler struct {
	Services vigil.Services
	Logger   *slog.Logger
	// Now is the clock.
	Now func() time.Time
	// Location is the time zone pages show times in and read form times in.
	Location *time.Location
	// SecureCookies marks cookies Secure (behind TLS).
	SecureCookies bool
	// LiveInterval is how often a live view checks for changes.
	LiveInterval time.Duration
	// Single sign-on (web/oidc.go): BaseURL is this Vigil's public
	// address for the providers' redirect URIs ("" reads it from each
	// request); OutboundAllow admits an identity provider on an internal
	// address; SSO, if set, is the client (one on OutboundAllow if not).
	BaseURL       string
	OutboundAllow vigil.OutboundAllow
	SSO           *sso.Client
	ssoOnce       sync.Once
	ssoLimiter    *ratelimit.Limiter

	pages        map[string]*template.Template
	assetVersion string
	static       http.Handler

	loginLimiter  *ratelimit.Limiter
	reportLimiter *ratelimit.Limiter
	statusLimiter *ratelimit.Limiter

	closeOnce sync.Once
	closed    chan struct{}
}

// New returns a handler on svc; set the exported fields before serving.
func New(svc vigil.Services, logger *slog.Logger) (*Handler, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{
		Services:     svc,
		Logger:       logger,
		Now:          time.Now,
		Location:     time.Local,
		LiveInterval: 2 * time.Second,
		pages:        map[string]*template.Template{},
		// Per client address: a person retrying a password, reporting a few
		// things or checking a receipt is far inside these; a script is not.
		loginLimiter:  ratelimit.New(10, time.Minute),
		reportLimiter: ratelimit.New(5, 10*time.Minute),
		statusLimiter: ratelimit.New(30, 10*time.Minute),
		closed:        make(chan struct{}),
	}
	if err := h.parseTemplates(); err != nil {
		return nil, err
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	h.assetVersion, err = hashFS(sub)
	if err != nil {
		return nil, err
	}
	files := http.FileServerFS(sub)
	h.static = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("v") == h.assetVersion {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		http.StripPrefix("/static/", files).ServeHTTP(w, r)
	})
	return h, nil
}

// Close ends live streams, so that a graceful shutdown need not wait for them.
func (h *Handler) Close() { h.closeOnce.Do(func() { close(h.closed) }) }

// hashFS returns a short hash of every file in fsys, for cache busting.
func hashFS(fsys fs.FS) (string, error) {
	sum := sha256.New()
	err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(sum, "%s\x00%d\x00", path, len(b))
		sum.Write(b)
		return nil
	})
	return hex.EncodeToString(sum.Sum(nil))[:12], err
}

// Register adds the pages' routes to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.Handle("GET /static/", h.static)
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		r.URL.Path, r.URL.RawQuery = "/static/favicon.ico", ""
		h.static.ServeHTTP(w, r)
	})
	mux.HandleFunc("GET /{$}", h.requireLogin(h.dashboard))
	mux.HandleFunc("GET /login", h.serve(h.loginForm))
	mux.HandleFunc("POST /login", h.serve(h.login))
	mux.HandleFunc("POST /logout", h.serve(h.logout))
	h.registerOIDC(mux)
	mux.HandleFunc("GET /account", h.requireLogin(h.account))
	mux.HandleFunc("POST /account/password", h.requireLogin(h.changePassword))
	mux.HandleFunc("POST /account/tokens", h.requireLogin(h.createToken))
	mux.HandleFunc("POST /account/tokens/{tid}/revoke", h.requireLogin(h.revokeToken))
	mux.HandleFunc("POST /account/organisation", h.requireLogin(h.orgSwitch))
	mux.HandleFunc("GET /login/mfa", h.serve(h.loginMFAForm))
	mux.HandleFunc("POST /login/mfa", h.serve(h.loginMFA))
	mux.HandleFunc("GET /account/mfa", h.requireLogin(h.mfaPage))
	mux.HandleFunc("POST /account/mfa/totp", h.requireLogin(h.mfaBegin))
	mux.HandleFunc("POST /account/mfa/totp/confirm", h.requireLogin(h.mfaConfirm))
	mux.HandleFunc("POST /admin/users/{uid}/mfa/reset", h.requireLogin(h.adminUserMFAReset))
	mux.HandleFunc("POST /admin/mfa-policy", h.requireLogin(h.adminMFAPolicy))
	mux.HandleFunc("GET /account/sessions", h.requireLogin(h.sessions))
	mux.HandleFunc("POST /account/sessions/{sid}/revoke", h.requireLogin(h.sessionRevoke))
	mux.HandleFunc("POST /account/sessions/end-others", h.requireLogin(h.sessionsEndOthers))
	mux.HandleFunc("POST /admin/users/{uid}/sessions/end", h.requireLogin(h.adminUserSessionsEnd))
	mux.HandleFunc("POST /admin/users/{uid}/password", h.requireLogin(h.adminUserPassword))

	mux.HandleFunc("GET /incidents", h.requireLogin(h.incidentList))
	mux.Handle("GET /incidents/live", vigilhttp.Stream(h.requireLogin(h.listLive)))
	mux.HandleFunc("GET /incidents/new", h.requireLogin(h.incidentNew))
	mux.HandleFunc("POST /incidents", h.requireLogin(h.incidentCreate))
	mux.HandleFunc("GET /incidents/{id}", h.requireLogin(h.incidentView))
	mux.Handle("GET /incidents/{id}/live", vigilhttp.Stream(h.requireLogin(h.incidentLive)))
	mux.HandleFunc("POST /incidents/{id}", h.requireLogin(h.incidentUpdate))
	mux.HandleFunc("POST /incidents/{id}/transition", h.requireLogin(h.incidentTransition))
	mux.HandleFunc("POST /incidents/{id}/notes", h.requireLogin(h.noteCreate))
	mux.HandleFunc("POST /incidents/{id}/tasks", h.requireLogin(h.taskCreate))
	mux.HandleFunc("POST /incidents/{id}/tasks/{tid}", h.requireLogin(h.taskUpdate))
	mux.HandleFunc("POST /incidents/{id}/tasks/{tid}/move", h.requireLogin(h.taskMove))
	mux.HandleFunc("POST /incidents/{id}/observables", h.requireLogin(h.observableCreate))
	mux.HandleFunc("POST /incidents/{id}/comments", h.requireLogin(h.commentCreate))
	mux.HandleFunc("POST /markdown/preview", h.requireLogin(h.markdownPreview))
	mux.HandleFunc("GET /duties", h.requireLogin(h.dutiesOverview))
	mux.HandleFunc("GET /tasks", h.requireLogin(h.taskBoard))
	mux.HandleFunc("GET /help/{name}", h.requireLogin(h.help))
	mux.HandleFunc("POST /incidents/{id}/observables/{oid}/delete", h.requireLogin(h.observableDelete))
	mux.HandleFunc("POST /incidents/{id}/links", h.requireLogin(h.linkCreate))
	mux.HandleFunc("POST /incidents/{id}/links/{lid}/delete", h.requireLogin(h.linkDelete))
	mux.HandleFunc("POST /incidents/{id}/members", h.requireLogin(h.memberAdd))
	mux.HandleFunc("POST /incidents/{id}/members/remove", h.requireLogin(h.memberRemove))
	mux.HandleFunc("POST /incidents/{id}/report-up", h.requireLogin(h.reportUp))
	mux.Handle("POST /incidents/{id}/evidence", vigilhttp.Long(h.requireLogin(h.evidenceUpload)))
	mux.HandleFunc("GET /incidents/{id}/plans/{pid}", h.requireLogin(h.planApply))
	mux.HandleFunc("POST /incidents/{id}/plans/{pid}", h.requireLogin(h.planApply))
	mux.HandleFunc("GET /incidents/{id}/review", h.requireLogin(h.reviewView))
	mux.HandleFunc("POST /incidents/{id}/review", h.requireLogin(h.reviewSave))
	mux.HandleFunc("POST /incidents/{id}/review/start", h.requireLogin(h.reviewStart))
	mux.HandleFunc("POST /incidents/{id}/review/actions", h.requireLogin(h.reviewAction))
	mux.HandleFunc("POST /incidents/{id}/review/actions/{tid}/{to}", h.requireLogin(h.reviewActionDone))
	mux.HandleFunc("POST /incidents/{id}/review/close", h.requireLogin(h.reviewClose))
	mux.HandleFunc("GET /preparedness", h.requireLogin(h.preparedness))
	mux.HandleFunc("GET /insights", h.requireLogin(h.insights))
	mux.Handle("GET /insights/report", vigilhttp.Long(h.requireLogin(h.managementReport)))
	for _, f := range []string{"md", "html", "pdf"} {
		mux.Handle("GET /incidents/{id}/report."+f, vigilhttp.Long(h.requireLogin(h.incidentReport(f))))
	}
	mux.HandleFunc("GET /exercises", h.requireLogin(h.exercises))
	mux.HandleFunc("POST /exercises", h.requireLogin(h.exerciseCreate))
	mux.HandleFunc("GET /exercises/{xid}", h.requireLogin(h.exerciseView))
	mux.HandleFunc("POST /exercises/{xid}/{action}", h.requireLogin(h.exerciseAction))
	mux.HandleFunc("POST /admin/contacts/{cid}/verify", h.requireLogin(h.contactVerify))
	mux.HandleFunc("GET /plans", h.requireLogin(h.plans))
	mux.HandleFunc("GET /plans/new", h.requireLogin(h.planNew))
	mux.HandleFunc("POST /plans", h.requireLogin(h.planCreate))
	mux.HandleFunc("GET /plans/{pid}", h.requireLogin(h.planView))
	mux.HandleFunc("GET /plans/{pid}/edit", h.requireLogin(h.planEdit))
	mux.HandleFunc("POST /plans/{pid}", h.requireLogin(h.planUpdate))
	mux.HandleFunc("POST /plans/{pid}/{action}", h.requireLogin(h.planAction))
	mux.Handle("GET /incidents/{id}/evidence.zip", vigilhttp.Long(h.requireLogin(h.evidencePackage)))
	mux.HandleFunc("GET /evidence/{eid}", h.requireLogin(h.evidenceView))
	mux.Handle("GET /evidence/{eid}/download", vigilhttp.Long(h.requireLogin(h.evidenceDownload)))
	mux.Handle("POST /evidence/{eid}/{action}", vigilhttp.Long(h.requireLogin(h.evidenceAction)))

	mux.HandleFunc("GET /report", h.serve(h.reportForm))
	mux.HandleFunc("POST /report", h.serve(h.reportSubmit))
	mux.HandleFunc("GET /report/status", h.serve(h.reportStatus))
	mux.HandleFunc("POST /report/status", h.serve(h.reportStatus))
	mux.HandleFunc("POST /report/status/add", h.serve(h.reportAdd))
	// Each member organisation's own report page; /report is the default
	// organisation's ("status" names no organisation).
	mux.HandleFunc("GET /report/{slug}", h.serve(h.reportForm))
	mux.HandleFunc("POST /report/{slug}", h.serve(h.reportSubmit))
	mux.HandleFunc("GET /report/{slug}/status", h.serve(h.reportStatus))
	mux.HandleFunc("POST /report/{slug}/status", h.serve(h.reportStatus))
	mux.HandleFunc("POST /report/{slug}/status/add", h.serve(h.reportAdd))

	mux.HandleFunc("GET /admin/users", h.requireLogin(h.adminUsers))
	mux.HandleFunc("POST /admin/users", h.requireLogin(h.adminUserCreate))
	mux.HandleFunc("POST /admin/users/{uid}", h.requireLogin(h.adminUserUpdate))
	mux.HandleFunc("GET /admin/users/{uid}/tokens", h.requireLogin(h.adminUserTokens))
	mux.HandleFunc("GET /admin/audit", h.requireLogin(h.adminAudit))
	mux.HandleFunc("GET /admin/organisations", h.requireLogin(h.adminOrgs))
	mux.HandleFunc("POST /admin/organisations", h.requireLogin(h.adminOrgCreate))
	mux.HandleFunc("GET /admin/organisations/{slug}", h.requireLogin(h.adminOrg))
	mux.HandleFunc("POST /admin/organisations/{slug}", h.requireLogin(h.adminOrgUpdate))
	mux.HandleFunc("POST /admin/organisations/{slug}/members", h.requireLogin(h.adminOrgMemberAdd))
	mux.HandleFunc("POST /admin/organisations/{slug}/members/{username}", h.requireLogin(h.adminOrgMember))
	mux.HandleFunc("GET /intel", h.requireLogin(h.intel))
	mux.HandleFunc("POST /intel/collections", h.requireLogin(h.collectionCreate))
	mux.HandleFunc("POST /intel/partners", h.requireLogin(h.partnerCreate))
	mux.HandleFunc("POST /intel/partners/{pid}/revoke", h.requireLogin(h.partnerRevoke))
	mux.HandleFunc("POST /intel/feeds", h.requireLogin(h.feedCreate))
	mux.HandleFunc("GET /intel/hits/{hid}/share", h.requireLogin(h.hitShare))
	mux.HandleFunc("POST /intel/hits/{hid}/share", h.requireLogin(h.hitShare))
	mux.HandleFunc("GET /notifications", h.requireLogin(h.notifications))
	mux.HandleFunc("POST /notifications/channels", h.requireLogin(h.channelCreate))
	mux.HandleFunc("POST /notifications/channels/{cid}/{action}", h.requireLogin(h.channelAction))
	mux.HandleFunc("POST /notifications/subscriptions", h.requireLogin(h.subscriptionCreate))
	mux.HandleFunc("POST /notifications/subscriptions/{sid}/delete", h.requireLogin(h.subscriptionDelete))
	mux.HandleFunc("POST /notifications/deliveries/{did}/retry", h.requireLogin(h.deliveryRetry))
	mux.HandleFunc("GET /admin/duty-packs", h.requireLogin(h.adminPacks))
	mux.HandleFunc("POST /admin/duty-packs", h.requireLogin(h.adminPackSave))
	mux.HandleFunc("POST /admin/duty-packs/{pack}/delete", h.requireLogin(h.adminPackDelete))
	mux.HandleFunc("GET /admin/contacts", h.requireLogin(h.adminContacts))
	mux.HandleFunc("POST /admin/contacts", h.requireLogin(h.adminContactCreate))
	mux.HandleFunc("POST /admin/contacts/{cid}/delete", h.requireLogin(h.adminContactDelete))
	mux.HandleFunc("GET /admin/integrations", h.requireLogin(h.adminIntegrations))
	mux.HandleFunc("POST /admin/integrations", h.requireLogin(h.adminIntegrationCreate))
	mux.HandleFunc("POST /admin/integrations/{iid}", h.requireLogin(h.adminIntegrationUpdate))

	mux.HandleFunc("POST /incidents/{id}/duties/{oid}/submit", h.requireLogin(h.dutySubmit))
	mux.HandleFunc("POST /incidents/{id}/duties/{oid}/not-required", h.requireLogin(h.dutyWaive))
	mux.HandleFunc("POST /incidents/{id}/duties/{oid}/late-reason", h.requireLogin(h.dutyExplainDelay))
	mux.HandleFunc("POST /incidents/{id}/duties/{oid}/request", h.requireLogin(h.dutyRequest))
	mux.HandleFunc("POST /views", h.requireLogin(h.viewCreate))
	mux.HandleFunc("POST /views/{vid}/delete", h.requireLogin(h.viewDelete))

	mux.HandleFunc("GET /alerts", h.requireLogin(h.alertQueue))
	mux.HandleFunc("POST /alerts/actions", h.requireLogin(h.alertAction))
	mux.HandleFunc("GET /alerts/groups/{gid}", h.requireLogin(h.alertGroupView))
	mux.HandleFunc("GET /alerts/{aid}", h.requireLogin(h.alertView))

	// Everything else that is not the API: a page, not the mux's plain text.
	mux.HandleFunc("/", h.serve(h.notFound))
}

// pageHandler is a page's handler. It writes the page, or returns an error
// for errorPage to show instead; a handler that has written returns nil.
type pageHandler func(w http.ResponseWriter, r *http.Request) error

// serve adapts a page's handler to net/http. It is the one place where a
// handler's error becomes the error page: every route goes through it,
// those behind a login by requireLogin.
func (h *Handler) serve(fn pageHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			h.errorPage(w, r, err)
		}
	}
}

// page is what every template gets.
type page struct {
	Title    string
	Actor    *vigil.Actor
	CSRF     string
	Flash    string
	Nav      string          // the nav item to mark current
	Asset    string          // the asset version for cache busting
	Can      map[string]bool // what the actor may do here (on an incident's pages, in its organisation)
	NavCan   map[string]bool // what the actor may do anywhere: the header's links
	Data     any
	Public   bool // the public report pages: no navigation
	LiveURL  string
	LiveMark string
	// The actor's organisations, when they belong to any but the default
	// one (see organisation.go); the current one, when they chose one; and
	// their staff report pages.
	Orgs         []orgView
	OrgCurrent   string
	ReportURLs   []reportLink
	SuspendedOrg string // the page is about an incident of this suspended organisation
	IncidentOrg  string // the name of the organisation of the incident the page is about, when it helps
	GrantedOrg   string // the page is about an incident the actor sees by this organisation's grant
	// Here is where the page's header forms come back to.
	Here string
	// orgNames are the names of organisations besides the actor's, when
	// a page needed them (learnOrgNames).
	orgNames map[string]string
}

func (h *Handler) newPage(r *http.Request, title, nav string, data any) *page {
	p := &page{Title: title, Nav: nav, Data: data, Asset: h.assetVersion, Can: map[string]bool{}}
	p.Actor = vigil.ActorFromContext(r.Context())
	for _, perm := range vigil.PermissionsOf(p.Actor) {
		p.Can[string(perm)] = true
	}
	p.NavCan = p.Can
	p.Here = "/"
	if r.Method == http.MethodGet {
		p.Here = r.URL.RequestURI()
	}
	h.setOrgs(r, p)
	if s := vigilhttp.SessionFromContext(r.Context()); s != nil {
		p.CSRF = s.CSRFToken
	}
	if c, err := r.Cookie(flashCookie); err == nil {
		if v, err := url.QueryUnescape(c.Value); err == nil {
			p.Flash = v
		}
	}
	return p
}

const flashCookie = "vigil_flash"

// render writes a page with status. A template that fails writes nothing
// and is an error for the handler to return.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) error {
	t, ok := h.pages[name]
	if !ok {
		panic("web: no template " + name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Security-Policy", CSP)
	hd.Set("Cache-Control", "no-store")
	if p.Flash != "" {
		http.SetCookie(w, &http.Cookie{Name: flashCookie, Path: "/", MaxAge: -1})
	}
	w.WriteHeader(status)
	w.Write(buf.Bytes())
	return nil
}

// redirect answers a form post with 303 See Other to target, with a flash
// message for the next page.
func (h *Handler) redirect(w http.ResponseWriter, r *http.Request, target, flash string) {
	if flash != "" {
		http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: url.QueryEscape(flash), Path: "/", HttpOnly: true,
			SameSite: http.SameSiteLaxMode, Secure: h.SecureCookies || r.TLS != nil, MaxAge: 60})
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// requireLogin serves fn to people who are logged in, and sends others to
// the login page, and back here afterwards.
func (h *Handler) requireLogin(fn pageHandler) http.HandlerFunc {
	return h.serve(func(w http.ResponseWriter, r *http.Request) error {
		if vigil.ActorFromContext(r.Context()) == nil {
			next := r.URL.RequestURI()
			if r.Method != http.MethodGet {
				next = "/"
			}
			http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
			return nil
		}
		if a := vigil.ActorFromContext(r.Context()); a.MustChangePassword && r.URL.Path != "/account" && r.URL.Path != "/account/password" {
			h.redirect(w, r, "/account", "You logged in with a one-time password. Choose your own before you go on.")
			return nil
		} else if a.MustEnrol && !strings.HasPrefix(r.URL.Path, "/account/mfa") {
			h.redirect(w, r, "/account/mfa", "Your administrator requires a second factor: set up an authenticator app before you go on.")
			return nil
		}
		return fn(w, r)
	})
}

// errorPage shows an error as a page, with the status vigil.HTTPStatus
// gives its code, the same as the API's. Only internal errors are logged
// as errors, once, here: the rest (a 404, a refused form, 413, 501) are
// answers, not faults, and their messages are safe to show; the store's
// faults (503 with Retry-After, 507) are logged as warnings.
func (h *Handler) errorPage(w http.ResponseWriter, r *http.Request, err error) {
	err = vigil.TimedOut(err)
	code := vigil.ErrorCode(err)
	status := vigil.HTTPStatus(code)
	msg := vigil.ErrorMessage(err)
	if code == vigil.EUNAVAILABLE || code == vigil.ESTORAGEFULL {
		// The store's fault: a warning, as the API's error writer logs it,
		// and Retry-After for a 503.
		h.Logger.WarnContext(r.Context(), "store fault", "code", code, "path", r.URL.Path, "err", err,
			"request_id", vigil.RequestIDFromContext(r.Context()))
		vigilhttp.SetRetryAfter(w, err)
	}
	if code == vigil.EINTERNAL {
		h.Logger.ErrorContext(r.Context(), "page error", "path", r.URL.Path, "err", err,
			"request_id", vigil.RequestIDFromContext(r.Context()))
		msg = "Something went wrong on our side. Try again; if it keeps happening, tell your administrator (request " +
			vigil.RequestIDFromContext(r.Context()) + ")."
	}
	if err := h.render(w, r, status, "error.html", h.newPage(r, http.StatusText(status), "", msg)); err != nil {
		h.Logger.ErrorContext(r.Context(), "error page", "err", err, "request_id", vigil.RequestIDFromContext(r.Context()))
		http.Error(w, "Internal error.", http.StatusInternalServerError)
	}
}

// statusInvalid answers a form shown again with its field errors: the
// status of EINVALID, 400, as the API answers the same input.
var statusInvalid = vigil.HTTPStatus(vigil.EINVALID)

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) error {
	return vigil.Errorf(vigil.ENOTFOUND, "There is no page at %s.", r.URL.Path)
}

// maxFormBytes bounds a form post; the report page and notes are the
// largest, at tens of kilobytes.
const maxFormBytes = 256 << 10

// parseForm reads a form body within maxFormBytes.
func parseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return vigil.Errorf(vigil.EINVALID, "That was too much text at once (the limit is %d KB).", maxFormBytes>>10)
		}
		return vigil.Errorf(vigil.EINVALID, "The form could not be read.")
	}
	return nil
}

// formTime reads a datetime-local value in the handler's zone; "" is nil.
func (h *Handler) formTime(v string) (*time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, h.Location); err == nil {
			return &t, nil
		}
	}
	return nil, errors.New("not a date and time")
}

// fieldErrors maps an EINVALID error's fields to messages for a form.
func fieldErrors(err error) map[string]string {
	out := map[string]string{}
	for _, f := range vigil.ErrorFields(err) {
		if _, ok := out[f.Field]; !ok {
			out[f.Field] = f.Message
		}
	}
	return out
}

// clientIP is the request's client address, for rate limits: the
// connecting one, or one a trusted proxy forwarded.
func clientIP(r *http.Request) string { return vigilhttp.ClientAddr(r) }
