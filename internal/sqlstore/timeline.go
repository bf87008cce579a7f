package sqlstore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/vigil-ir/vigil"
)

// TimelineService implements vigil.TimelineService.
type TimelineService struct{ db *DB }

const timelineColumns = `id, incident_id, kind, at, actor_id, actor_name, message, changes, created_at`

func scanTimeline(r rowScanner) (*vigil.TimelineEntry, error) {
	var e vigil.TimelineEntry
	if err := r.Scan(&e.ID, &e.IncidentID, &e.Kind, scanTime(&e.At), scanNullInt(&e.ActorID), &e.ActorName,
		&e.Message, scanJSON(&e.Changes), scanTime(&e.CreatedAt)); err != nil {
		return nil, err
	}
	return &e, nil
}

// addTimeline writes a timeline entry in the transaction.
func (tx *Tx) addTimeline(incidentID int64, kind vigil.TimelineKind, at time.Time, msg string, changes []vigil.Change) (*vigil.TimelineEntry, error) {
	e := &vigil.TimelineEntry{
		IncidentID: incidentID, Kind: kind, At: vigil.TruncateTime(at), ActorID: tx.actorID(),
		ActorName: tx.actorName(), Message: msg, Changes: changes, CreatedAt: tx.now,
	}
	var ch any
	if len(changes) > 0 {
		ch = mustJSON(changes)
	}
	id, err := tx.insert(`INSERT INTO timeline (incident_id, kind, at, actor_id, actor_name, message, changes, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, e.IncidentID, e.Kind, e.At, e.ActorID, e.ActorName, e.Message, ch, e.CreatedAt)
	if err != nil {
		return nil, fmt.Errorf("insert timeline: %w", err)
	}
	e.ID = id
	return e, nil
}

type timelineCursor struct {
	At string `json:"a"`
	ID int64  `json:"i"`
}

// FindTimeline returns a page of an incident's timeline.
func (s *TimelineService) FindTimeline(ctx context.Context, incidentID int64, f vigil.TimelineFilter) (page *vigil.TimelinePage, err error) {
	defer s.db.op("timeline.find")(&err)
	if f.Limit == 0 {
		f.Limit = vigil.DefaultPageSize
	}
	if f.Limit < 1 || f.Limit > vigil.MaxPageSize {
		return nil, vigil.Invalid("limit", "Limit must be between 1 and %d.", vigil.MaxPageSize)
	}
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermIncidentRead); err != nil {
			return err
		}
		if _, err := tx.findIncidentByID(incidentID); err != nil {
			return err
		}
		where, args := "incident_id = ?", []any{incidentID}
		if len(f.Kinds) > 0 {
			where += " AND kind IN (" + placeholders(len(f.Kinds)) + ")"
			args = append(args, anySlice(f.Kinds)...)
		}
		cmp, dir := "<", "DESC"
		if f.Asc {
			cmp, dir = ">", "ASC"
		}
		if f.Cursor != "" {
			var c timelineCursor
			b, err := base64.RawURLEncoding.DecodeString(f.Cursor)
			var at time.Time
			if err == nil {
				err = json.Unmarshal(b, &c)
			}
			if err == nil {
				at, err = time.Parse(vigil.TimeFormat, c.At)
			}
			if err != nil {
				return vigil.Invalid("cursor", "The cursor is not valid for this timeline; start from the first page.")
			}
			where += fmt.Sprintf(" AND (at, id) %s (?, ?)", cmp)
			args = append(args, at, c.ID)
		}
		items, err := queryAll(tx, scanTimeline, fmt.Sprintf(`SELECT %s FROM timeline WHERE %s ORDER BY at %s, id %s LIMIT ?`, timelineColumns, where, dir, dir),
			append(args, f.Limit+1)...)
		if err != nil {
			return err
		}
		if err := tx.hideUnseenInTimeline(items); err != nil {
			return err
		}
		page = &vigil.TimelinePage{Items: items}
		if len(page.Items) > f.Limit {
			page.Items = page.Items[:f.Limit]
			last := page.Items[f.Limit-1]
			b, _ := json.Marshal(timelineCursor{At: vigil.FormatTime(last.At), ID: last.ID})
			page.NextCursor = base64.RawURLEncoding.EncodeToString(b)
		}
		return nil
	})
	return page, err
}

// AddNote writes a hand-written note, indexes it for search and bumps the
// incident's version.
func (s *TimelineService) AddNote(ctx context.Context, incidentID int64, n vigil.Note) (e *vigil.TimelineEntry, err error) {
	defer s.db.op("timeline.add_note")(&err)
	e, err = writeV(ctx, s.db, func(tx *Tx) (*vigil.TimelineEntry, error) {
		var err error // its own: the caller may have stopped waiting (a deadline)
		var e *vigil.TimelineEntry
		if err := tx.require(vigil.PermIncidentEdit); err != nil {
			return e, err
		}
		if err := n.Validate(tx.now); err != nil {
			return e, err
		}
		if _, err := tx.findIncidentByID(incidentID); err != nil {
			return e, err
		}
		at := tx.now
		if n.At != nil {
			at = *n.At
		}
		e, err = tx.addTimeline(incidentID, vigil.KindNote, at, n.Message, nil)
		if err != nil {
			return e, err
		}
		if err := tx.indexDoc(incidentID, vigil.SearchNote, e.ID, e.Message); err != nil {
			return e, err
		}
		if err := tx.touchIncident(incidentID); err != nil {
			return e, err
		}
		tx.audit("timeline.note", "incident", incidentID, nil, e)
		return e, nil
	})
	return e, err
}
