package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-ir/vigil"
)

// ExerciseService implements vigil.ExerciseService.
type ExerciseService struct{ db *DB }

const exerciseColumns = `e.id, e.title, e.kind, e.plan_id, p.title, e.scenario, e.scheduled_at, e.status, e.started_at, e.ended_at,
	e.incident_id, e.participants, e.created_by, e.created_at, e.version`

func scanExercise(r rowScanner) (*vigil.Exercise, error) {
	var x vigil.Exercise
	if err := r.Scan(&x.ID, &x.Title, &x.Kind, &x.PlanID, &x.PlanTitle, &x.Scenario, scanTime(&x.ScheduledAt), &x.Status,
		scanNullTime(&x.StartedAt), scanNullTime(&x.EndedAt), scanNullInt(&x.IncidentID), scanJSON(&x.ParticipantIDs),
		scanNullInt(&x.CreatedBy), scanTime(&x.CreatedAt), &x.Version); err != nil {
		return nil, err
	}
	if x.ParticipantIDs == nil {
		x.ParticipantIDs = []int64{}
	}
	return &x, nil
}

func (tx *Tx) findExercise(id int64) (*vigil.Exercise, error) {
	x, err := scanExercise(tx.queryRow(`SELECT `+exerciseColumns+` FROM exercises e JOIN plans p ON p.id = e.plan_id WHERE e.id = ?`+tx.forUpdateOf("e"), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, vigil.Errorf(vigil.ENOTFOUND, "Exercise not found.")
	} else if err != nil {
		return nil, err
	}
	x.Injects, err = queryAll(tx, scanInject, `SELECT id, after_ns, title, detail, released_at FROM exercise_injects WHERE exercise_id = ? ORDER BY after_ns, id`, id)
	if err != nil {
		return nil, err
	}
	return x, nil
}

func scanInject(r rowScanner) (*vigil.Inject, error) {
	var j vigil.Inject
	var after int64
	if err := r.Scan(&j.ID, &after, &j.Title, &j.Detail, scanNullTime(&j.ReleasedAt)); err != nil {
		return nil, err
	}
	j.After = vigil.Duration(after)
	return &j, nil
}

// CreateExercise schedules an exercise of a plan.
func (s *ExerciseService) CreateExercise(ctx context.Context, in vigil.ExerciseInput) (x *vigil.Exercise, err error) {
	defer s.db.op("exercise.create")(&err)
	if err := in.Validate(); err != nil {
		return nil, err
	}
	x, err = writeV(ctx, s.db, func(tx *Tx) (*vigil.Exercise, error) {
		var x *vigil.Exercise
		if err := tx.require(vigil.PermPlanAdmin); err != nil {
			return x, err
		}
		if _, err := tx.findPlan(in.PlanID); err != nil {
			return x, vigil.Invalid("plan_id", "No such response plan.")
		}
		for _, id := range in.ParticipantIDs {
			if err := tx.requireActiveUser("participant_ids", id); err != nil {
				return x, err
			}
		}
		id, err := tx.insert(`INSERT INTO exercises (title, kind, plan_id, scenario, scheduled_at, status, participants, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, in.Title, in.Kind, in.PlanID, in.Scenario, vigil.TruncateTime(in.ScheduledAt), vigil.ExerciseScheduled,
			mustJSON(append([]int64{}, in.ParticipantIDs...)), tx.actorID(), tx.now)
		if err != nil {
			return x, fmt.Errorf("insert exercise: %w", err)
		}
		for _, j := range in.Injects {
			if _, err := tx.exec(`INSERT INTO exercise_injects (exercise_id, after_ns, title, detail) VALUES (?, ?, ?, ?)`,
				id, int64(j.After), j.Title, j.Detail); err != nil {
				return x, err
			}
		}
		if x, err = tx.findExercise(id); err != nil {
			return x, err
		}
		tx.audit("exercise.create", "exercise", id, nil, x)
		return x, nil
	})
	return x, err
}

// FindExercises lists exercises, the next and latest first.
func (s *ExerciseService) FindExercises(ctx context.Context) (out []*vigil.Exercise, err error) {
	defer s.db.op("exercise.find")(&err)
	out = []*vigil.Exercise{}
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermPlanRead); err != nil {
			return err
		}
		out, err = queryAll(tx, scanExercise, `SELECT `+exerciseColumns+` FROM exercises e JOIN plans p ON p.id = e.plan_id ORDER BY e.scheduled_at DESC, e.id DESC LIMIT 500`)
		for _, x := range out {
			x.Injects = []*vigil.Inject{}
		}
		return err
	})
	return out, err
}

// FindExerciseByID returns an exercise with its injects; participants
// (anyone but the facilitators, who may write plans) see an inject only
// once it is released, so the scenario can still surprise them.
func (s *ExerciseService) FindExerciseByID(ctx context.Context, id int64) (x *vigil.Exercise, err error) {
	defer s.db.op("exercise.find_by_id")(&err)
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermPlanRead); err != nil {
			return err
		}
		if x, err = tx.findExercise(id); err != nil {
			return err
		}
		if !tx.actor.Can(vigil.PermPlanAdmin) {
			for _, j := range x.Injects {
				if j.ReleasedAt == nil {
					j.Title, j.Detail = "Not released yet", ""
				}
			}
		}
		return nil
	})
	return x, err
}

// StartExercise opens the exercise incident and applies the plan to it.
func (s *ExerciseService) StartExercise(ctx context.Context, id int64, version int) (x *vigil.Exercise, err error) {
	defer s.db.op("exercise.start")(&err)
	x, err = writeV(ctx, s.db, func(tx *Tx) (*vigil.Exercise, error) {
		var err error // its own: the caller may have stopped waiting (a deadline)
		var x *vigil.Exercise
		if err := tx.require(vigil.PermPlanAdmin); err != nil {
			return x, err
		}
		if x, err = tx.findExercise(id); err != nil {
			return x, err
		}
		if version != x.Version {
			return x, staleVersion(x.Version)
		}
		if x.Status != vigil.ExerciseScheduled {
			return x, vigil.Errorf(vigil.ECONFLICT, "The exercise is %s already.", x.Status)
		}
		p, err := tx.findPlan(x.PlanID)
		if err != nil {
			return x, err
		}
		typ := vigil.TypeOther
		if len(p.Definition.Types) > 0 {
			typ = p.Definition.Types[0]
		}
		sev := vigil.SeverityMedium
		if len(p.Definition.Severities) > 0 {
			sev = p.Definition.Severities[len(p.Definition.Severities)-1]
		}
		inc := &vigil.Incident{Title: "EXERCISE: " + x.Title, Summary: x.Scenario, Type: typ, Severity: sev, Status: vigil.StatusConfirmed,
			Exercise: true, LeadID: tx.actorID()}
		if len([]rune(inc.Summary)) > vigil.MaxSummaryLen {
			inc.Summary = string([]rune(inc.Summary)[:vigil.MaxSummaryLen])
		}
		if err := tx.createIncident(inc); err != nil {
			return x, err
		}
		for _, uid := range x.ParticipantIDs {
			if _, err := tx.exec(`INSERT INTO incident_members (incident_id, user_id, role, added_by, added_at) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (incident_id, user_id, role) DO NOTHING`, inc.ID, uid, vigil.RoleObserver, tx.actorID(), tx.now); err != nil {
				return x, err
			}
		}
		if _, err := tx.applyPlan(inc.ID, p.ID, false); err != nil {
			return x, err
		}
		msg := fmt.Sprintf("Exercise started (%s, testing %q version %d). Scenario: %s", x.Kind, p.Title, p.Version, x.Scenario)
		if _, err := tx.addTimeline(inc.ID, vigil.KindExercise, tx.now, truncateRunes(msg, vigil.MaxNoteLen), nil); err != nil {
			return x, err
		}
		x.Status, x.StartedAt, x.IncidentID = vigil.ExerciseRunning, &tx.now, &inc.ID
		x.Version++
		if _, err := tx.exec(`UPDATE exercises SET status = ?, started_at = ?, incident_id = ?, version = ? WHERE id = ?`,
			x.Status, tx.now, inc.ID, x.Version, x.ID); err != nil {
			return x, err
		}
		tx.audit("exercise.start", "exercise", x.ID, nil, map[string]any{"incident_id": inc.ID})
		return x, tx.releaseDue(x)
	})
	return x, err
}

func truncateRunes(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// release puts an inject on the exercise incident's timeline.
func (tx *Tx) release(x *vigil.Exercise, j *vigil.Inject) error {
	if j.ReleasedAt != nil {
		return nil
	}
	if _, err := tx.findIncidentByID(*x.IncidentID); err != nil {
		return err
	}
	j.ReleasedAt = &tx.now
	if _, err := tx.exec(`UPDATE exercise_injects SET released_at = ? WHERE id = ?`, tx.now, j.ID); err != nil {
		return err
	}
	msg := "INJECT: " + j.Title
	if j.Detail != "" {
		msg += "\n" + j.Detail
	}
	if _, err := tx.addTimeline(*x.IncidentID, vigil.KindExercise, tx.now, truncateRunes(msg, vigil.MaxNoteLen), nil); err != nil {
		return err
	}
	return tx.touchIncident(*x.IncidentID)
}

// releaseDue releases the injects of a running exercise whose time has come.
func (tx *Tx) releaseDue(x *vigil.Exercise) error {
	if x.Status != vigil.ExerciseRunning || x.StartedAt == nil {
		return nil
	}
	for _, j := range x.Injects {
		if j.ReleasedAt == nil && !tx.now.Before(x.StartedAt.Add(time.Duration(j.After))) {
			if err := tx.release(x, j); err != nil {
				return err
			}
		}
	}
	return nil
}

// ReleaseInject releases one inject now.
func (s *ExerciseService) ReleaseInject(ctx context.Context, exerciseID, injectID int64) (x *vigil.Exercise, err error) {
	defer s.db.op("exercise.release")(&err)
	x, err = writeV(ctx, s.db, func(tx *Tx) (*vigil.Exercise, error) {
		var err error // its own: the caller may have stopped waiting (a deadline)
		var x *vigil.Exercise
		if err := tx.require(vigil.PermPlanAdmin); err != nil {
			return x, err
		}
		if x, err = tx.findExercise(exerciseID); err != nil {
			return x, err
		}
		if x.Status != vigil.ExerciseRunning {
			return x, vigil.Errorf(vigil.ECONFLICT, "Injects are released while the exercise runs; it is %s.", x.Status)
		}
		for _, j := range x.Injects {
			if j.ID == injectID {
				if j.ReleasedAt != nil {
					return x, vigil.Errorf(vigil.ECONFLICT, "That inject was released already.")
				}
				return x, tx.release(x, j)
			}
		}
		return x, vigil.Errorf(vigil.ENOTFOUND, "Inject not found.")
	})
	return x, err
}

// ReleaseDueInjects releases the due injects of every running exercise.
func (s *ExerciseService) ReleaseDueInjects(ctx context.Context) (n int, err error) {
	defer s.db.op("exercise.release_due")(&err)
	// A read first: most of the time no exercise runs, and no write is needed.
	var due int
	if err := s.db.read(ctx, func(tx *Tx) error {
		return tx.queryRow(`SELECT count(*) FROM exercises WHERE status = 'running'`).Scan(&due)
	}); err != nil || due == 0 {
		return 0, err
	}
	n, err = writeV(ctx, s.db, func(tx *Tx) (int, error) {
		var n int
		ids, err := queryAll(tx, scanInt64, `SELECT DISTINCT e.id FROM exercises e JOIN exercise_injects j ON j.exercise_id = e.id
			WHERE e.status = 'running' AND j.released_at IS NULL ORDER BY e.id`)
		if err != nil {
			return n, err
		}
		for _, id := range ids {
			x, err := tx.findExercise(id)
			if err != nil {
				return n, err
			}
			before := 0
			for _, j := range x.Injects {
				if j.ReleasedAt == nil {
					before++
				}
			}
			if err := tx.releaseDue(x); err != nil {
				return n, err
			}
			for _, j := range x.Injects {
				if j.ReleasedAt == nil {
					before--
				}
			}
			n += before
		}
		return n, nil
	})
	return n, err
}

// EndExercise ends an exercise; its findings become action items of the
// exercise incident's review.
func (s *ExerciseService) EndExercise(ctx context.Context, id int64, end vigil.ExerciseEnd) (x *vigil.Exercise, err error) {
	defer s.db.op("exercise.end")(&err)
	var findings []string
	var p vigil.Problems
	for i, f := range end.Findings {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if len([]rune(f)) > vigil.MaxTaskTitleLen {
			p.Add(fmt.Sprintf("findings[%d]", i), "Keep each finding to %d characters: it becomes an action item's title.", vigil.MaxTaskTitleLen)
		}
		findings = append(findings, f)
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	x, err = writeV(ctx, s.db, func(tx *Tx) (*vigil.Exercise, error) {
		var err error // its own: the caller may have stopped waiting (a deadline)
		var x *vigil.Exercise
		if err := tx.require(vigil.PermPlanAdmin); err != nil {
			return x, err
		}
		if x, err = tx.findExercise(id); err != nil {
			return x, err
		}
		if end.Version != x.Version {
			return x, staleVersion(x.Version)
		}
		if x.Status != vigil.ExerciseRunning {
			return x, vigil.Errorf(vigil.ECONFLICT, "Only a running exercise ends; it is %s.", x.Status)
		}
		inc := *x.IncidentID
		if _, err := tx.findIncidentByID(inc); err != nil {
			return x, err
		}
		var have int
		if err := tx.queryRow(`SELECT count(*) FROM reviews WHERE incident_id = ?`, inc).Scan(&have); err != nil {
			return x, err
		}
		if have == 0 {
			if _, err := tx.exec(`INSERT INTO reviews (incident_id, status, timeline, created_by, created_at, updated_at, version)
				VALUES (?, 'open', '[]', ?, ?, ?, 1)`, inc, tx.actorID(), tx.now, tx.now); err != nil {
				return x, err
			}
		}
		for _, f := range findings {
			t := &vigil.Task{IncidentID: inc, Title: f, Phase: vigil.PhaseLearn, Status: vigil.TaskOpen,
				Description: fmt.Sprintf("Finding of the exercise %q.", x.Title)}
			if err := tx.insertTask(t); err != nil {
				return x, err
			}
			if _, err := tx.exec(`INSERT INTO review_actions (task_id, incident_id, plan_id, plan_change) VALUES (?, ?, ?, '')`, t.ID, inc, nil); err != nil {
				return x, err
			}
		}
		msg := fmt.Sprintf("Exercise ended with %s, now review action items.", vigil.Plural(len(findings), "finding", "findings"))
		if _, err := tx.addTimeline(inc, vigil.KindExercise, tx.now, msg, nil); err != nil {
			return x, err
		}
		if err := tx.touchIncident(inc); err != nil {
			return x, err
		}
		x.Status, x.EndedAt = vigil.ExerciseEnded, &tx.now
		x.Version++
		if _, err := tx.exec(`UPDATE exercises SET status = ?, ended_at = ?, version = ? WHERE id = ?`, x.Status, tx.now, x.Version, x.ID); err != nil {
			return x, err
		}
		tx.audit("exercise.end", "exercise", x.ID, nil, map[string]any{"findings": findings})
		return x, nil
	})
	return x, err
}

// LastExercised returns when each plan's last exercise ended.
func (s *ExerciseService) LastExercised(ctx context.Context) (out map[int64]time.Time, err error) {
	defer s.db.op("exercise.last")(&err)
	out = map[int64]time.Time{}
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermPlanRead); err != nil {
			return err
		}
		out, err = queryMap(tx, func(r rowScanner) (id int64, at time.Time, err error) {
			err = r.Scan(&id, scanTime(&at))
			return id, at, err
		}, `SELECT plan_id, max(ended_at) FROM exercises WHERE status = 'ended' GROUP BY plan_id`)
		return err
	})
	return out, err
}
