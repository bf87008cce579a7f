package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/vigil-ir/vigil"
)

// CommentService implements vigil.CommentService.
type CommentService struct{ db *DB }

const commentColumns = `c.id, c.incident_id, c.task_id, c.author_id, c.author_name, c.body, c.created_at, c.updated_at, c.version`

func scanComment(r rowScanner) (*vigil.Comment, error) {
	var c vigil.Comment
	if err := r.Scan(&c.ID, &c.IncidentID, scanNullInt(&c.TaskID), scanNullInt(&c.AuthorID), &c.AuthorName, &c.Body,
		scanTime(&c.CreatedAt), scanTime(&c.UpdatedAt), &c.Version); err != nil {
		return nil, err
	}
	return &c, nil
}

// FindComments lists comments oldest first.
func (s *CommentService) FindComments(ctx context.Context, incidentID int64, taskID *int64) (out []*vigil.Comment, err error) {
	defer s.db.op("comment.find")(&err)
	out = []*vigil.Comment{}
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermIncidentRead); err != nil {
			return err
		}
		if _, err := tx.findIncidentByID(incidentID); err != nil {
			return err
		}
		where, args := "c.incident_id = ?", []any{incidentID}
		if taskID != nil {
			where, args = where+" AND c.task_id = ?", append(args, *taskID)
		}
		out, err = queryAll(tx, scanComment, `SELECT `+commentColumns+` FROM comments c WHERE `+where+` ORDER BY c.created_at, c.id`, args...)
		return err
	})
	return out, err
}

// CreateComment adds a comment to an incident or one of its tasks.
func (s *CommentService) CreateComment(ctx context.Context, c *vigil.Comment) (err error) {
	defer s.db.op("comment.create")(&err)
	return s.db.write(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermIncidentEdit); err != nil {
			return err
		}
		body, err := vigil.ValidateCommentBody(c.Body)
		if err != nil {
			return err
		}
		if _, err := tx.findIncidentByID(c.IncidentID); err != nil {
			return err
		}
		if c.TaskID != nil {
			t, err := tx.findTask(*c.TaskID)
			if err != nil || t.IncidentID != c.IncidentID {
				return vigil.Invalid("task_id", "No such task on this incident.")
			}
		}
		c.Body, c.AuthorID, c.AuthorName = body, tx.actorID(), tx.actorName()
		c.CreatedAt, c.UpdatedAt, c.Version = tx.now, tx.now, 1
		c.ID, err = tx.insert(`INSERT INTO comments (incident_id, task_id, author_id, author_name, body, created_at, updated_at, version)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, c.IncidentID, c.TaskID, c.AuthorID, c.AuthorName, c.Body, c.CreatedAt, c.UpdatedAt, c.Version)
		if err != nil {
			return fmt.Errorf("insert comment: %w", err)
		}
		if _, err := tx.addTimeline(c.IncidentID, vigil.KindComment, tx.now, fmt.Sprintf("%s commented.", c.AuthorName), nil); err != nil {
			return err
		}
		tx.audit("comment.create", "comment", c.ID, nil, c)
		return nil
	})
}

// UpdateComment lets the author change a comment's body.
func (s *CommentService) UpdateComment(ctx context.Context, id int64, body string, version int) (out *vigil.Comment, err error) {
	defer s.db.op("comment.update")(&err)
	out, err = writeV(ctx, s.db, func(tx *Tx) (*vigil.Comment, error) {
		var out *vigil.Comment
		if err := tx.require(vigil.PermIncidentEdit); err != nil {
			return out, err
		}
		vis, args := tx.visible()
		c, err := scanComment(tx.queryRow(`SELECT `+commentColumns+` FROM comments c JOIN incidents i ON i.id = c.incident_id
			WHERE c.id = ? AND `+vis, append([]any{id}, args...)...))
		if errors.Is(err, sql.ErrNoRows) {
			return out, vigil.Errorf(vigil.ENOTFOUND, "Comment not found.")
		} else if err != nil {
			return out, err
		}
		if err := tx.writeOn(c.IncidentID); err != nil {
			return out, err
		}
		if c.AuthorID == nil || tx.actor.UserID != *c.AuthorID {
			return out, vigil.Errorf(vigil.EFORBIDDEN, "Only the author can edit a comment.")
		}
		if version != c.Version {
			return out, vigil.Errorf(vigil.ECONFLICT, "This comment changed since you loaded it. Reload and try again.")
		}
		body, err := vigil.ValidateCommentBody(body)
		if err != nil {
			return out, err
		}
		before := *c
		if _, err := tx.exec(`UPDATE comments SET body = ?, updated_at = ?, version = version + 1 WHERE id = ? AND version = ?`, body, tx.now, id, version); err != nil {
			return out, err
		}
		c.Body, c.UpdatedAt, c.Version = body, tx.now, c.Version+1
		tx.audit("comment.update", "comment", c.ID, &before, c)
		out = c
		return out, nil
	})
	return out, err
}
