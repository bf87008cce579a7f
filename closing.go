package vigil

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Closing an incident with work still open. An incident that closes
// leaves nothing behind by accident: each task still open (but follow-up
// actions, tracked on their own) is done, cancelled or carried over as a
// follow-up action, and each pending reporting duty is recorded as sent
// or as not required, with the reason; or the closer records why the
// incident closes with them still open. CheckClose is the rule; the store
// applies what the transition decided in the same transaction.

// CloseAction is what becomes of a piece of open work when its incident
// closes.
type CloseAction string

// The close actions: done, cancel and follow_up for tasks; submitted and
// not_required for duties.
const (
	CloseTaskDone        CloseAction = "done"
	CloseTaskCancel      CloseAction = "cancel"
	CloseTaskFollowUp    CloseAction = "follow_up"
	CloseDutySubmitted   CloseAction = "submitted"
	CloseDutyNotRequired CloseAction = "not_required"
)

// TaskCloseOut says what becomes of an open task as its incident closes.
type TaskCloseOut struct {
	TaskID int64       `json:"task_id"`
	Action CloseAction `json:"action"` // done, cancel or follow_up
}

// DutyCloseOut says what becomes of a pending duty as its incident closes.
type DutyCloseOut struct {
	ObligationID int64       `json:"obligation_id"`
	Action       CloseAction `json:"action"`              // submitted or not_required
	Reference    string      `json:"reference,omitempty"` // submitted: the authority's reference, if any
	// Reason is why the duty is not required, or, for one recorded as
	// submitted after its due time, why it was late.
	Reason string `json:"reason,omitempty"`
}

// OpenWork is what is still open on an incident.
type OpenWork struct {
	Tasks  []*Task       `json:"tasks"`
	Duties []*Obligation `json:"duties"`
}

// Empty reports whether nothing is open.
func (w OpenWork) Empty() bool { return len(w.Tasks) == 0 && len(w.Duties) == 0 }

// String names the open work in words: "14 tasks and 2 reporting duties".
func (w OpenWork) String() string {
	var parts []string
	if n := len(w.Tasks); n > 0 {
		parts = append(parts, Plural(n, "task", "tasks"))
	}
	if n := len(w.Duties); n > 0 {
		parts = append(parts, Plural(n, "reporting duty", "reporting duties"))
	}
	return strings.Join(parts, " and ")
}

// OpenWorkOf picks the open work out of an incident's tasks and duties:
// tasks open or in progress that are not follow-up actions, and pending
// duties.
func OpenWorkOf(tasks []*Task, duties []*Obligation) OpenWork {
	var w OpenWork
	for _, t := range tasks {
		if t.Open() && !t.FollowUp {
			w.Tasks = append(w.Tasks, t)
		}
	}
	for _, o := range duties {
		if o.Status == ObligationPending {
			w.Duties = append(w.Duties, o)
		}
	}
	return w
}

// Plural is n with the word in the singular or plural as n asks: "1 task",
// "14 tasks".
func Plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// CheckClose checks a transition to closed against the incident's open
// work. Each close-out must name open work of the incident once, with an
// action of its kind (a duty not required needs the reason); what the
// close-outs leave open needs the transition's OpenWorkReason. The
// problems are by field: open_work, tasks[i].task_id, tasks[i].action,
// duties[i].obligation_id, duties[i].action, duties[i].reason.
func CheckClose(w OpenWork, t Transition, now time.Time) error {
	var p Problems
	if t.To != StatusClosed {
		if len(t.Tasks) > 0 || len(t.Duties) > 0 || t.OpenWorkReason != "" {
			p.Add("open_work", "Open work is dealt with only when an incident closes.")
		}
		return p.Err()
	}
	tasks := map[int64]*Task{}
	for _, tk := range w.Tasks {
		tasks[tk.ID] = tk
	}
	duties := map[int64]*Obligation{}
	for _, o := range w.Duties {
		duties[o.ID] = o
	}
	left := OpenWork{}
	seen := map[int64]bool{}
	for i, c := range t.Tasks {
		if tasks[c.TaskID] == nil || seen[c.TaskID] {
			p.Add(fmt.Sprintf("tasks[%d].task_id", i), "Task %d is not open on this incident, or is named twice.", c.TaskID)
			continue
		}
		seen[c.TaskID] = true
		switch c.Action {
		case CloseTaskDone, CloseTaskCancel, CloseTaskFollowUp:
		case "":
			seen[c.TaskID] = false // left open
		default:
			p.Add(fmt.Sprintf("tasks[%d].action", i), "Say whether the task is done, cancelled or carried over as a follow-up action.")
		}
	}
	for _, tk := range w.Tasks {
		if !seen[tk.ID] {
			left.Tasks = append(left.Tasks, tk)
		}
	}
	seen = map[int64]bool{}
	for i, c := range t.Duties {
		o := duties[c.ObligationID]
		if o == nil || seen[c.ObligationID] {
			p.Add(fmt.Sprintf("duties[%d].obligation_id", i), "Duty %d is not pending on this incident, or is named twice.", c.ObligationID)
			continue
		}
		seen[c.ObligationID] = true
		reason := strings.TrimSpace(c.Reason)
		if utf8.RuneCountInString(reason) > MaxReasonText || utf8.RuneCountInString(c.Reference) > 200 {
			p.Add(fmt.Sprintf("duties[%d].reason", i), "At most %d characters of reason and 200 of reference.", MaxReasonText)
		}
		switch c.Action {
		case CloseDutySubmitted:
			if o.DueAt != nil && o.DueAt.Before(now) && reason == "" {
				p.Add(fmt.Sprintf("duties[%d].reason", i), "%s was due before now: say why it was sent late (UK GDPR Art. 33(1) asks for the reasons for a delay).", o.Title)
			}
		case CloseDutyNotRequired:
			if reason == "" {
				p.Add(fmt.Sprintf("duties[%d].reason", i), "Say why %s is not required.", o.Title)
			}
		case "":
			seen[c.ObligationID] = false
		default:
			p.Add(fmt.Sprintf("duties[%d].action", i), "Record the duty as sent or as not required.")
		}
	}
	for _, o := range w.Duties {
		if !seen[o.ID] {
			left.Duties = append(left.Duties, o)
		}
	}
	if utf8.RuneCountInString(t.OpenWorkReason) > MaxReasonLen {
		p.Add("open_work_reason", "Reason must be at most %d characters.", MaxReasonLen)
	}
	if !left.Empty() && strings.TrimSpace(t.OpenWorkReason) == "" {
		p.Add("open_work", "Still open: %s. Close each task or carry it over as a follow-up action, record each duty as sent or as not required, or give the reason to close with them open.", left)
	}
	return p.Err()
}
