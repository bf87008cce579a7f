package vigil

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Review is an incident's post-incident review: the timeline as the team
// reconstructs it, the root cause, what contributed, what went well and
// what to improve, and action items tracked to done. The NCSC asks that
// lessons learned change the plans: an action may propose a change to a
// response plan, and records the plan version that adopted it.
type Review struct {
	IncidentID   int64         `json:"incident_id"`
	Status       ReviewStatus  `json:"status"`
	Timeline     []ReviewEvent `json:"timeline"`
	RootCause    string        `json:"root_cause"`
	Contributing string        `json:"contributing"` // contributing factors
	WentWell     string        `json:"went_well"`
	ToImprove    string        `json:"to_improve"`
	Actions      []*Action     `json:"actions"`
	CreatedBy    *int64        `json:"created_by"`
	CreatedAt    time.Time     `json:"created_at"`
	UpdatedAt    time.Time     `json:"updated_at"`
	ClosedAt     *time.Time    `json:"closed_at"`
	ClosedBy     string        `json:"closed_by"`
	Version      int           `json:"version"`
}

// ReviewStatus is open while the review is worked, closed when done.
type ReviewStatus string

// The review statuses.
const (
	ReviewOpen   ReviewStatus = "open"
	ReviewClosed ReviewStatus = "closed"
)

// ReviewEvent is one line of a reconstructed timeline.
type ReviewEvent struct {
	At   time.Time `json:"at"`
	What string    `json:"what"`
}

// Action is a review's action item. It is kept as a task on the incident
// (phase learn), so it has an owner, a due date, a status and the task
// reminders; the review adds the plan change it proposes, if any.
type Action struct {
	Task           *Task  `json:"task"`
	PlanID         *int64 `json:"plan_id"`         // the plan to change
	PlanTitle      string `json:"plan_title"`      // its title
	PlanChange     string `json:"plan_change"`     // what to change in it
	AdoptedVersion int    `json:"adopted_version"` // the plan version that made the change; 0 until then
}

// Open reports whether the action still needs doing.
func (a *Action) Open() bool { return a.Task.Status == TaskOpen || a.Task.Status == TaskInProgress }

// ReviewRequired reports whether an incident must have a closed review
// before it is marked reviewed: severity high or above, or significant.
func ReviewRequired(inc *Incident) bool {
	return inc.Significant || inc.Severity == SeverityHigh || inc.Severity == SeverityCritical
}

// Limits on a review.
const (
	MaxReviewText   = 20000
	MaxReviewEvents = 500
)

// ReviewUpdate changes a review; nil fields stay as they are.
type ReviewUpdate struct {
	Timeline     *[]ReviewEvent `json:"timeline,omitempty"`
	RootCause    *string        `json:"root_cause,omitempty"`
	Contributing *string        `json:"contributing,omitempty"`
	WentWell     *string        `json:"went_well,omitempty"`
	ToImprove    *string        `json:"to_improve,omitempty"`
	Version      int            `json:"version"`
}

// Apply makes the update on r, checking it.
func (r *Review) Apply(u ReviewUpdate) error {
	var p Problems
	for _, f := range []struct {
		name string
		in   *string
		out  *string
	}{{"root_cause", u.RootCause, &r.RootCause}, {"contributing", u.Contributing, &r.Contributing},
		{"went_well", u.WentWell, &r.WentWell}, {"to_improve", u.ToImprove, &r.ToImprove}} {
		if f.in == nil {
			continue
		}
		v := strings.TrimSpace(*f.in)
		if utf8.RuneCountInString(v) > MaxReviewText || !utf8.ValidString(v) {
			p.Add(f.name, "At most %d characters of text.", MaxReviewText)
			continue
		}
		*f.out = v
	}
	if u.Timeline != nil {
		tl := *u.Timeline
		if len(tl) > MaxReviewEvents {
			p.Add("timeline", "At most %d events.", MaxReviewEvents)
		}
		for i := range tl {
			tl[i].What = strings.TrimSpace(tl[i].What)
			if tl[i].At.IsZero() {
				p.Add(fmt.Sprintf("timeline[%d].at", i), "Give each event a time.")
			}
			if tl[i].What == "" || utf8.RuneCountInString(tl[i].What) > 2000 {
				p.Add(fmt.Sprintf("timeline[%d].what", i), "Say what happened, in at most 2,000 characters.")
			}
			tl[i].At = TruncateTime(tl[i].At)
		}
		r.Timeline = tl
	}
	return p.Err()
}

// CanClose says why a review cannot be closed yet, or nil: it needs a root
// cause, and every action done, cancelled, or tracked to done on its own:
// with an owner and a due date, a long-term action stays open after the
// review closes, as a follow-up action on its owner's "My tasks" and the
// dashboard, as real reviews do.
func (r *Review) CanClose() error {
	var p Problems
	if r.RootCause == "" {
		p.Add("root_cause", "Record the root cause (or what is known of it) before closing the review.")
	}
	var untracked []string
	for _, a := range r.Actions {
		if a.Open() && (a.Task.AssigneeID == nil || a.Task.DueAt == nil) {
			untracked = append(untracked, fmt.Sprintf("%q", a.Task.Title))
		}
	}
	if n := len(untracked); n > 0 {
		p.Add("actions", "%s open without an owner and a due date (%s): give each an owner and a due date to track it after the review closes, or finish or cancel it.",
			Plural(n, "action item is", "action items are"), strings.Join(untracked, ", "))
	}
	return p.Err()
}

// SeedReviewTimeline builds the first draft of a review's timeline from
// the incident's key times and its timeline entries of the kinds that tell
// the story (status changes, notes, duties, evidence), oldest first.
func SeedReviewTimeline(inc *Incident, entries []*TimelineEntry) []ReviewEvent {
	var out []ReviewEvent
	add := func(t *time.Time, what string) {
		if t != nil {
			out = append(out, ReviewEvent{At: *t, What: what})
		}
	}
	add(inc.Times.OccurredAt, "The incident began (occurred).")
	add(inc.Times.DetectedAt, "Detected.")
	add(inc.Times.ReportedAt, "Reported.")
	add(inc.Times.AwareAt, "The organisation became aware.")
	for _, e := range entries {
		switch e.Kind {
		case KindStatus, KindNote, KindDuty, KindEvidence:
			what := e.Message
			if r := []rune(what); len(r) > 2000 {
				what = string(r[:1999]) + "…" // notes may be longer than a review's events
			}
			out = append(out, ReviewEvent{At: e.At, What: what})
		}
	}
	add(inc.Times.ContainedAt, "Contained.")
	add(inc.Times.RecoveredAt, "Recovered.")
	// Oldest first, stable for equal times.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].At.Before(out[j-1].At); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	if len(out) > MaxReviewEvents {
		out = out[:MaxReviewEvents]
	}
	return out
}

// ActionInput adds an action item to a review.
type ActionInput struct {
	Title       string     `json:"title"`
	Description string     `json:"description"`
	AssigneeID  *int64     `json:"assignee_id"`
	DueAt       *time.Time `json:"due_at"`
	PlanID      *int64     `json:"plan_id"`     // a plan this action changes
	PlanChange  string     `json:"plan_change"` // what to change in it
}

// ReviewService keeps post-incident reviews. Whoever may edit an incident
// works its review; managers and admins close it (and mark the incident
// reviewed).
type ReviewService interface {
	// StartReview opens the review of a recovered or closed incident,
	// with a timeline drafted from the incident's; once only.
	StartReview(ctx context.Context, incidentID int64) (*Review, error)
	FindReview(ctx context.Context, incidentID int64) (*Review, error)
	UpdateReview(ctx context.Context, incidentID int64, u ReviewUpdate) (*Review, error)
	AddAction(ctx context.Context, incidentID int64, in ActionInput) (*Action, error)
	// CloseReview closes the review: refused while actions are open.
	CloseReview(ctx context.Context, incidentID int64, version int) (*Review, error)
	// FindOpenActions lists open review actions across incidents the actor
	// may see, soonest due first (for the preparedness page).
	FindOpenActions(ctx context.Context) ([]*Action, error)
	// FindPlanActions lists the review actions that propose changes to a
	// plan, adopted or not.
	FindPlanActions(ctx context.Context, planID int64) ([]*Action, error)
}
