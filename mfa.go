package vigil

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// Second factors for local accounts (docs/identity.md): TOTP (RFC 6238:
// SHA-1, six digits, 30-second steps, what every authenticator app
// reads), and one-time recovery codes.

// MFAPolicy says whose sign-in needs a second factor.
type MFAPolicy string

// The MFA policies.
const (
	MFAOptional MFAPolicy = "optional" // whoever enrolled a factor
	MFAAdmins   MFAPolicy = "admins"   // also every administrator (of the install or of an organisation)
	MFAAll      MFAPolicy = "all"      // every local account
)

// MFAPolicies lists the policies.
var MFAPolicies = []MFAPolicy{MFAOptional, MFAAdmins, MFAAll}

// Valid reports whether p is a known policy.
func (p MFAPolicy) Valid() bool { return inEnum(p, MFAPolicies) }

// The stages of a session: signed in, or past the password and waiting
// for a second factor, or made to enrol one before anything else.
const (
	StageSignedIn = ""
	StageMFA      = "mfa"
	StageEnrol    = "enrol"
)

// TOTPIssuer names Vigil in authenticator apps.
const TOTPIssuer = "Vigil"

// TOTPEnrolment is a TOTP secret being set up: shown once as text and as
// the otpauth:// URL (a QR code) for an authenticator app.
type TOTPEnrolment struct {
	Secret string `json:"secret"`
	URL    string `json:"otpauth_url"`
}

// NewTOTP returns a new TOTP secret for account (160 random bits, as RFC
// 4226 recommends).
func NewTOTP(account string) (*TOTPEnrolment, error) {
	k, err := totp.Generate(totp.GenerateOpts{Issuer: TOTPIssuer, AccountName: account, SecretSize: 20})
	if err != nil {
		return nil, err
	}
	return &TOTPEnrolment{Secret: k.Secret(), URL: k.URL()}, nil
}

// TOTPURL is the otpauth:// URL of a secret.
func TOTPURL(secret, account string) string {
	k, err := totp.Generate(totp.GenerateOpts{Issuer: TOTPIssuer, AccountName: account, Secret: mustBase32(secret)})
	if err != nil {
		return ""
	}
	return k.URL()
}

func mustBase32(s string) []byte {
	b, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(s))
	return b
}

// CheckTOTP checks a six-digit code against secret at now, allowing one
// step of clock drift either way, and returns the time step it matched.
// A caller keeps the last step used and refuses it and earlier ones, so
// that a code works once.
func CheckTOTP(secret, code string, now time.Time, lastStep int64) (int64, bool) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != 6 {
		return 0, false
	}
	for _, d := range []int64{0, -1, 1} {
		step := now.Unix()/30 + d
		if step <= lastStep {
			continue
		}
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*30, 0), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err == nil && subtleEq(want, code) {
			return step, true
		}
	}
	return 0, false
}

func subtleEq(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	var v byte
	for i := range len(a) {
		v |= a[i] ^ b[i]
	}
	return v == 0
}

// RecoveryCodeCount is how many recovery codes an enrolment gives.
const RecoveryCodeCount = 10

// NewRecoveryCode returns a recovery code: 80 random bits as 16 base32
// letters and digits in groups of four. Stored as HashSecret of its
// normal form: SHA-256 is enough for 80 random bits (nobody can try
// 2^80 of them, and a sign-in tries them throttled), where a password,
// guessable, needs argon2id.
func NewRecoveryCode() string {
	b := make([]byte, 10)
	rand.Read(b)
	s := base32.StdEncoding.EncodeToString(b)
	return s[0:4] + "-" + s[4:8] + "-" + s[8:12] + "-" + s[12:16]
}

// NormalRecoveryCode is a recovery code as typed made comparable: upper
// case, no dashes or spaces.
func NormalRecoveryCode(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' {
			return -1
		}
		return r
	}, strings.ToUpper(strings.TrimSpace(s)))
}

// MFAStatus is what second factors a user has.
type MFAStatus struct {
	TOTP          bool      `json:"totp"`
	RecoveryCodes int       `json:"recovery_codes_left"`
	Required      bool      `json:"required"` // the policy requires one of this user
	Policy        MFAPolicy `json:"policy"`
}

// MFAService manages second factors. Enrolment is the actor's own, in a
// browser session; an admin (PermUserAdmin) resets someone's factors and
// sets the policy.
type MFAService interface {
	// MFAStatus is the user's (0: the actor's own; others' need PermUserAdmin).
	MFAStatus(ctx context.Context, userID int64) (*MFAStatus, error)
	// BeginTOTP starts setting up TOTP for the actor, replacing one not
	// confirmed yet; PendingTOTP returns it again (ENOTFOUND: none).
	BeginTOTP(ctx context.Context) (*TOTPEnrolment, error)
	PendingTOTP(ctx context.Context) (*TOTPEnrolment, error)
	// ConfirmTOTP checks a code of the pending secret, makes it the
	// actor's factor, and returns new recovery codes, shown once. An
	// actor made to enrol is then signed in. EINVALID (field code) for a
	// wrong code, throttled as sign-ins are.
	ConfirmTOTP(ctx context.Context, code string) ([]string, error)
	// ResetFactors removes a user's factors and recovery codes and ends
	// their sessions (PermUserAdmin). Audited.
	ResetFactors(ctx context.Context, userID int64) error
	// SetMFAPolicy sets whose sign-in needs a second factor (PermUserAdmin).
	SetMFAPolicy(ctx context.Context, p MFAPolicy) error
}
