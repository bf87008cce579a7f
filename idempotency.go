package vigil

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// Idempotency keys make a retried create safe: a client sends a key of its
// choosing with a request (the Idempotency-Key header of
// draft-ietf-httpapi-idempotency-key-header), and a retry with the same key
// and the same request gets the first answer again instead of creating a
// second incident, note or piece of evidence. The transports decide which
// requests take a key and what a request's fingerprint is; the rules of
// reserving, answering and expiring are here and in the store.

// Idempotency key limits and lifetimes.
const (
	// MaxIdempotencyKey is the longest key accepted, in bytes.
	MaxIdempotencyKey = 255
	// IdempotencyTTL is how long an answer is kept for retries, counted
	// from when it was recorded.
	IdempotencyTTL = 24 * time.Hour
	// IdempotencyLease is how long a reservation holds without being
	// renewed: a request still running renews it (ExtendKey) every third
	// of it, so only a request whose process died lets it run out, and its
	// key is free again that long after.
	IdempotencyLease = 30 * time.Second
)

// IdempotencyKey is a client's key and where it was sent. The store adds
// the actor from the context (IdempotencyScope), so one actor's key never
// reaches another's answer.
type IdempotencyKey struct {
	Target string // the method and path, such as "POST /api/v1/incidents"
	Key    string // the client's key
}

// IdempotentAnswer is the first answer to a request sent with a key, kept
// so that a retry of the same request gets it again, if its actor may
// still make it.
type IdempotentAnswer struct {
	// Fingerprint identifies the request: a retry must have the same.
	Fingerprint string
	// RequestSize is the request body's length in bytes: a retry that
	// sends much more is not the same request, without reading it all.
	RequestSize int64
	Status      int
	// Header holds the response headers a retry needs (Content-Type,
	// Location, ETag, …), one value each.
	Header map[string]string
	Body   []byte
	// Grants are what the actor was allowed when the request ran
	// (IdempotencyGrants): a retry gets the answer only while its actor
	// still holds them all, so a role reduced since, or a narrower token,
	// does not get an answer it could no longer have had.
	Grants []string
}

// ErrIdempotencyKeyReused refuses a request whose key was used for a
// different request (another body).
var ErrIdempotencyKeyReused = Errorf(EIDEMPOTENCY, "This Idempotency-Key was used with a different request: send a new key with a new or changed request.")

// ErrIdempotentReplayForbidden refuses the replay of an answer to an actor
// who has lost a permission it held when the request ran.
var ErrIdempotentReplayForbidden = Errorf(EFORBIDDEN, "Your permissions have changed since the first request with this Idempotency-Key, so its answer is not given again. What that request did stands: check it before sending the request again with a new key.")

// IdempotencyGrants lists what a is allowed, for an answer to be replayed
// only while it still is: each permission it holds (PermissionsOf), and
// each that is held per organisation as "permission@organisation ID", for
// every organisation where it holds it, since an incident's work needs the
// role in the incident's own organisation.
func IdempotencyGrants(a *Actor) []string {
	var out []string
	for _, p := range PermissionsOf(a) {
		if !OrgScoped(p) {
			out = append(out, string(p))
			continue
		}
		for _, m := range a.Memberships() {
			if a.CanIn(m.ID, p) {
				out = append(out, string(p)+"@"+strconv.FormatInt(m.ID, 10))
			}
		}
	}
	return out
}

// holds reports whether a still has grant g (see IdempotencyGrants).
func (a *Actor) holds(g string) bool {
	p, org, inOrg := strings.Cut(g, "@")
	if !inOrg {
		return a.Can(Permission(p))
	}
	id, err := strconv.ParseInt(org, 10, 64)
	return err == nil && a.CanIn(id, Permission(p))
}

// Replays reports whether a retry by actor whose fingerprint is fp gets
// the answer again. It returns ErrIdempotentReplayForbidden when actor no
// longer holds every one of a.Grants (checked first: a caller no longer
// allowed learns nothing more), and ErrIdempotencyKeyReused when fp
// differs from the first request's. That the actor is the same is the
// key's scope (IdempotencyScope); that its credentials still hold is the
// transport's authentication.
func (a *IdempotentAnswer) Replays(actor *Actor, fp string) error {
	for _, g := range a.Grants {
		if !actor.holds(g) {
			return ErrIdempotentReplayForbidden
		}
	}
	if fp != a.Fingerprint {
		return ErrIdempotencyKeyReused
	}
	return nil
}

// AnswerLost is the answer to a retry whose first request was applied (a
// write under its claim committed) but whose answer was never recorded: the
// connection to the database failed as it committed, or the process died
// before the answer was kept. requestID is the first request's, if known.
func AnswerLost(requestID string) error {
	first := "The first request with this Idempotency-Key"
	if requestID != "" {
		first += " (request ID " + requestID + ")"
	}
	return Errorf(EANSWERLOST, "%s was applied, but its answer was lost, so it cannot be given again. It is not run twice: check what it did before sending it again with a new key.", first)
}

// IdempotencyClaim is a reservation of a key held by the request that is
// running: the key's scope (its actor's, when it was reserved), the key,
// and the reservation's token.
type IdempotencyClaim struct {
	Scope string
	Key   IdempotencyKey
	Token string
}

// NewContextWithIdempotencyClaim returns a copy of ctx carrying the claim
// on k by the reservation token, for the request to run with: each of its
// writes then marks k, in the write's own transaction, as applied (see
// IdempotencyService). The scope is that of ctx's actor: a write made as
// another actor (a service that acts as the system) still marks k.
func NewContextWithIdempotencyClaim(ctx context.Context, k IdempotencyKey, token string) context.Context {
	c := &IdempotencyClaim{Scope: IdempotencyScope(ActorFromContext(ctx)), Key: k, Token: token}
	return context.WithValue(ctx, idempotencyClaimContextKey, c)
}

// IdempotencyClaimFromContext returns the claim in ctx, or nil.
func IdempotencyClaimFromContext(ctx context.Context) *IdempotencyClaim {
	c, _ := ctx.Value(idempotencyClaimContextKey).(*IdempotencyClaim)
	return c
}

// IdempotencyScope is whose keys a key is among: an API token's (a script
// and its owner's browser never share keys), a session user's, a
// partner's, the system's, or "anonymous". Anonymous keys are one
// namespace, so only keys nobody can guess may be used without an actor
// (the public report form's, which the server makes); the API honours keys
// only from an actor.
func IdempotencyScope(a *Actor) string {
	switch {
	case a == nil:
		return "anonymous"
	case a.TokenID != 0:
		return "token:" + strconv.FormatInt(a.TokenID, 10)
	case a.PartnerID != 0:
		return "partner:" + strconv.FormatInt(a.PartnerID, 10)
	case a.System:
		return "system:" + a.Username
	}
	return "user:" + strconv.FormatInt(a.UserID, 10)
}

// ValidIdempotencyKey reports whether key can be used: 1 to
// MaxIdempotencyKey printable ASCII characters (space included, as in a
// structured-field string).
func ValidIdempotencyKey(key string) error {
	if key == "" || len(key) > MaxIdempotencyKey {
		return Invalid("Idempotency-Key", "The Idempotency-Key must be 1 to %d characters.", MaxIdempotencyKey)
	}
	if strings.IndexFunc(key, func(r rune) bool { return r < 0x20 || r > 0x7e }) >= 0 {
		return Invalid("Idempotency-Key", "The Idempotency-Key must be printable ASCII.")
	}
	return nil
}

// IdempotencyService keeps the answers to requests sent with idempotency
// keys. Keys belong to the actor in ctx (IdempotencyScope) and to the
// target; a reservation is identified by the token ReserveKey returns, so
// that only the request holding it records or releases it.
//
// A request runs with its claim in its context
// (NewContextWithIdempotencyClaim), and every write of every service made
// with that context marks the key as applied in the write's own
// transaction: if the write commits, the key says so, even when the answer
// to its COMMIT is lost and nobody records the request's answer; if it
// does not, the key stays free to release. A write whose claim was lost
// (its lease ran out and another request took the key) fails with
// ECONFLICT and does nothing, so that two requests with one key never both
// apply.
type IdempotencyService interface {
	// ReserveKey reserves k for a request about to run, for
	// IdempotencyLease, and returns the reservation's token. If k holds an
	// answer, it returns that answer and no token instead: the caller
	// replays it if the actor may and the request is the same
	// (IdempotentAnswer.Replays). ECONFLICT if a request with k is still
	// running; EANSWERLOST (AnswerLost) if k's request was applied but its
	// answer was not recorded. An answer, or an applied request's mark,
	// older than IdempotencyTTL, or a reservation whose lease ran out, is
	// replaced.
	ReserveKey(ctx context.Context, k IdempotencyKey) (token string, a *IdempotentAnswer, err error)
	// ExtendKey renews a reservation's lease. ECONFLICT if it was lost:
	// its lease ran out and another request took the key.
	ExtendKey(ctx context.Context, k IdempotencyKey, token string) error
	// CompleteKey records the answer to the reserved request, kept for
	// IdempotencyTTL, whether or not its writes marked it applied.
	// ECONFLICT if the reservation was lost or holds an answer already.
	CompleteKey(ctx context.Context, k IdempotencyKey, token string, a *IdempotentAnswer) error
	// ReleaseKey gives a reservation up, so that a retry runs the request
	// again (it failed without effect, or its answer is not to be kept).
	// If a write of the request was applied, the key is not freed: the
	// request only stops holding it, and a retry gets EANSWERLOST.
	// Releasing a reservation that is gone is not an error.
	ReleaseKey(ctx context.Context, k IdempotencyKey, token string) error
}
