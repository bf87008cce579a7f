package sqlstore

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"strings"

	"github.com/vigil-ir/vigil"
)

// CreatePartner invites a partner with its rights, and returns its token.
func (s *SharingService) CreatePartner(ctx context.Context, p *vigil.Partner) (token string, err error) {
	defer s.db.op("partner.create")(&err)
	if err := p.Validate(); err != nil {
		return "", err
	}
	secret, err := vigil.NewSecret()
	if err != nil {
		return "", err
	}
	token = vigil.PartnerTokenPrefix + secret
	err = s.db.write(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermSettingsAdmin); err != nil {
			return err
		}
		p.TokenHint, p.CreatedAt = token[:len(vigil.PartnerTokenPrefix)+6], tx.now
		id, err := tx.insert(`INSERT INTO partners (name, contact, identity_ref, max_tlp, token_hash, token_hint, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			p.Name, p.Contact, p.IdentityRef, p.MaxTLP, vigil.HashSecret(token), p.TokenHint, tx.now)
		if err != nil {
			if vigil.ErrorCode(tx.db.formatError(err)) == vigil.ECONFLICT {
				return vigil.Invalid("name", "A partner named %q exists already.", p.Name)
			}
			return err
		}
		p.ID = id
		if p.Access == nil {
			p.Access = []vigil.CollectionAccess{}
		}
		for _, a := range p.Access {
			var n int
			if err := tx.queryRow(`SELECT count(*) FROM taxii_collections WHERE id = ?`, a.CollectionID).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return vigil.Invalid("access", "No collection %q.", a.CollectionID)
			}
			if _, err := tx.exec(`INSERT INTO partner_access (partner_id, collection_id, can_read, can_write) VALUES (?, ?, ?, ?)`,
				id, a.CollectionID, a.Read, a.Write); err != nil {
				return err
			}
		}
		tx.audit("partner.create", "partner", id, nil, p)
		return nil
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// FindPartners lists the partners and their rights (admins).
func (s *SharingService) FindPartners(ctx context.Context) (out []*vigil.Partner, err error) {
	defer s.db.op("partner.list")(&err)
	out = []*vigil.Partner{}
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermSettingsAdmin); err != nil {
			return err
		}
		out, err = queryAll(tx, func(r rowScanner) (*vigil.Partner, error) {
			p := &vigil.Partner{Access: []vigil.CollectionAccess{}}
			return p, r.Scan(&p.ID, &p.Name, &p.Contact, &p.IdentityRef, &p.MaxTLP, &p.TokenHint, &p.Revoked, scanTime(&p.CreatedAt))
		}, `SELECT id, name, contact, identity_ref, max_tlp, token_hint, revoked, created_at FROM partners ORDER BY name`)
		if err != nil {
			return err
		}
		byID := map[int64]*vigil.Partner{}
		for _, p := range out {
			byID[p.ID] = p
		}
		rows, err := tx.query(`SELECT partner_id, collection_id, can_read, can_write FROM partner_access ORDER BY collection_id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var pid int64
			var a vigil.CollectionAccess
			if err := rows.Scan(&pid, &a.CollectionID, &a.Read, &a.Write); err != nil {
				return err
			}
			if p := byID[pid]; p != nil {
				p.Access = append(p.Access, a)
			}
		}
		return rows.Err()
	})
	return out, err
}

// RevokePartner revokes a partner's token at once.
func (s *SharingService) RevokePartner(ctx context.Context, id int64) (err error) {
	defer s.db.op("partner.revoke")(&err)
	return s.db.write(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermSettingsAdmin); err != nil {
			return err
		}
		res, err := tx.exec(`UPDATE partners SET revoked = ? WHERE id = ?`, true, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return vigil.Errorf(vigil.ENOTFOUND, "No partner %d.", id)
		}
		tx.audit("partner.revoke", "partner", id, nil, nil)
		return nil
	})
}

// AuthenticatePartner checks a partner's token (and, for HTTP Basic, its
// name).
func (s *SharingService) AuthenticatePartner(ctx context.Context, name, token string) (a *vigil.Actor, err error) {
	defer s.db.op("partner.auth")(&err)
	bad := vigil.Errorf(vigil.EUNAUTHORIZED, "Unknown or revoked partner credentials.")
	if !strings.HasPrefix(token, vigil.PartnerTokenPrefix) {
		return nil, bad
	}
	err = s.db.read(ctx, func(tx *Tx) error {
		var p vigil.Partner
		err := tx.queryRow(`SELECT id, name, max_tlp, revoked FROM partners WHERE token_hash = ?`, vigil.HashSecret(token)).
			Scan(&p.ID, &p.Name, &p.MaxTLP, &p.Revoked)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && p.Revoked) {
			return bad
		} else if err != nil {
			return err
		}
		if name != "" && subtle.ConstantTimeCompare([]byte(strings.ToLower(name)), []byte(p.Name)) != 1 {
			return bad
		}
		a = &vigil.Actor{PartnerID: p.ID, Username: "partner:" + p.Name, Name: p.Name, PartnerTLP: p.MaxTLP}
		return nil
	})
	return a, err
}
