package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/vigil-ir/vigil"
)

// MailboxService implements vigil.MailboxService.
type MailboxService struct{ db *DB }

const colMailboxPassword = "mailboxes.password"

const mailboxColumns = `id, name, integration_id, host, port, security, username, password, folder, processed, processed_folder,
	interval_seconds, disabled, uid_validity, last_uid, health, last_error, last_polled_at, next_poll_at, created_at`

func scanMailbox(r rowScanner) (*vigil.Mailbox, error) {
	var m vigil.Mailbox
	var interval int64
	err := r.Scan(&m.ID, &m.Name, &m.IntegrationID, &m.Host, &m.Port, &m.Security, &m.Username, &m.Password, &m.Folder, &m.Processed,
		&m.ProcessedFolder, &interval, &m.Disabled, &m.UIDValidity, &m.LastUID, &m.Health, &m.LastError, scanNullTime(&m.LastPolledAt),
		scanTime(&m.NextPollAt), scanTime(&m.CreatedAt))
	m.Interval = vigil.Duration(time.Duration(interval) * time.Second)
	return &m, err
}

// CreateMailbox adds a mailbox to poll (integration admins); its first
// poll is due at once. The password is sealed.
func (s *MailboxService) CreateMailbox(ctx context.Context, m *vigil.Mailbox) (err error) {
	defer s.db.op("mailbox.create")(&err)
	m.Normalize()
	if err := m.Validate(); err != nil {
		return err
	}
	err = s.db.write(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermIntegrationAdmin); err != nil {
			return err
		}
		in, err := tx.findIntegration(m.IntegrationID)
		if vigil.ErrorCode(err) == vigil.ENOTFOUND {
			return vigil.Invalid("integration_id", "No integration %d.", m.IntegrationID)
		} else if err != nil {
			return err
		}
		if in.Kind != vigil.IntegrationEmail {
			return vigil.Invalid("integration_id", "Integration %q is of kind %s; a mailbox feeds an email integration.", in.Name, in.Kind)
		}
		m.CreatedAt, m.NextPollAt, m.Health = tx.now, tx.now, "unknown"
		m.ID, err = tx.insert(`INSERT INTO mailboxes (name, integration_id, host, port, security, username, password, folder, processed,
			processed_folder, interval_seconds, disabled, next_poll_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			m.Name, m.IntegrationID, m.Host, m.Port, m.Security, m.Username, tx.db.Secrets.seal(colMailboxPassword, m.Password), m.Folder,
			m.Processed, m.ProcessedFolder, int64(time.Duration(m.Interval)/time.Second), m.Disabled, tx.now, tx.now)
		if err != nil {
			if vigil.ErrorCode(tx.db.formatError(err)) == vigil.ECONFLICT {
				return vigil.Invalid("name", "A mailbox named %q exists already.", m.Name)
			}
			return err
		}
		pub := *m
		pub.Password = ""
		tx.audit("mailbox.create", "mailbox", m.ID, nil, &pub)
		return nil
	})
	m.Password = ""
	return err
}

// FindMailboxes lists the mailboxes with their health, without passwords.
func (s *MailboxService) FindMailboxes(ctx context.Context) (out []*vigil.Mailbox, err error) {
	defer s.db.op("mailbox.list")(&err)
	out = []*vigil.Mailbox{}
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermIntegrationAdmin); err != nil {
			return err
		}
		out, err = queryAll(tx, scanMailbox, `SELECT `+mailboxColumns+` FROM mailboxes ORDER BY name`)
		for _, m := range out {
			m.Password = ""
		}
		return err
	})
	return out, err
}

func (tx *Tx) findMailbox(id int64) (*vigil.Mailbox, error) {
	m, err := scanMailbox(tx.queryRow(`SELECT `+mailboxColumns+` FROM mailboxes WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, vigil.Errorf(vigil.ENOTFOUND, "Mailbox %d not found.", id)
	} else if err != nil {
		return nil, err
	}
	m.Failures, err = queryAll(tx, func(r rowScanner) (*vigil.MailboxFailure, error) {
		var f vigil.MailboxFailure
		return &f, r.Scan(&f.UIDValidity, &f.UID, &f.Error, &f.Attempts, scanTime(&f.FirstAt), scanTime(&f.NextAt))
	}, `SELECT uid_validity, uid, error, attempts, first_at, next_at FROM mailbox_failures WHERE mailbox_id = ? ORDER BY uid_validity, uid`, id)
	return m, err
}

// FindMailboxByID returns a mailbox with its failures, without password.
func (s *MailboxService) FindMailboxByID(ctx context.Context, id int64) (m *vigil.Mailbox, err error) {
	defer s.db.op("mailbox.find")(&err)
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermIntegrationAdmin); err != nil {
			return err
		}
		m, err = tx.findMailbox(id)
		if m != nil {
			m.Password = ""
		}
		return err
	})
	return m, err
}

// DeleteMailbox stops polling a mailbox (its alerts stay).
func (s *MailboxService) DeleteMailbox(ctx context.Context, id int64) (err error) {
	defer s.db.op("mailbox.delete")(&err)
	return s.db.write(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermIntegrationAdmin); err != nil {
			return err
		}
		if _, err := tx.findMailbox(id); err != nil {
			return err
		}
		if _, err := tx.exec(`DELETE FROM mailbox_failures WHERE mailbox_id = ?`, id); err != nil {
			return err
		}
		if _, err := tx.exec(`DELETE FROM mailboxes WHERE id = ?`, id); err != nil {
			return err
		}
		tx.audit("mailbox.delete", "mailbox", id, nil, nil)
		return nil
	})
}

// MailboxForPoll returns a mailbox with its password and failures, and
// its integration, and puts its next poll an interval away.
func (s *MailboxService) MailboxForPoll(ctx context.Context, id int64) (m *vigil.Mailbox, in *vigil.Integration, err error) {
	defer s.db.op("mailbox.for_poll")(&err)
	err = s.db.write(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermIntegrationAdmin); err != nil {
			return err
		}
		if m, err = tx.findMailbox(id); err != nil {
			return err
		}
		if m.Password, err = tx.db.Secrets.open(colMailboxPassword, m.Password); err != nil {
			return err
		}
		if in, err = tx.findIntegration(m.IntegrationID); err != nil {
			return err
		}
		_, err = tx.exec(`UPDATE mailboxes SET next_poll_at = ? WHERE id = ?`, tx.now.Add(time.Duration(m.Interval)), id)
		return err
	})
	return m, in, err
}

// RecordMailboxPoll records a poll: the UID state, the health, and the
// failed messages (attempts counted, the next try backed off) and those
// that succeeded (their failures cleared). A new UIDVALIDITY drops the
// failures of the old one: their UIDs name nothing now.
func (s *MailboxService) RecordMailboxPoll(ctx context.Context, id int64, p vigil.MailboxPoll) (err error) {
	defer s.db.op("mailbox.polled")(&err)
	return s.db.write(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermIntegrationAdmin); err != nil {
			return err
		}
		if p.Err != nil {
			_, err := tx.exec(`UPDATE mailboxes SET health = 'failing', last_error = ?, last_polled_at = ? WHERE id = ?`,
				truncate(p.Err.Error(), 1000), tx.now, id)
			return err
		}
		health, lastErr := "ok", ""
		if len(p.Failed) > 0 {
			health, lastErr = "failing", truncate(p.Failed[0].Error, 1000)
		}
		if _, err := tx.exec(`UPDATE mailboxes SET uid_validity = ?, last_uid = ?, health = ?, last_error = ?, last_polled_at = ? WHERE id = ?`,
			p.UIDValidity, p.LastUID, health, lastErr, tx.now, id); err != nil {
			return err
		}
		if _, err := tx.exec(`DELETE FROM mailbox_failures WHERE mailbox_id = ? AND uid_validity <> ?`, id, p.UIDValidity); err != nil {
			return err
		}
		for _, uid := range p.Done {
			if _, err := tx.exec(`DELETE FROM mailbox_failures WHERE mailbox_id = ? AND uid_validity = ? AND uid = ?`, id, p.UIDValidity, uid); err != nil {
				return err
			}
		}
		for _, f := range p.Failed {
			var attempts int
			err := tx.queryRow(`SELECT attempts FROM mailbox_failures WHERE mailbox_id = ? AND uid_validity = ? AND uid = ?`, id, p.UIDValidity, f.UID).Scan(&attempts)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				_, err = tx.exec(`INSERT INTO mailbox_failures (mailbox_id, uid_validity, uid, error, attempts, first_at, next_at) VALUES (?, ?, ?, ?, 1, ?, ?)`,
					id, p.UIDValidity, f.UID, truncate(f.Error, 1000), tx.now, tx.now.Add(vigil.MailboxBackoff(1)))
			case err == nil:
				_, err = tx.exec(`UPDATE mailbox_failures SET error = ?, attempts = ?, next_at = ? WHERE mailbox_id = ? AND uid_validity = ? AND uid = ?`,
					truncate(f.Error, 1000), attempts+1, tx.now.Add(vigil.MailboxBackoff(attempts+1)), id, p.UIDValidity, f.UID)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}
