package web

import (
	"html/template"
	"net/http"
	"net/url"

	"github.com/vigil-ir/vigil"
	vigilhttp "github.com/vigil-ir/vigil/http"
)

// The second step of signing in (a session waiting for its second factor)
// and the enrolment of an authenticator app. The first step, the
// password (or another way in), ends in a session at vigil.StageMFA; this
// step alone turns it into a signed-in one.

type mfaLoginData struct {
	Next  string
	Error string
}

func (h *Handler) pendingSecondFactor(r *http.Request) bool {
	s := vigilhttp.SessionFromContext(r.Context())
	return s != nil && s.Stage == vigil.StageMFA && vigil.ActorFromContext(r.Context()) == nil
}

func (h *Handler) loginMFAForm(w http.ResponseWriter, r *http.Request) error {
	if !h.pendingSecondFactor(r) {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return nil
	}
	p := h.newPage(r, "Second factor", "", &mfaLoginData{Next: safeNext(r.URL.Query().Get("next"))})
	p.Public = true
	return h.render(w, r, http.StatusOK, "login_mfa.html", p)
}

func (h *Handler) loginMFA(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	c, err := r.Cookie(vigilhttp.SessionCookie)
	if err != nil || !h.pendingSecondFactor(r) {
		h.redirect(w, r, "/login", "Sign in with your password first.")
		return nil
	}
	d := &mfaLoginData{Next: safeNext(r.PostFormValue("next"))}
	sess, secret, err := h.Services.Auth.VerifySecondFactor(r.Context(), c.Value, r.PostFormValue("code"))
	if err != nil {
		switch vigil.ErrorCode(err) {
		case vigil.EINVALID, vigil.ETOOMANY:
			d.Error = vigil.ErrorMessage(err)
			if fe := fieldErrors(err); fe["code"] != "" {
				d.Error = fe["code"]
			}
			p := h.newPage(r, "Second factor", "", d)
			p.Public = true
			return h.render(w, r, vigil.HTTPStatus(vigil.ErrorCode(err)), "login_mfa.html", p)
		case vigil.EUNAUTHORIZED:
			h.redirect(w, r, "/login", vigil.ErrorMessage(err))
			return nil
		}
		return err
	}
	http.SetCookie(w, vigilhttp.SessionCookieFor(secret, sess.ExpiresAt, h.SecureCookies || r.TLS != nil))
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
	return nil
}

type mfaData struct {
	Status *vigil.MFAStatus
	// Setting up: the secret as text and as a QR code.
	Setup  *vigil.TOTPEnrolment
	QRCode template.URL
	// Just enrolled: the recovery codes, shown once.
	Codes  []string
	Errors map[string]string
}

func (h *Handler) mfaPage(w http.ResponseWriter, r *http.Request) error {
	return h.renderMFA(w, r, http.StatusOK, &mfaData{})
}

func (h *Handler) renderMFA(w http.ResponseWriter, r *http.Request, status int, d *mfaData) error {
	var err error
	if d.Status, err = h.Services.MFA.MFAStatus(r.Context(), 0); err != nil {
		return err
	}
	if d.Setup != nil {
		qr, err := vigilhttp.TOTPQRCode(d.Setup.URL)
		if err != nil {
			return err
		}
		d.QRCode = template.URL(qr) // a data: URL of a PNG we drew
	}
	if d.Errors == nil {
		d.Errors = map[string]string{}
	}
	return h.render(w, r, status, "mfa.html", h.newPage(r, "Two-factor sign-in", "account", d))
}

func (h *Handler) mfaBegin(w http.ResponseWriter, r *http.Request) error {
	e, err := h.Services.MFA.BeginTOTP(r.Context())
	if err != nil {
		return err
	}
	return h.renderMFA(w, r, http.StatusOK, &mfaData{Setup: e})
}

func (h *Handler) mfaConfirm(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	codes, err := h.Services.MFA.ConfirmTOTP(r.Context(), r.PostFormValue("code"))
	if err != nil {
		c := vigil.ErrorCode(err)
		if c != vigil.EINVALID && c != vigil.ETOOMANY {
			return err
		}
		e, perr := h.Services.MFA.PendingTOTP(r.Context())
		if perr != nil {
			return perr
		}
		errs := fieldErrors(err)
		if errs["code"] == "" {
			errs["code"] = vigil.ErrorMessage(err)
		}
		return h.renderMFA(w, r, vigil.HTTPStatus(c), &mfaData{Setup: e, Errors: errs})
	}
	return h.renderMFA(w, r, http.StatusOK, &mfaData{Codes: codes})
}

// adminUserMFAReset removes a user's second factors.
func (h *Handler) adminUserMFAReset(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("uid"))
	if err == nil {
		err = h.Services.MFA.ResetFactors(r.Context(), id)
	}
	if err != nil {
		return err
	}
	h.redirect(w, r, "/admin/users/"+r.PathValue("uid")+"/tokens", "Second factors removed and sessions ended; they set up a new one at the next sign-in.")
	return nil
}

// adminMFAPolicy sets whose sign-in needs a second factor.
func (h *Handler) adminMFAPolicy(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	if err := h.Services.MFA.SetMFAPolicy(r.Context(), vigil.MFAPolicy(r.PostFormValue("mfa_policy"))); err != nil {
		return err
	}
	h.redirect(w, r, "/admin/users", "Two-factor policy saved.")
	return nil
}

// mfaNext is where the password step sends a session by its stage.
func mfaNext(stage, next string) string {
	switch stage {
	case vigil.StageMFA:
		return "/login/mfa?next=" + url.QueryEscape(next)
	case vigil.StageEnrol:
		return "/account/mfa"
	}
	return next
}
