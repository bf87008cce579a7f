package web

import (
	"net/http"
	"strings"

	"github.com/vigil-ir/vigil"
)

// sessionView is a session as the pages show it.
type sessionView struct {
	*vigil.Session
	Device string
}

// deviceOf names a browser and system from a User-Agent, roughly: enough
// for a person to tell their laptop from their phone.
func deviceOf(ua string) string {
	if ua == "" {
		return "Unknown browser"
	}
	browser := "A browser"
	for _, b := range []struct{ token, name string }{{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"},
		{"HeadlessChrome/", "Headless Chrome"}, {"Chrome/", "Chrome"}, {"Chromium/", "Chromium"}, {"Safari/", "Safari"}, {"curl/", "curl"}} {
		if strings.Contains(ua, b.token) {
			browser = b.name
			break
		}
	}
	for _, s := range []struct{ token, name string }{{"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Android", "Android"},
		{"Windows", "Windows"}, {"Mac OS X", "macOS"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"}} {
		if strings.Contains(ua, s.token) {
			return browser + " on " + s.name
		}
	}
	return browser
}

func viewSessions(list []*vigil.Session) []sessionView {
	out := make([]sessionView, len(list))
	for i, s := range list {
		out[i] = sessionView{Session: s, Device: deviceOf(s.UserAgent)}
	}
	return out
}

type sessionsData struct {
	Sessions []sessionView
}

func (h *Handler) sessions(w http.ResponseWriter, r *http.Request) error {
	list, err := h.Services.Auth.FindSessions(r.Context(), 0)
	if err != nil {
		return err
	}
	return h.render(w, r, http.StatusOK, "sessions.html", h.newPage(r, "Your sessions", "account", &sessionsData{Sessions: viewSessions(list)}))
}

func (h *Handler) sessionRevoke(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("sid"))
	if err == nil {
		err = h.Services.Auth.RevokeSession(r.Context(), id)
	}
	if err != nil {
		return err
	}
	h.redirect(w, r, "/account/sessions", "Session ended.")
	return nil
}

func (h *Handler) sessionsEndOthers(w http.ResponseWriter, r *http.Request) error {
	n, err := h.Services.Auth.EndSessions(r.Context(), 0)
	if err != nil {
		return err
	}
	msg := "Your other sessions have ended."
	if n == 0 {
		msg = "You had no other sessions."
	}
	h.redirect(w, r, "/account/sessions", msg)
	return nil
}

// adminUserSessionsEnd ends all of a user's sessions.
func (h *Handler) adminUserSessionsEnd(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("uid"))
	if err != nil {
		return err
	}
	if _, err := h.Services.Auth.EndSessions(r.Context(), id); err != nil {
		return err
	}
	h.redirect(w, r, "/admin/users/"+r.PathValue("uid")+"/tokens", "All of that user's sessions have ended.")
	return nil
}

// adminUserPassword resets a user's password, ending their sessions and,
// if asked, revoking their API tokens.
func (h *Handler) adminUserPassword(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	id, err := vigil.ParseID(r.PathValue("uid"))
	if err != nil {
		return err
	}
	revoke := r.PostFormValue("revoke_tokens") == "on"
	if err := h.Services.Users.ResetPassword(r.Context(), id, r.PostFormValue("new_password"), revoke); err != nil {
		if c := vigil.ErrorCode(err); c == vigil.EINVALID {
			errs := fieldErrors(err)
			if len(errs) == 0 {
				errs["new_password"] = vigil.ErrorMessage(err)
			}
			return h.renderUserAccess(w, r, statusInvalid, id, &userTokensData{Errors: errs, RevokeTokens: revoke})
		}
		return err
	}
	msg := "Password reset; their sessions have ended, and they must choose their own at the next sign-in."
	if revoke {
		msg = "Password reset; their sessions have ended and their API tokens are revoked. They must choose their own password at the next sign-in."
	}
	h.redirect(w, r, "/admin/users/"+r.PathValue("uid")+"/tokens", msg)
	return nil
}
