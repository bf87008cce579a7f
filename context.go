package vigil

import "context"

// contextKey is the type of context keys set by this package; unexported so
// no other package can collide with them.
type contextKey int

const (
	actorContextKey contextKey = iota + 1
	requestIDContextKey
	durableLaterContextKey
	idempotencyClaimContextKey
)

// Actor is who is acting: a logged-in user, a user's API token, or the
// system itself (CLI, background jobs). Store methods read it from ctx to
// decide what the caller may see and do.
type Actor struct {
	UserID   int64  `json:"user_id,omitempty"`
	Username string `json:"username"`
	Name     string `json:"name,omitempty"`
	Role     Role   `json:"role"` // in the default organisation; "" when not a member of it
	// Orgs are the actor's roles in each organisation they belong to; nil
	// means the default organisation only, with Role (Memberships).
	Orgs    []OrgRole `json:"organisations,omitempty"`
	TokenID int64     `json:"token_id,omitempty"` // set when acting through an API token
	// SessionID is set when acting through a browser session.
	SessionID int64   `json:"-"`
	Scopes    []Scope `json:"scopes,omitempty"` // a token's scopes; nil for sessions and the system
	System    bool    `json:"system,omitempty"` // the CLI or a background job, not a person
	// PartnerID is set for a partner organisation reading or writing
	// through TAXII; it holds no role. PartnerTLP is its clearance.
	PartnerID  int64 `json:"partner_id,omitempty"`
	PartnerTLP TLP   `json:"partner_tlp,omitempty"`
	// MustChangePassword: the user logged in with a one-time password and
	// may only change it (the transports enforce this).
	MustChangePassword bool `json:"must_change_password,omitempty"`
	// MustEnrol: the policy wants a second factor this user has not
	// enrolled; until they do, they may only enrol (the transports enforce
	// this, as for MustChangePassword).
	MustEnrol bool `json:"must_enrol,omitempty"`
}

// SystemActor is the actor for the CLI and background jobs: it may do
// everything, and is recorded in the audit log under name.
func SystemActor(name string) *Actor {
	return &Actor{Username: name, Role: RoleAdmin, System: true}
}

// NewContextWithActor returns a copy of ctx that carries actor.
func NewContextWithActor(ctx context.Context, actor *Actor) context.Context {
	return context.WithValue(ctx, actorContextKey, actor)
}

// ActorFromContext returns the actor in ctx, or nil when there is none.
func ActorFromContext(ctx context.Context) *Actor {
	a, _ := ctx.Value(actorContextKey).(*Actor)
	return a
}

// NewContextWithRequestID returns a copy of ctx that carries a request ID, so
// that logs and audit events can be tied back to the request.
func NewContextWithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDContextKey, id)
}

// RequestIDFromContext returns the request ID in ctx, or "".
func RequestIDFromContext(ctx context.Context) string {
	id, _ := ctx.Value(requestIDContextKey).(string)
	return id
}

// NewContextDurableLater returns a copy of ctx whose writes may commit
// without waiting for the disk: the caller makes a later write of the same
// work commit normally before it reports success, and that commit makes
// the earlier ones durable too (PostgreSQL flushes its log in order). A
// crash before then can lose them, but nobody was told they were done.
// Stores that cannot commit lazily ignore it.
func NewContextDurableLater(ctx context.Context) context.Context {
	return context.WithValue(ctx, durableLaterContextKey, true)
}

// DurableLater reports whether ctx came from NewContextDurableLater.
func DurableLater(ctx context.Context) bool {
	b, _ := ctx.Value(durableLaterContextKey).(bool)
	return b
}

// Client is where a request comes from: the address (the connecting one,
// or the one a trusted proxy forwarded) and the browser's User-Agent. The
// HTTP transport puts it in the context; the stores use it to throttle
// sign-ins by address and to tell a person's sessions apart.
type Client struct {
	Addr      string
	UserAgent string
}

type clientContextKey struct{}

// NewContextWithClient returns a copy of ctx that carries c.
func NewContextWithClient(ctx context.Context, c Client) context.Context {
	return context.WithValue(ctx, clientContextKey{}, c)
}

// ClientFromContext returns the client in ctx, or the zero Client.
func ClientFromContext(ctx context.Context) Client {
	c, _ := ctx.Value(clientContextKey{}).(Client)
	return c
}
