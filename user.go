package vigil

import (
	"context"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// User is a person who logs in to Vigil.
type User struct {
	ID          int64      `json:"id"`
	Username    string     `json:"username"`
	Name        string     `json:"name"`
	Email       string     `json:"email"`
	Role        Role       `json:"role,omitempty"` // in the default organisation; absent for a member of others only
	Disabled    bool       `json:"disabled"`
	LastLoginAt *time.Time `json:"last_login_at"`
	// MustChangePassword is set for a password someone else chose (the
	// first administrator's one-time password): until the user sets their
	// own, they may do nothing else.
	MustChangePassword bool      `json:"must_change_password"`
	CreatedAt          time.Time `json:"created_at"`
	UpdatedAt          time.Time `json:"updated_at"`
	Version            int       `json:"version"`
}

var usernameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// Password rules: long beats complex (NCSC password guidance).
const (
	MinPasswordLen = 12
	MaxPasswordLen = 1024 // argon2 hashes anything, but a megabyte password is an attack
)

// Normalize lower-cases the username and trims text fields.
func (u *User) Normalize() {
	u.Username = strings.ToLower(strings.TrimSpace(u.Username))
	u.Name = strings.TrimSpace(u.Name)
	u.Email = strings.TrimSpace(u.Email)
}

// Validate checks the user's fields.
func (u *User) Validate() error {
	var p Problems
	if !usernameRE.MatchString(u.Username) {
		p.Add("username", "Username must be 1 to 64 lower-case letters, digits, dots, dashes or underscores, starting with a letter or digit.")
	}
	if utf8.RuneCountInString(u.Name) > 200 {
		p.Add("name", "Name must be at most 200 characters.")
	}
	if u.Email != "" {
		if _, err := NormalizeEmail(u.Email); err != nil || len(u.Email) > 254 {
			p.Add("email", "Not a valid e-mail address.")
		}
	}
	if u.Role != "" && !u.Role.Valid() {
		p.Add("role", "Unknown role %q.", u.Role)
	}
	return p.Err()
}

// ValidatePassword checks a new password against the length rules, the
// username, and the deny-list of common passwords (CommonPassword).
func ValidatePassword(field, pw, username string) error {
	n := utf8.RuneCountInString(pw)
	switch {
	case n < MinPasswordLen:
		return Invalid(field, "Password must be at least %d characters; a few random words work well.", MinPasswordLen)
	case len(pw) > MaxPasswordLen:
		return Invalid(field, "Password must be at most %d bytes.", MaxPasswordLen)
	case username != "" && strings.Contains(strings.ToLower(pw), strings.ToLower(username)):
		return Invalid(field, "Password must not contain the username.")
	case CommonPassword(pw):
		return Invalid(field, "That password is among the most common ones in breached-password lists; choose another (a few random words work well).")
	}
	return nil
}

// UserUpdate changes a user. Nil fields are left alone.
type UserUpdate struct {
	Name     *string `json:"name,omitempty"`
	Email    *string `json:"email,omitempty"`
	Role     *Role   `json:"role,omitempty"`
	Disabled *bool   `json:"disabled,omitempty"`
	Version  int     `json:"version"`
}

// UserFilter selects users.
type UserFilter struct {
	Role     *Role
	Disabled *bool
	Query    string // prefix of username or name
	Offset   int
	Limit    int
}

// UserService manages users and their passwords. User administration needs
// PermUserAdmin; reading the directory needs PermUserRead.
type UserService interface {
	FindUserByID(ctx context.Context, id int64) (*User, error)
	FindUserByUsername(ctx context.Context, username string) (*User, error)
	// FindUsers returns a page of users and the total matching.
	FindUsers(ctx context.Context, f UserFilter) ([]*User, int, error)
	// CreateUser creates u with password. ECONFLICT if the username is taken.
	CreateUser(ctx context.Context, u *User, password string) error
	UpdateUser(ctx context.Context, id int64, upd UserUpdate) (*User, error)
	// SetPassword replaces a user's password and ends their other
	// sessions (all of them when an admin sets it). An admin may set
	// anyone's; others only their own, with the current one.
	SetPassword(ctx context.Context, id int64, current, next string) error
	// ResetPassword is an admin's SetPassword for someone else, which may
	// also revoke all of the user's API tokens, in one transaction.
	ResetPassword(ctx context.Context, id int64, next string, revokeTokens bool) error
}

// Token is an API token for scripts and integrations. The secret is shown
// once, when the token is created; only its SHA-256 is stored.
type Token struct {
	ID     int64   `json:"id"`
	UserID int64   `json:"user_id"`
	Name   string  `json:"name"`
	Prefix string  `json:"prefix"` // the first characters, to tell tokens apart
	Scopes []Scope `json:"scopes"`
	// Organisation, when set, limits the token to that one of its user's
	// organisations (the slug): it sees and does only what the user may there.
	Organisation string     `json:"organisation,omitempty"`
	ExpiresAt    *time.Time `json:"expires_at"`
	LastUsedAt   *time.Time `json:"last_used_at"`
	RevokedAt    *time.Time `json:"revoked_at"`
	CreatedAt    time.Time  `json:"created_at"`
}

// TokenPrefix starts every API token, so that secret scanners can find a
// leaked one.
const TokenPrefix = "vgl_"

// Validate checks a token request.
func (t *Token) Validate(now time.Time) error {
	var p Problems
	t.Name = strings.TrimSpace(t.Name)
	if t.Name == "" || utf8.RuneCountInString(t.Name) > 100 {
		p.Add("name", "Name must be 1 to 100 characters.")
	}
	if len(t.Scopes) == 0 {
		p.Add("scopes", "Give at least one scope.")
	}
	for _, s := range t.Scopes {
		if !inEnum(s, Scopes) {
			p.Add("scopes", "Unknown scope %q.", s)
		}
	}
	if t.ExpiresAt != nil && !t.ExpiresAt.After(now) {
		p.Add("expires_at", "Expiry must be in the future.")
	}
	return p.Err()
}

// Session is a logged-in browser. Its secret is only in the cookie; the
// store keeps a hash.
type Session struct {
	ID         int64     `json:"id"`
	UserID     int64     `json:"user_id"`
	CSRFToken  string    `json:"-"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	// UserAgent and Address are the browser's and where it signed in from,
	// to tell one's sessions apart.
	UserAgent string `json:"user_agent"`
	Address   string `json:"address"`
	// Current marks the session of the request that lists them.
	Current bool `json:"current,omitempty"`
	// Stage is StageSignedIn, or StageMFA (the password was right, the
	// second factor is still to come) or StageEnrol (the policy wants a
	// factor this user has not enrolled yet).
	Stage string `json:"-"`
}

// Sign-in throttling (issue 21) counts failures, for any username whether
// it exists or not, so that the answers do not tell which do:
//   - by account and address: after MaxFailedLogins failures in a row from
//     one address, that address is refused for a time that doubles with
//     each further failure, up to MaxLockout;
//   - by account alone: after MaxFailedLogins failures from anywhere, each
//     attempt waits a back-off that doubles up to MaxAccountBackoff, and no
//     longer: someone guessing from many addresses cannot keep the owner,
//     with the right password (and second factor), out for long.
//
// The transports also limit attempts per address, whatever the account.
const (
	MaxFailedLogins   = 5
	BaseLockout       = 30 * time.Second
	MaxLockout        = 15 * time.Minute
	MaxAccountBackoff = 30 * time.Second
	SessionLifetime   = 12 * time.Hour
	SessionIdle       = 2 * time.Hour
)

// LockoutFor returns how long an address is refused for an account after
// failures failed sign-ins in a row from it: nothing before
// MaxFailedLogins, then doubling.
func LockoutFor(failures int) time.Duration {
	if failures < MaxFailedLogins {
		return 0
	}
	d := BaseLockout
	for i := MaxFailedLogins; i < failures && d < MaxLockout; i++ {
		d *= 2
	}
	return min(d, MaxLockout)
}

// AccountBackoffFor returns how long every sign-in to an account waits
// after failures failed ones in a row from anywhere: nothing before
// MaxFailedLogins, then a second doubling up to MaxAccountBackoff.
func AccountBackoffFor(failures int) time.Duration {
	if failures < MaxFailedLogins {
		return 0
	}
	d := time.Second
	for i := MaxFailedLogins; i < failures && d < MaxAccountBackoff; i++ {
		d *= 2
	}
	return min(d, MaxAccountBackoff)
}

// AuthService authenticates people and tokens and manages sessions and
// tokens. Authenticate* methods need no actor in ctx.
type AuthService interface {
	// Login checks a username and password and starts a session, returning
	// its secret for the cookie. EUNAUTHORIZED for a wrong user or password
	// (the same message for both), ETOOMANY while sign-ins to that username
	// must wait (the same for every username: see LockoutFor). The client's
	// address and User-Agent come from vigil.ClientFromContext.
	Login(ctx context.Context, username, password string) (*Session, string, error)
	// AuthenticateSession returns the actor and session for a cookie secret,
	// extending an idle session. EUNAUTHORIZED when unknown or expired. A
	// session waiting for its second factor (Stage StageMFA) comes with no
	// actor: it may do nothing but VerifySecondFactor.
	AuthenticateSession(ctx context.Context, secret string) (*Actor, *Session, error)
	// VerifySecondFactor completes the sign-in of a session waiting for
	// its second factor, with a TOTP code or an unused recovery code, and
	// returns the session with a new secret for the cookie (the old one
	// stops working). EINVALID (field code) for a wrong code, throttled as
	// passwords are; EUNAUTHORIZED when the session waits for nothing.
	// Another way of signing in (a provider's) starts its session through
	// the same stages.
	VerifySecondFactor(ctx context.Context, secret, code string) (*Session, string, error)
	// Logout ends the session with that secret.
	Logout(ctx context.Context, secret string) error
	// AuthenticateToken returns the actor for an API token secret.
	// EUNAUTHORIZED when unknown, expired, revoked or its user is disabled.
	AuthenticateToken(ctx context.Context, secret string) (*Actor, error)
	// CreateToken creates a token for userID (the actor's own unless the
	// actor is an admin) and returns it with its secret, shown once.
	CreateToken(ctx context.Context, userID int64, t *Token) (string, error)
	// FindTokens lists a user's tokens (0: the actor's own; admins: anyone's).
	FindTokens(ctx context.Context, userID int64) ([]*Token, error)
	// RevokeToken revokes a token. ENOTFOUND for another user's token unless admin.
	RevokeToken(ctx context.Context, id int64) error
	// FindSessions lists a user's live sessions, last seen first (0: the
	// actor's own, the current one marked; others' need PermUserAdmin).
	FindSessions(ctx context.Context, userID int64) ([]*Session, error)
	// RevokeSession ends one session: the actor's own, or with
	// PermUserAdmin anyone's. ENOTFOUND otherwise. Audited.
	RevokeSession(ctx context.Context, id int64) error
	// EndSessions ends all of a user's sessions (PermUserAdmin), or, for
	// the actor's own (0), all but the current one. Audited.
	EndSessions(ctx context.Context, userID int64) (int, error)
}
