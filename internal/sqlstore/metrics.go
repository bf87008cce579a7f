package sqlstore

import (
	"context"
	"encoding/json"
	"time"

	"github.com/vigil-ir/vigil"
)

// MetricsService implements vigil.MetricsService.
type MetricsService struct{ db *DB }

// IncidentMetrics reads the facts of the incidents in the window that the
// actor may see, real ones or exercises, and computes the metrics.
func (s *MetricsService) IncidentMetrics(ctx context.Context, f vigil.MetricsFilter) (m *vigil.Metrics, facts []*vigil.IncidentFacts, err error) {
	defer s.db.op("metrics.incidents")(&err)
	facts = []*vigil.IncidentFacts{}
	var duties []*vigil.DutyFacts
	var recurrences, repeated int
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermIncidentRead); err != nil {
			return err
		}
		vis, vargs := tx.visible()
		where := vis + ` AND i.exercise = ? AND i.created_at >= ? AND i.created_at < ?`
		args := append(vargs, f.Exercises, f.From, f.To)
		rows, err := tx.query(`SELECT `+incidentColumns+` FROM incidents i WHERE `+where+` ORDER BY i.created_at, i.id`, args...)
		if err != nil {
			return err
		}
		byID := map[int64]*vigil.IncidentFacts{}
		status := map[int64]vigil.Status{}
		for rows.Next() {
			inc, err := scanIncident(rows)
			if err != nil {
				rows.Close()
				return err
			}
			fa := &vigil.IncidentFacts{ID: inc.ID, Reference: inc.Reference, Type: inc.Type, Severity: inc.Severity, Category: inc.Category,
				Source: inc.Source, TLP: inc.TLP, Exercise: inc.Exercise, CreatedAt: inc.CreatedAt, Times: inc.Times}
			facts = append(facts, fa)
			byID[inc.ID], status[inc.ID] = fa, inc.Status
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		// When each left triage: the first status change from it.
		in := `SELECT i.id FROM incidents i WHERE ` + where
		rows, err = tx.query(`SELECT incident_id, at, changes FROM timeline WHERE kind = 'status' AND incident_id IN (`+in+`) ORDER BY at, id`, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id int64
			var at time.Time
			var changes []byte
			if err := rows.Scan(&id, scanTime(&at), &changes); err != nil {
				rows.Close()
				return err
			}
			fa := byID[id]
			if fa == nil || fa.AcknowledgedAt != nil {
				continue
			}
			var cs []vigil.Change
			if json.Unmarshal(changes, &cs) != nil {
				continue
			}
			for _, c := range cs {
				if c.Field == "status" && c.From == string(vigil.StatusTriage) {
					t := at
					fa.AcknowledgedAt = &t
				}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for id, fa := range byID {
			// Opened past triage (by a responder, or promoted from
			// alerts): acknowledged as it was created.
			if fa.AcknowledgedAt == nil && status[id] != vigil.StatusTriage {
				t := fa.CreatedAt
				fa.AcknowledgedAt = &t
			}
		}
		duties, err = queryAll(tx, func(r rowScanner) (*vigil.DutyFacts, error) {
			var d vigil.DutyFacts
			return &d, r.Scan(&d.IncidentID, scanNullTime(&d.DueAt), &d.Status, scanNullTime(&d.SubmittedAt), &d.Register)
		}, `SELECT incident_id, due_at, status, submitted_at, register FROM obligations WHERE incident_id IN (`+in+`) AND NOT voluntary
			ORDER BY id`, args...)
		if err != nil {
			return err
		}
		// Links whose other end the actor may see, as FindLinks shows them.
		if err := tx.queryRow(`SELECT count(DISTINCT incident_id) FROM incident_links WHERE kind = ? AND incident_id IN (`+in+`)
			AND target_id IN (SELECT i.id FROM incidents i WHERE `+vis+`)`,
			append(append([]any{vigil.LinkRecurrenceOf}, args...), vargs...)...).Scan(&recurrences); err != nil {
			return err
		}
		return tx.queryRow(`SELECT count(*) FROM (SELECT type, value FROM observables WHERE incident_id IN (`+in+`)
			GROUP BY type, value HAVING count(DISTINCT incident_id) > 1) r`, args...).Scan(&repeated)
	})
	if err != nil {
		return nil, nil, err
	}
	m = vigil.ComputeMetrics(facts, duties, vigil.TruncateTime(s.db.Now()))
	m.From, m.To, m.Exercises = f.From, f.To, f.Exercises
	m.Recurrences, m.RepeatedObservables = recurrences, repeated
	return m, facts, nil
}
