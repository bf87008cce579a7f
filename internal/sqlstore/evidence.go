package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/vigil-ir/vigil"
)

// EvidenceService implements vigil.EvidenceService on the database and the
// DB's blob store.
type EvidenceService struct{ db *DB }

const evidenceColumns = `e.id, COALESCE(e.incident_id, 0), e.name, e.media_type, e.description, e.size, e.sha256, e.sha1, e.md5,
	e.collected_by, e.collected_at, e.collected_from, e.method, e.added_by, e.added_by_name, e.added_at,
	e.legal_hold, e.hold_reason, e.deleted_at, e.integrity, e.verified_at, e.custody_count, e.custody_head, e.version, e.alert_id`

func scanEvidence(r rowScanner) (*vigil.Evidence, error) {
	var e vigil.Evidence
	if err := r.Scan(&e.ID, &e.IncidentID, &e.Name, &e.MediaType, &e.Description, &e.Size, &e.SHA256, &e.SHA1, &e.MD5,
		&e.CollectedBy, scanNullTime(&e.CollectedAt), &e.CollectedFrom, &e.Method, scanNullInt(&e.AddedBy), &e.AddedByName,
		scanTime(&e.AddedAt), &e.LegalHold, &e.HoldReason, scanNullTime(&e.DeletedAt), &e.Integrity, scanNullTime(&e.VerifiedAt),
		&e.CustodyCount, &e.CustodyHead, &e.Version, scanNullInt(&e.AlertID)); err != nil {
		return nil, err
	}
	return &e, nil
}

const custodyColumns = `evidence_id, seq, at, actor_id, actor_name, action, to_whom, detail, result, prev_hash, hash`

func scanCustody(r rowScanner) (*vigil.CustodyEntry, error) {
	var c vigil.CustodyEntry
	if err := r.Scan(&c.EvidenceID, &c.Seq, scanTime(&c.At), scanNullInt(&c.ActorID), &c.ActorName, &c.Action, &c.To,
		&c.Detail, &c.Result, &c.PrevHash, &c.Hash); err != nil {
		return nil, err
	}
	return &c, nil
}

func (db *DB) blobs() (vigil.BlobStore, error) {
	if db.Blobs == nil {
		return nil, vigil.Errorf(vigil.ENOTIMPLEMENTED, "This server keeps no evidence files: it was started without an evidence folder.")
	}
	return db.Blobs, nil
}

// findEvidence loads a piece of evidence on an incident the actor may see.
// In a write transaction it locks the incident, then the evidence row (the
// order every evidence write takes, exports included, so two cannot
// deadlock); the evidence lock keeps its custody log a single line.
func (tx *Tx) findEvidence(id int64) (*vigil.Evidence, error) {
	notFound := vigil.Errorf(vigil.ENOTFOUND, "Evidence not found.")
	var incidentID, alertID sql.NullInt64
	if err := tx.queryRow(`SELECT incident_id, alert_id FROM evidence WHERE id = ?`, id).Scan(&incidentID, &alertID); errors.Is(err, sql.ErrNoRows) {
		return nil, notFound
	} else if err != nil {
		return nil, err
	}
	if !incidentID.Valid {
		// An alert's evidence (a reported e-mail): seen by those who may
		// see the alert.
		var one int
		if !tx.actor.Can(vigil.PermAlertRead) {
			return nil, notFound
		}
		if err := tx.queryRow(`SELECT 1 FROM alerts a WHERE a.id = ? AND `+tx.alertVisible("a"), alertID.Int64).Scan(&one); errors.Is(err, sql.ErrNoRows) {
			return nil, notFound
		} else if err != nil {
			return nil, err
		}
		lock := ""
		if tx.write {
			lock = tx.forUpdateOf("e")
		}
		return scanEvidence(tx.queryRow(`SELECT `+evidenceColumns+` FROM evidence e WHERE e.id = ?`+lock, id))
	}
	if tx.write {
		if _, err := tx.findIncidentByID(incidentID.Int64); vigil.ErrorCode(err) == vigil.ENOTFOUND {
			return nil, notFound
		} else if err != nil {
			return nil, err
		}
		e, err := scanEvidence(tx.queryRow(`SELECT `+evidenceColumns+` FROM evidence e WHERE e.id = ?`+tx.forUpdateOf("e"), id))
		if errors.Is(err, sql.ErrNoRows) {
			return nil, notFound
		}
		return e, err
	}
	vis, args := tx.visible()
	e, err := scanEvidence(tx.queryRow(`SELECT `+evidenceColumns+` FROM evidence e JOIN incidents i ON i.id = e.incident_id
		WHERE e.id = ? AND `+vis, append([]any{id}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound
	}
	return e, err
}

// custody appends an entry to e's chain of custody (e loaded with
// findEvidence in this transaction) and moves e's head.
func (tx *Tx) custody(e *vigil.Evidence, c *vigil.CustodyEntry) error {
	c.EvidenceID, c.Seq, c.At, c.ActorID, c.ActorName, c.PrevHash = e.ID, e.CustodyCount+1, tx.now, tx.actorID(), tx.actorName(), e.CustodyHead
	c.Hash = c.ComputeHash()
	if _, err := tx.exec(`INSERT INTO custody (`+custodyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.EvidenceID, c.Seq, c.At, c.ActorID, c.ActorName, c.Action, c.To, c.Detail, c.Result, c.PrevHash, c.Hash); err != nil {
		return fmt.Errorf("insert custody entry: %w", err)
	}
	if _, err := tx.exec(`UPDATE evidence SET custody_count = ?, custody_head = ? WHERE id = ?`, c.Seq, c.Hash, e.ID); err != nil {
		return err
	}
	e.CustodyCount, e.CustodyHead = c.Seq, c.Hash
	tx.audit("evidence."+string(c.Action), "evidence", e.ID, nil, c)
	return nil
}

func (tx *Tx) custodyLog(id int64) ([]*vigil.CustodyEntry, error) {
	return queryAll(tx, scanCustody, `SELECT `+custodyColumns+` FROM custody WHERE evidence_id = ? ORDER BY seq`, id)
}

// AddEvidence streams content into the blob store, then records e and its
// first custody entry. The content is stored before the transaction so
// that no transaction waits on an upload; a file whose record then fails
// stays in the store unreferenced (and is reused by the next upload of the
// same bytes).
func (s *EvidenceService) AddEvidence(ctx context.Context, e *vigil.Evidence, content io.Reader) (err error) {
	defer s.db.op("evidence.add")(&err)
	if err := vigil.Require(vigil.ActorFromContext(ctx), vigil.PermIncidentEdit); err != nil {
		return err
	}
	if err := e.Validate(); err != nil {
		return err
	}
	blobs, err := s.db.blobs()
	if err != nil {
		return err
	}
	// The incident is checked first, so nobody stores bytes against an
	// incident they cannot see or change.
	if err := s.db.read(ctx, func(tx *Tx) error {
		inc, err := tx.findIncidentByID(e.IncidentID)
		if err != nil {
			return err
		}
		return vigil.RequireIn(tx.actor, inc.OrganisationID, vigil.PermIncidentEdit)
	}); err != nil {
		return err
	}
	max := s.db.MaxEvidenceBytes
	if max <= 0 {
		max = vigil.DefaultMaxEvidenceBytes
	}
	d, err := blobs.Put(content, max)
	if err != nil {
		if vigil.ErrorCode(err) == vigil.ESTORAGEFULL {
			s.db.noteFull(VolumeEvidence, err)
		}
		return err
	}
	in := *e
	return s.db.write(ctx, func(tx *Tx) error {
		*e = in // fn may run twice (group commit)
		if err := tx.require(vigil.PermIncidentEdit); err != nil {
			return err
		}
		inc, err := tx.findIncidentByID(e.IncidentID)
		if err != nil {
			return err
		}
		if e.CollectedAt != nil {
			t := vigil.TruncateTime(*e.CollectedAt)
			e.CollectedAt = &t
		}
		e.Digests, e.AddedBy, e.AddedByName, e.AddedAt = d, tx.actorID(), tx.actorName(), tx.now
		e.Integrity, e.Version = vigil.IntegrityUnverified, 1
		// Count the reference first: the row lock waits for a deletion of
		// the same bytes to finish, which may have removed the file.
		if _, err := tx.exec(`INSERT INTO blob_refs (sha256, n) VALUES (?, 1) ON CONFLICT (sha256) DO UPDATE SET n = blob_refs.n + 1`, d.SHA256); err != nil {
			return err
		}
		if !blobs.Exists(d.SHA256) {
			return vigil.Errorf(vigil.ECONFLICT, "The same file was being deleted from another incident while you added it. Upload it again.")
		}
		e.ID, err = tx.insert(`INSERT INTO evidence (incident_id, name, media_type, description, size, sha256, sha1, md5,
			collected_by, collected_at, collected_from, method, added_by, added_by_name, added_at, integrity)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.IncidentID, e.Name, e.MediaType, e.Description, e.Size, e.SHA256, e.SHA1, e.MD5,
			e.CollectedBy, e.CollectedAt, e.CollectedFrom, e.Method, e.AddedBy, e.AddedByName, e.AddedAt, e.Integrity)
		if err != nil {
			return fmt.Errorf("insert evidence: %w", err)
		}
		if err := tx.custody(e, &vigil.CustodyEntry{Action: vigil.CustodyAdded, Detail: e.Facts()}); err != nil {
			return err
		}
		msg := fmt.Sprintf("Evidence added: %s (%s, SHA-256 %s)", e.Name, vigil.FormatBytes(e.Size), e.SHA256)
		if _, err := tx.addTimeline(inc.ID, vigil.KindEvidence, tx.now, msg, nil); err != nil {
			return err
		}
		return tx.touchIncident(inc.ID)
	})
}

// FindEvidence lists an incident's evidence, oldest first.
func (s *EvidenceService) FindEvidence(ctx context.Context, incidentID int64) (out []*vigil.Evidence, err error) {
	defer s.db.op("evidence.find")(&err)
	out = []*vigil.Evidence{}
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermIncidentRead); err != nil {
			return err
		}
		if _, err := tx.findIncidentByID(incidentID); err != nil {
			return err
		}
		out, err = queryAll(tx, scanEvidence, `SELECT `+evidenceColumns+` FROM evidence e WHERE e.incident_id = ? ORDER BY e.id`, incidentID)
		return err
	})
	return out, err
}

// access loads a piece of evidence for perm, appends c to its custody log
// and lets fn add to the same transaction.
func (s *EvidenceService) access(ctx context.Context, id int64, perm vigil.Permission, c func(*vigil.Evidence) (*vigil.CustodyEntry, error),
	fn func(tx *Tx, e *vigil.Evidence) error) (e *vigil.Evidence, err error) {
	err = s.db.write(ctx, func(tx *Tx) error {
		var err error // its own: the caller may have stopped waiting (a deadline)
		if err := tx.require(perm); err != nil {
			return err
		}
		if e, err = tx.findEvidence(id); err != nil {
			return err
		}
		entry, err := c(e)
		if err != nil {
			return err
		}
		if entry != nil {
			if err := tx.custody(e, entry); err != nil {
				return err
			}
		}
		if fn != nil {
			return fn(tx, e)
		}
		return nil
	})
	return e, err
}

func logAs(a vigil.CustodyAction) func(*vigil.Evidence) (*vigil.CustodyEntry, error) {
	return func(*vigil.Evidence) (*vigil.CustodyEntry, error) { return &vigil.CustodyEntry{Action: a}, nil }
}

func held(e *vigil.Evidence) error {
	if e.DeletedAt != nil {
		return vigil.Errorf(vigil.ECONFLICT, "This evidence was deleted on %s; only its record and custody log remain.", vigil.FormatTime(*e.DeletedAt))
	}
	return nil
}

// ViewEvidence returns a piece of evidence and its custody log, logging the view.
func (s *EvidenceService) ViewEvidence(ctx context.Context, id int64) (e *vigil.Evidence, log []*vigil.CustodyEntry, err error) {
	defer s.db.op("evidence.view")(&err)
	e, err = s.access(ctx, id, vigil.PermIncidentRead, logAs(vigil.CustodyViewed), func(tx *Tx, e *vigil.Evidence) error {
		log, err = tx.custodyLog(e.ID)
		return err
	})
	return e, log, err
}

// OpenEvidence logs a download and opens the content.
func (s *EvidenceService) OpenEvidence(ctx context.Context, id int64) (e *vigil.Evidence, rc io.ReadCloser, err error) {
	defer s.db.op("evidence.open")(&err)
	blobs, err := s.db.blobs()
	if err != nil {
		return nil, nil, err
	}
	e, err = s.access(ctx, id, vigil.PermIncidentRead, func(e *vigil.Evidence) (*vigil.CustodyEntry, error) {
		if err := held(e); err != nil {
			return nil, err
		}
		return &vigil.CustodyEntry{Action: vigil.CustodyDownloaded}, nil
	}, nil)
	if err != nil {
		return nil, nil, err
	}
	rc, err = blobs.Open(e.SHA256)
	if errors.Is(err, vigil.ErrBlobMissing) {
		return nil, nil, vigil.Errorf(vigil.ECONFLICT, "The file of this evidence is missing from the evidence store. Run vigil evidence verify, and restore the evidence folder from a backup.")
	}
	return e, rc, err
}

// TransferEvidence records the handing over of evidence.
func (s *EvidenceService) TransferEvidence(ctx context.Context, id int64, t vigil.Transfer) (e *vigil.Evidence, err error) {
	defer s.db.op("evidence.transfer")(&err)
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return s.access(ctx, id, vigil.PermIncidentEdit, func(e *vigil.Evidence) (*vigil.CustodyEntry, error) {
		return &vigil.CustodyEntry{Action: vigil.CustodyTransferred, To: t.To, Detail: t.Detail}, held(e)
	}, func(tx *Tx, e *vigil.Evidence) error {
		msg := fmt.Sprintf("Evidence %s transferred to %s.", e.Name, t.To)
		if err := tx.evidenceNote(e, msg); err != nil {
			return err
		}
		return tx.touchEvidenceIncident(e)
	})
}

// VerifyEvidence hashes the file again (outside any transaction), then
// checks the custody log and records the result.
func (s *EvidenceService) VerifyEvidence(ctx context.Context, id int64) (check *vigil.EvidenceCheck, err error) {
	defer s.db.op("evidence.verify")(&err)
	blobs, err := s.db.blobs()
	if err != nil {
		return nil, err
	}
	if err := vigil.Require(vigil.ActorFromContext(ctx), vigil.PermIncidentEdit); err != nil {
		return nil, err
	}
	var e *vigil.Evidence
	if err := s.db.read(ctx, func(tx *Tx) error { e, err = tx.findEvidence(id); return err }); err != nil {
		return nil, err
	}
	if err := held(e); err != nil {
		return nil, err
	}
	got, herr := blobs.Hash(e.SHA256)
	if herr != nil && !errors.Is(herr, vigil.ErrBlobMissing) {
		return nil, herr
	}
	check, err = writeV(ctx, s.db, func(tx *Tx) (*vigil.EvidenceCheck, error) {
		check := &vigil.EvidenceCheck{Result: vigil.IntegrityOK}
		if err := tx.require(vigil.PermIncidentEdit); err != nil {
			return check, err
		}
		var err error
		if check.Evidence, err = tx.findEvidence(id); err != nil {
			return check, err
		}
		e := check.Evidence
		switch {
		case herr != nil:
			check.Result, check.Problem = vigil.IntegrityMissing, "The file is missing from the evidence store."
		case got != e.Digests:
			check.Result = vigil.IntegrityMismatch
			check.Problem = fmt.Sprintf("The file no longer matches its hashes: it holds %d bytes with SHA-256 %s.", got.Size, got.SHA256)
		}
		log, err := tx.custodyLog(e.ID)
		if err != nil {
			return check, err
		}
		if err := vigil.VerifyCustody(e, log); err != nil {
			if check.Result == vigil.IntegrityOK {
				check.Result = vigil.IntegrityMismatch
			}
			check.Problem = strings.TrimSpace(check.Problem + " The custody log: " + err.Error() + ".")
		}
		if err := tx.custody(e, &vigil.CustodyEntry{Action: vigil.CustodyVerified, Result: check.Result, Detail: check.Problem}); err != nil {
			return check, err
		}
		e.Integrity, e.VerifiedAt = check.Result, &tx.now
		if _, err := tx.exec(`UPDATE evidence SET integrity = ?, verified_at = ? WHERE id = ?`, e.Integrity, e.VerifiedAt, e.ID); err != nil {
			return check, err
		}
		if check.Result != vigil.IntegrityOK {
			msg := fmt.Sprintf("Evidence %s failed verification (%s): %s", e.Name, check.Result, check.Problem)
			if err := tx.evidenceNote(e, msg); err != nil {
				return check, err
			}
		}
		return check, nil
	})
	if err != nil {
		return nil, err
	}
	return check, nil
}

// VerifyAllEvidence verifies every piece whose content is kept.
func (s *EvidenceService) VerifyAllEvidence(ctx context.Context, fn func(*vigil.EvidenceCheck)) (err error) {
	defer s.db.op("evidence.verify_all")(&err)
	var after int64
	for {
		var ids []int64
		err := s.db.read(ctx, func(tx *Tx) error {
			if err := tx.require(vigil.PermIncidentEdit); err != nil {
				return err
			}
			vis, args := tx.visible()
			ids, err = queryAll(tx, scanInt64, `SELECT e.id FROM evidence e JOIN incidents i ON i.id = e.incident_id
				WHERE e.id > ? AND e.deleted_at IS NULL AND `+vis+` ORDER BY e.id LIMIT 100`, append([]any{after}, args...)...)
			return err
		})
		if err != nil || len(ids) == 0 {
			return err
		}
		for _, id := range ids {
			c, err := s.VerifyEvidence(ctx, id)
			if err != nil {
				return err
			}
			fn(c)
			after = id
		}
	}
}

// SetLegalHold places or lifts a legal hold.
func (s *EvidenceService) SetLegalHold(ctx context.Context, id int64, hold bool, reason string) (e *vigil.Evidence, err error) {
	defer s.db.op("evidence.hold")(&err)
	var p vigil.Problems
	reason = strings.TrimSpace(reason)
	if reason == "" {
		p.Add("reason", "Say why: the matter, the request or the decision behind it.")
	} else if len([]rune(reason)) > vigil.MaxEvidenceText {
		p.Add("reason", "At most %d characters.", vigil.MaxEvidenceText)
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	return s.access(ctx, id, vigil.PermEvidenceAdmin, func(e *vigil.Evidence) (*vigil.CustodyEntry, error) {
		if err := held(e); err != nil {
			return nil, err
		}
		if e.LegalHold == hold {
			return nil, nil
		}
		a := vigil.CustodyHoldPlaced
		if !hold {
			a = vigil.CustodyHoldReleased
		}
		return &vigil.CustodyEntry{Action: a, Detail: reason}, nil
	}, func(tx *Tx, e *vigil.Evidence) error {
		if e.LegalHold == hold {
			return nil
		}
		e.LegalHold, e.HoldReason = hold, reason
		if !hold {
			e.HoldReason = ""
		}
		e.Version++
		if _, err := tx.exec(`UPDATE evidence SET legal_hold = ?, hold_reason = ?, version = ? WHERE id = ?`, e.LegalHold, e.HoldReason, e.Version, e.ID); err != nil {
			return err
		}
		msg := fmt.Sprintf("Legal hold placed on evidence %s: %s", e.Name, reason)
		if !hold {
			msg = fmt.Sprintf("Legal hold lifted from evidence %s: %s", e.Name, reason)
		}
		if err := tx.evidenceNote(e, msg); err != nil {
			return err
		}
		return tx.touchEvidenceIncident(e)
	})
}

// DeleteEvidence removes a piece's content unless it is under legal hold;
// its record and custody log stay. The file goes from the blob store when
// no other piece holds the same bytes.
func (s *EvidenceService) DeleteEvidence(ctx context.Context, id int64, reason string) (err error) {
	defer s.db.op("evidence.delete")(&err)
	blobs, err := s.db.blobs()
	if err != nil {
		return err
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return vigil.Invalid("reason", "Say why the evidence is deleted: the record of its deletion is kept.")
	}
	_, err = s.access(ctx, id, vigil.PermEvidenceAdmin, func(e *vigil.Evidence) (*vigil.CustodyEntry, error) {
		if err := held(e); err != nil {
			return nil, err
		}
		if e.LegalHold {
			return nil, vigil.Errorf(vigil.ECONFLICT, "This evidence is under legal hold (%s). Lift the hold before deleting it.", e.HoldReason)
		}
		return &vigil.CustodyEntry{Action: vigil.CustodyDeleted, Detail: reason}, nil
	}, func(tx *Tx, e *vigil.Evidence) error {
		e.DeletedAt = &tx.now
		e.Version++
		if _, err := tx.exec(`UPDATE evidence SET deleted_at = ?, version = ? WHERE id = ?`, e.DeletedAt, e.Version, e.ID); err != nil {
			return err
		}
		if err := tx.evidenceNote(e, fmt.Sprintf("Evidence %s deleted: %s", e.Name, reason)); err != nil {
			return err
		}
		if err := tx.touchEvidenceIncident(e); err != nil {
			return err
		}
		// The file goes with its last reference, inside the transaction:
		// an upload of the same bytes waits on this row, then finds the
		// file gone and asks for it again.
		var left int64
		if err := tx.queryRow(`UPDATE blob_refs SET n = n - 1 WHERE sha256 = ? RETURNING n`, e.SHA256).Scan(&left); err != nil {
			return fmt.Errorf("count the file's references: %w", err)
		}
		if left > 0 {
			return nil
		}
		if _, err := tx.exec(`DELETE FROM blob_refs WHERE sha256 = ?`, e.SHA256); err != nil {
			return err
		}
		return blobs.Remove(e.SHA256)
	})
	return err
}

// ExportEvidence logs the export of every kept piece of an incident's
// evidence and returns the pieces with their custody logs.
func (s *EvidenceService) ExportEvidence(ctx context.Context, incidentID int64) (out []*vigil.EvidenceExport, err error) {
	defer s.db.op("evidence.export")(&err)
	blobs, err := s.db.blobs()
	if err != nil {
		return nil, err
	}
	out, err = writeV(ctx, s.db, func(tx *Tx) ([]*vigil.EvidenceExport, error) {
		var out []*vigil.EvidenceExport
		if err := tx.require(vigil.PermIncidentEdit); err != nil {
			return out, err
		}
		inc, err := tx.findIncidentByID(incidentID)
		if err != nil {
			return out, err
		}
		ids, err := queryAll(tx, scanInt64, `SELECT id FROM evidence WHERE incident_id = ? AND deleted_at IS NULL ORDER BY id`, incidentID)
		if err != nil {
			return out, err
		}
		for _, id := range ids {
			e, err := tx.findEvidence(id)
			if err != nil {
				return out, err
			}
			if err := tx.custody(e, &vigil.CustodyEntry{Action: vigil.CustodyExported, Detail: inc.Reference}); err != nil {
				return out, err
			}
			log, err := tx.custodyLog(id)
			if err != nil {
				return out, err
			}
			sum := e.SHA256
			out = append(out, &vigil.EvidenceExport{Evidence: e, Custody: log, Open: func() (io.ReadCloser, error) { return blobs.Open(sum) }})
		}
		if len(ids) > 0 {
			msg := fmt.Sprintf("Evidence exported as a package: %s.", vigil.Plural(len(ids), "file", "files"))
			if _, err := tx.addTimeline(inc.ID, vigil.KindEvidence, tx.now, msg, nil); err != nil {
				return out, err
			}
		}
		return out, nil
	})
	return out, err
}

// addAlertEvidence records f, whose content is in the blob store, as
// evidence of alert alertID, with its first custody entry (collected by the
// integration, which is the transaction's actor).
func (tx *Tx) addAlertEvidence(alertID int64, f *vigil.Evidence) error {
	blobs, err := tx.db.blobs()
	if err != nil {
		return err
	}
	e := *f
	e.IncidentID, e.AlertID = 0, &alertID
	if err := e.Validate(); err != nil {
		return err
	}
	e.AddedBy, e.AddedByName, e.AddedAt = tx.actorID(), tx.actorName(), tx.now
	e.Integrity, e.Version = vigil.IntegrityUnverified, 1
	if e.CollectedAt != nil {
		t := vigil.TruncateTime(*e.CollectedAt)
		e.CollectedAt = &t
	}
	if _, err := tx.exec(`INSERT INTO blob_refs (sha256, n) VALUES (?, 1) ON CONFLICT (sha256) DO UPDATE SET n = blob_refs.n + 1`, e.SHA256); err != nil {
		return err
	}
	if !blobs.Exists(e.SHA256) {
		return vigil.Errorf(vigil.ECONFLICT, "The same file was being deleted elsewhere while this message came in; send it again.")
	}
	e.ID, err = tx.insert(`INSERT INTO evidence (alert_id, name, media_type, description, size, sha256, sha1, md5,
		collected_by, collected_at, collected_from, method, added_by, added_by_name, added_at, integrity)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		alertID, e.Name, e.MediaType, e.Description, e.Size, e.SHA256, e.SHA1, e.MD5,
		e.CollectedBy, e.CollectedAt, e.CollectedFrom, e.Method, e.AddedBy, e.AddedByName, e.AddedAt, e.Integrity)
	if err != nil {
		return fmt.Errorf("insert alert evidence: %w", err)
	}
	return tx.custody(&e, &vigil.CustodyEntry{Action: vigil.CustodyAdded, Detail: e.Facts()})
}

// alertEvidence lists the evidence kept with an alert.
func (tx *Tx) alertEvidence(alertID int64) ([]*vigil.Evidence, error) {
	return queryAll(tx, scanEvidence, `SELECT `+evidenceColumns+` FROM evidence e WHERE e.alert_id = ? ORDER BY e.id`, alertID)
}

// evidenceNote writes msg on the timeline of e's incident; an alert's
// evidence (no incident yet) has only its custody log.
func (tx *Tx) evidenceNote(e *vigil.Evidence, msg string) error {
	if e.IncidentID == 0 {
		return nil
	}
	_, err := tx.addTimeline(e.IncidentID, vigil.KindEvidence, tx.now, msg, nil)
	return err
}

func (tx *Tx) touchEvidenceIncident(e *vigil.Evidence) error {
	if e.IncidentID == 0 {
		return nil
	}
	return tx.touchIncident(e.IncidentID)
}
