package http

import (
	"bytes"
	"context"
	"crypto/subtle"
	"fmt"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"time"

	"github.com/vigil-ir/vigil"
)

// SessionCookie is the name of the session cookie.
const SessionCookie = "vigil_session"

// CSRFHeader carries the session's CSRF token on state-changing API calls
// made with the session cookie (forms send it as the csrf_token field).
const CSRFHeader = "X-CSRF-Token"

type sessionKey struct{}

// SessionFromContext returns the browser session of the request, if any.
func SessionFromContext(ctx context.Context) *vigil.Session {
	s, _ := ctx.Value(sessionKey{}).(*vigil.Session)
	return s
}

// authenticate puts the actor in the context: from a bearer token, else
// from the session cookie. A bad token is refused at once (a script with a
// wrong token wants to know); a stale cookie just means anonymous. Requests
// that change state with a cookie must carry the session's CSRF token.
func (s *Server) authenticate(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if strings.HasPrefix(r.URL.Path, "/taxii2/") {
			h.ServeHTTP(w, r) // TAXII authenticates its own way (partners, HTTP Basic)
			return
		}
		if auth := r.Header.Get("Authorization"); auth != "" {
			scheme, token, _ := strings.Cut(auth, " ")
			if !strings.EqualFold(scheme, "Bearer") || token == "" {
				s.error(w, r, vigil.Errorf(vigil.EUNAUTHORIZED, "Use Authorization: Bearer <token>."))
				return
			}
			if strings.HasPrefix(strings.TrimSpace(token), vigil.IntegrationTokenPrefix) {
				// An integration's token is no user's: the intake
				// handlers check it; everywhere else it is anonymous.
				h.ServeHTTP(w, r)
				return
			}
			a, err := s.Services.Auth.AuthenticateToken(ctx, strings.TrimSpace(token))
			if err != nil {
				s.error(w, r, err)
				return
			}
			if a.MustChangePassword && !mustChangeAllowed(r) {
				s.error(w, r, errMustChange)
				return
			}
			h.ServeHTTP(w, r.WithContext(vigil.NewContextWithActor(ctx, a)))
			return
		}
		if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
			a, sess, err := s.Services.Auth.AuthenticateSession(ctx, c.Value)
			if err == nil {
				if unsafeMethod(r.Method) && !validCSRF(r, sess) {
					forbidden(w, r, "The request is missing its CSRF token; reload the page and try again.")
					return
				}
				if a != nil && a.MustChangePassword && !mustChangeAllowed(r) {
					s.error(w, r, errMustChange)
					return
				}
				if a != nil && a.MustEnrol && !mustEnrolAllowed(r) {
					s.error(w, r, errMustEnrol)
					return
				}
				if a != nil {
					// A session waiting for its second factor has no actor:
					// only the second-factor step reads it (SessionFromContext).
					ctx = vigil.NewContextWithActor(ctx, a)
				}
				ctx = context.WithValue(ctx, sessionKey{}, sess)
			} else if vigil.ErrorCode(err) != vigil.EUNAUTHORIZED {
				s.error(w, r, err)
				return
			}
		}
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// errMustChange refuses a user who logged in with a one-time password
// anything but choosing their own.
var errMustChange = vigil.Errorf(vigil.EFORBIDDEN, "You logged in with a one-time password: choose your own first (PUT /api/v1/me/password, or the account page).")

// mustChangeAllowed says what a user who must change a one-time password
// may still do: see who they are, change it, log out. Web pages are let
// through to package web, which sends them to the account page.
func mustChangeAllowed(r *http.Request) bool {
	switch r.Method + " " + r.URL.Path {
	case "GET /api/v1/me", "PUT /api/v1/me/password", "POST /api/v1/auth/logout":
		return true
	}
	return !strings.HasPrefix(r.URL.Path, "/api/") && r.URL.Path != "/metrics"
}

// errMustEnrol refuses a user whom the policy wants to have a second
// factor anything but enrolling one.
var errMustEnrol = vigil.Errorf(vigil.EFORBIDDEN, "Set up a second factor first (POST /api/v1/me/mfa/totp, or the account page): your administrator requires one.")

// mustEnrolAllowed says what a user made to enrol may still do: enrol,
// see who they are, log out. Pages go through to package web, which sends
// them to the enrolment page.
func mustEnrolAllowed(r *http.Request) bool {
	switch r.Method + " " + r.URL.Path {
	case "GET /api/v1/me", "POST /api/v1/auth/logout", "GET /api/v1/me/mfa", "POST /api/v1/me/mfa/totp", "POST /api/v1/me/mfa/totp/confirm":
		return true
	}
	return !strings.HasPrefix(r.URL.Path, "/api/") && r.URL.Path != "/metrics"
}

func unsafeMethod(m string) bool {
	return m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions
}

// validCSRF checks the CSRF token from the header, or from a form field for
// HTML forms, in constant time.
func validCSRF(r *http.Request, sess *vigil.Session) bool {
	got := r.Header.Get(CSRFHeader)
	if got == "" && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		got = r.PostFormValue("csrf_token")
	}
	if got == "" && strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		got = peekCSRF(r)
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(sess.CSRFToken)) == 1
}

// peekCSRF reads the token of a multipart form from its first part, which
// must be csrf_token (forms put that hidden input first), without reading
// the rest: an upload streams on to its handler as it arrives. What was read
// is put back in front of the body.
func peekCSRF(r *http.Request) string {
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || params["boundary"] == "" {
		return ""
	}
	var seen bytes.Buffer
	mr := multipart.NewReader(io.TeeReader(io.LimitReader(r.Body, 16<<10), &seen), params["boundary"])
	token := ""
	if p, err := mr.NextPart(); err == nil && p.FormName() == "csrf_token" {
		if b, err := io.ReadAll(io.LimitReader(p, 512)); err == nil {
			token = strings.TrimSpace(string(b))
		}
	}
	r.Body = readCloser{io.MultiReader(&seen, r.Body), r.Body}
	return token
}

type readCloser struct {
	io.Reader
	io.Closer
}

// requireActor returns the actor, or EUNAUTHORIZED when nobody is logged in.
func requireActor(r *http.Request) (*vigil.Actor, error) {
	a := vigil.ActorFromContext(r.Context())
	if a == nil {
		return nil, vigil.Errorf(vigil.EUNAUTHORIZED, "You must be logged in.")
	}
	return a, nil
}

// LoginRequest is the body of POST /api/v1/auth/login.
type LoginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// LoginResponse tells the client who logged in and the CSRF token to send
// with state-changing requests.
type LoginResponse struct {
	User      *vigil.User `json:"user"`
	CSRFToken string      `json:"csrf_token"`
	ExpiresAt time.Time   `json:"expires_at"`
	// Stage is "mfa" when the sign-in waits for a second factor (POST
	// /api/v1/auth/mfa), "enrol" when the user must set one up first.
	Stage string `json:"stage,omitempty"`
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) error {
	if ok, wait := s.loginLimiter.Allow(clientIP(r), s.Now()); !ok {
		w.Header().Set("Retry-After", fmt.Sprint(int(math.Ceil(wait.Seconds()))))
		return vigil.Errorf(vigil.ETOOMANY, "Too many login attempts from your address. Wait a minute and try again.")
	}
	var req LoginRequest
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	sess, secret, err := s.Services.Auth.Login(r.Context(), req.Username, req.Password)
	if err != nil {
		return err
	}
	s.setSessionCookie(w, r, secret, sess.ExpiresAt)
	ctx := vigil.NewContextWithActor(r.Context(), &vigil.Actor{UserID: sess.UserID, Role: vigil.RoleViewer})
	u, err := s.Services.Users.FindUserByID(ctx, sess.UserID)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, &LoginResponse{User: u, CSRFToken: sess.CSRFToken, ExpiresAt: sess.ExpiresAt, Stage: sess.Stage})
	return nil
}

// setSessionCookie sets (or with an empty secret, clears) the session cookie.
func (s *Server) setSessionCookie(w http.ResponseWriter, r *http.Request, secret string, expires time.Time) {
	http.SetCookie(w, SessionCookieFor(secret, expires, s.SecureCookies || r.TLS != nil))
}

// SessionCookieFor returns the session cookie for secret, or with an empty
// secret, the cookie that clears it. The web pages' login uses it too.
func SessionCookieFor(secret string, expires time.Time, secure bool) *http.Cookie {
	c := &http.Cookie{Name: SessionCookie, Value: secret, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: secure}
	if secret == "" {
		c.MaxAge = -1
	} else {
		c.Expires = expires
	}
	return c
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" && SessionFromContext(r.Context()) != nil {
		if err := s.Services.Auth.Logout(r.Context(), c.Value); err != nil {
			return err
		}
	}
	s.setSessionCookie(w, r, "", time.Time{})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// MeResponse describes the caller.
type MeResponse struct {
	User        *vigil.User        `json:"user"`
	Scopes      []vigil.Scope      `json:"scopes,omitempty"`
	Permissions []vigil.Permission `json:"permissions"`
	// Organisations are the caller's roles by organisation (a token bound
	// to one organisation: that one only).
	Organisations []vigil.OrgRole `json:"organisations"`
	CSRFToken     string          `json:"csrf_token,omitempty"`
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) error {
	a, err := requireActor(r)
	if err != nil {
		return err
	}
	u, err := s.Services.Users.FindUserByID(r.Context(), a.UserID)
	if err != nil {
		return err
	}
	resp := &MeResponse{User: u, Scopes: a.Scopes, Permissions: vigil.PermissionsOf(a), Organisations: a.Memberships()}
	if resp.Organisations == nil {
		resp.Organisations = []vigil.OrgRole{}
	}
	if sess := SessionFromContext(r.Context()); sess != nil {
		resp.CSRFToken = sess.CSRFToken
	}
	s.json(w, http.StatusOK, resp)
	return nil
}
