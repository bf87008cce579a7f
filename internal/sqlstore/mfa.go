package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-ir/vigil"
)

// MFAService implements vigil.MFAService.
type MFAService struct{ db *DB }

// signInStage is the stage a session of user id starts in after its
// password: waiting for the second factor if they have one, made to
// enrol if the policy wants one of them, else signed in.
func (tx *Tx) signInStage(id int64) (string, error) {
	var n int
	if err := tx.queryRow(`SELECT count(*) FROM user_factors WHERE user_id = ? AND confirmed_at IS NOT NULL`, id).Scan(&n); err != nil {
		return "", err
	}
	if n > 0 {
		return vigil.StageMFA, nil
	}
	required, err := tx.mfaRequired(id)
	if err != nil || !required {
		return vigil.StageSignedIn, err
	}
	return vigil.StageEnrol, nil
}

// mfaPolicy is the install's policy.
func (tx *Tx) mfaPolicy() (vigil.MFAPolicy, error) {
	var p vigil.MFAPolicy
	err := tx.queryRow(`SELECT mfa_policy FROM identity_settings WHERE id = 1`).Scan(&p)
	if errors.Is(err, sql.ErrNoRows) {
		return vigil.MFAOptional, nil
	}
	return p, err
}

// mfaRequired reports whether the policy wants a second factor of user id.
func (tx *Tx) mfaRequired(id int64) (bool, error) {
	p, err := tx.mfaPolicy()
	if err != nil {
		return false, err
	}
	switch p {
	case vigil.MFAAll:
		return true, nil
	case vigil.MFAAdmins:
		var n int
		err := tx.queryRow(`SELECT count(*) FROM memberships WHERE user_id = ? AND role = 'admin'`, id).Scan(&n)
		return n > 0, err
	}
	return false, nil
}

// VerifySecondFactor completes a sign-in waiting for its second factor.
func (s *AuthService) VerifySecondFactor(ctx context.Context, secret, code string) (sess *vigil.Session, newSecret string, err error) {
	defer s.db.op("auth.second_factor")(&err)
	ended := vigil.Errorf(vigil.EUNAUTHORIZED, "Your sign-in has ended. Sign in again.")
	var username string
	sess = &vigil.Session{}
	var lastSeen time.Time
	err = s.db.Read.QueryRowContext(ctx, s.db.rebind(`SELECT s.id, s.user_id, s.csrf_token, s.expires_at, s.last_seen_at, s.stage, u.username
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ? AND NOT u.disabled`), vigil.HashSecret(secret)).
		Scan(&sess.ID, &sess.UserID, &sess.CSRFToken, scanTime(&sess.ExpiresAt), scanTime(&lastSeen), &sess.Stage, &username)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", ended
	} else if err != nil {
		return nil, "", s.db.formatError(err)
	}
	now := s.db.Now()
	if sess.Stage != vigil.StageMFA || now.After(sess.ExpiresAt) || now.Sub(lastSeen) > vigil.SessionIdle {
		return nil, "", ended
	}
	client := vigil.ClientFromContext(ctx)
	if wait, err := s.db.throttleWait(ctx, username, client.Addr); err != nil {
		return nil, "", err
	} else if wait > 0 {
		return nil, "", errThrottled(wait)
	}
	if newSecret, err = vigil.NewSecret(); err != nil {
		return nil, "", err
	}
	ok := false
	err = s.db.write(ctx, func(tx *Tx) error {
		ok = false
		var fid, last int64
		var sealed string
		err := tx.queryRow(`SELECT id, secret, last_step FROM user_factors WHERE user_id = ? AND kind = 'totp' AND confirmed_at IS NOT NULL`, sess.UserID).
			Scan(&fid, &sealed, &last)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		method := ""
		if fid != 0 {
			plain, err := tx.db.Secrets.open(colFactorSecret, sealed)
			if err != nil {
				return err
			}
			if step, good := vigil.CheckTOTP(plain, code, tx.now, last); good {
				res, err := tx.exec(`UPDATE user_factors SET last_step = ? WHERE id = ? AND last_step < ?`, step, fid, step)
				if err != nil {
					return err
				}
				n, _ := res.RowsAffected()
				ok, method = n == 1, "totp"
			}
		}
		if !ok && len(code) >= 16 {
			res, err := tx.exec(`UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL`,
				tx.now, sess.UserID, vigil.HashSecret(vigil.NormalRecoveryCode(code)))
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			ok, method = n == 1, "recovery_code"
		}
		if !ok {
			if err := tx.throttleFail(username, client.Addr); err != nil {
				return err
			}
			tx.audit("auth.mfa_failed", "user", sess.UserID, nil, map[string]any{"username": username, "address": client.Addr})
			return nil
		}
		if err := tx.throttleClear(username, client.Addr); err != nil {
			return err
		}
		// A new secret for the signed-in session: whoever saw the cookie
		// of the half-signed-in one has nothing.
		if _, err := tx.exec(`UPDATE sessions SET token_hash = ?, stage = '', last_seen_at = ? WHERE id = ?`, vigil.HashSecret(newSecret), tx.now, sess.ID); err != nil {
			return err
		}
		tx.audit("auth.mfa", "user", sess.UserID, nil, map[string]any{"username": username, "session_id": sess.ID, "method": method, "address": client.Addr})
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	if !ok {
		return nil, "", vigil.Invalid("code", "That code is not right, or was used already.")
	}
	sess.Stage = vigil.StageSignedIn
	return sess, newSecret, nil
}

// MFAStatus returns a user's factors.
func (s *MFAService) MFAStatus(ctx context.Context, userID int64) (st *vigil.MFAStatus, err error) {
	defer s.db.op("mfa.status")(&err)
	err = s.db.read(ctx, func(tx *Tx) error {
		uid, err := tx.sessionsOf(userID)
		if err != nil {
			return err
		}
		st = &vigil.MFAStatus{}
		var n int
		if err := tx.queryRow(`SELECT count(*) FROM user_factors WHERE user_id = ? AND kind = 'totp' AND confirmed_at IS NOT NULL`, uid).Scan(&n); err != nil {
			return err
		}
		st.TOTP = n > 0
		if err := tx.queryRow(`SELECT count(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL`, uid).Scan(&st.RecoveryCodes); err != nil {
			return err
		}
		if st.Policy, err = tx.mfaPolicy(); err != nil {
			return err
		}
		st.Required, err = tx.mfaRequired(uid)
		return err
	})
	return st, err
}

// BeginTOTP starts a TOTP enrolment for the actor.
func (s *MFAService) BeginTOTP(ctx context.Context) (e *vigil.TOTPEnrolment, err error) {
	defer s.db.op("mfa.begin_totp")(&err)
	a := vigil.ActorFromContext(ctx)
	if a == nil {
		return nil, vigil.Errorf(vigil.EUNAUTHORIZED, "You must be logged in.")
	}
	if e, err = vigil.NewTOTP(a.Username); err != nil {
		return nil, err
	}
	err = s.db.write(ctx, func(tx *Tx) error {
		uid, err := tx.sessionsOf(0)
		if err != nil {
			return err
		}
		var n int
		if err := tx.queryRow(`SELECT count(*) FROM user_factors WHERE user_id = ? AND kind = 'totp' AND confirmed_at IS NOT NULL`, uid).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return vigil.Errorf(vigil.ECONFLICT, "You have an authenticator app set up already; ask an administrator to reset it to set up another.")
		}
		if _, err := tx.exec(`DELETE FROM user_factors WHERE user_id = ? AND confirmed_at IS NULL`, uid); err != nil {
			return err
		}
		_, err = tx.insert(`INSERT INTO user_factors (user_id, kind, secret, last_step, created_at) VALUES (?, 'totp', ?, 0, ?)`,
			uid, tx.db.Secrets.seal(colFactorSecret, e.Secret), tx.now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// pendingTOTP reads the actor's unconfirmed TOTP secret.
func (tx *Tx) pendingTOTP(uid int64) (id int64, secret string, err error) {
	var sealed string
	err = tx.queryRow(`SELECT id, secret FROM user_factors WHERE user_id = ? AND kind = 'totp' AND confirmed_at IS NULL AND created_at > ?`,
		uid, tx.now.Add(-time.Hour)).Scan(&id, &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", vigil.Errorf(vigil.ENOTFOUND, "Start setting up the authenticator app again.")
	} else if err != nil {
		return 0, "", err
	}
	secret, err = tx.db.Secrets.open(colFactorSecret, sealed)
	return id, secret, err
}

// PendingTOTP returns the enrolment under way.
func (s *MFAService) PendingTOTP(ctx context.Context) (e *vigil.TOTPEnrolment, err error) {
	defer s.db.op("mfa.pending_totp")(&err)
	err = s.db.read(ctx, func(tx *Tx) error {
		uid, err := tx.sessionsOf(0)
		if err != nil {
			return err
		}
		_, secret, err := tx.pendingTOTP(uid)
		if err != nil {
			return err
		}
		e = &vigil.TOTPEnrolment{Secret: secret, URL: vigil.TOTPURL(secret, tx.actor.Username)}
		return nil
	})
	return e, err
}

// ConfirmTOTP makes the pending secret the actor's factor.
func (s *MFAService) ConfirmTOTP(ctx context.Context, code string) (codes []string, err error) {
	defer s.db.op("mfa.confirm_totp")(&err)
	a := vigil.ActorFromContext(ctx)
	if a == nil {
		return nil, vigil.Errorf(vigil.EUNAUTHORIZED, "You must be logged in.")
	}
	client := vigil.ClientFromContext(ctx)
	if wait, err := s.db.throttleWait(ctx, a.Username, client.Addr); err != nil {
		return nil, err
	} else if wait > 0 {
		return nil, errThrottled(wait)
	}
	ok := false
	err = s.db.write(ctx, func(tx *Tx) error {
		ok, codes = false, nil
		uid, err := tx.sessionsOf(0)
		if err != nil {
			return err
		}
		fid, secret, err := tx.pendingTOTP(uid)
		if err != nil {
			return err
		}
		step, good := vigil.CheckTOTP(secret, code, tx.now, 0)
		if !good {
			return tx.throttleFail(a.Username, client.Addr)
		}
		ok = true
		if _, err := tx.exec(`UPDATE user_factors SET confirmed_at = ?, last_step = ? WHERE id = ?`, tx.now, step, fid); err != nil {
			return err
		}
		if _, err := tx.exec(`DELETE FROM recovery_codes WHERE user_id = ?`, uid); err != nil {
			return err
		}
		for range vigil.RecoveryCodeCount {
			c := vigil.NewRecoveryCode()
			if _, err := tx.insert(`INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES (?, ?, ?)`,
				uid, vigil.HashSecret(vigil.NormalRecoveryCode(c)), tx.now); err != nil {
				return err
			}
			codes = append(codes, c)
		}
		// Made to enrol: now signed in.
		if tx.actor.SessionID != 0 {
			if _, err := tx.exec(`UPDATE sessions SET stage = '' WHERE id = ?`, tx.actor.SessionID); err != nil {
				return err
			}
		}
		tx.audit("mfa.enrol", "user", uid, nil, map[string]any{"kind": "totp", "recovery_codes": vigil.RecoveryCodeCount})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, vigil.Invalid("code", "That code is not right: check the app's clock, and type the code it shows now.")
	}
	return codes, nil
}

// ResetFactors removes a user's factors.
func (s *MFAService) ResetFactors(ctx context.Context, userID int64) (err error) {
	defer s.db.op("mfa.reset")(&err)
	return s.db.write(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermUserAdmin); err != nil {
			return err
		}
		if _, err := tx.findUser("u.id = ?", userID); err != nil {
			return err
		}
		res, err := tx.exec(`DELETE FROM user_factors WHERE user_id = ?`, userID)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		if _, err := tx.exec(`DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
			return err
		}
		if _, err := tx.exec(`DELETE FROM sessions WHERE user_id = ?`, userID); err != nil {
			return err
		}
		tx.audit("mfa.reset", "user", userID, nil, map[string]any{"factors_removed": n})
		return nil
	})
}

// SetMFAPolicy sets whose sign-in needs a second factor.
func (s *MFAService) SetMFAPolicy(ctx context.Context, p vigil.MFAPolicy) (err error) {
	defer s.db.op("mfa.policy")(&err)
	if !p.Valid() {
		return vigil.Invalid("mfa_policy", "Choose optional, admins or all.")
	}
	return s.db.write(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermUserAdmin); err != nil {
			return err
		}
		before, err := tx.mfaPolicy()
		if err != nil {
			return err
		}
		if _, err := tx.exec(`UPDATE identity_settings SET mfa_policy = ?, updated_at = ? WHERE id = 1`, p, tx.now); err != nil {
			return fmt.Errorf("set mfa policy: %w", err)
		}
		tx.audit("mfa.policy", "settings", 1, map[string]any{"mfa_policy": before}, map[string]any{"mfa_policy": p})
		return nil
	})
}
