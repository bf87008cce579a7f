package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/vigil-ir/vigil"
)

// TaskService implements vigil.TaskService.
type TaskService struct{ db *DB }

const taskColumns = `t.id, t.incident_id, t.title, t.description, t.phase, t.status, t.assignee_id, t.due_at, t.position,
	t.completed_at, t.plan_id, t.step_key, t.created_by, t.created_at, t.updated_at, t.version, t.follow_up`

func scanTask(r rowScanner) (*vigil.Task, error) {
	var t vigil.Task
	if err := r.Scan(taskDest(&t)...); err != nil {
		return nil, err
	}
	return &t, nil
}

// taskDest is where taskColumns scan to; a query with more columns appends
// theirs.
func taskDest(t *vigil.Task, extra ...any) []any {
	return append([]any{&t.ID, &t.IncidentID, &t.Title, &t.Description, &t.Phase, &t.Status, scanNullInt(&t.AssigneeID),
		scanNullTime(&t.DueAt), &t.Position, scanNullTime(&t.CompletedAt), scanNullInt(&t.PlanID), &t.StepKey, scanNullInt(&t.CreatedBy),
		scanTime(&t.CreatedAt), scanTime(&t.UpdatedAt), &t.Version, &t.FollowUp}, extra...)
}

// findTask loads a task whose incident the actor may see.
func (tx *Tx) findTask(id int64) (*vigil.Task, error) {
	vis, args := tx.visible()
	t, err := scanTask(tx.queryRow(`SELECT `+taskColumns+` FROM tasks t JOIN incidents i ON i.id = t.incident_id
		WHERE t.id = ? AND `+vis, append([]any{id}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, vigil.Errorf(vigil.ENOTFOUND, "Task not found.")
	} else if err != nil {
		return nil, err
	}
	return t, tx.writeOn(t.IncidentID)
}

// FindTaskByID returns a task.
func (s *TaskService) FindTaskByID(ctx context.Context, id int64) (t *vigil.Task, err error) {
	defer s.db.op("task.find_by_id")(&err)
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermIncidentRead); err != nil {
			return err
		}
		t, err = tx.findTask(id)
		return err
	})
	return t, err
}

// FindTasks lists tasks; within an incident by position, across incidents by due time.
func (s *TaskService) FindTasks(ctx context.Context, f vigil.TaskFilter) (tasks []*vigil.Task, n int, err error) {
	defer s.db.op("task.find")(&err)
	if f.Limit <= 0 || f.Limit > vigil.MaxPageSize {
		f.Limit = vigil.MaxPageSize
	}
	tasks = []*vigil.Task{}
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermIncidentRead); err != nil {
			return err
		}
		vis, args := tx.visible()
		where := []string{vis}
		if f.IncidentID != nil {
			where, args = append(where, "t.incident_id = ?"), append(args, *f.IncidentID)
		}
		if f.AssigneeID != nil {
			where, args = append(where, "t.assignee_id = ?"), append(args, *f.AssigneeID)
		}
		if len(f.Status) > 0 {
			where, args = append(where, "t.status IN ("+placeholders(len(f.Status))+")"), append(args, anySlice(f.Status)...)
		}
		if f.Live {
			where = append(where, "(i.status IN ('triage', 'confirmed', 'contained', 'recovered') OR t.follow_up)")
		}
		if f.Overdue {
			where = append(where, "t.status IN ('open', 'in_progress') AND t.due_at IS NOT NULL AND t.due_at < ?")
			args = append(args, tx.now)
		}
		w := joinAnd(where)
		if err := tx.queryRow(`SELECT count(*) FROM tasks t JOIN incidents i ON i.id = t.incident_id WHERE `+w, args...).Scan(&n); err != nil {
			return err
		}
		if f.IncidentID != nil {
			tasks, err = queryAll(tx, scanTask, `SELECT `+taskColumns+` FROM tasks t JOIN incidents i ON i.id = t.incident_id WHERE `+w+
				` ORDER BY t.incident_id, t.position, t.id LIMIT ? OFFSET ?`, append(args, f.Limit, f.Offset)...)
			return err
		}
		// Across incidents, each task names its incident.
		tasks, err = queryAll(tx, func(r rowScanner) (*vigil.Task, error) {
			var t vigil.Task
			ref := &vigil.IncidentRef{}
			if err := r.Scan(taskDest(&t, &ref.Reference, &ref.Title, &ref.Status)...); err != nil {
				return nil, err
			}
			ref.ID, t.Incident = t.IncidentID, ref
			return &t, nil
		}, `SELECT `+taskColumns+`, i.reference, i.title, i.status FROM tasks t JOIN incidents i ON i.id = t.incident_id WHERE `+w+
			` ORDER BY t.due_at IS NULL, t.due_at, t.id LIMIT ? OFFSET ?`, append(args, f.Limit, f.Offset)...)
		return err
	})
	return tasks, n, err
}

// CreateTask appends a task to its incident.
func (s *TaskService) CreateTask(ctx context.Context, t *vigil.Task) (err error) {
	defer s.db.op("task.create")(&err)
	return s.db.write(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermIncidentEdit); err != nil {
			return err
		}
		if err := t.Validate(); err != nil {
			return err
		}
		inc, err := tx.findIncidentByID(t.IncidentID)
		if err != nil {
			return err
		}
		if t.AssigneeID != nil {
			if err := tx.requireOrgUser("assignee_id", *t.AssigneeID, inc.OrganisationID); err != nil {
				return err
			}
		}
		if t.DueAt != nil {
			d := vigil.TruncateTime(*t.DueAt)
			t.DueAt = &d
		}
		t.PlanID, t.StepKey, t.FollowUp = nil, "", false // only plans, reviews and closing set these
		if err := tx.insertTask(t); err != nil {
			return err
		}
		if _, err := tx.addTimeline(inc.ID, vigil.KindTask, tx.now, fmt.Sprintf("Task added: %s", t.Title), nil); err != nil {
			return err
		}
		if err := tx.touchIncident(inc.ID); err != nil {
			return err
		}
		tx.audit("task.create", "task", t.ID, nil, t)
		return tx.emitTaskAssigned(t, nil)
	})
}

// insertTask appends t to its incident's tasks.
func (tx *Tx) insertTask(t *vigil.Task) error {
	if err := tx.queryRow(`SELECT coalesce(max(position), 0) + 1 FROM tasks WHERE incident_id = ?`, t.IncidentID).Scan(&t.Position); err != nil {
		return err
	}
	if t.Status == vigil.TaskDone || t.Status == vigil.TaskCancelled {
		t.CompletedAt = &tx.now
	}
	t.CreatedBy, t.CreatedAt, t.UpdatedAt, t.Version = tx.actorID(), tx.now, tx.now, 1
	var err error
	t.ID, err = tx.insert(`INSERT INTO tasks (incident_id, title, description, phase, status, assignee_id, due_at, position,
		completed_at, plan_id, step_key, created_by, created_at, updated_at, version, follow_up) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.IncidentID, t.Title, t.Description, t.Phase, t.Status, t.AssigneeID, t.DueAt, t.Position, t.CompletedAt,
		t.PlanID, t.StepKey, t.CreatedBy, t.CreatedAt, t.UpdatedAt, t.Version, t.FollowUp)
	if err != nil {
		return fmt.Errorf("insert task: %w", err)
	}
	return nil
}

// UpdateTask changes a task under optimistic concurrency.
func (s *TaskService) UpdateTask(ctx context.Context, id int64, upd vigil.TaskUpdate) (out *vigil.Task, err error) {
	defer s.db.op("task.update")(&err)
	out, err = writeV(ctx, s.db, func(tx *Tx) (*vigil.Task, error) {
		var out *vigil.Task
		if err := tx.require(vigil.PermIncidentEdit); err != nil {
			return out, err
		}
		t, err := tx.findTask(id)
		if err != nil {
			return out, err
		}
		if upd.Version != t.Version {
			return out, vigil.Errorf(vigil.ECONFLICT, "Someone else changed this task since you loaded it (now version %d). Reload and try again.", t.Version)
		}
		before := *t
		changes, err := t.Apply(upd, tx.now)
		if err != nil {
			return out, err
		}
		if len(changes) == 0 {
			out = t
			return out, nil
		}
		if upd.AssigneeID.Valid {
			var org int64
			if err := tx.queryRow(`SELECT organisation_id FROM incidents WHERE id = ?`, t.IncidentID).Scan(&org); err != nil {
				return out, fmt.Errorf("task's incident: %w", err)
			}
			if err := tx.requireOrgUser("assignee_id", upd.AssigneeID.V, org); err != nil {
				return out, err
			}
		}
		res, err := tx.exec(`UPDATE tasks SET title = ?, description = ?, phase = ?, status = ?, assignee_id = ?, due_at = ?,
			completed_at = ?, updated_at = ?, version = version + 1 WHERE id = ? AND version = ?`,
			t.Title, t.Description, t.Phase, t.Status, t.AssigneeID, t.DueAt, t.CompletedAt, tx.now, t.ID, t.Version)
		if err != nil {
			return out, fmt.Errorf("update task: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return out, vigil.Errorf(vigil.ECONFLICT, "Someone else changed this task since you loaded it. Reload and try again.")
		}
		t.Version++
		t.UpdatedAt = tx.now
		msg := fmt.Sprintf("Task %q: %s", t.Title, describeChanges(changes))
		if upd.Status != nil && *upd.Status != before.Status {
			msg = fmt.Sprintf("Task %q is now %s.", t.Title, t.Status)
		}
		if _, err := tx.addTimeline(t.IncidentID, vigil.KindTask, tx.now, msg, changes); err != nil {
			return out, err
		}
		if err := tx.touchIncident(t.IncidentID); err != nil {
			return out, err
		}
		tx.audit("task.update", "task", t.ID, &before, t)
		out = t
		return out, tx.emitTaskAssigned(t, before.AssigneeID)
	})
	return out, err
}

// ReorderTasks sets the order of an incident's tasks.
func (s *TaskService) ReorderTasks(ctx context.Context, incidentID int64, ids []int64) (_ []*vigil.Task, err error) {
	defer s.db.op("task.reorder")(&err)
	return writeV(ctx, s.db, func(tx *Tx) ([]*vigil.Task, error) {
		if err := tx.require(vigil.PermIncidentEdit); err != nil {
			return nil, err
		}
		if _, err := tx.findIncidentByID(incidentID); err != nil {
			return nil, err
		}
		current, err := queryAll(tx, scanInt64, `SELECT id FROM tasks WHERE incident_id = ?`, incidentID)
		if err != nil {
			return nil, err
		}
		have := map[int64]bool{}
		for _, id := range current {
			have[id] = true
		}
		seen := map[int64]bool{}
		for _, id := range ids {
			if !have[id] || seen[id] {
				return nil, vigil.Invalid("ids", "List each of the incident's tasks exactly once.")
			}
			seen[id] = true
		}
		if len(seen) != len(have) {
			return nil, vigil.Invalid("ids", "List each of the incident's tasks exactly once.")
		}
		for i, id := range ids {
			if _, err := tx.exec(`UPDATE tasks SET position = ?, updated_at = ?, version = version + 1 WHERE id = ? AND position <> ?`, i+1, tx.now, id, i+1); err != nil {
				return nil, err
			}
		}
		if err := tx.touchIncident(incidentID); err != nil {
			return nil, err
		}
		tx.audit("task.reorder", "incident", incidentID, nil, ids)
		return queryAll(tx, scanTask, `SELECT `+taskColumns+` FROM tasks t WHERE t.incident_id = ? ORDER BY t.position, t.id`, incidentID)
	})
}
