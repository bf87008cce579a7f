package sqlstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/vigil-ir/vigil"
)

// IdempotencyService implements vigil.IdempotencyService on the
// idempotency_keys table. Reserving is one INSERT … ON CONFLICT DO UPDATE
// that takes the row only if it has expired: of two requests racing on one
// key, on one instance or two sharing a PostgreSQL, the second waits for
// the first's insert to commit and then finds the key taken.
type IdempotencyService struct{ db *DB }

// idempotencyID is the row of k for the actor of tx: the SHA-256 of the
// scope, the target and the key, separated by NULs, which none of them
// holds.
func (tx *Tx) idempotencyID(k vigil.IdempotencyKey) string {
	h := sha256.New()
	h.Write([]byte(vigil.IdempotencyScope(tx.actor)))
	h.Write([]byte{0})
	h.Write([]byte(k.Target))
	h.Write([]byte{0})
	h.Write([]byte(k.Key))
	return hex.EncodeToString(h.Sum(nil))
}

var errKeyInProgress = vigil.Errorf(vigil.ECONFLICT, "A request with this Idempotency-Key is in progress: retry when it has finished.")

var errKeyLost = vigil.Errorf(vigil.ECONFLICT, "The reservation of this Idempotency-Key ran out and another request took it.")

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
	res, err := writeV(ctx, s.db, func(tx *Tx) (result, error) {
		id, tok := tx.idempotencyID(k), rand.Text()
		r, err := tx.exec(`INSERT INTO idempotency_keys (id, token, state, created_at, expires_at) VALUES (?, ?, 'running', ?, ?)
			ON CONFLICT (id) DO UPDATE SET token = excluded.token, state = 'running', fingerprint = '', request_size = 0, status = 0,
				header = '{}', body = NULL, created_at = excluded.created_at, expires_at = excluded.expires_at
			WHERE idempotency_keys.expires_at <= ?`, id, tok, tx.now, tx.now.Add(vigil.IdempotencyLease), tx.now)
		if err != nil {
			return result{}, fmt.Errorf("reserve idempotency key: %w", err)
		}
		if n, _ := r.RowsAffected(); n == 1 {
			return result{token: tok}, nil
		}
		var (
			state, header string
			a             vigil.IdempotentAnswer
		)
		if err := tx.queryRow(`SELECT state, fingerprint, request_size, status, header, body FROM idempotency_keys WHERE id = ?`, id).
			Scan(&state, &a.Fingerprint, &a.RequestSize, &a.Status, &header, &a.Body); err != nil {
			return result{}, fmt.Errorf("read idempotency key: %w", err)
		}
		if state != "done" {
			return result{}, errKeyInProgress
		}
		if err := json.Unmarshal([]byte(header), &a.Header); err != nil {
			return result{}, fmt.Errorf("read idempotency key's headers: %w", err)
		}
		return result{answer: &a}, nil
	})
	return res.token, res.answer, err
}

// ExtendKey renews a reservation's lease.
func (s *IdempotencyService) ExtendKey(ctx context.Context, k vigil.IdempotencyKey, token string) (err error) {
	defer s.db.op("idempotency.extend")(&err)
	return s.db.write(ctx, func(tx *Tx) error {
		r, err := tx.exec(`UPDATE idempotency_keys SET expires_at = ? WHERE id = ? AND token = ? AND state = 'running'`,
			tx.now.Add(vigil.IdempotencyLease), tx.idempotencyID(k), token)
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
	return s.db.write(ctx, func(tx *Tx) error {
		r, err := tx.exec(`UPDATE idempotency_keys SET state = 'done', fingerprint = ?, request_size = ?, status = ?, header = ?, body = ?, expires_at = ?
			WHERE id = ? AND token = ? AND state = 'running'`,
			a.Fingerprint, a.RequestSize, a.Status, string(header), body, tx.now.Add(vigil.IdempotencyTTL), tx.idempotencyID(k), token)
		if err != nil {
			return fmt.Errorf("complete idempotency key: %w", err)
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return errKeyLost
		}
		return nil
	})
}

// ReleaseKey gives a reservation up.
func (s *IdempotencyService) ReleaseKey(ctx context.Context, k vigil.IdempotencyKey, token string) (err error) {
	defer s.db.op("idempotency.release")(&err)
	return s.db.write(ctx, func(tx *Tx) error {
		if _, err := tx.exec(`DELETE FROM idempotency_keys WHERE id = ? AND token = ? AND state = 'running'`, tx.idempotencyID(k), token); err != nil {
			return fmt.Errorf("release idempotency key: %w", err)
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
