package sqlstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-ir/vigil"
)

// IdempotencyService implements vigil.IdempotencyService on the
// idempotency_keys table. Reserving is one INSERT … ON CONFLICT DO UPDATE
// that takes the row only if it has expired: of two requests racing on one
// key, on one instance or two sharing a PostgreSQL, the second waits for
// the first's insert to commit and then finds the key taken.
//
// A row is a reservation (state 'running', status 0, expiring with its
// lease); then, once a write of its request commits, applied (state 'done',
// status 0: markIdempotencyKey, in that write's transaction, keeps it a
// day; lease_until is how long its request still holds it); and last the
// answer (state 'done', its status, kept a day). The mark and the
// reservation are one row, so on PostgreSQL a retry's takeover and the
// write's mark wait for each other's row lock: either the write committed
// first and the retry finds the key applied, or the retry took the key
// first and the write fails on its lost claim.
type IdempotencyService struct{ db *DB }

// idempotencyID is the row of k for scope: the SHA-256 of the scope, the
// target and the key, separated by NULs, which none of them holds.
func idempotencyID(scope string, k vigil.IdempotencyKey) string {
	h := sha256.New()
	h.Write([]byte(scope))
	h.Write([]byte{0})
	h.Write([]byte(k.Target))
	h.Write([]byte{0})
	h.Write([]byte(k.Key))
	return hex.EncodeToString(h.Sum(nil))
}

// idempotencyID is the row of k for the actor of tx.
func (tx *Tx) idempotencyID(k vigil.IdempotencyKey) string {
	return idempotencyID(vigil.IdempotencyScope(tx.actor), k)
}

var errKeyInProgress = vigil.Errorf(vigil.ECONFLICT, "A request with this Idempotency-Key is in progress: retry when it has finished.")

var errKeyLost = vigil.Errorf(vigil.ECONFLICT, "The reservation of this Idempotency-Key ran out and another request took it.")

// keyOwnContext marks the context of the service's own writes, which
// touch the key directly and must not mark it as a request's write does.
type keyOwnContext struct{}

func keyOwn(ctx context.Context) context.Context {
	return context.WithValue(ctx, keyOwnContext{}, true)
}

// claimOf returns the claim a write made with ctx marks, or nil.
func claimOf(ctx context.Context) *vigil.IdempotencyClaim {
	if ctx.Value(keyOwnContext{}) != nil {
		return nil
	}
	return vigil.IdempotencyClaimFromContext(ctx)
}

// guarded runs fn, then marks c's key as applied in the same transaction.
func guarded(c *vigil.IdempotencyClaim, fn func(*Tx) error) func(*Tx) error {
	return func(tx *Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return tx.markIdempotencyKey(c)
	}
}

// markIdempotencyKey records in tx that c's request changed something: it
// commits with tx or not at all. The first mark keeps the lease as how
// long the request still holds the key, and the key for a day; a claim no
// longer held (the lease ran out and another request took the key, or the
// answer is recorded already) fails the write.
func (tx *Tx) markIdempotencyKey(c *vigil.IdempotencyClaim) error {
	r, err := tx.exec(`UPDATE idempotency_keys SET state = 'done',
			lease_until = CASE WHEN state = 'running' THEN expires_at ELSE lease_until END, expires_at = ?, request_id = ?
		WHERE id = ? AND token = ? AND status = 0`,
		tx.now.Add(vigil.IdempotencyTTL), vigil.RequestIDFromContext(tx.ctx), idempotencyID(c.Scope, c.Key), c.Token)
	if err != nil {
		return fmt.Errorf("mark idempotency key: %w", err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return errKeyLost
	}
	return nil
}

// ReserveKey reserves k, or returns the answer it holds.
func (s *IdempotencyService) ReserveKey(ctx context.Context, k vigil.IdempotencyKey) (token string, a *vigil.IdempotentAnswer, err error) {
	defer s.db.op("idempotency.reserve")(&err)
	if err := vigil.ValidIdempotencyKey(k.Key); err != nil {
		return "", nil, err
	}
	type result struct {
		token  string
		answer *vigil.IdempotentAnswer
	}
	res, err := writeV(keyOwn(ctx), s.db, func(tx *Tx) (result, error) {
		id, tok := tx.idempotencyID(k), rand.Text()
		r, err := tx.exec(`INSERT INTO idempotency_keys (id, token, state, created_at, expires_at) VALUES (?, ?, 'running', ?, ?)
			ON CONFLICT (id) DO UPDATE SET token = excluded.token, state = 'running', fingerprint = '', request_size = 0, status = 0,
				header = '{}', body = NULL, created_at = excluded.created_at, expires_at = excluded.expires_at,
				lease_until = NULL, request_id = '', grants = ''
			WHERE idempotency_keys.expires_at <= ?`, id, tok, tx.now, tx.now.Add(vigil.IdempotencyLease), tx.now)
		if err != nil {
			return result{}, fmt.Errorf("reserve idempotency key: %w", err)
		}
		if n, _ := r.RowsAffected(); n == 1 {
			return result{token: tok}, nil
		}
		var (
			state, header, requestID, grants string
			held                             int
			a                                vigil.IdempotentAnswer
		)
		if err := tx.queryRow(`SELECT state, fingerprint, request_size, status, header, body, request_id, grants,
				CASE WHEN lease_until > ? THEN 1 ELSE 0 END
			FROM idempotency_keys WHERE id = ?`, tx.now, id).
			Scan(&state, &a.Fingerprint, &a.RequestSize, &a.Status, &header, &a.Body, &requestID, &grants, &held); err != nil {
			return result{}, fmt.Errorf("read idempotency key: %w", err)
		}
		switch {
		case state != "done":
			return result{}, errKeyInProgress
		case a.Status == 0 && held == 1:
			// Applied, and its request is still running.
			return result{}, errKeyInProgress
		case a.Status == 0:
			return result{}, vigil.AnswerLost(requestID)
		}
		if err := json.Unmarshal([]byte(header), &a.Header); err != nil {
			return result{}, fmt.Errorf("read idempotency key's headers: %w", err)
		}
		a.Grants = strings.Fields(grants)
		return result{answer: &a}, nil
	})
	return res.token, res.answer, err
}

// ExtendKey renews a reservation's lease.
func (s *IdempotencyService) ExtendKey(ctx context.Context, k vigil.IdempotencyKey, token string) (err error) {
	defer s.db.op("idempotency.extend")(&err)
	return s.db.write(keyOwn(ctx), func(tx *Tx) error {
		lease := tx.now.Add(vigil.IdempotencyLease)
		r, err := tx.exec(`UPDATE idempotency_keys SET expires_at = CASE WHEN state = 'running' THEN ? ELSE expires_at END,
				lease_until = CASE WHEN state = 'running' THEN lease_until ELSE ? END
			WHERE id = ? AND token = ? AND status = 0`,
			lease, lease, tx.idempotencyID(k), token)
		if err != nil {
			return fmt.Errorf("extend idempotency key: %w", err)
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return errKeyLost
		}
		return nil
	})
}

// CompleteKey records the answer to a reserved request.
func (s *IdempotencyService) CompleteKey(ctx context.Context, k vigil.IdempotencyKey, token string, a *vigil.IdempotentAnswer) (err error) {
	defer s.db.op("idempotency.complete")(&err)
	if a.Status <= 0 {
		return fmt.Errorf("complete idempotency key: status %d", a.Status)
	}
	header, err := json.Marshal(a.Header)
	if err != nil {
		return fmt.Errorf("encode headers: %w", err)
	}
	if a.Header == nil {
		header = []byte("{}")
	}
	body := a.Body
	if body == nil {
		body = []byte{}
	}
	return s.db.write(keyOwn(ctx), func(tx *Tx) error {
		r, err := tx.exec(`UPDATE idempotency_keys SET state = 'done', fingerprint = ?, request_size = ?, status = ?, header = ?, body = ?,
				grants = ?, expires_at = ?, lease_until = NULL
			WHERE id = ? AND token = ? AND status = 0`,
			a.Fingerprint, a.RequestSize, a.Status, string(header), body, strings.Join(a.Grants, " "),
			tx.now.Add(vigil.IdempotencyTTL), tx.idempotencyID(k), token)
		if err != nil {
			return fmt.Errorf("complete idempotency key: %w", err)
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return errKeyLost
		}
		return nil
	})
}

// ReleaseKey gives a reservation up: deletes it, unless its request was
// applied, whose key then only stops being held.
func (s *IdempotencyService) ReleaseKey(ctx context.Context, k vigil.IdempotencyKey, token string) (err error) {
	defer s.db.op("idempotency.release")(&err)
	return s.db.write(keyOwn(ctx), func(tx *Tx) error {
		id := tx.idempotencyID(k)
		if _, err := tx.exec(`DELETE FROM idempotency_keys WHERE id = ? AND token = ? AND state = 'running'`, id, token); err != nil {
			return fmt.Errorf("release idempotency key: %w", err)
		}
		if _, err := tx.exec(`UPDATE idempotency_keys SET lease_until = NULL WHERE id = ? AND token = ? AND state = 'done' AND status = 0`, id, token); err != nil {
			return fmt.Errorf("release applied idempotency key: %w", err)
		}
		return nil
	})
}

// pruneIdempotencyKeys deletes the answers kept longer than
// vigil.IdempotencyTTL and the reservations whose lease ran out by now
// (their request's process died): the schedule's cleaning.
func (tx *Tx) pruneIdempotencyKeys(now time.Time) error {
	if _, err := tx.exec(`DELETE FROM idempotency_keys WHERE expires_at < ?`, now); err != nil {
		return fmt.Errorf("prune idempotency keys: %w", err)
	}
	return nil
}
