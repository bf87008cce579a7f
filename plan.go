package vigil

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// PlanDefinition is what a response plan says: which incidents it is for,
// and the steps of each phase, with the incident role that owns each step,
// checklists, guidance and the contacts to call. Plans are written as text
// (package plan reads and writes the format).
type PlanDefinition struct {
	Key        string         `json:"key"` // stable name, such as "phishing"
	Title      string         `json:"title"`
	Types      []IncidentType `json:"types"`      // the incident types it is for
	Severities []Severity     `json:"severities"` // and the severities; empty means any
	Summary    string         `json:"summary"`
	Contacts   []ContactRole  `json:"contacts"` // whom to call
	Guidance   []PlanLink     `json:"guidance"`
	Phases     []PlanPhase    `json:"phases"`
}

// PlanPhase is the steps of one phase of a response.
type PlanPhase struct {
	Phase Phase      `json:"phase"`
	Steps []PlanStep `json:"steps"`
}

// PlanStep is one step of a plan; applied to an incident it becomes a task.
type PlanStep struct {
	Key       string       `json:"key"` // stable within the plan, so a newer version is matched step by step
	Title     string       `json:"title"`
	Detail    string       `json:"detail"`
	Role      IncidentRole `json:"role"` // who owns it: the incident role (the lead unless the plan says)
	Checklist []string     `json:"checklist"`
	Links     []PlanLink   `json:"links"`
}

// PlanLink is a link to guidance.
type PlanLink struct {
	Title string `json:"title"`
	URL   string `json:"url"`
}

// Steps returns every step with its phase, in order.
func (d *PlanDefinition) Steps() []PhaseStep {
	var out []PhaseStep
	for _, ph := range d.Phases {
		for _, s := range ph.Steps {
			out = append(out, PhaseStep{Phase: ph.Phase, PlanStep: s})
		}
	}
	return out
}

// PhaseStep is a step with its phase.
type PhaseStep struct {
	Phase Phase `json:"phase"`
	PlanStep
}

// Fits reports whether the plan is for an incident of this type and severity.
func (d *PlanDefinition) Fits(t IncidentType, s Severity) bool {
	return inEnum(t, d.Types) && (len(d.Severities) == 0 || inEnum(s, d.Severities))
}

// SuggestPlans picks the plans written for an incident's type and severity.
func SuggestPlans(plans []*Plan, inc *Incident) []*Plan {
	out := []*Plan{}
	for _, p := range plans {
		if p.Definition.Fits(inc.Type, inc.Severity) {
			out = append(out, p)
		}
	}
	return out
}

// TaskDescription is the description of the task a step becomes: its
// detail, checklist and links as plain text.
func (s *PlanStep) TaskDescription() string {
	var b strings.Builder
	b.WriteString(s.Detail)
	for _, c := range s.Checklist {
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString("- [ ] " + c)
	}
	for _, l := range s.Links {
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%s: %s", l.Title, l.URL)
	}
	return b.String()
}

// Plan is a response plan as it stands: its current version, who owns it,
// which version was approved and when it is next due for review.
type Plan struct {
	ID              int64           `json:"id"`
	Key             string          `json:"key"`
	Title           string          `json:"title"`
	Version         int             `json:"version"` // the plan's version, from 1; each saved change adds one
	Source          string          `json:"source"`  // the text it was written as
	Definition      *PlanDefinition `json:"definition"`
	OwnerID         *int64          `json:"owner_id"`
	OwnerName       string          `json:"owner_name"`
	ApprovedVersion int             `json:"approved_version"` // 0: never approved
	ApprovedBy      *int64          `json:"approved_by"`
	ApprovedByName  string          `json:"approved_by_name"`
	ApprovedAt      *time.Time      `json:"approved_at"`
	ReviewDue       time.Time       `json:"review_due"`
	BuiltIn         bool            `json:"built_in"` // from Vigil's starter set
	CreatedAt       time.Time       `json:"created_at"`
	UpdatedAt       time.Time       `json:"updated_at"`
}

// Approved reports whether the current version is the approved one.
func (p *Plan) Approved() bool { return p.ApprovedVersion == p.Version }

// ReviewOverdue reports whether the plan's review is past due.
func (p *Plan) ReviewOverdue(now time.Time) bool { return now.After(p.ReviewDue) }

// PlanReviewInterval is how long a plan stays current after its approval.
const PlanReviewInterval = 365 * 24 * time.Hour

// PlanVersion is one saved version of a plan: its change history.
type PlanVersion struct {
	PlanID        int64     `json:"plan_id"`
	Version       int       `json:"version"`
	Source        string    `json:"source"`
	Note          string    `json:"note"` // what changed and why
	CreatedBy     *int64    `json:"created_by"`
	CreatedByName string    `json:"created_by_name"`
	CreatedAt     time.Time `json:"created_at"`
}

// PlanInput creates or changes a plan.
type PlanInput struct {
	Source string `json:"source"` // the plan's text
	Note   string `json:"note"`   // what changed and why
	// Version is the version being changed (updates only).
	Version int `json:"version"`
	// Adopts names review actions (by task ID) whose proposed change this
	// version makes: they are marked done, adopted by this version.
	Adopts []int64 `json:"adopts,omitempty"`
}

// PlanMeta are a plan's owner and review date.
type PlanMeta struct {
	OwnerID   *int64     `json:"owner_id"`
	ReviewDue *time.Time `json:"review_due"`
}

// PlanApplication is what applying a plan to an incident does, or did:
// the tasks it adds, the open tasks whose step changed since the version
// applied before (brought up to date), and the tasks whose step the plan
// no longer has (left as they are).
type PlanApplication struct {
	PlanID    int64         `json:"plan_id"`
	PlanTitle string        `json:"plan_title"`
	Version   int           `json:"version"`
	Previous  int           `json:"previous"` // the version applied before; 0 if none
	Added     []PhaseStep   `json:"added"`
	Changed   []*StepChange `json:"changed"`
	Removed   []*Task       `json:"removed"`
	Unchanged int           `json:"unchanged"`
	Applied   bool          `json:"applied"` // false for a preview
	TaskIDs   []int64       `json:"task_ids"`
}

// AppliedPlan is a plan applied to an incident, at which version.
type AppliedPlan struct {
	PlanID    int64     `json:"plan_id"`
	Title     string    `json:"title"`
	Version   int       `json:"version"` // applied
	Current   int       `json:"current"` // the plan's version now
	AppliedAt time.Time `json:"applied_at"`
}

// Outdated reports whether the plan has changed since it was applied.
func (a *AppliedPlan) Outdated() bool { return a.Current > a.Version }

// StepChange is a task whose plan step changed.
type StepChange struct {
	Task *Task     `json:"task"`
	Step PhaseStep `json:"step"`
	// Done tasks are not changed; the difference is shown only.
	Updated bool `json:"updated"`
}

// DiffPlan works out what applying version d of a plan does to an
// incident's tasks from an earlier application (tasks carry their step
// key), prev being the version applied then (nil if none): steps without a
// task are added; steps whose text changed between prev and d change their
// task (open tasks are brought up to date, finished ones left as they are);
// tasks whose step d no longer has are removed from the plan (left as they
// are). A task people edited is not touched unless its step changed. The
// rule is in one place so the preview and the apply agree.
func DiffPlan(prev, d *PlanDefinition, tasks []*Task) (added []PhaseStep, changed []*StepChange, removed []*Task, unchanged int) {
	added, changed, removed = []PhaseStep{}, []*StepChange{}, []*Task{}
	byKey := map[string]*Task{}
	for _, t := range tasks {
		byKey[t.StepKey] = t
	}
	before := map[string]PhaseStep{}
	if prev != nil {
		for _, s := range prev.Steps() {
			before[s.Key] = s
		}
	}
	seen := map[string]bool{}
	for _, s := range d.Steps() {
		seen[s.Key] = true
		t, ok := byKey[s.Key]
		if !ok {
			added = append(added, s)
			continue
		}
		old, had := before[s.Key]
		if had && (old.Title != s.Title || old.TaskDescription() != s.TaskDescription() || old.Phase != s.Phase) {
			changed = append(changed, &StepChange{Task: t, Step: s, Updated: t.Status == TaskOpen || t.Status == TaskInProgress})
		} else {
			unchanged++
		}
	}
	for _, t := range tasks {
		if !seen[t.StepKey] {
			removed = append(removed, t)
		}
	}
	return added, changed, removed, unchanged
}

// PlanService keeps response plans and applies them to incidents. Those who
// may read incidents (reporters aside) read plans; managers and admins
// write, own and approve them; whoever may edit an incident applies one.
type PlanService interface {
	CreatePlan(ctx context.Context, in PlanInput) (*Plan, error)
	UpdatePlan(ctx context.Context, id int64, in PlanInput) (*Plan, error)
	SetPlanMeta(ctx context.Context, id int64, m PlanMeta) (*Plan, error)
	ApprovePlan(ctx context.Context, id int64, version int) (*Plan, error)
	FindPlans(ctx context.Context) ([]*Plan, error)
	FindPlanByID(ctx context.Context, id int64) (*Plan, error)
	FindPlanVersions(ctx context.Context, id int64) ([]*PlanVersion, error)
	// InstallStarterPlans adds Vigil's starter plans whose keys are not
	// taken, unapproved and owned by nobody, and returns how many.
	InstallStarterPlans(ctx context.Context) (int, error)
	// ReviseStarterPlans brings the starter plans an earlier Vigil
	// installed up to date where their lines still read exactly as it
	// shipped them (plan.Revise): each plan that changes gets a new
	// version, saved by the caller with a note of why, and its approval
	// stays with the version that was approved. Plans of the
	// organisation's own, and lines someone edited, are left alone. It
	// returns how many plans changed.
	ReviseStarterPlans(ctx context.Context) (int, error)
	// ApplyPlan adds the plan's tasks to the incident, or with preview
	// only says what it would do.
	ApplyPlan(ctx context.Context, incidentID, planID int64, preview bool) (*PlanApplication, error)
	// FindAppliedPlans lists the plans applied to an incident.
	FindAppliedPlans(ctx context.Context, incidentID int64) ([]*AppliedPlan, error)
}
