package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/vigil-ir/vigil"
)

// IntegrationService implements vigil.IntegrationService.
type IntegrationService struct{ db *DB }

// integrationConfig is what the config column holds.
type integrationConfig struct {
	DefaultSeverity vigil.Severity      `json:"default_severity"`
	DefaultType     vigil.IncidentType  `json:"default_type"`
	DefaultTLP      vigil.TLP           `json:"default_tlp"`
	Mapping         vigil.FieldMapping  `json:"mapping"`
	DedupKeys       []string            `json:"dedup_keys"`
	Grouping        vigil.GroupingRule  `json:"grouping"`
	Promotion       vigil.PromotionRule `json:"promotion"`
}

func configOf(in *vigil.Integration) string {
	return mustJSON(integrationConfig{in.DefaultSeverity, in.DefaultType, in.DefaultTLP, in.Mapping, in.DedupKeys, in.Grouping, in.Promotion})
}

const integrationColumns = `id, name, kind, config, token_hint, disabled, created_by, created_at, updated_at, version`

func scanIntegration(r rowScanner) (*vigil.Integration, error) {
	var in vigil.Integration
	var c integrationConfig
	if err := r.Scan(&in.ID, &in.Name, &in.Kind, scanJSON(&c), &in.TokenHint, &in.Disabled, scanNullInt(&in.CreatedBy),
		scanTime(&in.CreatedAt), scanTime(&in.UpdatedAt), &in.Version); err != nil {
		return nil, err
	}
	in.DefaultSeverity, in.DefaultType, in.DefaultTLP = c.DefaultSeverity, c.DefaultType, c.DefaultTLP
	in.Mapping, in.DedupKeys, in.Grouping, in.Promotion = c.Mapping, c.DedupKeys, c.Grouping, c.Promotion
	in.Normalize()
	return &in, nil
}

// newIntegrationToken returns a fresh token: the prefix and 32 random bytes.
func newIntegrationToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return vigil.IntegrationTokenPrefix + base64.RawURLEncoding.EncodeToString(b)
}

func tokenHint(token string) string { return token[:len(vigil.IntegrationTokenPrefix)+6] }

// CreateIntegration stores in and returns its token.
func (s *IntegrationService) CreateIntegration(ctx context.Context, in *vigil.Integration) (token string, err error) {
	defer s.db.op("integration.create")(&err)
	in.Normalize()
	if err := in.Validate(); err != nil {
		return "", err
	}
	token = newIntegrationToken()
	err = s.db.write(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermIntegrationAdmin); err != nil {
			return err
		}
		in.CreatedBy = tx.actorID()
		in.CreatedAt, in.UpdatedAt, in.Version, in.TokenHint = tx.now, tx.now, 1, tokenHint(token)
		id, err := tx.insert(`INSERT INTO integrations (name, kind, config, token_hash, token_hint, disabled, created_by, created_at, updated_at, version)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, in.Name, in.Kind, configOf(in), vigil.HashIntegrationToken(token),
			in.TokenHint, in.Disabled, in.CreatedBy, in.CreatedAt, in.UpdatedAt, in.Version)
		if err != nil {
			if e := tx.db.formatError(err); vigil.ErrorCode(e) == vigil.ECONFLICT {
				return vigil.Invalid("name", "An integration named %q exists already.", in.Name)
			}
			return fmt.Errorf("insert integration: %w", err)
		}
		in.ID = id
		tx.audit("integration.create", "integration", id, nil, in)
		return nil
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// FindIntegrations lists every integration by name.
func (s *IntegrationService) FindIntegrations(ctx context.Context) (out []*vigil.Integration, err error) {
	defer s.db.op("integration.find")(&err)
	out = []*vigil.Integration{}
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermIntegrationAdmin); err != nil {
			return err
		}
		out, err = queryAll(tx, scanIntegration, `SELECT `+integrationColumns+` FROM integrations ORDER BY name`)
		return err
	})
	return out, err
}

func (tx *Tx) findIntegration(id int64) (*vigil.Integration, error) {
	in, err := scanIntegration(tx.queryRow(`SELECT `+integrationColumns+` FROM integrations WHERE id = ?`+tx.forUpdate(), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, vigil.Errorf(vigil.ENOTFOUND, "Integration not found.")
	}
	return in, err
}

// FindIntegrationByID returns one integration.
func (s *IntegrationService) FindIntegrationByID(ctx context.Context, id int64) (in *vigil.Integration, err error) {
	defer s.db.op("integration.find")(&err)
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermIntegrationAdmin); err != nil {
			return err
		}
		in, err = tx.findIntegration(id)
		return err
	})
	return in, err
}

// UpdateIntegration changes an integration at the version the caller saw.
func (s *IntegrationService) UpdateIntegration(ctx context.Context, id int64, u vigil.IntegrationUpdate) (out *vigil.Integration, err error) {
	defer s.db.op("integration.update")(&err)
	out, err = writeV(ctx, s.db, func(tx *Tx) (*vigil.Integration, error) {
		var out *vigil.Integration
		if err := tx.require(vigil.PermIntegrationAdmin); err != nil {
			return out, err
		}
		in, err := tx.findIntegration(id)
		if err != nil {
			return out, err
		}
		if u.Version != 0 && u.Version != in.Version {
			return out, staleVersion(in.Version)
		}
		before := *in
		if err := in.Apply(u); err != nil {
			return out, err
		}
		in.UpdatedAt, in.Version = tx.now, in.Version+1
		if _, err := tx.exec(`UPDATE integrations SET name = ?, config = ?, disabled = ?, updated_at = ?, version = ? WHERE id = ?`,
			in.Name, configOf(in), in.Disabled, in.UpdatedAt, in.Version, id); err != nil {
			if e := tx.db.formatError(err); vigil.ErrorCode(e) == vigil.ECONFLICT {
				return out, vigil.Invalid("name", "An integration named %q exists already.", in.Name)
			}
			return out, err
		}
		tx.audit("integration.update", "integration", id, &before, in)
		out = in
		return out, nil
	})
	return out, err
}

// RotateIntegrationToken replaces the integration's token.
func (s *IntegrationService) RotateIntegrationToken(ctx context.Context, id int64) (token string, err error) {
	defer s.db.op("integration.rotate")(&err)
	token = newIntegrationToken()
	err = s.db.write(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermIntegrationAdmin); err != nil {
			return err
		}
		if _, err := tx.findIntegration(id); err != nil {
			return err
		}
		if _, err := tx.exec(`UPDATE integrations SET token_hash = ?, token_hint = ?, updated_at = ?, version = version + 1 WHERE id = ?`,
			vigil.HashIntegrationToken(token), tokenHint(token), tx.now, id); err != nil {
			return err
		}
		tx.audit("integration.rotate_token", "integration", id, nil, map[string]string{"token_hint": tokenHint(token)})
		return nil
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// DeleteIntegration removes an integration that has sent no alerts; one
// that has is disabled instead, to keep its alerts' history.
func (s *IntegrationService) DeleteIntegration(ctx context.Context, id int64) (err error) {
	defer s.db.op("integration.delete")(&err)
	return s.db.write(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermIntegrationAdmin); err != nil {
			return err
		}
		in, err := tx.findIntegration(id)
		if err != nil {
			return err
		}
		var n int
		if err := tx.queryRow(`SELECT COUNT(*) FROM (SELECT 1 FROM alert_groups WHERE integration_id = ? LIMIT 1) x`, id).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return vigil.Errorf(vigil.ECONFLICT, "The integration %q has sent alerts; disable it instead, to keep their history.", in.Name)
		}
		if _, err := tx.exec(`DELETE FROM integrations WHERE id = ?`, id); err != nil {
			return err
		}
		tx.audit("integration.delete", "integration", id, in, nil)
		return nil
	})
}

// AuthenticateIntegration finds the enabled integration a token belongs to.
func (s *IntegrationService) AuthenticateIntegration(ctx context.Context, token string) (in *vigil.Integration, err error) {
	defer s.db.op("integration.authenticate")(&err)
	unauthorized := vigil.Errorf(vigil.EUNAUTHORIZED, "The integration token is missing, wrong or revoked.")
	if len(token) < len(vigil.IntegrationTokenPrefix)+10 || token[:len(vigil.IntegrationTokenPrefix)] != vigil.IntegrationTokenPrefix {
		return nil, unauthorized
	}
	err = s.db.read(ctx, func(tx *Tx) error {
		in, err = scanIntegration(tx.queryRow(`SELECT `+integrationColumns+` FROM integrations WHERE token_hash = ?`, vigil.HashIntegrationToken(token)))
		if errors.Is(err, sql.ErrNoRows) {
			return unauthorized
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if in.Disabled {
		// The integration comes back too, so that refusals are counted
		// against it.
		return in, vigil.Errorf(vigil.EFORBIDDEN, "The integration %q is disabled.", in.Name)
	}
	return in, nil
}
