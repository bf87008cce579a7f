package vigil

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// TaskStatus is where a task is.
type TaskStatus string

// The task statuses.
const (
	TaskOpen       TaskStatus = "open"
	TaskInProgress TaskStatus = "in_progress"
	TaskDone       TaskStatus = "done"
	TaskCancelled  TaskStatus = "cancelled"
)

// TaskStatuses lists every task status.
var TaskStatuses = []TaskStatus{TaskOpen, TaskInProgress, TaskDone, TaskCancelled}

// Phase is the response phase a task belongs to.
type Phase string

// The response phases, after NIST SP 800-61 and the NCSC guidance.
const (
	PhasePrepare   Phase = "prepare"
	PhaseDetect    Phase = "detect"
	PhaseContain   Phase = "contain"
	PhaseEradicate Phase = "eradicate"
	PhaseRecover   Phase = "recover"
	PhaseLearn     Phase = "learn"
)

// Phases lists the phases in order.
var Phases = []Phase{PhasePrepare, PhaseDetect, PhaseContain, PhaseEradicate, PhaseRecover, PhaseLearn}

// Task is a piece of work on an incident, from a response plan or by hand.
type Task struct {
	ID          int64      `json:"id"`
	IncidentID  int64      `json:"incident_id"`
	Title       string     `json:"title"`
	Description string     `json:"description"`
	Phase       Phase      `json:"phase"`
	Status      TaskStatus `json:"status"`
	AssigneeID  *int64     `json:"assignee_id"`
	DueAt       *time.Time `json:"due_at"`
	Position    int        `json:"position"` // order within the incident, from 1
	// FollowUp marks a follow-up action: tracked to done on its own (its
	// owner, due time, "My tasks") after the incident closes, as a
	// review's action items are and open tasks carried over at closing.
	FollowUp    bool       `json:"follow_up"`
	CompletedAt *time.Time `json:"completed_at"`
	// PlanID and StepKey name the response plan step the task came from.
	PlanID    *int64    `json:"plan_id"`
	StepKey   string    `json:"step_key"`
	CreatedBy *int64    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Version   int       `json:"version"`
	// Incident names the incident, in lists across incidents.
	Incident *IncidentRef `json:"incident,omitempty"`
}

// Task limits.
const (
	MaxTaskTitleLen = 300
	MaxTaskDescLen  = 10000
)

// Validate checks the task's fields.
func (t *Task) Validate() error {
	var p Problems
	t.Title = strings.TrimSpace(t.Title)
	t.Description = strings.TrimSpace(t.Description)
	if t.Status == "" {
		t.Status = TaskOpen
	}
	switch n := utf8.RuneCountInString(t.Title); {
	case n == 0:
		p.Add("title", "Title is required.")
	case n > MaxTaskTitleLen || !utf8.ValidString(t.Title) || !PlainText(t.Title, false):
		p.Add("title", "Title must be valid text of at most %d characters.", MaxTaskTitleLen)
	}
	if utf8.RuneCountInString(t.Description) > MaxTaskDescLen || !utf8.ValidString(t.Description) {
		p.Add("description", "Description must be valid text of at most %d characters.", MaxTaskDescLen)
	}
	if t.Phase != "" && !inEnum(t.Phase, Phases) {
		p.Add("phase", "Unknown phase %q.", t.Phase)
	}
	if !inEnum(t.Status, TaskStatuses) {
		p.Add("status", "Unknown task status %q.", t.Status)
	}
	return p.Err()
}

// TaskUpdate changes a task. Nil fields are left alone.
type TaskUpdate struct {
	Title       *string             `json:"title,omitempty"`
	Description *string             `json:"description,omitempty"`
	Phase       *Phase              `json:"phase,omitempty"`
	Status      *TaskStatus         `json:"status,omitempty"`
	AssigneeID  Nullable[int64]     `json:"assignee_id,omitzero"`
	DueAt       Nullable[time.Time] `json:"due_at,omitzero"`
	Version     int                 `json:"version"`
}

// Apply applies upd to t at now and returns the changes.
func (t *Task) Apply(upd TaskUpdate, now time.Time) ([]Change, error) {
	var changes []Change
	if upd.Title != nil && strings.TrimSpace(*upd.Title) != t.Title {
		changes = append(changes, Change{"title", t.Title, strings.TrimSpace(*upd.Title)})
		t.Title = *upd.Title
	}
	if upd.Description != nil && strings.TrimSpace(*upd.Description) != t.Description {
		changes = append(changes, Change{"description", t.Description, strings.TrimSpace(*upd.Description)})
		t.Description = *upd.Description
	}
	if upd.Phase != nil && *upd.Phase != t.Phase {
		changes = append(changes, Change{"phase", t.Phase, *upd.Phase})
		t.Phase = *upd.Phase
	}
	if upd.Status != nil && *upd.Status != t.Status {
		changes = append(changes, Change{"status", t.Status, *upd.Status})
		t.Status = *upd.Status
		if t.Status == TaskDone || t.Status == TaskCancelled {
			c := TruncateTime(now)
			t.CompletedAt = &c
		} else {
			t.CompletedAt = nil
		}
	}
	if upd.AssigneeID.Set && !equalPtr(t.AssigneeID, upd.AssigneeID.Value()) {
		changes = append(changes, Change{"assignee_id", t.AssigneeID, upd.AssigneeID.Value()})
		t.AssigneeID = upd.AssigneeID.Value()
	}
	if upd.DueAt.Set {
		next := upd.DueAt.Value()
		if next != nil {
			v := TruncateTime(*next)
			next = &v
		}
		if !equalTime(t.DueAt, next) {
			changes = append(changes, Change{"due_at", t.DueAt, next})
			t.DueAt = next
		}
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return changes, nil
}

// Open reports whether the task still needs doing.
func (t *Task) Open() bool { return t.Status == TaskOpen || t.Status == TaskInProgress }

// Overdue reports whether the task is past due at now and not finished.
func (t *Task) Overdue(now time.Time) bool {
	return t.DueAt != nil && t.DueAt.Before(now) && (t.Status == TaskOpen || t.Status == TaskInProgress)
}

// TaskFilter selects tasks.
type TaskFilter struct {
	IncidentID *int64
	AssigneeID *int64
	Status     []TaskStatus
	Overdue    bool // open or in progress and past due
	// Live leaves out the tasks of incidents that are no longer open,
	// but follow-up actions (Task.FollowUp): "My tasks" and the overdue
	// list.
	Live   bool
	Offset int
	Limit  int
}

// TaskService manages tasks. Reads follow the incident's visibility;
// changes need PermIncidentEdit.
type TaskService interface {
	FindTaskByID(ctx context.Context, id int64) (*Task, error)
	// FindTasks returns tasks in incident order (by position) and the total.
	FindTasks(ctx context.Context, f TaskFilter) ([]*Task, int, error)
	// CreateTask appends a task to its incident. EINVALID, EFORBIDDEN, ENOTFOUND.
	CreateTask(ctx context.Context, t *Task) error
	// UpdateTask changes a task. ECONFLICT on a stale version.
	UpdateTask(ctx context.Context, id int64, upd TaskUpdate) (*Task, error)
	// ReorderTasks sets the order of an incident's tasks; ids must name each
	// of its tasks exactly once.
	ReorderTasks(ctx context.Context, incidentID int64, ids []int64) ([]*Task, error)
}
