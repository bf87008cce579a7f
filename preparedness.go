package vigil

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// RecoveryCheck is one run of the platform's own recovery capability: a
// backup written, or a backup restored into a scratch place and checked.
type RecoveryCheck struct {
	ID     int64     `json:"id"`
	Kind   string    `json:"kind"` // RecoveryBackup or RecoveryRestoreTest
	At     time.Time `json:"at"`
	OK     bool      `json:"ok"`
	File   string    `json:"file"`
	Size   int64     `json:"size"`
	Detail string    `json:"detail"` // what was checked, or what failed
}

// The kinds of recovery check.
const (
	RecoveryBackup      = "backup"
	RecoveryRestoreTest = "restore_test"
)

// RecoveryService records backups and restore tests.
type RecoveryService interface {
	RecordRecoveryCheck(ctx context.Context, c *RecoveryCheck) error
	// LastRecoveryChecks returns the latest check of each kind (absent
	// kinds are missing from the map) and the latest successful one.
	LastRecoveryChecks(ctx context.Context) (last, lastOK map[string]*RecoveryCheck, err error)
}

// Readiness thresholds the preparedness page holds the organisation to.
const (
	BackupMaxAge      = 7 * 24 * time.Hour   // a week without a backup is a finding
	RestoreTestMaxAge = 90 * 24 * time.Hour  // a quarter without a tested restore
	ContactMaxAge     = 180 * 24 * time.Hour // contacts confirmed twice a year
	ExerciseMaxAge    = 365 * 24 * time.Hour // each plan exercised once a year
)

// ReadinessState is how one thing the NCSC's 10 Steps ask for stands.
type ReadinessState string

// The readiness states.
const (
	ReadyOK      ReadinessState = "ok"      // in place and current
	ReadyDue     ReadinessState = "due"     // in place but stale or incomplete
	ReadyMissing ReadinessState = "missing" // not there at all
)

// ReadinessItem is one line of the preparedness page.
type ReadinessItem struct {
	Area   string         `json:"area"` // plans, contacts, exercises, recovery, lessons
	Title  string         `json:"title"`
	State  ReadinessState `json:"state"`
	Detail string         `json:"detail"`
	Link   string         `json:"link,omitempty"`
}

// ReadinessInput is what the assessment reads.
type ReadinessInput struct {
	Plans         []*Plan
	Contacts      []*Contact
	LastBackup    *RecoveryCheck // the latest, successful or not
	LastBackupOK  *RecoveryCheck
	LastRestore   *RecoveryCheck
	LastRestoreOK *RecoveryCheck
	OpenActions   []*Action
	// LastExercise is, by plan ID, when an exercise of it last ended.
	LastExercise map[int64]time.Time
}

// ContactRolesNeeded are the people the 10 Steps expect a plan to name.
var ContactRolesNeeded = []ContactRole{ContactDPO, ContactLegal, ContactCommunications, ContactExecutive, ContactITOperations, ContactCIRSupplier}

// AssessReadiness holds the organisation to what the NCSC's 10 Steps ask
// of incident management: plans for each kind of incident, approved and
// reviewed in the year; each plan exercised in the year; the key people
// named and their details confirmed in the last six months; backups
// taken in the week and a restore tested in the quarter; and the lessons
// of reviews acted on. The rules live here so the page, the API and the
// tests agree.
func AssessReadiness(in ReadinessInput, now time.Time) []ReadinessItem {
	var out []ReadinessItem
	covered := map[IncidentType]bool{}
	for _, p := range in.Plans {
		for _, t := range p.Definition.Types {
			covered[t] = true
		}
		it := ReadinessItem{Area: "plans", Title: p.Title, Link: fmt.Sprintf("/plans/%d", p.ID)}
		switch {
		case p.ApprovedVersion == 0:
			it.State, it.Detail = ReadyDue, "Never approved: adapt it to your organisation and approve it."
		case p.ReviewOverdue(now):
			it.State, it.Detail = ReadyDue, fmt.Sprintf("Review was due %s.", p.ReviewDue.Format("2 Jan 2006"))
		case !p.Approved():
			it.State, it.Detail = ReadyDue, fmt.Sprintf("Version %d awaits approval (version %d is approved).", p.Version, p.ApprovedVersion)
		default:
			it.State, it.Detail = ReadyOK, fmt.Sprintf("Version %d approved; next review %s.", p.ApprovedVersion, p.ReviewDue.Format("2 Jan 2006"))
		}
		out = append(out, it)
		ex := ReadinessItem{Area: "exercises", Title: p.Title, Link: fmt.Sprintf("/plans/%d", p.ID)}
		switch last, ok := in.LastExercise[p.ID]; {
		case !ok:
			ex.State, ex.Detail = ReadyMissing, "Never exercised."
		case now.Sub(last) > ExerciseMaxAge:
			ex.State, ex.Detail = ReadyDue, fmt.Sprintf("Last exercised %s, more than a year ago.", last.Format("2 Jan 2006"))
		default:
			ex.State, ex.Detail = ReadyOK, fmt.Sprintf("Exercised %s.", last.Format("2 Jan 2006"))
		}
		out = append(out, ex)
	}
	var uncovered []string
	for _, t := range IncidentTypes {
		if t != TypeOther && !covered[t] {
			uncovered = append(uncovered, string(t))
		}
	}
	if len(uncovered) > 0 {
		out = append(out, ReadinessItem{Area: "plans", Title: "Incident types without a plan", State: ReadyMissing,
			Detail: strings.ReplaceAll(strings.Join(uncovered, ", "), "_", " "), Link: "/plans"})
	}
	for _, role := range ContactRolesNeeded {
		it := ReadinessItem{Area: "contacts", Title: role.Title(), Link: "/admin/contacts"}
		var best *Contact
		for _, c := range in.Contacts {
			if c.Has(role) && (best == nil || c.VerifiedAt != nil && (best.VerifiedAt == nil || c.VerifiedAt.After(*best.VerifiedAt))) {
				best = c
			}
		}
		switch {
		case best == nil:
			it.State, it.Detail = ReadyMissing, "Nobody named."
		case best.VerifiedAt == nil:
			it.State, it.Detail = ReadyDue, fmt.Sprintf("%s: details never confirmed.", contactName(best))
		case now.Sub(*best.VerifiedAt) > ContactMaxAge:
			it.State, it.Detail = ReadyDue, fmt.Sprintf("%s: last confirmed %s.", contactName(best), best.VerifiedAt.Format("2 Jan 2006"))
		default:
			it.State, it.Detail = ReadyOK, fmt.Sprintf("%s: confirmed %s.", contactName(best), best.VerifiedAt.Format("2 Jan 2006"))
		}
		out = append(out, it)
	}
	out = append(out, recoveryItem("Backup of Vigil", in.LastBackup, in.LastBackupOK, BackupMaxAge, now,
		"No backup recorded: run vigil backup on a schedule."),
		recoveryItem("Tested restore of Vigil", in.LastRestore, in.LastRestoreOK, RestoreTestMaxAge, now,
			"No restore tested: run vigil backup -verify."))
	overdue, open := 0, len(in.OpenActions)
	for _, a := range in.OpenActions {
		if a.Task.DueAt != nil && a.Task.DueAt.Before(now) {
			overdue++
		}
	}
	lessons := ReadinessItem{Area: "lessons", Title: "Review action items", State: ReadyOK, Detail: "None open.", Link: "/preparedness#actions"}
	switch {
	case overdue > 0:
		lessons.State, lessons.Detail = ReadyDue, fmt.Sprintf("%d open, %d past due.", open, overdue)
	case open > 0:
		lessons.Detail = fmt.Sprintf("%d open, none past due.", open)
	}
	return append(out, lessons)
}

func contactName(c *Contact) string {
	if c.Name != "" {
		return c.Name
	}
	return c.Organisation
}

func recoveryItem(title string, last, lastOK *RecoveryCheck, maxAge time.Duration, now time.Time, never string) ReadinessItem {
	it := ReadinessItem{Area: "recovery", Title: title}
	switch {
	case lastOK == nil && last == nil:
		it.State, it.Detail = ReadyMissing, never
	case lastOK == nil:
		it.State, it.Detail = ReadyMissing, fmt.Sprintf("The last attempt failed %s: %s", last.At.Format("2 Jan 2006 15:04"), last.Detail)
	case !last.OK:
		it.State, it.Detail = ReadyDue, fmt.Sprintf("The last attempt failed %s (%s); the last good one was %s.", last.At.Format("2 Jan 2006 15:04"),
			last.Detail, lastOK.At.Format("2 Jan 2006"))
	case now.Sub(lastOK.At) > maxAge:
		it.State, it.Detail = ReadyDue, fmt.Sprintf("Last done %s, too long ago.", lastOK.At.Format("2 Jan 2006"))
	default:
		it.State, it.Detail = ReadyOK, fmt.Sprintf("%s: %s.", lastOK.At.Format("2 Jan 2006 15:04"), lastOK.Detail)
	}
	return it
}
