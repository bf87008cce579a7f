package vigil

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Digests are a file's size and hashes: SHA-256 names it in the store;
// SHA-1 and MD5 are recorded for the forensic tools that still ask for them.
type Digests struct {
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	SHA1   string `json:"sha1"`
	MD5    string `json:"md5"`
}

// Evidence is a file kept for an incident: content-addressed, with who
// collected it, when, from where and how, and a chain-of-custody log of
// every access to it. Evidence that came with an alert (a reported e-mail
// and its attachments) has AlertID, and IncidentID 0 until it has one.
type Evidence struct {
	ID          int64  `json:"id"`
	IncidentID  int64  `json:"incident_id"`
	AlertID     *int64 `json:"alert_id,omitempty"`
	Name        string `json:"name"`       // the file name, without any folder
	MediaType   string `json:"media_type"` // as the uploader said, else application/octet-stream
	Description string `json:"description"`
	Digests
	CollectedBy   string     `json:"collected_by"`   // who took it from the source
	CollectedAt   *time.Time `json:"collected_at"`   // when
	CollectedFrom string     `json:"collected_from"` // the host, device, mailbox or account it came from
	Method        string     `json:"method"`         // how: the tool and way it was acquired
	AddedBy       *int64     `json:"added_by"`
	AddedByName   string     `json:"added_by_name"`
	AddedAt       time.Time  `json:"added_at"`
	LegalHold     bool       `json:"legal_hold"`
	HoldReason    string     `json:"hold_reason"`
	DeletedAt     *time.Time `json:"deleted_at"`
	// Integrity is the result of the last verification: unverified, ok,
	// mismatch (the file or the log changed) or missing (the file is gone).
	Integrity  Integrity  `json:"integrity"`
	VerifiedAt *time.Time `json:"verified_at"`
	// CustodyCount and CustodyHead are the custody log's length and last
	// hash: a log cut short or rewritten no longer ends there.
	CustodyCount int64  `json:"custody_count"`
	CustodyHead  string `json:"custody_head"`
	Version      int    `json:"version"`
}

// Integrity is what the last verification of a piece of evidence found.
type Integrity string

// The integrity states.
const (
	IntegrityUnverified Integrity = "unverified"
	IntegrityOK         Integrity = "ok"
	IntegrityMismatch   Integrity = "mismatch"
	IntegrityMissing    Integrity = "missing"
)

// Limits on evidence.
const (
	// DefaultMaxEvidenceBytes bounds one evidence file unless configured.
	DefaultMaxEvidenceBytes = 10 << 30
	MaxEvidenceName         = 255 // bytes, as most file systems allow
	MaxEvidenceText         = 4000
)

// Errors from the blob store.
var (
	ErrTooLarge    = Errorf(ETOOLARGE, "The file is larger than this server accepts.")
	ErrEmpty       = Invalid("file", "The file is empty. An empty file proves nothing; note what you found on the timeline instead.")
	ErrBlobMissing = errors.New("blob missing")
)

// CleanFileName reduces name to a plain file name safe to store and to offer
// back for download: the last element of any path (either slash), without
// control characters, not "." or "..", at most MaxEvidenceName bytes. It
// returns "" when nothing usable is left.
func CleanFileName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	name = strings.TrimLeft(name, ".")
	for len(name) > MaxEvidenceName {
		_, n := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-n]
	}
	return name
}

// Validate trims and checks what the uploader says about the evidence.
func (e *Evidence) Validate() error {
	var p Problems
	for _, f := range []*string{&e.Description, &e.CollectedBy, &e.CollectedFrom, &e.Method, &e.MediaType} {
		*f = strings.TrimSpace(*f)
	}
	if orig := e.Name; strings.ContainsFunc(orig, bidiControl) {
		// Dropped silently, such a character would leave a name that reads
		// differently from what the uploader saw; refused, it shows.
		p.Add("name", "The file name holds a character that reverses how it reads (such as U+202E): %+q. Rename the file.", orig)
	} else if orig != "" {
		e.Name = CleanFileName(orig)
		if e.Name == "" {
			p.Add("name", "%q is not a usable file name.", orig)
		}
	}
	if e.Name == "" && len(p) == 0 {
		p.Add("name", "Give the file a name.")
	}
	for field, v := range map[string]string{"collected_by": e.CollectedBy, "collected_from": e.CollectedFrom} {
		if utf8.RuneCountInString(v) > 200 || hasControlChar(v) {
			p.Add(field, "At most 200 characters of plain text.")
		}
	}
	for field, v := range map[string]string{"description": e.Description, "method": e.Method} {
		if utf8.RuneCountInString(v) > MaxEvidenceText {
			p.Add(field, "At most %d characters.", MaxEvidenceText)
		}
	}
	if e.MediaType == "" {
		e.MediaType = "application/octet-stream"
	}
	if len(e.MediaType) > 100 || strings.ContainsAny(e.MediaType, "\r\n\"") {
		p.Add("media_type", "That is not a media type.")
	}
	return p.Err()
}

// CustodyAction is one kind of event in a chain of custody.
type CustodyAction string

// The custody actions. Every path that reaches a piece of evidence appends
// exactly one of them.
const (
	CustodyAdded        CustodyAction = "added"         // uploaded, with who collected it, when, from where, how
	CustodyViewed       CustodyAction = "viewed"        // its record and custody log were opened
	CustodyDownloaded   CustodyAction = "downloaded"    // its content was sent to someone
	CustodyExported     CustodyAction = "exported"      // put in an evidence package
	CustodyTransferred  CustodyAction = "transferred"   // handed to a named person or organisation
	CustodyVerified     CustodyAction = "verified"      // hashed again and its log checked
	CustodyHoldPlaced   CustodyAction = "hold_placed"   // legal hold: may not be deleted
	CustodyHoldReleased CustodyAction = "hold_released" // legal hold lifted
	CustodyDeleted      CustodyAction = "deleted"       // its content removed; the record and log stay
)

// CustodyActions lists every custody action.
var CustodyActions = []CustodyAction{CustodyAdded, CustodyViewed, CustodyDownloaded, CustodyExported, CustodyTransferred,
	CustodyVerified, CustodyHoldPlaced, CustodyHoldReleased, CustodyDeleted}

// CustodyEntry is one event in a piece of evidence's chain of custody. The
// entries of one piece form a hash chain, as the audit log does.
type CustodyEntry struct {
	EvidenceID int64         `json:"evidence_id"`
	Seq        int64         `json:"seq"` // 1, 2, … within the piece of evidence
	At         time.Time     `json:"at"`
	ActorID    *int64        `json:"actor_id"`
	ActorName  string        `json:"actor_name"`
	Action     CustodyAction `json:"action"`
	To         string        `json:"to,omitempty"`     // transfers: who received it
	Detail     string        `json:"detail,omitempty"` // why, how; for "added", the facts recorded (JSON)
	Result     Integrity     `json:"result,omitempty"` // verifications: what was found
	PrevHash   string        `json:"prev_hash"`
	Hash       string        `json:"hash"`
}

// ComputeHash returns the SHA-256, in hex, of the entry's fields and
// PrevHash, each length-prefixed.
func (c *CustodyEntry) ComputeHash() string {
	h := sha256.New()
	field := func(s string) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		io.WriteString(h, s)
	}
	actor := ""
	if c.ActorID != nil {
		actor = strconv.FormatInt(*c.ActorID, 10)
	}
	field("vigil-custody-v1")
	field(strconv.FormatInt(c.EvidenceID, 10))
	field(strconv.FormatInt(c.Seq, 10))
	field(FormatTime(c.At))
	field(actor)
	field(c.ActorName)
	field(string(c.Action))
	field(c.To)
	field(c.Detail)
	field(string(c.Result))
	field(c.PrevHash)
	return hex.EncodeToString(h.Sum(nil))
}

// EvidenceFacts are what the first custody entry records about a piece of
// evidence, so that a changed record is found as surely as a changed file.
type EvidenceFacts struct {
	IncidentID    int64      `json:"incident_id"`
	Name          string     `json:"name"`
	Size          int64      `json:"size"`
	SHA256        string     `json:"sha256"`
	SHA1          string     `json:"sha1"`
	MD5           string     `json:"md5"`
	CollectedBy   string     `json:"collected_by"`
	CollectedAt   *time.Time `json:"collected_at"`
	CollectedFrom string     `json:"collected_from"`
	Method        string     `json:"method"`
}

// Facts returns the facts the first custody entry records.
func (e *Evidence) Facts() string {
	f := EvidenceFacts{IncidentID: e.IncidentID, Name: e.Name, Size: e.Size, SHA256: e.SHA256, SHA1: e.SHA1, MD5: e.MD5,
		CollectedBy: e.CollectedBy, CollectedFrom: e.CollectedFrom, Method: e.Method}
	if e.CollectedAt != nil {
		t := TruncateTime(*e.CollectedAt).UTC()
		f.CollectedAt = &t
	}
	b, _ := json.Marshal(f)
	return string(b)
}

// VerifyCustody checks a piece of evidence's custody log: numbered from 1
// without gaps, each entry's hash right and naming the one before, the
// first recording the evidence's facts as they stand, the last being the
// head the evidence records. It returns nil or what is wrong, in words.
func VerifyCustody(e *Evidence, log []*CustodyEntry) error {
	prev := ""
	for i, c := range log {
		switch {
		case c.EvidenceID != e.ID:
			return fmt.Errorf("custody entry %d belongs to evidence %d", c.Seq, c.EvidenceID)
		case c.Seq != int64(i+1):
			return fmt.Errorf("custody entry %d is missing", i+1)
		case c.PrevHash != prev:
			return fmt.Errorf("custody entry %d does not follow entry %d", c.Seq, c.Seq-1)
		case c.ComputeHash() != c.Hash:
			return fmt.Errorf("custody entry %d was changed after it was written", c.Seq)
		}
		prev = c.Hash
	}
	if len(log) == 0 || log[0].Action != CustodyAdded {
		return errors.New("the custody log does not start with the evidence being added")
	}
	if log[0].Detail != e.Facts() {
		return errors.New("the evidence record no longer matches the facts recorded when it was added")
	}
	if int64(len(log)) != e.CustodyCount || prev != e.CustodyHead {
		return fmt.Errorf("the custody log ends at entry %d, but the evidence record says %d: entries were removed or added behind Vigil's back",
			len(log), e.CustodyCount)
	}
	return nil
}

// Transfer is the handing of evidence to a named person or organisation.
type Transfer struct {
	To     string `json:"to"`     // who receives it: a person, an organisation, or both
	Detail string `json:"detail"` // why, and how it travels (sealed bag, encrypted drive, …)
}

// Validate trims and checks a transfer.
func (t *Transfer) Validate() error {
	var p Problems
	t.To, t.Detail = strings.TrimSpace(t.To), strings.TrimSpace(t.Detail)
	if t.To == "" {
		p.Add("to", "Name the person or organisation receiving the evidence.")
	} else if utf8.RuneCountInString(t.To) > 200 || hasControlChar(t.To) {
		p.Add("to", "At most 200 characters of plain text.")
	}
	if utf8.RuneCountInString(t.Detail) > MaxEvidenceText {
		p.Add("detail", "At most %d characters.", MaxEvidenceText)
	}
	return p.Err()
}

// EvidenceCheck is the result of verifying one piece of evidence.
type EvidenceCheck struct {
	Evidence *Evidence `json:"evidence"`
	Result   Integrity `json:"result"`
	Problem  string    `json:"problem,omitempty"` // what is wrong, in words
}

// EvidenceExport is one piece of evidence going into a package: its record,
// its custody log (already holding the "exported" entry) and its content.
type EvidenceExport struct {
	Evidence *Evidence
	Custody  []*CustodyEntry
	Open     func() (io.ReadCloser, error)
}

// BlobStore keeps evidence files by SHA-256 (package blob).
type BlobStore interface {
	// Put streams r in and returns its digests; over max bytes it returns
	// ErrTooLarge, for nothing at all ErrEmpty.
	Put(r io.Reader, max int64) (Digests, error)
	// Open opens a stored file; ErrBlobMissing when it is gone.
	Open(sha256 string) (io.ReadCloser, error)
	// Hash reads a stored file again and returns its digests.
	Hash(sha256 string) (Digests, error)
	Exists(sha256 string) bool
	Remove(sha256 string) error
}

// EvidenceService keeps evidence and its chain of custody. Whoever may read
// an incident may read its evidence (and each read is logged); whoever may
// edit it may add, transfer and verify evidence; managers and admins place
// legal holds and delete.
type EvidenceService interface {
	// AddEvidence streams content into the blob store and records e with
	// its first custody entry.
	AddEvidence(ctx context.Context, e *Evidence, content io.Reader) error
	// FindEvidence lists an incident's evidence (deleted pieces too,
	// marked), without touching the custody logs.
	FindEvidence(ctx context.Context, incidentID int64) ([]*Evidence, error)
	// ViewEvidence returns a piece and its custody log, logging the view.
	ViewEvidence(ctx context.Context, id int64) (*Evidence, []*CustodyEntry, error)
	// OpenEvidence returns a piece and its content, logging the download.
	OpenEvidence(ctx context.Context, id int64) (*Evidence, io.ReadCloser, error)
	TransferEvidence(ctx context.Context, id int64, t Transfer) (*Evidence, error)
	// VerifyEvidence hashes the file again and checks the custody log.
	VerifyEvidence(ctx context.Context, id int64) (*EvidenceCheck, error)
	// VerifyAllEvidence verifies every piece that still has its content,
	// calling fn with each result.
	VerifyAllEvidence(ctx context.Context, fn func(*EvidenceCheck)) error
	SetLegalHold(ctx context.Context, id int64, hold bool, reason string) (*Evidence, error)
	// DeleteEvidence removes a piece's content (refused under legal
	// hold); its record and custody log stay.
	DeleteEvidence(ctx context.Context, id int64, reason string) error
	// ExportEvidence logs the export of an incident's evidence (those
	// still held) and returns what goes in the package.
	ExportEvidence(ctx context.Context, incidentID int64) ([]*EvidenceExport, error)
}

// FormatBytes writes a size the way people read it: 512 B, 1.5 KiB, 4.0 GiB.
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
