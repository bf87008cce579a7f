package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/vigil-ir/vigil"
)

// ReviewService implements vigil.ReviewService.
type ReviewService struct{ db *DB }

const reviewColumns = `incident_id, status, timeline, root_cause, contributing, went_well, to_improve, created_by, created_at,
	updated_at, closed_at, closed_by, version`

func scanReview(r rowScanner) (*vigil.Review, error) {
	var rv vigil.Review
	if err := r.Scan(&rv.IncidentID, &rv.Status, scanJSON(&rv.Timeline), &rv.RootCause, &rv.Contributing, &rv.WentWell, &rv.ToImprove,
		scanNullInt(&rv.CreatedBy), scanTime(&rv.CreatedAt), scanTime(&rv.UpdatedAt), scanNullTime(&rv.ClosedAt), &rv.ClosedBy, &rv.Version); err != nil {
		return nil, err
	}
	if rv.Timeline == nil {
		rv.Timeline = []vigil.ReviewEvent{}
	}
	return &rv, nil
}

// findReview loads the review of an incident the actor may see, with its
// actions; in a write transaction the review row is locked.
func (tx *Tx) findReview(incidentID int64) (*vigil.Review, error) {
	if _, err := tx.findIncidentByID(incidentID); err != nil {
		return nil, err
	}
	rv, err := scanReview(tx.queryRow(`SELECT `+reviewColumns+` FROM reviews WHERE incident_id = ?`+tx.forUpdate(), incidentID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, vigil.Errorf(vigil.ENOTFOUND, "This incident has no review yet.")
	} else if err != nil {
		return nil, err
	}
	rv.Actions, err = tx.actions(`ra.incident_id = ?`, incidentID)
	return rv, err
}

// actions loads review actions with their tasks and plans.
func (tx *Tx) actions(where string, args ...any) ([]*vigil.Action, error) {
	return queryAll(tx, func(r rowScanner) (*vigil.Action, error) {
		var t vigil.Task
		a := &vigil.Action{Task: &t}
		return a, r.Scan(taskDest(&t, scanNullInt(&a.PlanID), &a.PlanTitle, &a.PlanChange, &a.AdoptedVersion)...)
	}, `SELECT `+taskColumns+`, ra.plan_id, coalesce(p.title, ''), ra.plan_change, ra.adopted_version
		FROM review_actions ra JOIN tasks t ON t.id = ra.task_id LEFT JOIN plans p ON p.id = ra.plan_id
		WHERE `+where+` ORDER BY t.due_at IS NULL, t.due_at, t.id`, args...)
}

// StartReview opens an incident's review, its timeline drafted from the
// incident's own.
func (s *ReviewService) StartReview(ctx context.Context, incidentID int64) (rv *vigil.Review, err error) {
	defer s.db.op("review.start")(&err)
	rv, err = writeV(ctx, s.db, func(tx *Tx) (*vigil.Review, error) {
		var rv *vigil.Review
		if err := tx.require(vigil.PermIncidentEdit); err != nil {
			return rv, err
		}
		inc, err := tx.findIncidentByID(incidentID)
		if err != nil {
			return rv, err
		}
		switch inc.Status {
		case vigil.StatusRecovered, vigil.StatusClosed, vigil.StatusReviewed:
		default:
			return rv, vigil.Errorf(vigil.ECONFLICT, "A review starts once the incident is recovered or closed; it is %s.", vigil.StatusLabel(inc.Status))
		}
		var n int
		if err := tx.queryRow(`SELECT count(*) FROM reviews WHERE incident_id = ?`, incidentID).Scan(&n); err != nil {
			return rv, err
		}
		if n > 0 {
			return rv, vigil.Errorf(vigil.ECONFLICT, "This incident's review has been started already.")
		}
		entries, err := queryAll(tx, scanTimeline, `SELECT `+timelineColumns+` FROM timeline WHERE incident_id = ? ORDER BY at, id LIMIT 2000`, incidentID)
		if err != nil {
			return rv, err
		}
		rv = &vigil.Review{IncidentID: incidentID, Status: vigil.ReviewOpen, Timeline: vigil.SeedReviewTimeline(inc, entries),
			Actions: []*vigil.Action{}, CreatedBy: tx.actorID(), CreatedAt: tx.now, UpdatedAt: tx.now, Version: 1}
		if rv.Timeline == nil {
			rv.Timeline = []vigil.ReviewEvent{}
		}
		if _, err := tx.exec(`INSERT INTO reviews (incident_id, status, timeline, created_by, created_at, updated_at, version)
			VALUES (?, ?, ?, ?, ?, ?, 1)`, incidentID, rv.Status, mustJSON(rv.Timeline), rv.CreatedBy, tx.now, tx.now); err != nil {
			return rv, err
		}
		if _, err := tx.addTimeline(incidentID, vigil.KindReview, tx.now, "Post-incident review started.", nil); err != nil {
			return rv, err
		}
		tx.audit("review.start", "incident", incidentID, nil, rv)
		return rv, tx.touchIncident(incidentID)
	})
	return rv, err
}

// FindReview returns an incident's review.
func (s *ReviewService) FindReview(ctx context.Context, incidentID int64) (rv *vigil.Review, err error) {
	defer s.db.op("review.find")(&err)
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermIncidentRead); err != nil {
			return err
		}
		if rv, err = tx.findReview(incidentID); err != nil {
			return err
		}
		// The timeline it was drafted from may name an incident this
		// reader may not see.
		texts := make([]*string, len(rv.Timeline))
		for i := range rv.Timeline {
			texts[i] = &rv.Timeline[i].What
		}
		return tx.hideUnseenText(texts...)
	})
	return rv, err
}

// UpdateReview changes an open review at the version the caller saw.
func (s *ReviewService) UpdateReview(ctx context.Context, incidentID int64, u vigil.ReviewUpdate) (rv *vigil.Review, err error) {
	defer s.db.op("review.update")(&err)
	rv, err = writeV(ctx, s.db, func(tx *Tx) (*vigil.Review, error) {
		var err error // its own: the caller may have stopped waiting (a deadline)
		var rv *vigil.Review
		if err := tx.require(vigil.PermIncidentEdit); err != nil {
			return rv, err
		}
		if rv, err = tx.findReview(incidentID); err != nil {
			return rv, err
		}
		if u.Version != rv.Version {
			return rv, staleVersion(rv.Version)
		}
		if rv.Status == vigil.ReviewClosed {
			return rv, vigil.Errorf(vigil.ECONFLICT, "The review is closed.")
		}
		before := *rv
		if u.Timeline != nil {
			tl := append([]vigil.ReviewEvent(nil), *u.Timeline...) // fn may run twice: Apply trims in place
			u.Timeline = &tl
		}
		if err := rv.Apply(u); err != nil {
			return rv, err
		}
		rv.Version++
		rv.UpdatedAt = tx.now
		if _, err := tx.exec(`UPDATE reviews SET timeline = ?, root_cause = ?, contributing = ?, went_well = ?, to_improve = ?, updated_at = ?,
			version = ? WHERE incident_id = ?`, mustJSON(rv.Timeline), rv.RootCause, rv.Contributing, rv.WentWell, rv.ToImprove, tx.now,
			rv.Version, incidentID); err != nil {
			return rv, err
		}
		tx.audit("review.update", "incident", incidentID, &before, rv)
		return rv, tx.touchIncident(incidentID)
	})
	return rv, err
}

// AddAction adds an action item: a task in the learn phase, and the plan
// change it proposes.
func (s *ReviewService) AddAction(ctx context.Context, incidentID int64, in vigil.ActionInput) (a *vigil.Action, err error) {
	defer s.db.op("review.action")(&err)
	a, err = writeV(ctx, s.db, func(tx *Tx) (*vigil.Action, error) {
		var a *vigil.Action
		if err := tx.require(vigil.PermIncidentEdit); err != nil {
			return a, err
		}
		rv, err := tx.findReview(incidentID)
		if err != nil {
			return a, err
		}
		if rv.Status == vigil.ReviewClosed {
			return a, vigil.Errorf(vigil.ECONFLICT, "The review is closed.")
		}
		t := &vigil.Task{IncidentID: incidentID, Title: in.Title, Description: in.Description, Phase: vigil.PhaseLearn,
			Status: vigil.TaskOpen, AssigneeID: in.AssigneeID, DueAt: in.DueAt, FollowUp: true}
		var p vigil.Problems
		if err := t.Validate(); err != nil {
			p = append(p, vigil.ErrorFields(err)...)
		}
		change := strings.TrimSpace(in.PlanChange)
		a = &vigil.Action{Task: t, PlanID: in.PlanID, PlanChange: change}
		if in.PlanID != nil {
			// The plans are the default organisation's, for those who may
			// read them; to others, as if there were none.
			if !tx.actor.Can(vigil.PermPlanRead) {
				p.Add("plan_id", "No such response plan.")
			} else if err := tx.queryRow(`SELECT title FROM plans WHERE id = ?`, *in.PlanID).Scan(&a.PlanTitle); errors.Is(err, sql.ErrNoRows) {
				p.Add("plan_id", "No such response plan.")
			} else if err != nil {
				return a, err
			}
			if change == "" {
				p.Add("plan_change", "Say what to change in the plan.")
			}
		} else if change != "" {
			p.Add("plan_id", "Choose the plan the change is for.")
		}
		if utf8.RuneCountInString(change) > vigil.MaxTaskDescLen {
			p.Add("plan_change", "At most %d characters.", vigil.MaxTaskDescLen)
		}
		if err := p.Err(); err != nil {
			return a, err
		}
		if t.AssigneeID != nil {
			var org int64
			if err := tx.queryRow(`SELECT organisation_id FROM incidents WHERE id = ?`, incidentID).Scan(&org); err != nil {
				return a, fmt.Errorf("review's incident: %w", err)
			}
			if err := tx.requireOrgUser("assignee_id", *t.AssigneeID, org); err != nil {
				return a, err
			}
		}
		if t.DueAt != nil {
			d := vigil.TruncateTime(*t.DueAt)
			t.DueAt = &d
		}
		if err := tx.insertTask(t); err != nil {
			return a, err
		}
		if _, err := tx.exec(`INSERT INTO review_actions (task_id, incident_id, plan_id, plan_change) VALUES (?, ?, ?, ?)`,
			t.ID, incidentID, a.PlanID, change); err != nil {
			return a, err
		}
		if _, err := tx.addTimeline(incidentID, vigil.KindReview, tx.now, fmt.Sprintf("Review action added: %s", t.Title), nil); err != nil {
			return a, err
		}
		if err := tx.touchIncident(incidentID); err != nil {
			return a, err
		}
		tx.audit("review.action", "task", t.ID, nil, a)
		return a, tx.emitTaskAssigned(t, nil)
	})
	return a, err
}

// CloseReview closes a review whose actions are all finished.
func (s *ReviewService) CloseReview(ctx context.Context, incidentID int64, version int) (rv *vigil.Review, err error) {
	defer s.db.op("review.close")(&err)
	rv, err = writeV(ctx, s.db, func(tx *Tx) (*vigil.Review, error) {
		var err error // its own: the caller may have stopped waiting (a deadline)
		var rv *vigil.Review
		if err := tx.require(vigil.PermIncidentReview); err != nil {
			return rv, err
		}
		if rv, err = tx.findReview(incidentID); err != nil {
			return rv, err
		}
		if version != rv.Version {
			return rv, staleVersion(rv.Version)
		}
		if rv.Status == vigil.ReviewClosed {
			return rv, vigil.Errorf(vigil.ECONFLICT, "The review is closed already.")
		}
		if err := rv.CanClose(); err != nil {
			return rv, err
		}
		rv.Status, rv.ClosedAt, rv.ClosedBy, rv.UpdatedAt = vigil.ReviewClosed, &tx.now, tx.actorName(), tx.now
		rv.Version++
		if _, err := tx.exec(`UPDATE reviews SET status = ?, closed_at = ?, closed_by = ?, updated_at = ?, version = ? WHERE incident_id = ?`,
			rv.Status, tx.now, rv.ClosedBy, tx.now, rv.Version, incidentID); err != nil {
			return rv, err
		}
		msg := "Post-incident review closed."
		open := 0
		for _, a := range rv.Actions {
			if a.Open() {
				open++
			}
		}
		if open > 0 {
			msg = fmt.Sprintf("Post-incident review closed; %s open, tracked to done by its owner.", vigil.Plural(open, "action item stays", "action items stay"))
		}
		if _, err := tx.addTimeline(incidentID, vigil.KindReview, tx.now, msg, nil); err != nil {
			return rv, err
		}
		tx.audit("review.close", "incident", incidentID, nil, rv)
		return rv, tx.touchIncident(incidentID)
	})
	return rv, err
}

// FindOpenActions lists the open review actions the actor may see.
func (s *ReviewService) FindOpenActions(ctx context.Context) (out []*vigil.Action, err error) {
	defer s.db.op("review.open_actions")(&err)
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermIncidentRead); err != nil {
			return err
		}
		vis, args := tx.visible()
		out, err = tx.actions(`t.status IN ('open', 'in_progress') AND ra.incident_id IN (SELECT i.id FROM incidents i WHERE `+vis+`)`, args...)
		return err
	})
	return out, err
}

// FindPlanActions lists the review actions proposing changes to a plan.
func (s *ReviewService) FindPlanActions(ctx context.Context, planID int64) (out []*vigil.Action, err error) {
	defer s.db.op("review.plan_actions")(&err)
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermPlanRead); err != nil {
			return err
		}
		vis, args := tx.visible()
		out, err = tx.actions(`ra.plan_id = ? AND ra.incident_id IN (SELECT i.id FROM incidents i WHERE `+vis+`)`, append([]any{planID}, args...)...)
		return err
	})
	return out, err
}

// adoptActions marks review actions as made by version p.Version of p.
func (tx *Tx) adoptActions(p *vigil.Plan, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	// It closes tasks: only on incidents where the actor may change them.
	if err := tx.require(vigil.PermIncidentEdit); err != nil {
		return err
	}
	vis, vargs := tx.visible()
	for _, id := range ids {
		// Only actions on incidents the actor may see: a hidden one is
		// answered as if it did not exist.
		acts, err := tx.actions(`ra.task_id = ? AND ra.plan_id = ? AND ra.incident_id IN (SELECT i.id FROM incidents i WHERE `+vis+`)`,
			append([]any{id, p.ID}, vargs...)...)
		if err != nil {
			return err
		}
		if len(acts) == 0 {
			return vigil.Invalid("adopts", "Review action %d proposes no change to this plan.", id)
		}
		a := acts[0]
		if a.AdoptedVersion != 0 {
			return vigil.Invalid("adopts", "Review action %q was adopted by version %d already.", a.Task.Title, a.AdoptedVersion)
		}
		if _, err := tx.exec(`UPDATE review_actions SET adopted_version = ? WHERE task_id = ?`, p.Version, id); err != nil {
			return err
		}
		if a.Open() {
			if _, err := tx.exec(`UPDATE tasks SET status = 'done', completed_at = ?, updated_at = ?, version = version + 1 WHERE id = ?`,
				tx.now, tx.now, id); err != nil {
				return err
			}
		}
		msg := fmt.Sprintf("Review action %q done: response plan %q version %d adopted the change.", a.Task.Title, p.Title, p.Version)
		if _, err := tx.addTimeline(a.Task.IncidentID, vigil.KindReview, tx.now, msg, nil); err != nil {
			return err
		}
		if err := tx.touchIncident(a.Task.IncidentID); err != nil {
			return err
		}
	}
	return nil
}

// requireClosedReview refuses to mark reviewed an incident whose review is
// required and not closed.
func (tx *Tx) requireClosedReview(inc *vigil.Incident) error {
	var status vigil.ReviewStatus
	err := tx.queryRow(`SELECT status FROM reviews WHERE incident_id = ?`, inc.ID).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		if vigil.ReviewRequired(inc) {
			return vigil.Invalid("to", "A %s incident needs its post-incident review, closed, before it is marked reviewed.", reviewReason(inc))
		}
		return nil
	} else if err != nil {
		return err
	}
	if status != vigil.ReviewClosed {
		return vigil.Invalid("to", "Close the post-incident review first: it is still open.")
	}
	return nil
}

func reviewReason(inc *vigil.Incident) string {
	if inc.Significant {
		return "significant"
	}
	return string(inc.Severity) + "-severity"
}
