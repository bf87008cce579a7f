package vigil

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Status is where an incident is in its lifecycle (after the NCSC guidance
// and NIST SP 800-61):
//
//	triage -> confirmed -> contained -> recovered -> closed -> reviewed
//	   \-> not an incident | referred to police | referred to Report Fraud | duplicate
type Status string

// The statuses. Triage outcomes other than "confirmed" route the report out
// of incident handling.
const (
	StatusTriage      Status = "triage"
	StatusConfirmed   Status = "confirmed"
	StatusContained   Status = "contained"
	StatusRecovered   Status = "recovered"
	StatusClosed      Status = "closed"
	StatusReviewed    Status = "reviewed"
	StatusNotIncident Status = "not_incident"
	StatusPolice      Status = "referred_police"
	StatusReportFraud Status = "referred_report_fraud"
	StatusDuplicate   Status = "duplicate"
)

// statusActionFraud is how StatusReportFraud was stored and sent until
// Report Fraud replaced Action Fraud, on 4 December 2025. Migration 00026
// rewrote the stored values; Canonical still takes it from API clients,
// saved views and duty packs written before.
const statusActionFraud Status = "referred_action_fraud"

// Canonical returns s under its current name: referred_action_fraud is
// referred_report_fraud.
func (s Status) Canonical() Status {
	if s == statusActionFraud {
		return StatusReportFraud
	}
	return s
}

// Statuses lists every status in lifecycle order.
var Statuses = []Status{
	StatusTriage, StatusConfirmed, StatusContained, StatusRecovered, StatusClosed, StatusReviewed,
	StatusNotIncident, StatusPolice, StatusReportFraud, StatusDuplicate,
}

// OpenStatuses are the statuses in which an incident still needs work.
var OpenStatuses = []Status{StatusTriage, StatusConfirmed, StatusContained, StatusRecovered}

// Open reports whether the incident still needs work.
func (s Status) Open() bool { return inEnum(s, OpenStatuses) }

// RoutedOut reports whether triage decided this is not an incident for us to handle.
func (s Status) RoutedOut() bool {
	return s == StatusNotIncident || s == StatusPolice || s == StatusReportFraud || s == StatusDuplicate
}

// transitions is the lifecycle: the statuses each status may move to.
// Reopening is allowed from every terminal status, because triage can be
// wrong and incidents recur.
var transitions = map[Status][]Status{
	StatusTriage:      {StatusConfirmed, StatusNotIncident, StatusPolice, StatusReportFraud, StatusDuplicate},
	StatusConfirmed:   {StatusContained, StatusRecovered, StatusNotIncident, StatusDuplicate},
	StatusContained:   {StatusRecovered, StatusConfirmed},
	StatusRecovered:   {StatusClosed, StatusConfirmed},
	StatusClosed:      {StatusReviewed, StatusConfirmed},
	StatusReviewed:    {StatusConfirmed},
	StatusNotIncident: {StatusTriage},
	StatusPolice:      {StatusTriage},
	StatusReportFraud: {StatusTriage},
	StatusDuplicate:   {StatusTriage},
}

// NextStatuses returns the statuses s may move to, in lifecycle order.
func (s Status) NextStatuses() []Status { return append([]Status(nil), transitions[s]...) }

// CanTransition reports whether the lifecycle allows from -> to.
func CanTransition(from, to Status) bool { return inEnum(to, transitions[from]) }

// Transition is a request to move an incident to another status.
type Transition struct {
	To          Status `json:"to"`
	Reason      string `json:"reason,omitempty"`       // why; required for the triage outcomes that route out
	DuplicateOf int64  `json:"duplicate_of,omitempty"` // required for StatusDuplicate: the original incident
	Version     int    `json:"version"`                // the version the decision was based on
	// Closing: what becomes of the open tasks and pending duties, and the
	// reason to close with some left open (see CheckClose).
	Tasks          []TaskCloseOut `json:"tasks,omitempty"`
	Duties         []DutyCloseOut `json:"duties,omitempty"`
	OpenWorkReason string         `json:"open_work_reason,omitempty"`
}

// MaxReasonLen bounds a transition's reason.
const MaxReasonLen = 4000

// Validate checks the transition on its own, before it meets an incident.
func (t *Transition) Validate() error {
	var p Problems
	t.Reason = strings.TrimSpace(t.Reason)
	t.To = t.To.Canonical()
	if !inEnum(t.To, Statuses) {
		p.Add("to", "Unknown status %q.", t.To)
	}
	if utf8.RuneCountInString(t.Reason) > MaxReasonLen {
		p.Add("reason", "Reason must be at most %d characters.", MaxReasonLen)
	}
	if t.To == StatusDuplicate && t.DuplicateOf == 0 {
		p.Add("duplicate_of", "Name the incident this one duplicates.")
	}
	if t.To != StatusDuplicate && t.DuplicateOf != 0 {
		p.Add("duplicate_of", "Only a duplicate names an original incident.")
	}
	if (t.To == StatusNotIncident || t.To == StatusPolice || t.To == StatusReportFraud) && t.Reason == "" {
		p.Add("reason", "Say why this is routed out of incident handling.")
	}
	return p.Err()
}

// ApplyTransition moves inc to t.To at now, setting or clearing the key times
// that the move implies, and returns the changes made. Reopening clears
// ClosedAt; times already set by hand are kept.
func (inc *Incident) ApplyTransition(t Transition, now time.Time) ([]Change, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	if t.To == inc.Status {
		return nil, Invalid("to", "The incident is already %s.", StatusLabel(inc.Status))
	}
	if !CanTransition(inc.Status, t.To) {
		return nil, Invalid("to", "An incident that is %s cannot become %s.", StatusLabel(inc.Status), StatusLabel(t.To))
	}
	if (inc.Status == StatusClosed || inc.Status == StatusReviewed) && t.To == StatusConfirmed && t.Reason == "" {
		return nil, Invalid("reason", "Say why the incident is reopened: it was %s.", StatusLabel(inc.Status))
	}
	if t.To == StatusDuplicate && t.DuplicateOf == inc.ID {
		return nil, Invalid("duplicate_of", "An incident cannot duplicate itself.")
	}
	now = TruncateTime(now)
	changes := []Change{{Field: "status", From: inc.Status, To: t.To}}
	setTime := func(name string, dst **time.Time) {
		if *dst == nil {
			changes = append(changes, Change{Field: "times." + name, From: nil, To: now})
			v := now
			*dst = &v
		}
	}
	switch t.To {
	case StatusConfirmed:
		// The GDPR clock runs from awareness: a reasonable degree of
		// certainty that a breach happened. Confirmation is that moment,
		// unless someone recorded an earlier one.
		setTime("aware_at", &inc.Times.AwareAt)
		if inc.Times.ClosedAt != nil {
			changes = append(changes, Change{Field: "times.closed_at", From: inc.Times.ClosedAt, To: nil})
			inc.Times.ClosedAt = nil
		}
	case StatusContained:
		setTime("contained_at", &inc.Times.ContainedAt)
	case StatusRecovered:
		setTime("contained_at", &inc.Times.ContainedAt)
		setTime("recovered_at", &inc.Times.RecoveredAt)
	case StatusClosed, StatusNotIncident, StatusPolice, StatusReportFraud, StatusDuplicate:
		setTime("closed_at", &inc.Times.ClosedAt)
	case StatusTriage:
		if inc.Times.ClosedAt != nil {
			changes = append(changes, Change{Field: "times.closed_at", From: inc.Times.ClosedAt, To: nil})
			inc.Times.ClosedAt = nil
		}
	}
	if t.To == StatusDuplicate {
		id := t.DuplicateOf
		changes = append(changes, Change{Field: "duplicate_of", From: inc.DuplicateOf, To: id})
		inc.DuplicateOf = &id
	} else if inc.DuplicateOf != nil {
		changes = append(changes, Change{Field: "duplicate_of", From: inc.DuplicateOf, To: nil})
		inc.DuplicateOf = nil
	}
	inc.Status = t.To
	if err := inc.Validate(); err != nil {
		return nil, err
	}
	return changes, nil
}

// StatusLabel is the status in plain words, for messages and pages.
func StatusLabel(s Status) string {
	switch s {
	case StatusTriage:
		return "in triage"
	case StatusConfirmed:
		return "confirmed"
	case StatusContained:
		return "contained"
	case StatusRecovered:
		return "recovered"
	case StatusClosed:
		return "closed"
	case StatusReviewed:
		return "reviewed"
	case StatusNotIncident:
		return "not an incident"
	case StatusPolice:
		return "referred to the police"
	case StatusReportFraud:
		return "referred to Report Fraud"
	case StatusDuplicate:
		return "a duplicate"
	}
	return fmt.Sprintf("%q", string(s))
}

// TriageAdvice is what a person routing a report out needs to know, after
// the NCSC's "Is it an incident?" guidance. Empty for other statuses.
func TriageAdvice(s Status) string {
	switch s {
	case StatusNotIncident:
		return "Unexpected or unusual network issues that are not a security policy breach go to the system administrator or service provider to find the root cause. Tell the reporter, and thank them for reporting."
	case StatusPolice:
		return "Personal attacks such as cyber bullying and threats by e-mail, text or instant message are crimes, not cyber security incidents: report them to the police on 101 (the non-emergency number; 999 if anyone is in immediate danger). In Scotland, contact Police Scotland on 101."
	case StatusReportFraud:
		return "Online fraud, scams, extortion and cyber crime are reported to Report Fraud, the national reporting service for England, Wales and Northern Ireland run by the City of London Police (reportfraud.police.uk, 0300 123 2040); it replaced Action Fraud on 4 December 2025. In Scotland, contact Police Scotland on 101."
	case StatusDuplicate:
		return "Work continues on the original incident; this one is kept and linked to it."
	}
	return ""
}
