package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/vigil-ir/vigil"
)

// ObservableService implements vigil.ObservableService.
type ObservableService struct{ db *DB }

const observableColumns = `o.id, o.incident_id, o.type, o.value, o.ioc, o.tlp, o.description, o.created_by, o.created_at, o.updated_at, o.version`

func scanObservable(r rowScanner) (*vigil.Observable, error) {
	var o vigil.Observable
	if err := r.Scan(&o.ID, &o.IncidentID, &o.Type, &o.Value, &o.IOC, &o.TLP, &o.Description, scanNullInt(&o.CreatedBy),
		scanTime(&o.CreatedAt), scanTime(&o.UpdatedAt), &o.Version); err != nil {
		return nil, err
	}
	o.SeenIn = []vigil.IncidentRef{}
	return &o, nil
}

// seenLimit is how many other incidents "seen in" lists per observable.
const seenLimit = 5

// fillSeen sets SeenIn and SeenCount on each observable: the other incidents
// the actor may see that hold the same value, newest first. One query for
// all, ranked per value with a window function.
func (tx *Tx) fillSeen(obs []*vigil.Observable) error {
	if len(obs) == 0 {
		return nil
	}
	byKey := map[string][]*vigil.Observable{}
	pairs := make([]string, 0, len(obs))
	args := []any{}
	for _, o := range obs {
		k := string(o.Type) + "\x00" + o.Value
		if _, ok := byKey[k]; !ok {
			pairs = append(pairs, "(o.type = ? AND o.value = ?)")
			args = append(args, o.Type, o.Value)
		}
		byKey[k] = append(byKey[k], o)
	}
	vis, vargs := tx.visible()
	q := `SELECT type, value, id, reference, title, status, n FROM (
		SELECT o.type, o.value, i.id, i.reference, i.title, i.status,
			row_number() OVER (PARTITION BY o.type, o.value ORDER BY i.created_at DESC, i.id DESC) AS rn,
			count(*) OVER (PARTITION BY o.type, o.value) AS n
		FROM observables o JOIN incidents i ON i.id = o.incident_id
		WHERE (` + strings.Join(pairs, " OR ") + `) AND ` + vis + `
	) ranked WHERE rn <= ?`
	rows, err := tx.query(q, append(append(args, vargs...), seenLimit+1)...)
	if err != nil {
		return fmt.Errorf("find sightings: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var typ, value string
		var ref vigil.IncidentRef
		var n int
		if err := rows.Scan(&typ, &value, &ref.ID, &ref.Reference, &ref.Title, &ref.Status, &n); err != nil {
			return err
		}
		for _, o := range byKey[typ+"\x00"+value] {
			if ref.ID == o.IncidentID {
				continue
			}
			o.SeenCount = n - 1 // every count includes the observable's own incident
			if len(o.SeenIn) < seenLimit {
				o.SeenIn = append(o.SeenIn, ref)
			}
		}
	}
	return rows.Err()
}

// FindObservables lists an incident's observables.
func (s *ObservableService) FindObservables(ctx context.Context, incidentID int64) (obs []*vigil.Observable, err error) {
	defer s.db.op("observable.find")(&err)
	obs = []*vigil.Observable{}
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermIncidentRead); err != nil {
			return err
		}
		if _, err := tx.findIncidentByID(incidentID); err != nil {
			return err
		}
		obs, err = queryAll(tx, scanObservable, `SELECT `+observableColumns+` FROM observables o WHERE o.incident_id = ? ORDER BY o.type, o.value`, incidentID)
		if err != nil {
			return err
		}
		return tx.fillSeen(obs)
	})
	return obs, err
}

func (tx *Tx) findObservable(id int64) (*vigil.Observable, error) {
	vis, args := tx.visible()
	o, err := scanObservable(tx.queryRow(`SELECT `+observableColumns+` FROM observables o JOIN incidents i ON i.id = o.incident_id
		WHERE o.id = ? AND `+vis, append([]any{id}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, vigil.Errorf(vigil.ENOTFOUND, "Observable not found.")
	} else if err != nil {
		return nil, err
	}
	return o, tx.writeOn(o.IncidentID)
}

// FindObservableByID returns one observable with its sightings.
func (s *ObservableService) FindObservableByID(ctx context.Context, id int64) (o *vigil.Observable, err error) {
	defer s.db.op("observable.find_by_id")(&err)
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermIncidentRead); err != nil {
			return err
		}
		o, err = tx.findObservable(id)
		if err != nil {
			return err
		}
		return tx.fillSeen([]*vigil.Observable{o})
	})
	return o, err
}

// AddObservables adds many observables at once: all valid, or none added.
func (s *ObservableService) AddObservables(ctx context.Context, incidentID int64, obs []*vigil.Observable) (_ []*vigil.Observable, err error) {
	defer s.db.op("observable.add")(&err)
	if len(obs) == 0 {
		return nil, vigil.Invalid("observables", "Give at least one observable.")
	}
	if len(obs) > vigil.MaxObservablesPerRequest {
		return nil, vigil.Invalid("observables", "At most %d observables at once.", vigil.MaxObservablesPerRequest)
	}
	var p vigil.Problems
	for i, o := range obs {
		if err := o.Prepare(fmt.Sprintf("observables[%d].", i)); err != nil {
			p = append(p, vigil.ErrorFields(err)...)
		}
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	return writeV(ctx, s.db, func(tx *Tx) ([]*vigil.Observable, error) {
		if err := tx.require(vigil.PermIncidentEdit); err != nil {
			return nil, err
		}
		if _, err := tx.findIncidentByID(incidentID); err != nil {
			return nil, err
		}
		return tx.addObservables(incidentID, obs)
	})
}

// addObservables is AddObservables inside a transaction that has found
// the incident and may change it.
func (tx *Tx) addObservables(incidentID int64, obs []*vigil.Observable) ([]*vigil.Observable, error) {
	out := make([]*vigil.Observable, 0, len(obs))
	var added []string
	seen := map[string]*vigil.Observable{}
	for _, in := range obs {
		k := string(in.Type) + "\x00" + in.Value
		if prev, ok := seen[k]; ok { // the same value twice in one request
			out = append(out, prev)
			continue
		}
		o := new(*in) // the caller's stays as given, for a run again
		o.IncidentID, o.CreatedBy, o.CreatedAt, o.UpdatedAt, o.Version = incidentID, tx.actorID(), tx.now, tx.now, 1
		var id int64
		err := tx.queryRow(`INSERT INTO observables (incident_id, type, value, ioc, tlp, description, created_by, created_at, updated_at, version, scope_key)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (incident_id, type, value) DO NOTHING RETURNING id`,
			o.IncidentID, o.Type, o.Value, o.IOC, o.TLP, o.Description, o.CreatedBy, o.CreatedAt, o.UpdatedAt, o.Version, scopeArg(o.Type, o.Value)).Scan(&id)
		switch {
		case errors.Is(err, sql.ErrNoRows): // already on the incident: return the existing one
			existing, err := scanObservable(tx.queryRow(`SELECT `+observableColumns+` FROM observables o
				WHERE o.incident_id = ? AND o.type = ? AND o.value = ?`, incidentID, o.Type, o.Value))
			if err != nil {
				return nil, err
			}
			o = existing
		case err != nil:
			return nil, fmt.Errorf("insert observable: %w", err)
		default:
			o.ID = id
			o.SeenIn = []vigil.IncidentRef{}
			added = append(added, string(o.Type)+" "+o.Value)
			if err := tx.indexObservable(o); err != nil {
				return nil, err
			}
			tx.audit("observable.create", "observable", o.ID, nil, o)
		}
		seen[k] = o
		out = append(out, o)
	}
	if len(added) > 0 {
		msg := fmt.Sprintf("Observable added: %s", added[0])
		if len(added) > 1 {
			msg = fmt.Sprintf("%s added: %s", vigil.Plural(len(added), "observable", "observables"), strings.Join(added[:min(len(added), 10)], ", "))
			if len(added) > 10 {
				msg += ", …"
			}
		}
		if _, err := tx.addTimeline(incidentID, vigil.KindObservable, tx.now, msg, nil); err != nil {
			return nil, err
		}
		if err := tx.touchIncident(incidentID); err != nil {
			return nil, err
		}
	}
	return out, tx.fillSeen(out)
}

func (tx *Tx) indexObservable(o *vigil.Observable) error {
	return tx.indexDoc(o.IncidentID, vigil.SearchObservable, o.ID, o.Value+"\n"+o.Description)
}

// UpdateObservable changes an observable's flags and description.
func (s *ObservableService) UpdateObservable(ctx context.Context, id int64, upd vigil.ObservableUpdate) (out *vigil.Observable, err error) {
	defer s.db.op("observable.update")(&err)
	out, err = writeV(ctx, s.db, func(tx *Tx) (*vigil.Observable, error) {
		var out *vigil.Observable
		if err := tx.require(vigil.PermIncidentEdit); err != nil {
			return out, err
		}
		o, err := tx.findObservable(id)
		if err != nil {
			return out, err
		}
		if upd.Version != o.Version {
			return out, vigil.Errorf(vigil.ECONFLICT, "This observable changed since you loaded it. Reload and try again.")
		}
		before := *o
		if upd.IOC != nil {
			o.IOC = *upd.IOC
		}
		if upd.TLP != nil {
			o.TLP = *upd.TLP
		}
		if upd.Description != nil {
			o.Description = *upd.Description
		}
		if err := o.Prepare(""); err != nil {
			return out, err
		}
		if _, err := tx.exec(`UPDATE observables SET ioc = ?, tlp = ?, description = ?, updated_at = ?, version = version + 1
			WHERE id = ? AND version = ?`, o.IOC, o.TLP, o.Description, tx.now, o.ID, o.Version); err != nil {
			return out, err
		}
		o.Version++
		o.UpdatedAt = tx.now
		if err := tx.indexObservable(o); err != nil {
			return out, err
		}
		if before.IOC != o.IOC {
			msg := fmt.Sprintf("%s %s flagged as an IOC.", o.Type, o.Value)
			if !o.IOC {
				msg = fmt.Sprintf("%s %s is no longer an IOC.", o.Type, o.Value)
			}
			if _, err := tx.addTimeline(o.IncidentID, vigil.KindObservable, tx.now, msg, nil); err != nil {
				return out, err
			}
		}
		if err := tx.touchIncident(o.IncidentID); err != nil {
			return out, err
		}
		tx.audit("observable.update", "observable", o.ID, &before, o)
		out = o
		return out, tx.fillSeen([]*vigil.Observable{o})
	})
	return out, err
}

// DeleteObservable removes an observable from its incident.
func (s *ObservableService) DeleteObservable(ctx context.Context, id int64) (err error) {
	defer s.db.op("observable.delete")(&err)
	return s.db.write(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermIncidentEdit); err != nil {
			return err
		}
		o, err := tx.findObservable(id)
		if err != nil {
			return err
		}
		if _, err := tx.exec(`DELETE FROM observables WHERE id = ?`, id); err != nil {
			return err
		}
		if err := tx.unindexDoc(vigil.SearchObservable, id); err != nil {
			return err
		}
		if _, err := tx.addTimeline(o.IncidentID, vigil.KindObservable, tx.now, fmt.Sprintf("Observable removed: %s %s", o.Type, o.Value), nil); err != nil {
			return err
		}
		if err := tx.touchIncident(o.IncidentID); err != nil {
			return err
		}
		tx.audit("observable.delete", "observable", o.ID, o, nil)
		return nil
	})
}

// FindSightings lists visible incidents holding a value.
func (s *ObservableService) FindSightings(ctx context.Context, typ vigil.ObservableType, value string, limit int) (refs []vigil.IncidentRef, err error) {
	defer s.db.op("observable.sightings")(&err)
	typ, value, err = vigil.NormalizeObservable(typ, value)
	if err != nil {
		return nil, &vigil.Error{Code: vigil.EINVALID, Message: vigil.ErrorMessage(err), Fields: []vigil.FieldError{{Field: "value", Message: vigil.ErrorMessage(err)}}}
	}
	if limit <= 0 || limit > vigil.MaxPageSize {
		limit = vigil.DefaultPageSize
	}
	refs = []vigil.IncidentRef{}
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermIncidentRead); err != nil {
			return err
		}
		vis, args := tx.visible()
		refs, err = queryAll(tx, scanIncidentRef, `SELECT `+incidentRefColumns+` FROM observables o JOIN incidents i ON i.id = o.incident_id
			WHERE o.type = ? AND o.value = ? AND `+vis+` ORDER BY i.created_at DESC, i.id DESC LIMIT ?`,
			append(append([]any{typ, value}, args...), limit)...)
		return err
	})
	return refs, err
}
