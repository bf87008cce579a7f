package sqlstore

import (
	"context"
	"fmt"

	"github.com/vigil-ir/vigil"
)

// ViewService implements vigil.ViewService.
type ViewService struct{ db *DB }

func (tx *Tx) requireUser() error {
	if tx.actor == nil || tx.actor.UserID == 0 {
		return vigil.Errorf(vigil.EUNAUTHORIZED, "You must be logged in.")
	}
	return nil
}

// CreateView saves a view for the actor.
func (s *ViewService) CreateView(ctx context.Context, v *vigil.SavedView) (err error) {
	defer s.db.op("view.create")(&err)
	if err := v.Prepare(); err != nil {
		return err
	}
	return s.db.write(ctx, func(tx *Tx) error {
		if err := tx.requireUser(); err != nil {
			return err
		}
		var n int
		if err := tx.queryRow(`SELECT COUNT(*) FROM saved_views WHERE user_id = ?`, tx.actor.UserID).Scan(&n); err != nil {
			return err
		}
		if n >= vigil.MaxViewsPerUser {
			return vigil.Invalid("name", "You have %d saved views, the most there can be; delete one first.", n)
		}
		v.UserID, v.CreatedAt = tx.actor.UserID, tx.now
		id, err := tx.insert(`INSERT INTO saved_views (user_id, name, query, created_at) VALUES (?, ?, ?, ?)`, v.UserID, v.Name, v.Query, v.CreatedAt)
		if err != nil {
			if vigil.ErrorCode(tx.db.formatError(err)) == vigil.ECONFLICT {
				return vigil.Invalid("name", "You have a view called %q already.", v.Name)
			}
			return fmt.Errorf("insert view: %w", err)
		}
		v.ID = id
		tx.audit("view.create", "saved_view", id, nil, v)
		return nil
	})
}

// FindViews lists the actor's views by name.
func (s *ViewService) FindViews(ctx context.Context) (out []*vigil.SavedView, err error) {
	defer s.db.op("view.find")(&err)
	out = []*vigil.SavedView{}
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.requireUser(); err != nil {
			return err
		}
		out, err = queryAll(tx, func(r rowScanner) (*vigil.SavedView, error) {
			var v vigil.SavedView
			return &v, r.Scan(&v.ID, &v.UserID, &v.Name, &v.Query, scanTime(&v.CreatedAt))
		}, `SELECT id, user_id, name, query, created_at FROM saved_views WHERE user_id = ? ORDER BY name`, tx.actor.UserID)
		return err
	})
	return out, err
}

// DeleteView deletes one of the actor's views.
func (s *ViewService) DeleteView(ctx context.Context, id int64) (err error) {
	defer s.db.op("view.delete")(&err)
	return s.db.write(ctx, func(tx *Tx) error {
		if err := tx.requireUser(); err != nil {
			return err
		}
		res, err := tx.exec(`DELETE FROM saved_views WHERE id = ? AND user_id = ?`, id, tx.actor.UserID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return vigil.Errorf(vigil.ENOTFOUND, "View not found.")
		}
		tx.audit("view.delete", "saved_view", id, nil, nil)
		return nil
	})
}
