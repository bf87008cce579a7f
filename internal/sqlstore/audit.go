package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/vigil-ir/vigil"
)

// audit queues an audit event; commit appends the queue to the chain. before
// and after are marshalled now, so later changes to the objects do not leak
// into the record.
func (tx *Tx) audit(action, objectType string, objectID int64, before, after any) {
	enc := func(v any) json.RawMessage {
		if v == nil {
			return json.RawMessage("null")
		}
		return json.RawMessage(mustJSON(v))
	}
	tx.audits = append(tx.audits, &vigil.AuditEvent{
		At:         tx.now,
		ActorID:    tx.actorID(),
		ActorName:  tx.actorName(),
		Action:     action,
		ObjectType: objectType,
		ObjectID:   strconv.FormatInt(objectID, 10),
		Before:     enc(before),
		After:      enc(after),
		RequestID:  vigil.RequestIDFromContext(tx.ctx),
		// The organisation of the incidents this write worked on.
		Organisation: tx.auditOrg(),
	})
}

// auditOrg is the slug of the one organisation whose incidents tx
// touched, "" for none, and for several their slugs in order, joined by
// commas. An event about incidents of several organisations (a link
// between two, made by someone who works in both) is read neither by one
// organisation's admins nor by the install's auditors, since none of them
// may see it whole; it stays in the chain that vigil audit verify checks.
func (tx *Tx) auditOrg() string {
	slugs := make([]string, 0, len(tx.orgsTouched))
	for _, st := range tx.orgsTouched {
		slugs = append(slugs, st.slug)
	}
	slices.Sort(slugs)
	return strings.Join(slugs, ",")
}

// flushAudit appends the queued events to the hash chain. The chain head is
// one row, read with a row lock: on PostgreSQL, concurrent transactions
// queue here for the last few milliseconds of their life, which keeps the
// chain a single line without gaps. It runs just before commit to keep that
// window short.
func (tx *Tx) flushAudit() error {
	if len(tx.audits) == 0 {
		return nil
	}
	var seq int64
	var prev string
	if h := tx.head; h != nil {
		// Group commit: the committer holds the head and writes it once
		// per group (see groupCommitter.runGroup).
		if !h.loaded {
			// Locked until the group commits, where the engine locks rows.
			if err := tx.queryRow(`SELECT seq, hash FROM audit_head WHERE id = 1`+tx.db.d.ForUpdate).Scan(&h.seq, &h.hash); err != nil {
				return fmt.Errorf("read audit head: %w", err)
			}
			h.loaded = true
		}
		seq, prev = h.seq, h.hash
	} else if err := tx.queryRow(`SELECT seq, hash FROM audit_head WHERE id = 1`+tx.db.d.ForUpdate).Scan(&seq, &prev); err != nil {
		return fmt.Errorf("read audit head: %w", err)
	}
	for _, e := range tx.audits {
		seq++
		e.Seq, e.PrevHash = seq, prev
		e.Hash = e.ComputeHash()
		if _, err := tx.exec(`INSERT INTO audit_events (seq, at, actor_id, actor_name, action, object_type, object_id, before, after, request_id, organisation, prev_hash, hash)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.Seq, e.At, e.ActorID, e.ActorName, e.Action, e.ObjectType, e.ObjectID, string(e.Before), string(e.After), e.RequestID, e.Organisation, e.PrevHash, e.Hash); err != nil {
			return fmt.Errorf("insert audit event: %w", err)
		}
		prev = e.Hash
	}
	tx.audits = nil
	if h := tx.head; h != nil {
		h.seq, h.hash, h.dirty = seq, prev, true
		return nil
	}
	if _, err := tx.exec(`UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1`, seq, prev); err != nil {
		return fmt.Errorf("update audit head: %w", err)
	}
	return nil
}

// auditHead is the chain head as the group committer knows it: read at the
// first event of a group, advanced by each operation, written at its end.
type auditHead struct {
	loaded, dirty bool
	seq           int64
	hash          string
}

// AuditService reads and verifies the audit log.
type AuditService struct{ db *DB }

const auditColumns = `seq, at, actor_id, actor_name, action, object_type, object_id, before, after, request_id, organisation, prev_hash, hash`

func scanAudit(r rowScanner) (*vigil.AuditEvent, error) {
	var e vigil.AuditEvent
	var before, after string
	if err := r.Scan(&e.Seq, scanTime(&e.At), scanNullInt(&e.ActorID), &e.ActorName, &e.Action, &e.ObjectType,
		&e.ObjectID, &before, &after, &e.RequestID, &e.Organisation, &e.PrevHash, &e.Hash); err != nil {
		return nil, err
	}
	e.Before, e.After = json.RawMessage(before), json.RawMessage(after)
	return &e, nil
}

// FindAuditEvents returns audit events, newest first unless f.Asc.
func (s *AuditService) FindAuditEvents(ctx context.Context, f vigil.AuditFilter) (_ []*vigil.AuditEvent, err error) {
	defer s.db.op("audit.find")(&err)
	if f.Limit <= 0 || f.Limit > vigil.MaxPageSize {
		f.Limit = vigil.DefaultPageSize
	}
	var events []*vigil.AuditEvent
	err = s.db.read(ctx, func(tx *Tx) error {
		// The install's auditors read every event but those of other
		// organisations' incidents; an organisation's administrators read
		// those of their own.
		a := tx.actor
		if a == nil {
			return tx.require(vigil.PermAuditRead)
		}
		var orgs []any
		if a.Can(vigil.PermAuditRead) {
			orgs = append(orgs, "")
		}
		for _, m := range a.Memberships() {
			if m.Role == vigil.RoleAdmin && a.CanIn(m.ID, vigil.PermIncidentRead) && (a.TokenID == 0 || containsScope(a.Scopes, vigil.ScopeAdmin)) {
				orgs = append(orgs, m.Slug)
			}
		}
		if len(orgs) == 0 {
			return tx.require(vigil.PermAuditRead)
		}
		where, args := []string{"1=1"}, []any{}
		if !a.System {
			where, args = append(where, "organisation IN ("+placeholders(len(orgs))+")"), append(args, orgs...)
		}
		if f.Action != "" {
			where, args = append(where, "action = ?"), append(args, f.Action)
		}
		if f.ObjectType != "" {
			where, args = append(where, "object_type = ?"), append(args, f.ObjectType)
		}
		if f.ObjectID != "" {
			where, args = append(where, "object_id = ?"), append(args, f.ObjectID)
		}
		if f.ActorID != nil {
			where, args = append(where, "actor_id = ?"), append(args, *f.ActorID)
		}
		order := "DESC"
		if f.Asc {
			order = "ASC"
			if f.BeforeSeq > 0 { // with Asc the cursor is "after"
				where, args = append(where, "seq > ?"), append(args, f.BeforeSeq)
			}
		} else if f.BeforeSeq > 0 {
			where, args = append(where, "seq < ?"), append(args, f.BeforeSeq)
		}
		var err error
		events, err = queryAll(tx, scanAudit, `SELECT `+auditColumns+` FROM audit_events WHERE `+joinAnd(where)+` ORDER BY seq `+order+` LIMIT ?`, append(args, f.Limit)...)
		return err
	})
	return events, err
}

// VerifyAudit walks the chain in order, in batches so memory stays flat,
// recomputing each hash and checking each link and the head.
func (s *AuditService) VerifyAudit(ctx context.Context) (_ *vigil.AuditVerification, err error) {
	defer s.db.op("audit.verify")(&err)
	v := &vigil.AuditVerification{OK: true}
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermAuditRead); err != nil {
			return err
		}
		v.At = tx.now
		var headSeq int64
		var headHash string
		if err := tx.queryRow(`SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&headSeq, &headHash); err != nil {
			return fmt.Errorf("read audit head: %w", err)
		}
		v.HeadSeq = headSeq
		fail := func(seq int64, format string, args ...any) {
			if v.OK {
				v.OK, v.BadSeq, v.Problem = false, seq, fmt.Sprintf(format, args...)
			}
		}
		prev, want := vigil.AuditGenesis, int64(1)
		const batch = 1000
		for v.OK {
			rows, err := tx.query(`SELECT `+auditColumns+` FROM audit_events WHERE seq >= ? ORDER BY seq LIMIT ?`, want, batch)
			if err != nil {
				return err
			}
			n := 0
			for rows.Next() && v.OK {
				e, err := scanAudit(rows)
				if err != nil {
					rows.Close()
					return err
				}
				n++
				switch {
				case e.Seq != want:
					fail(want, "Event %d is missing: the chain jumps from %d to %d.", want, want-1, e.Seq)
				case e.PrevHash != prev:
					fail(e.Seq, "Event %d does not link to event %d: its previous hash differs.", e.Seq, e.Seq-1)
				case e.ComputeHash() != e.Hash:
					fail(e.Seq, "Event %d was changed after it was written: its hash does not match its content.", e.Seq)
				}
				prev, want = e.Hash, e.Seq+1
				v.Checked++
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			if n < batch {
				break
			}
		}
		if v.OK && want-1 != headSeq {
			fail(want, "The log ends at event %d but the head says %d: events were removed.", want-1, headSeq)
		}
		if v.OK && prev != headHash && headSeq > 0 {
			fail(headSeq, "The last event's hash does not match the head: the end of the log was changed.")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}
