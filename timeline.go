package vigil

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// TimelineKind says what a timeline entry records.
type TimelineKind string

// The timeline kinds. Every change to an incident writes one automatically;
// notes are written by hand.
const (
	KindCreated      TimelineKind = "created"
	KindStatus       TimelineKind = "status"
	KindUpdate       TimelineKind = "update"
	KindNote         TimelineKind = "note"
	KindTask         TimelineKind = "task"
	KindObservable   TimelineKind = "observable"
	KindLink         TimelineKind = "link"
	KindMember       TimelineKind = "member"
	KindComment      TimelineKind = "comment"
	KindAlert        TimelineKind = "alert"        // alerts that fed the incident
	KindDuty         TimelineKind = "duty"         // reporting duties: arising, withdrawn, submitted
	KindNotification TimelineKind = "notification" // a notification sent about the incident
	KindSharing      TimelineKind = "sharing"      // indicators shared with partners
	KindIntel        TimelineKind = "intel"        // observables matched indicators received from partners or feeds
	KindEvidence     TimelineKind = "evidence"     // evidence added, transferred, exported, held, deleted, failing verification
	KindReview       TimelineKind = "review"       // the post-incident review: started, actions, closed
	KindExercise     TimelineKind = "exercise"     // an exercise: started, injects released, ended
)

// TimelineKinds lists every kind.
var TimelineKinds = []TimelineKind{KindCreated, KindStatus, KindUpdate, KindNote, KindTask, KindObservable, KindLink, KindMember, KindComment, KindAlert, KindDuty, KindNotification, KindSharing, KindIntel, KindEvidence, KindReview, KindExercise}

// TimelineEntry is what happened when, and who recorded it. At is when it
// happened (a note may record an earlier event); CreatedAt is when it was
// written. Entries are never changed or deleted.
type TimelineEntry struct {
	ID         int64        `json:"id"`
	IncidentID int64        `json:"incident_id"`
	Kind       TimelineKind `json:"kind"`
	At         time.Time    `json:"at"`
	ActorID    *int64       `json:"actor_id"`
	ActorName  string       `json:"actor_name"`
	Message    string       `json:"message"`
	Changes    []Change     `json:"changes,omitempty"`
	CreatedAt  time.Time    `json:"created_at"`
}

// MaxNoteLen bounds a note.
const MaxNoteLen = 20000

// Note is a hand-written timeline entry.
type Note struct {
	Message string     `json:"message"`
	At      *time.Time `json:"at,omitempty"` // when the noted event happened; default now
}

// Validate checks the note against now: notes may record the past, not the future.
func (n *Note) Validate(now time.Time) error {
	var p Problems
	n.Message = strings.TrimSpace(n.Message)
	switch {
	case n.Message == "":
		p.Add("message", "Write something in the note.")
	case utf8.RuneCountInString(n.Message) > MaxNoteLen || !utf8.ValidString(n.Message):
		p.Add("message", "A note must be valid text of at most %d characters.", MaxNoteLen)
	}
	if n.At != nil && n.At.After(now.Add(5*time.Minute)) {
		p.Add("at", "A note cannot record an event in the future.")
	}
	return p.Err()
}

// TimelineFilter selects timeline entries of one incident.
type TimelineFilter struct {
	Kinds  []TimelineKind
	Asc    bool   // oldest first; default newest first
	Cursor string // from a previous page
	Limit  int
}

// TimelinePage is one page of a timeline.
type TimelinePage struct {
	Items      []*TimelineEntry `json:"items"`
	NextCursor string           `json:"next_cursor,omitempty"`
}

// TimelineService reads timelines and adds notes.
type TimelineService interface {
	// FindTimeline returns entries ordered by At, then ID.
	FindTimeline(ctx context.Context, incidentID int64, f TimelineFilter) (*TimelinePage, error)
	// AddNote writes a note. EINVALID, EFORBIDDEN, ENOTFOUND.
	AddNote(ctx context.Context, incidentID int64, n Note) (*TimelineEntry, error)
}
