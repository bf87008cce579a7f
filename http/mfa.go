package http

import (
	"bytes"
	"encoding/base64"
	"image/png"
	"net/http"

	"github.com/pquerna/otp"
	"github.com/vigil-ir/vigil"
)

// TOTPQRCode returns the otpauth:// URL as a QR code, a PNG in a data: URL
// (pquerna/otp draws it with boombuler/barcode).
func TOTPQRCode(otpauth string) (string, error) {
	k, err := otp.NewKeyFromURL(otpauth)
	if err != nil {
		return "", err
	}
	img, err := k.Image(240, 240)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", err
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

// TOTPSetup is a TOTP secret being set up.
type TOTPSetup struct {
	vigil.TOTPEnrolment
	// QRCode is the otpauth URL as a PNG image, in a data: URL.
	QRCode string `json:"qr_code"`
}

// CodeRequest carries a second factor's code: six digits from the app,
// or a recovery code.
type CodeRequest struct {
	Code string `json:"code"`
}

// RecoveryCodes are shown once, at enrolment.
type RecoveryCodes struct {
	Codes []string `json:"recovery_codes"`
}

// MFAPolicyRequest sets whose sign-in needs a second factor.
type MFAPolicyRequest struct {
	Policy vigil.MFAPolicy `json:"mfa_policy"`
}

func (s *Server) handleMFAStatus(w http.ResponseWriter, r *http.Request) error {
	st, err := s.Services.MFA.MFAStatus(r.Context(), 0)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, st)
	return nil
}

func (s *Server) handleTOTPBegin(w http.ResponseWriter, r *http.Request) error {
	e, err := s.Services.MFA.BeginTOTP(r.Context())
	if err != nil {
		return err
	}
	qr, err := TOTPQRCode(e.URL)
	if err != nil {
		return err
	}
	s.json(w, http.StatusCreated, &TOTPSetup{TOTPEnrolment: *e, QRCode: qr})
	return nil
}

func (s *Server) handleTOTPConfirm(w http.ResponseWriter, r *http.Request) error {
	var req CodeRequest
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	codes, err := s.Services.MFA.ConfirmTOTP(r.Context(), req.Code)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, &RecoveryCodes{Codes: codes})
	return nil
}

// handleSecondFactor completes a sign-in that waits for its second factor.
func (s *Server) handleSecondFactor(w http.ResponseWriter, r *http.Request) error {
	c, err := r.Cookie(SessionCookie)
	if err != nil || SessionFromContext(r.Context()) == nil {
		return vigil.Errorf(vigil.EUNAUTHORIZED, "Sign in with your password first.")
	}
	var req CodeRequest
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	sess, secret, err := s.Services.Auth.VerifySecondFactor(r.Context(), c.Value, req.Code)
	if err != nil {
		return err
	}
	s.setSessionCookie(w, r, secret, sess.ExpiresAt)
	ctx := vigil.NewContextWithActor(r.Context(), &vigil.Actor{UserID: sess.UserID, Role: vigil.RoleViewer})
	u, err := s.Services.Users.FindUserByID(ctx, sess.UserID)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, &LoginResponse{User: u, CSRFToken: sess.CSRFToken, ExpiresAt: sess.ExpiresAt})
	return nil
}

func (s *Server) handleMFAReset(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.Services.MFA.ResetFactors(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleMFAPolicy(w http.ResponseWriter, r *http.Request) error {
	var req MFAPolicyRequest
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	if err := s.Services.MFA.SetMFAPolicy(r.Context(), req.Policy); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
