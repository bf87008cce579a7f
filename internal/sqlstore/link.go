package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/vigil-ir/vigil"
)

// LinkService implements vigil.LinkService.
type LinkService struct{ db *DB }

// FindLinks lists links from and to an incident whose other end is visible.
func (s *LinkService) FindLinks(ctx context.Context, incidentID int64) (links []*vigil.Link, err error) {
	defer s.db.op("link.find")(&err)
	links = []*vigil.Link{}
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermIncidentRead); err != nil {
			return err
		}
		if _, err := tx.findIncidentByID(incidentID); err != nil {
			return err
		}
		vis, vargs := tx.visible()
		// The other end is i: the target of outbound links, the source of inbound ones.
		links, err = queryAll(tx, func(r rowScanner) (*vigil.Link, error) {
			l := &vigil.Link{IncidentID: incidentID}
			if err := r.Scan(&l.ID, &l.Kind, &l.Note, scanNullInt(&l.CreatedBy), scanTime(&l.CreatedAt), &l.Inbound,
				&l.Target.ID, &l.Target.Reference, &l.Target.Title, &l.Target.Status); err != nil {
				return nil, err
			}
			l.TargetID = l.Target.ID
			return l, nil
		}, `SELECT l.id, l.kind, l.note, l.created_by, l.created_at, l.incident_id <> ?, i.id, i.reference, i.title, i.status
			FROM incident_links l JOIN incidents i ON i.id = CASE WHEN l.incident_id = ? THEN l.target_id ELSE l.incident_id END
			WHERE (l.incident_id = ? OR l.target_id = ?) AND `+vis+` ORDER BY l.created_at, l.id`,
			append([]any{incidentID, incidentID, incidentID, incidentID}, vargs...)...)
		return err
	})
	return links, err
}

// CreateLink links two incidents and notes it on both timelines.
func (s *LinkService) CreateLink(ctx context.Context, l *vigil.Link) (err error) {
	defer s.db.op("link.create")(&err)
	return s.db.write(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermIncidentEdit); err != nil {
			return err
		}
		var p vigil.Problems
		if !slices.Contains(vigil.LinkKinds, l.Kind) {
			p.Add("kind", "Unknown link kind %q.", l.Kind)
		}
		l.Note = strings.TrimSpace(l.Note)
		if utf8.RuneCountInString(l.Note) > 1000 {
			p.Add("note", "A link note must be at most 1000 characters.")
		}
		if l.TargetID == l.IncidentID {
			p.Add("target_id", "An incident cannot link to itself.")
		}
		if err := p.Err(); err != nil {
			return err
		}
		src, err := tx.findIncidentByID(l.IncidentID)
		if err != nil {
			return err
		}
		dst, err := tx.findIncidentByID(l.TargetID)
		if err != nil {
			return vigil.Invalid("target_id", "No incident with ID %d that you can see.", l.TargetID)
		}
		if l.Kind == vigil.LinkRelated {
			// "related" is symmetric: one row, whichever way it was made.
			var n int
			if err := tx.queryRow(`SELECT count(*) FROM incident_links WHERE kind = 'related' AND incident_id = ? AND target_id = ?`, dst.ID, src.ID).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return vigil.Errorf(vigil.ECONFLICT, "These incidents are already linked.")
			}
		}
		l.CreatedBy, l.CreatedAt = tx.actorID(), tx.now
		l.ID, err = tx.insert(`INSERT INTO incident_links (incident_id, target_id, kind, note, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			l.IncidentID, l.TargetID, l.Kind, l.Note, l.CreatedBy, l.CreatedAt)
		if err != nil {
			if vigil.ErrorCode(tx.db.formatError(err)) == vigil.ECONFLICT {
				return vigil.Errorf(vigil.ECONFLICT, "These incidents are already linked.")
			}
			return fmt.Errorf("insert link: %w", err)
		}
		l.Target = vigil.IncidentRef{ID: dst.ID, Reference: dst.Reference, Title: dst.Title, Status: dst.Status}
		kind := strings.ReplaceAll(string(l.Kind), "_", " ")
		if _, err := tx.addTimeline(src.ID, vigil.KindLink, tx.now, fmt.Sprintf("Linked as %s %s.", kind, dst.Reference), nil); err != nil {
			return err
		}
		if _, err := tx.addTimeline(dst.ID, vigil.KindLink, tx.now, fmt.Sprintf("%s linked to this incident (%s).", src.Reference, kind), nil); err != nil {
			return err
		}
		tx.audit("link.create", "incident_link", l.ID, nil, l)
		return nil
	})
}

// DeleteLink removes a link; the actor must be able to edit its source.
func (s *LinkService) DeleteLink(ctx context.Context, id int64) (err error) {
	defer s.db.op("link.delete")(&err)
	return s.db.write(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermIncidentEdit); err != nil {
			return err
		}
		l := &vigil.Link{ID: id}
		err := tx.queryRow(`SELECT incident_id, target_id, kind FROM incident_links WHERE id = ?`, id).Scan(&l.IncidentID, &l.TargetID, &l.Kind)
		if errors.Is(err, sql.ErrNoRows) {
			return vigil.Errorf(vigil.ENOTFOUND, "Link not found.")
		} else if err != nil {
			return err
		}
		src, err := tx.findIncidentByID(l.IncidentID)
		if err != nil {
			return vigil.Errorf(vigil.ENOTFOUND, "Link not found.")
		}
		if _, err := tx.exec(`DELETE FROM incident_links WHERE id = ?`, id); err != nil {
			return err
		}
		if _, err := tx.addTimeline(src.ID, vigil.KindLink, tx.now, "Link removed.", nil); err != nil {
			return err
		}
		tx.audit("link.delete", "incident_link", id, l, nil)
		return nil
	})
}
