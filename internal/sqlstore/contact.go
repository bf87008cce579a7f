package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/vigil-ir/vigil"
)

// ContactService implements vigil.ContactService.
type ContactService struct{ db *DB }

const contactColumns = `id, name, organisation, roles, phone, email, out_of_hours, notes, verified_at, created_at, updated_at, version`

func scanContact(r rowScanner) (*vigil.Contact, error) {
	var c vigil.Contact
	if err := r.Scan(&c.ID, &c.Name, &c.Organisation, scanJSON(&c.Roles), &c.Phone, &c.Email, &c.OutOfHours, &c.Notes, scanNullTime(&c.VerifiedAt),
		scanTime(&c.CreatedAt), scanTime(&c.UpdatedAt), &c.Version); err != nil {
		return nil, err
	}
	if c.Roles == nil {
		c.Roles = []vigil.ContactRole{}
	}
	return &c, nil
}

// CreateContact adds a contact.
func (s *ContactService) CreateContact(ctx context.Context, c *vigil.Contact) (err error) {
	defer s.db.op("contact.create")(&err)
	if err := c.Validate(); err != nil {
		return err
	}
	return s.db.write(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermContactAdmin); err != nil {
			return err
		}
		c.CreatedAt, c.UpdatedAt, c.Version, c.BuiltIn = tx.now, tx.now, 1, false
		id, err := tx.insert(`INSERT INTO contacts (name, organisation, roles, phone, email, out_of_hours, notes, created_at, updated_at, version)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`, c.Name, c.Organisation, mustJSON(c.Roles), c.Phone, c.Email, c.OutOfHours, c.Notes, tx.now, tx.now)
		if err != nil {
			return fmt.Errorf("insert contact: %w", err)
		}
		c.ID = id
		tx.audit("contact.create", "contact", id, nil, c)
		return nil
	})
}

// FindContacts lists the contacts by organisation and name.
func (s *ContactService) FindContacts(ctx context.Context) (out []*vigil.Contact, err error) {
	defer s.db.op("contact.find")(&err)
	out = []*vigil.Contact{}
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermIncidentRead); err != nil {
			return err
		}
		if !tx.actor.CanIn(vigil.DefaultOrganisationID, vigil.PermIncidentRead) {
			// The default organisation's contacts: none for another's
			// people, whose duties fall back on the authorities' public
			// routes (vigil.ContactsFor).
			return nil
		}
		out, err = queryAll(tx, scanContact, `SELECT `+contactColumns+` FROM contacts ORDER BY organisation, name, id`)
		return err
	})
	return out, err
}

// UpdateContact replaces a contact's details at the version the caller saw.
func (s *ContactService) UpdateContact(ctx context.Context, c *vigil.Contact) (err error) {
	defer s.db.op("contact.update")(&err)
	if err := c.Validate(); err != nil {
		return err
	}
	want := c.Version // fn may run twice (group commit): keep the caller's version apart
	return s.db.write(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermContactAdmin); err != nil {
			return err
		}
		before, err := scanContact(tx.queryRow(`SELECT `+contactColumns+` FROM contacts WHERE id = ?`+tx.forUpdate(), c.ID))
		if err != nil {
			return vigil.Errorf(vigil.ENOTFOUND, "Contact not found.")
		}
		if want != before.Version {
			return staleVersion(before.Version)
		}
		c.CreatedAt, c.UpdatedAt, c.Version = before.CreatedAt, tx.now, before.Version+1
		if _, err := tx.exec(`UPDATE contacts SET name = ?, organisation = ?, roles = ?, phone = ?, email = ?, out_of_hours = ?, notes = ?,
			updated_at = ?, version = ? WHERE id = ?`, c.Name, c.Organisation, mustJSON(c.Roles), c.Phone, c.Email, c.OutOfHours, c.Notes,
			tx.now, c.Version, c.ID); err != nil {
			return err
		}
		tx.audit("contact.update", "contact", c.ID, before, c)
		return nil
	})
}

// DeleteContact removes a contact.
func (s *ContactService) DeleteContact(ctx context.Context, id int64) (err error) {
	defer s.db.op("contact.delete")(&err)
	return s.db.write(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermContactAdmin); err != nil {
			return err
		}
		before, err := scanContact(tx.queryRow(`SELECT `+contactColumns+` FROM contacts WHERE id = ?`, id))
		if err != nil {
			return vigil.Errorf(vigil.ENOTFOUND, "Contact not found.")
		}
		if _, err := tx.exec(`DELETE FROM contacts WHERE id = ?`, id); err != nil {
			return err
		}
		tx.audit("contact.delete", "contact", id, before, nil)
		return nil
	})
}

// VerifyContact records that a contact's details were confirmed.
func (s *ContactService) VerifyContact(ctx context.Context, id int64) (c *vigil.Contact, err error) {
	defer s.db.op("contact.verify")(&err)
	c, err = writeV(ctx, s.db, func(tx *Tx) (*vigil.Contact, error) {
		var err error // its own: the caller may have stopped waiting (a deadline)
		var c *vigil.Contact
		if err := tx.require(vigil.PermContactAdmin); err != nil {
			return c, err
		}
		if c, err = scanContact(tx.queryRow(`SELECT `+contactColumns+` FROM contacts WHERE id = ?`+tx.forUpdate(), id)); err != nil {
			return c, vigil.Errorf(vigil.ENOTFOUND, "Contact not found.")
		}
		c.VerifiedAt = &tx.now
		if _, err := tx.exec(`UPDATE contacts SET verified_at = ? WHERE id = ?`, tx.now, id); err != nil {
			return c, err
		}
		tx.audit("contact.verify", "contact", id, nil, map[string]any{"verified_at": tx.now})
		return c, nil
	})
	return c, err
}

// RecoveryService implements vigil.RecoveryService.
type RecoveryService struct{ db *DB }

// RecordRecoveryCheck records a backup or a restore test (the CLI, as the system).
func (s *RecoveryService) RecordRecoveryCheck(ctx context.Context, c *vigil.RecoveryCheck) (err error) {
	defer s.db.op("recovery.record")(&err)
	if c.Kind != vigil.RecoveryBackup && c.Kind != vigil.RecoveryRestoreTest {
		return vigil.Invalid("kind", "Unknown kind %q.", c.Kind)
	}
	return s.db.write(ctx, func(tx *Tx) error {
		var err error // its own: the caller may have stopped waiting (a deadline)
		if err := tx.require(vigil.PermSettingsAdmin); err != nil {
			return err
		}
		c.At = tx.now
		c.ID, err = tx.insert(`INSERT INTO recovery_checks (kind, at, ok, file, size, detail) VALUES (?, ?, ?, ?, ?, ?)`,
			c.Kind, tx.now, c.OK, c.File, c.Size, c.Detail)
		if err != nil {
			return err
		}
		tx.audit("recovery."+c.Kind, "recovery_check", c.ID, nil, c)
		return nil
	})
}

// LastRecoveryChecks returns the latest check of each kind, and the latest
// that succeeded.
func (s *RecoveryService) LastRecoveryChecks(ctx context.Context) (last, lastOK map[string]*vigil.RecoveryCheck, err error) {
	defer s.db.op("recovery.last")(&err)
	last, lastOK = map[string]*vigil.RecoveryCheck{}, map[string]*vigil.RecoveryCheck{}
	err = s.db.read(ctx, func(tx *Tx) error {
		// The install's backups are the default organisation's business.
		if err := vigil.RequireIn(tx.actor, vigil.DefaultOrganisationID, vigil.PermIncidentRead); err != nil {
			return err
		}
		for _, kind := range []string{vigil.RecoveryBackup, vigil.RecoveryRestoreTest} {
			for _, q := range []struct {
				where string
				into  map[string]*vigil.RecoveryCheck
			}{{"", last}, {" AND ok", lastOK}} {
				var c vigil.RecoveryCheck
				err := tx.queryRow(`SELECT id, kind, at, ok, file, size, detail FROM recovery_checks WHERE kind = ?`+q.where+
					` ORDER BY at DESC, id DESC LIMIT 1`, kind).Scan(&c.ID, &c.Kind, scanTime(&c.At), &c.OK, &c.File, &c.Size, &c.Detail)
				if errors.Is(err, sql.ErrNoRows) {
					continue
				} else if err != nil {
					return err
				}
				q.into[kind] = &c
			}
		}
		return nil
	})
	return last, lastOK, err
}
