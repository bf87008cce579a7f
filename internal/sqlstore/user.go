package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/vigil-ir/vigil"
)

// UserService implements vigil.UserService.
type UserService struct{ db *DB }

const userColumns = `u.id, u.username, u.name, u.email,
	coalesce((SELECT m.role FROM memberships m WHERE m.user_id = u.id AND m.organisation_id = 1), ''), u.disabled, u.last_login_at, u.must_change_password, u.created_at, u.updated_at, u.version`

func scanUser(r rowScanner) (*vigil.User, error) {
	var u vigil.User
	if err := r.Scan(&u.ID, &u.Username, &u.Name, &u.Email, &u.Role, &u.Disabled, scanNullTime(&u.LastLoginAt), &u.MustChangePassword,
		scanTime(&u.CreatedAt), scanTime(&u.UpdatedAt), &u.Version); err != nil {
		return nil, err
	}
	return &u, nil
}

func (tx *Tx) findUser(where string, args ...any) (*vigil.User, error) {
	u, err := scanUser(tx.queryRow(`SELECT `+userColumns+` FROM users u WHERE `+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, vigil.Errorf(vigil.ENOTFOUND, "User not found.")
	}
	return u, err
}

// canReadUser allows the directory to those with PermUserRead, and each
// user their own record.
func (tx *Tx) canReadUser(id int64) error {
	if tx.actor != nil && tx.actor.UserID == id && id != 0 {
		return nil
	}
	return tx.require(vigil.PermUserRead)
}

// FindUserByID returns a user.
func (s *UserService) FindUserByID(ctx context.Context, id int64) (u *vigil.User, err error) {
	defer s.db.op("user.find_by_id")(&err)
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.canReadUser(id); err != nil {
			return err
		}
		u, err = tx.findUser("u.id = ?", id)
		return err
	})
	return u, err
}

// FindUserByUsername returns a user by username.
func (s *UserService) FindUserByUsername(ctx context.Context, username string) (u *vigil.User, err error) {
	defer s.db.op("user.find_by_username")(&err)
	err = s.db.read(ctx, func(tx *Tx) error {
		u, err = tx.findUser("u.username = ?", strings.ToLower(strings.TrimSpace(username)))
		if err != nil {
			return err
		}
		if err := tx.canReadUser(u.ID); err != nil {
			u = nil
			return err
		}
		return nil
	})
	return u, err
}

// FindUsers lists users by username.
func (s *UserService) FindUsers(ctx context.Context, f vigil.UserFilter) (users []*vigil.User, n int, err error) {
	defer s.db.op("user.find")(&err)
	if f.Limit <= 0 || f.Limit > vigil.MaxPageSize {
		f.Limit = vigil.DefaultPageSize
	}
	users = []*vigil.User{}
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermUserRead); err != nil {
			return err
		}
		where, args := []string{"1=1"}, []any{}
		if f.Role != nil {
			where, args = append(where, "EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = u.id AND m.organisation_id = 1 AND m.role = ?)"), append(args, *f.Role)
		}
		if f.Disabled != nil {
			where, args = append(where, "u.disabled = ?"), append(args, *f.Disabled)
		}
		if q := strings.ToLower(strings.TrimSpace(f.Query)); q != "" {
			// A prefix match, which can use the username index; the user
			// table is small, so the name side is a cheap scan.
			where = append(where, "(u.username >= ? AND u.username < ? OR lower(u.name) LIKE ? ESCAPE '\\')")
			args = append(args, q, q+"\uffff", strings.NewReplacer("%", `\%`, "_", `\_`).Replace(q)+"%")
		}
		w := joinAnd(where)
		if err := tx.queryRow(`SELECT count(*) FROM users u WHERE `+w, args...).Scan(&n); err != nil {
			return err
		}
		users, err = queryAll(tx, scanUser, `SELECT `+userColumns+` FROM users u WHERE `+w+` ORDER BY u.username LIMIT ? OFFSET ?`, append(args, f.Limit, f.Offset)...)
		return err
	})
	return users, n, err
}

// CreateUser creates a user. The password is hashed before the transaction
// starts: argon2 is deliberately slow, and SQLite has one writer.
func (s *UserService) CreateUser(ctx context.Context, u *vigil.User, password string) (err error) {
	defer s.db.op("user.create")(&err)
	if err := vigil.Require(vigil.ActorFromContext(ctx), vigil.PermUserAdmin); err != nil {
		return err
	}
	u.Normalize()
	if err := u.Validate(); err != nil {
		return err
	}
	if err := vigil.ValidatePassword("password", password, u.Username); err != nil {
		return err
	}
	if !vigil.ActorFromContext(ctx).System {
		// A password an administrator chose is theirs, not the user's: the
		// user chooses their own at the first sign-in (issue 21).
		u.MustChangePassword = true
	}
	hash, err := vigil.HashPassword(password)
	if err != nil {
		return err
	}
	return s.db.write(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermUserAdmin); err != nil {
			return err
		}
		u.CreatedAt, u.UpdatedAt, u.Version = tx.now, tx.now, 1
		id, err := tx.insert(`INSERT INTO users (username, name, email, disabled, password_hash, failed_logins, must_change_password, created_at, updated_at, version)
			VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?)`, u.Username, u.Name, u.Email, u.Disabled, hash, u.MustChangePassword, u.CreatedAt, u.UpdatedAt, u.Version)
		if err != nil {
			if vigil.ErrorCode(tx.db.formatError(err)) == vigil.ECONFLICT {
				return &vigil.Error{Code: vigil.ECONFLICT, Message: "That username is taken.",
					Fields: []vigil.FieldError{{Field: "username", Message: "That username is taken."}}}
			}
			return fmt.Errorf("insert user: %w", err)
		}
		u.ID = id
		if err := tx.setDefaultRole(u.ID, u.Role, tx.now); err != nil {
			return fmt.Errorf("insert user: %w", err)
		}
		tx.audit("user.create", "user", u.ID, nil, u)
		return nil
	})
}

// UpdateUser changes a user; admins only. The last active admin cannot be
// disabled or demoted, so nobody is locked out of administration.
func (s *UserService) UpdateUser(ctx context.Context, id int64, upd vigil.UserUpdate) (out *vigil.User, err error) {
	defer s.db.op("user.update")(&err)
	out, err = writeV(ctx, s.db, func(tx *Tx) (*vigil.User, error) {
		var out *vigil.User
		if err := tx.require(vigil.PermUserAdmin); err != nil {
			return out, err
		}
		u, err := tx.findUser("u.id = ?", id)
		if err != nil {
			return out, err
		}
		if upd.Version != u.Version {
			return out, vigil.Errorf(vigil.ECONFLICT, "Someone else changed this user since you loaded it. Reload and try again.")
		}
		before := *u
		if upd.Name != nil {
			u.Name = *upd.Name
		}
		if upd.Email != nil {
			u.Email = *upd.Email
		}
		if upd.Role != nil {
			u.Role = *upd.Role
		}
		if upd.Disabled != nil {
			u.Disabled = *upd.Disabled
		}
		u.Normalize()
		if err := u.Validate(); err != nil {
			return out, err
		}
		if before.Role == vigil.RoleAdmin && !before.Disabled && (u.Role != vigil.RoleAdmin || u.Disabled) {
			admins, err := tx.activeAdmins()
			if err != nil {
				return out, err
			}
			if admins <= 1 {
				return out, vigil.Errorf(vigil.EINVALID, "Vigil needs at least one active administrator; make another user an admin first.")
			}
		}
		res, err := tx.exec(`UPDATE users SET name = ?, email = ?, disabled = ?, updated_at = ?, version = version + 1
			WHERE id = ? AND version = ?`, u.Name, u.Email, u.Disabled, tx.now, u.ID, u.Version)
		if err != nil {
			return out, fmt.Errorf("update user: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return out, vigil.Errorf(vigil.ECONFLICT, "Someone else changed this user since you loaded it. Reload and try again.")
		}
		if u.Role != before.Role {
			if err := tx.setDefaultRole(u.ID, u.Role, tx.now); err != nil {
				return out, fmt.Errorf("update user: %w", err)
			}
		}
		u.Version++
		u.UpdatedAt = tx.now
		if u.Disabled || u.Role != before.Role {
			// A disabled or re-roled user starts again from the login page.
			if _, err := tx.exec(`DELETE FROM sessions WHERE user_id = ?`, u.ID); err != nil {
				return out, err
			}
		}
		tx.audit("user.update", "user", u.ID, &before, u)
		out = u
		return out, nil
	})
	return out, err
}

// SetPassword replaces a password and ends the user's other sessions.
func (s *UserService) SetPassword(ctx context.Context, id int64, current, next string) (err error) {
	defer s.db.op("user.set_password")(&err)
	return s.setPassword(ctx, id, current, next, false)
}

// ResetPassword is an admin's reset of someone else's password, which may
// revoke their API tokens too.
func (s *UserService) ResetPassword(ctx context.Context, id int64, next string, revokeTokens bool) (err error) {
	defer s.db.op("user.reset_password")(&err)
	if a := vigil.ActorFromContext(ctx); a != nil && a.UserID == id && !a.System {
		return vigil.Errorf(vigil.EINVALID, "Change your own password on your account page.")
	}
	return s.setPassword(ctx, id, "", next, revokeTokens)
}

func (s *UserService) setPassword(ctx context.Context, id int64, current, next string, revokeTokens bool) error {
	actor := vigil.ActorFromContext(ctx)
	if actor == nil {
		return vigil.Errorf(vigil.EUNAUTHORIZED, "You must be logged in.")
	}
	self := actor.UserID == id && id != 0
	if !self {
		if err := vigil.Require(actor, vigil.PermUserAdmin); err != nil {
			return err
		}
	} else if actor.TokenID != 0 {
		return vigil.Errorf(vigil.EFORBIDDEN, "Change your password in a logged-in session, not with an API token.")
	}
	var username, hash string
	if err := s.db.Read.QueryRowContext(ctx, s.db.rebind(`SELECT username, password_hash FROM users WHERE id = ?`), id).Scan(&username, &hash); err != nil {
		return s.db.formatError(err)
	}
	if self && !vigil.CheckPassword(hash, current) {
		return vigil.Invalid("current_password", "The current password is wrong.")
	}
	if err := vigil.ValidatePassword("new_password", next, username); err != nil {
		return err
	}
	if vigil.CheckPassword(hash, next) {
		// Above all the printed one-time password: "changing" it to itself
		// would keep a password that was shown on a console (issue 21).
		return vigil.Invalid("new_password", "Choose a new password, not the one you have now.")
	}
	newHash, err := vigil.HashPassword(next)
	if err != nil {
		return err
	}
	// Choosing one's own password ends a one-time password's hold; one an
	// administrator chose for someone else starts it (the CLI's, run by
	// whoever holds the server, changes nothing).
	mustChange := "must_change_password"
	switch {
	case self:
		mustChange = "?"
	case !actor.System:
		mustChange = "NOT ?"
	}
	return s.db.write(ctx, func(tx *Tx) error {
		args := []any{newHash, tx.now}
		if mustChange != "must_change_password" {
			args = append(args, false)
		}
		if _, err := tx.exec(`UPDATE users SET password_hash = ?, failed_logins = 0, locked_until = NULL, updated_at = ?,
			must_change_password = `+mustChange+` WHERE id = ?`, append(args, id)...); err != nil {
			return err
		}
		// Every other session ends: whoever knew the old password is out.
		// One's own change keeps the session it was made in.
		keep := int64(0)
		if self {
			keep = actor.SessionID
		}
		res, err := tx.exec(`DELETE FROM sessions WHERE user_id = ? AND id <> ?`, id, keep)
		if err != nil {
			return err
		}
		ended, _ := res.RowsAffected()
		var revoked int64
		if revokeTokens {
			res, err := tx.exec(`UPDATE api_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`, tx.now, id)
			if err != nil {
				return err
			}
			revoked, _ = res.RowsAffected()
		}
		tx.audit("user.password", "user", id, nil, map[string]any{"username": username, "by_admin": !self,
			"sessions_ended": ended, "tokens_revoked": revoked})
		return nil
	})
}
