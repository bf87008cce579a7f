package vigil

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"
)

// AuditEvent records one write: who did what to which object, with the
// object before and after. Events form a hash chain: each Hash covers the
// event and the previous event's Hash, so a changed, inserted or deleted row
// breaks the chain at that point.
type AuditEvent struct {
	Seq        int64           `json:"seq"` // 1, 2, 3, … with no gaps
	At         time.Time       `json:"at"`
	ActorID    *int64          `json:"actor_id"`
	ActorName  string          `json:"actor_name"`
	Action     string          `json:"action"` // "incident.create", "user.disable", …
	ObjectType string          `json:"object_type"`
	ObjectID   string          `json:"object_id"`
	Before     json.RawMessage `json:"before"`
	After      json.RawMessage `json:"after"`
	RequestID  string          `json:"request_id"`
	// Organisation is the slug of the organisation whose incidents the
	// action worked on (the slugs, comma-separated, when it worked on
	// several's); empty for the install's own actions (users, settings,
	// organisations) and for events written before organisations.
	Organisation string `json:"organisation,omitempty"`
	PrevHash     string `json:"prev_hash"`
	Hash         string `json:"hash"`
}

// AuditGenesis is the PrevHash of the first event.
const AuditGenesis = "0000000000000000000000000000000000000000000000000000000000000000"

// ComputeHash returns the SHA-256, in hex, of the event's fields and
// PrevHash. Every field is length-prefixed so that no two events encode
// alike; times use the fixed format both stores keep.
func (e *AuditEvent) ComputeHash() string {
	h := sha256.New()
	field := func(b []byte) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	actor := ""
	if e.ActorID != nil {
		actor = strconv.FormatInt(*e.ActorID, 10)
	}
	field([]byte("vigil-audit-v1"))
	field([]byte(strconv.FormatInt(e.Seq, 10)))
	field([]byte(FormatTime(e.At)))
	field([]byte(actor))
	field([]byte(e.ActorName))
	field([]byte(e.Action))
	field([]byte(e.ObjectType))
	field([]byte(e.ObjectID))
	field(e.Before)
	field(e.After)
	field([]byte(e.RequestID))
	field([]byte(e.PrevHash))
	if e.Organisation != "" {
		// Only then, so that the events written before organisations
		// keep their hashes; the length prefixes keep the two apart.
		field([]byte(e.Organisation))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TimeFormat is the fixed-precision UTC form in which times are stored as
// text and hashed: sortable as strings, exact to the microsecond.
const TimeFormat = "2006-01-02T15:04:05.000000Z"

// FormatTime formats t in TimeFormat.
func FormatTime(t time.Time) string { return TruncateTime(t).Format(TimeFormat) }

// AuditFilter selects audit events, newest first unless Asc.
type AuditFilter struct {
	Action     string
	ObjectType string
	ObjectID   string
	ActorID    *int64
	BeforeSeq  int64 // cursor: only events with a lower Seq
	Asc        bool
	Limit      int
}

// AuditVerification is the result of checking the whole chain.
type AuditVerification struct {
	OK      bool      `json:"ok"`
	Checked int64     `json:"checked"`           // events checked
	BadSeq  int64     `json:"bad_seq,omitempty"` // the first event where the chain breaks
	Problem string    `json:"problem,omitempty"` // what is wrong there
	HeadSeq int64     `json:"head_seq"`          // the last event's Seq
	At      time.Time `json:"verified_at"`
}

// AuditService reads and verifies the audit log. Events are written by the
// stores inside each change's own transaction; there is no method to write
// one directly. Both methods need PermAuditRead.
type AuditService interface {
	FindAuditEvents(ctx context.Context, f AuditFilter) ([]*AuditEvent, error)
	// VerifyAudit recomputes every hash and link, streaming the log, and
	// names the first broken event.
	VerifyAudit(ctx context.Context) (*AuditVerification, error)
}
