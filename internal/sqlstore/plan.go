package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/plan"
)

// PlanService implements vigil.PlanService.
type PlanService struct{ db *DB }

const planColumns = `p.id, p.key, p.title, p.version, p.source, p.definition, p.owner_id, coalesce(o.name, o.username, ''),
	p.approved_version, p.approved_by, p.approved_by_name, p.approved_at, p.review_due, p.built_in, p.created_at, p.updated_at`

const planFrom = ` FROM plans p LEFT JOIN users o ON o.id = p.owner_id`

func scanPlan(r rowScanner) (*vigil.Plan, error) {
	var p vigil.Plan
	var def string
	if err := r.Scan(&p.ID, &p.Key, &p.Title, &p.Version, &p.Source, &def, scanNullInt(&p.OwnerID), &p.OwnerName,
		&p.ApprovedVersion, scanNullInt(&p.ApprovedBy), &p.ApprovedByName, scanNullTime(&p.ApprovedAt), scanTime(&p.ReviewDue),
		&p.BuiltIn, scanTime(&p.CreatedAt), scanTime(&p.UpdatedAt)); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(def), &p.Definition); err != nil {
		return nil, fmt.Errorf("plan %d definition: %w", p.ID, err)
	}
	return &p, nil
}

func (tx *Tx) findPlan(id int64) (*vigil.Plan, error) {
	p, err := scanPlan(tx.queryRow(`SELECT `+planColumns+planFrom+` WHERE p.id = ?`+tx.forUpdateOf("p"), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, vigil.Errorf(vigil.ENOTFOUND, "Response plan not found.")
	}
	return p, err
}

// forUpdateOf locks the rows of one table of a join (PostgreSQL refuses
// FOR UPDATE on the nullable side of an outer join).
func (tx *Tx) forUpdateOf(alias string) string {
	if !tx.write || tx.db.d.ForUpdate == "" {
		return ""
	}
	return tx.db.d.ForUpdate + " OF " + alias
}

func parsePlan(in *vigil.PlanInput) (*vigil.PlanDefinition, error) {
	in.Note = strings.TrimSpace(in.Note)
	if utf8.RuneCountInString(in.Note) > 2000 {
		return nil, vigil.Invalid("note", "Keep the note to 2,000 characters.")
	}
	return plan.Parse(in.Source)
}

func (tx *Tx) addPlanVersion(p *vigil.Plan, note string) error {
	_, err := tx.exec(`INSERT INTO plan_versions (plan_id, version, source, note, created_by, created_by_name, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, p.ID, p.Version, p.Source, note, tx.actorID(), tx.actorName(), tx.now)
	return err
}

func (tx *Tx) createPlan(src string, def *vigil.PlanDefinition, note string, builtIn bool) (*vigil.Plan, error) {
	var n int
	if err := tx.queryRow(`SELECT count(*) FROM plans WHERE key = ?`, def.Key).Scan(&n); err != nil {
		return nil, err
	}
	if n > 0 {
		return nil, vigil.Invalid("source", "Line 2, key: a plan with the key %q exists already; change that plan, or give this one another key.", def.Key)
	}
	p := &vigil.Plan{Key: def.Key, Title: def.Title, Version: 1, Source: src, Definition: def, BuiltIn: builtIn,
		ReviewDue: tx.now.Add(vigil.PlanReviewInterval), CreatedAt: tx.now, UpdatedAt: tx.now}
	var err error
	p.ID, err = tx.insert(`INSERT INTO plans (key, title, version, source, definition, review_due, built_in, created_at, updated_at)
		VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?)`, p.Key, p.Title, p.Source, mustJSON(def), p.ReviewDue, builtIn, tx.now, tx.now)
	if err != nil {
		return nil, fmt.Errorf("insert plan: %w", err)
	}
	if err := tx.addPlanVersion(p, note); err != nil {
		return nil, err
	}
	tx.audit("plan.create", "plan", p.ID, nil, map[string]any{"key": p.Key, "version": 1, "source": src})
	return p, nil
}

// CreatePlan adds a plan at version 1, due for review in a year.
func (s *PlanService) CreatePlan(ctx context.Context, in vigil.PlanInput) (p *vigil.Plan, err error) {
	defer s.db.op("plan.create")(&err)
	if err := vigil.Require(vigil.ActorFromContext(ctx), vigil.PermPlanAdmin); err != nil {
		return nil, err
	}
	def, err := parsePlan(&in)
	if err != nil {
		return nil, err
	}
	p, err = writeV(ctx, s.db, func(tx *Tx) (*vigil.Plan, error) {
		var err error // its own: the caller may have stopped waiting (a deadline)
		var p *vigil.Plan
		p, err = tx.createPlan(in.Source, def, in.Note, false)
		return p, err
	})
	return p, err
}

// UpdatePlan saves a new version of a plan. Its approval stays with the
// version approved: the new one needs approving in turn.
func (s *PlanService) UpdatePlan(ctx context.Context, id int64, in vigil.PlanInput) (p *vigil.Plan, err error) {
	defer s.db.op("plan.update")(&err)
	if err := vigil.Require(vigil.ActorFromContext(ctx), vigil.PermPlanAdmin); err != nil {
		return nil, err
	}
	def, err := parsePlan(&in)
	if err != nil {
		return nil, err
	}
	p, err = writeV(ctx, s.db, func(tx *Tx) (*vigil.Plan, error) {
		var err error // its own: the caller may have stopped waiting (a deadline)
		var p *vigil.Plan
		if p, err = tx.findPlan(id); err != nil {
			return p, err
		}
		if in.Version != p.Version {
			return p, staleVersion(p.Version)
		}
		if def.Key != p.Key {
			return p, vigil.Invalid("source", "Line 2, key: a plan keeps its key (%q); tasks on incidents name their steps by it.", p.Key)
		}
		if in.Source == p.Source {
			return p, vigil.Invalid("source", "Nothing changed.")
		}
		before := map[string]any{"version": p.Version, "source": p.Source}
		p.Version++
		p.Title, p.Source, p.Definition, p.UpdatedAt = def.Title, in.Source, def, tx.now
		if _, err := tx.exec(`UPDATE plans SET title = ?, version = ?, source = ?, definition = ?, updated_at = ? WHERE id = ?`,
			p.Title, p.Version, p.Source, mustJSON(def), tx.now, p.ID); err != nil {
			return p, err
		}
		if err := tx.addPlanVersion(p, in.Note); err != nil {
			return p, err
		}
		if err := tx.adoptActions(p, in.Adopts); err != nil {
			return p, err
		}
		tx.audit("plan.update", "plan", p.ID, before, map[string]any{"version": p.Version, "source": p.Source, "note": in.Note, "adopts": in.Adopts})
		return p, nil
	})
	return p, err
}

// SetPlanMeta sets a plan's owner and review date.
func (s *PlanService) SetPlanMeta(ctx context.Context, id int64, m vigil.PlanMeta) (p *vigil.Plan, err error) {
	defer s.db.op("plan.meta")(&err)
	p, err = writeV(ctx, s.db, func(tx *Tx) (*vigil.Plan, error) {
		var err error // its own: the caller may have stopped waiting (a deadline)
		var p *vigil.Plan
		if err := tx.require(vigil.PermPlanAdmin); err != nil {
			return p, err
		}
		if p, err = tx.findPlan(id); err != nil {
			return p, err
		}
		before := *p
		if m.OwnerID != nil {
			if err := tx.requireActiveUser("owner_id", *m.OwnerID); err != nil {
				return p, err
			}
			p.OwnerID = m.OwnerID
		}
		if m.ReviewDue != nil {
			d := vigil.TruncateTime(*m.ReviewDue)
			if d.Before(tx.now.AddDate(0, 0, -1)) || d.After(tx.now.AddDate(3, 0, 0)) {
				return p, vigil.Invalid("review_due", "Choose a review date from today to three years ahead.")
			}
			p.ReviewDue = d
		}
		p.UpdatedAt = tx.now
		if _, err := tx.exec(`UPDATE plans SET owner_id = ?, review_due = ?, reminded_at = NULL, updated_at = ? WHERE id = ?`,
			p.OwnerID, p.ReviewDue, tx.now, p.ID); err != nil {
			return p, err
		}
		if p.OwnerID != nil {
			_ = tx.queryRow(`SELECT coalesce(name, username) FROM users WHERE id = ?`, *p.OwnerID).Scan(&p.OwnerName)
		}
		tx.audit("plan.meta", "plan", p.ID, map[string]any{"owner_id": before.OwnerID, "review_due": before.ReviewDue},
			map[string]any{"owner_id": p.OwnerID, "review_due": p.ReviewDue})
		return p, nil
	})
	return p, err
}

// ApprovePlan approves a version of a plan (the current one) and sets its
// next review a year on.
func (s *PlanService) ApprovePlan(ctx context.Context, id int64, version int) (p *vigil.Plan, err error) {
	defer s.db.op("plan.approve")(&err)
	p, err = writeV(ctx, s.db, func(tx *Tx) (*vigil.Plan, error) {
		var err error // its own: the caller may have stopped waiting (a deadline)
		var p *vigil.Plan
		if err := tx.require(vigil.PermPlanAdmin); err != nil {
			return p, err
		}
		if p, err = tx.findPlan(id); err != nil {
			return p, err
		}
		if version != p.Version {
			return p, vigil.Errorf(vigil.ECONFLICT, "Version %d is not the current version (%d); read the current one before approving it.", version, p.Version)
		}
		if p.ApprovedVersion == p.Version {
			return p, vigil.Errorf(vigil.ECONFLICT, "Version %d is approved already.", version)
		}
		p.ApprovedVersion, p.ApprovedBy, p.ApprovedByName, p.ApprovedAt = version, tx.actorID(), tx.actorName(), &tx.now
		p.ReviewDue, p.UpdatedAt = tx.now.Add(vigil.PlanReviewInterval), tx.now
		if _, err := tx.exec(`UPDATE plans SET approved_version = ?, approved_by = ?, approved_by_name = ?, approved_at = ?, review_due = ?,
			reminded_at = NULL, updated_at = ? WHERE id = ?`, version, p.ApprovedBy, p.ApprovedByName, tx.now, p.ReviewDue, tx.now, p.ID); err != nil {
			return p, err
		}
		tx.audit("plan.approve", "plan", p.ID, nil, map[string]any{"version": version, "review_due": p.ReviewDue})
		return p, nil
	})
	return p, err
}

// FindPlans lists the plans by title.
func (s *PlanService) FindPlans(ctx context.Context) (out []*vigil.Plan, err error) {
	defer s.db.op("plan.find")(&err)
	out = []*vigil.Plan{}
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermPlanRead); err != nil {
			return err
		}
		out, err = queryAll(tx, scanPlan, `SELECT `+planColumns+planFrom+` ORDER BY p.title, p.id`)
		return err
	})
	return out, err
}

// FindPlanByID returns a plan.
func (s *PlanService) FindPlanByID(ctx context.Context, id int64) (p *vigil.Plan, err error) {
	defer s.db.op("plan.find_by_id")(&err)
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermPlanRead); err != nil {
			return err
		}
		p, err = tx.findPlan(id)
		return err
	})
	return p, err
}

// FindPlanVersions returns a plan's change history, newest first.
func (s *PlanService) FindPlanVersions(ctx context.Context, id int64) (out []*vigil.PlanVersion, err error) {
	defer s.db.op("plan.versions")(&err)
	out = []*vigil.PlanVersion{}
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermPlanRead); err != nil {
			return err
		}
		if _, err := tx.findPlan(id); err != nil {
			return err
		}
		out, err = queryAll(tx, func(r rowScanner) (*vigil.PlanVersion, error) {
			var v vigil.PlanVersion
			return &v, r.Scan(&v.PlanID, &v.Version, &v.Source, &v.Note, scanNullInt(&v.CreatedBy), &v.CreatedByName, scanTime(&v.CreatedAt))
		}, `SELECT plan_id, version, source, note, created_by, created_by_name, created_at FROM plan_versions
			WHERE plan_id = ? ORDER BY version DESC`, id)
		return err
	})
	return out, err
}

// InstallStarterPlans adds Vigil's starter plans whose keys are not taken.
// They arrive unapproved: an organisation adapts and approves its own.
func (s *PlanService) InstallStarterPlans(ctx context.Context) (n int, err error) {
	defer s.db.op("plan.install")(&err)
	var defs []*vigil.PlanDefinition
	srcs := plan.Starter()
	for _, src := range srcs {
		d, err := plan.Parse(src)
		if err != nil {
			return 0, fmt.Errorf("starter plan: %w", err)
		}
		defs = append(defs, d)
	}
	n, err = writeV(ctx, s.db, func(tx *Tx) (int, error) {
		var n int
		if err := tx.require(vigil.PermPlanAdmin); err != nil {
			return n, err
		}
		for i, d := range defs {
			var have int
			if err := tx.queryRow(`SELECT count(*) FROM plans WHERE key = ?`, d.Key).Scan(&have); err != nil {
				return n, err
			}
			if have > 0 {
				continue
			}
			if _, err := tx.createPlan(srcs[i], d, "Vigil's starter plan, to adapt to your organisation and approve.", true); err != nil {
				return n, err
			}
			n++
		}
		return n, nil
	})
	return n, err
}

// ReviseStarterPlans brings the starter plans installed by an earlier
// Vigil up to date where their lines still read as shipped.
func (s *PlanService) ReviseStarterPlans(ctx context.Context) (n int, err error) {
	defer s.db.op("plan.revise")(&err)
	return writeV(ctx, s.db, func(tx *Tx) (int, error) {
		var n int
		if err := tx.require(vigil.PermPlanAdmin); err != nil {
			return n, err
		}
		plans, err := queryAll(tx, scanPlan, `SELECT `+planColumns+planFrom+` WHERE p.built_in ORDER BY p.id`+tx.forUpdateOf("p"))
		if err != nil {
			return n, err
		}
		for _, p := range plans {
			src, why := plan.Revise(p.Key, p.Source)
			if why == nil {
				continue
			}
			def, err := plan.Parse(src)
			if err != nil || def.Key != p.Key {
				continue // the revision does not fit what was made of the plan: leave it to its owner
			}
			note := "Vigil updated the lines of its starter plan that still read as it shipped them: " + strings.Join(why, " ")
			if p.ApprovedVersion != 0 {
				note += fmt.Sprintf(" Version %d stays the approved one until this one is approved.", p.ApprovedVersion)
			}
			before := map[string]any{"version": p.Version, "source": p.Source}
			p.Version++
			p.Title, p.Source, p.Definition, p.UpdatedAt = def.Title, src, def, tx.now
			if _, err := tx.exec(`UPDATE plans SET title = ?, version = ?, source = ?, definition = ?, updated_at = ? WHERE id = ?`,
				p.Title, p.Version, p.Source, mustJSON(def), tx.now, p.ID); err != nil {
				return n, err
			}
			if err := tx.addPlanVersion(p, note); err != nil {
				return n, err
			}
			tx.audit("plan.revise", "plan", p.ID, before, map[string]any{"version": p.Version, "source": p.Source, "note": note})
			n++
		}
		return n, nil
	})
}

// ApplyPlan adds a plan's steps to an incident as tasks: the steps not
// there yet, and, for open tasks whose step changed since, the new text.
// Applying the same version again changes nothing.
func (s *PlanService) ApplyPlan(ctx context.Context, incidentID, planID int64, preview bool) (a *vigil.PlanApplication, err error) {
	defer s.db.op("plan.apply")(&err)
	run := s.db.write
	if preview {
		run = s.db.read
	}
	err = run(ctx, func(tx *Tx) error {
		a, err = tx.applyPlan(incidentID, planID, preview)
		return err
	})
	return a, err
}

// applyPlan is ApplyPlan inside a transaction.
func (tx *Tx) applyPlan(incidentID, planID int64, preview bool) (a *vigil.PlanApplication, err error) {
	if err := tx.require(vigil.PermIncidentEdit); err != nil {
		return nil, err
	}
	// The plans are the default organisation's: applying one shows it.
	if err := tx.require(vigil.PermPlanRead); err != nil {
		return nil, err
	}
	inc, err := tx.findIncidentByID(incidentID)
	if err != nil {
		return nil, err
	}
	p, err := tx.findPlan(planID)
	if err != nil {
		return nil, err
	}
	a = &vigil.PlanApplication{PlanID: p.ID, PlanTitle: p.Title, Version: p.Version, TaskIDs: []int64{}}
	if err := tx.queryRow(`SELECT version FROM incident_plans WHERE incident_id = ? AND plan_id = ?`, inc.ID, p.ID).Scan(&a.Previous); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	tasks, err := queryAll(tx, scanTask, `SELECT `+taskColumns+` FROM tasks t WHERE t.incident_id = ? AND t.plan_id = ? ORDER BY t.position`, inc.ID, p.ID)
	if err != nil {
		return nil, err
	}
	var prev *vigil.PlanDefinition
	if a.Previous != 0 {
		var src string
		if err := tx.queryRow(`SELECT source FROM plan_versions WHERE plan_id = ? AND version = ?`, p.ID, a.Previous).Scan(&src); err != nil {
			return nil, fmt.Errorf("plan %d version %d: %w", p.ID, a.Previous, err)
		}
		if prev, err = plan.Parse(src); err != nil {
			return nil, fmt.Errorf("plan %d version %d: %w", p.ID, a.Previous, err)
		}
	}
	a.Added, a.Changed, a.Removed, a.Unchanged = vigil.DiffPlan(prev, p.Definition, tasks)
	if preview {
		return a, nil
	}
	owners, err := tx.roleHolders(inc)
	if err != nil {
		return nil, err
	}
	for _, st := range a.Added {
		t := &vigil.Task{IncidentID: inc.ID, Title: st.Title, Description: st.TaskDescription(), Phase: st.Phase,
			Status: vigil.TaskOpen, PlanID: &p.ID, StepKey: st.Key}
		if id, ok := owners[st.Role]; ok {
			t.AssigneeID = &id
		}
		if err := tx.insertTask(t); err != nil {
			return nil, err
		}
		a.TaskIDs = append(a.TaskIDs, t.ID)
		if err := tx.emitTaskAssigned(t, nil); err != nil {
			return nil, err
		}
	}
	updated := 0
	for _, c := range a.Changed {
		if !c.Updated {
			continue
		}
		if _, err := tx.exec(`UPDATE tasks SET title = ?, description = ?, phase = ?, updated_at = ?, version = version + 1 WHERE id = ?`,
			c.Step.Title, c.Step.TaskDescription(), c.Step.Phase, tx.now, c.Task.ID); err != nil {
			return nil, err
		}
		updated++
	}
	if a.Previous == p.Version && len(a.Added) == 0 && updated == 0 {
		a.Applied = true // nothing to do: applied before, and so it stays
		return a, nil
	}
	if a.Previous == 0 {
		_, err = tx.exec(`INSERT INTO incident_plans (incident_id, plan_id, version, applied_by, applied_at) VALUES (?, ?, ?, ?, ?)`,
			inc.ID, p.ID, p.Version, tx.actorID(), tx.now)
	} else {
		_, err = tx.exec(`UPDATE incident_plans SET version = ?, applied_by = ?, applied_at = ? WHERE incident_id = ? AND plan_id = ?`,
			p.Version, tx.actorID(), tx.now, inc.ID, p.ID)
	}
	if err != nil {
		return nil, err
	}
	msg := fmt.Sprintf("Response plan %q (version %d) applied: %s added", p.Title, p.Version, vigil.Plural(len(a.Added), "task", "tasks"))
	if a.Previous != 0 {
		msg = fmt.Sprintf("Response plan %q updated from version %d to %d: %d tasks added, %d brought up to date", p.Title, a.Previous, p.Version, len(a.Added), updated)
	}
	if n := len(a.Removed); n > 0 {
		msg += fmt.Sprintf(", %d no longer in the plan (left as they are)", n)
	}
	if _, err := tx.addTimeline(inc.ID, vigil.KindTask, tx.now, msg+".", nil); err != nil {
		return nil, err
	}
	if err := tx.touchIncident(inc.ID); err != nil {
		return nil, err
	}
	tx.audit("plan.apply", "incident", inc.ID, map[string]any{"plan_id": p.ID, "version": a.Previous},
		map[string]any{"plan_id": p.ID, "version": p.Version, "tasks": a.TaskIDs})
	a.Applied = true
	return a, nil
}

// roleHolders maps each incident role to the user who holds it (the lead,
// and the first member given each other role).
func (tx *Tx) roleHolders(inc *vigil.Incident) (map[vigil.IncidentRole]int64, error) {
	out := map[vigil.IncidentRole]int64{}
	if inc.LeadID != nil {
		out[vigil.RoleLead] = *inc.LeadID
	}
	rows, err := tx.query(`SELECT role, user_id FROM incident_members WHERE incident_id = ? ORDER BY added_at, user_id`, inc.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var r vigil.IncidentRole
		var id int64
		if err := rows.Scan(&r, &id); err != nil {
			return nil, err
		}
		if _, ok := out[r]; !ok {
			out[r] = id
		}
	}
	return out, rows.Err()
}

// FindAppliedPlans lists the plans applied to an incident, by title.
func (s *PlanService) FindAppliedPlans(ctx context.Context, incidentID int64) (out []*vigil.AppliedPlan, err error) {
	defer s.db.op("plan.applied")(&err)
	out = []*vigil.AppliedPlan{}
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermIncidentRead); err != nil {
			return err
		}
		if _, err := tx.findIncidentByID(incidentID); err != nil {
			return err
		}
		out, err = queryAll(tx, func(r rowScanner) (*vigil.AppliedPlan, error) {
			var a vigil.AppliedPlan
			return &a, r.Scan(&a.PlanID, &a.Title, &a.Version, &a.Current, scanTime(&a.AppliedAt))
		}, `SELECT p.id, p.title, ip.version, p.version, ip.applied_at FROM incident_plans ip JOIN plans p ON p.id = ip.plan_id
			WHERE ip.incident_id = ? ORDER BY p.title, p.id`, incidentID)
		return err
	})
	return out, err
}
