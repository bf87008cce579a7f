package vigil

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// ChainKind is the kind of a hash chain that checkpoints anchor.
type ChainKind string

// The chains Vigil keeps.
const (
	ChainAudit   ChainKind = "audit"   // the audit log: one chain
	ChainCustody ChainKind = "custody" // a custody log: one chain per piece of evidence
)

// Chain names one hash chain: the audit log, or the custody log of one
// piece of evidence (Scope is its ID).
type Chain struct {
	Kind  ChainKind
	Scope int64 // the evidence ID of a custody log; 0 for the audit log
}

// AuditChain is the audit log's chain.
var AuditChain = Chain{Kind: ChainAudit}

// CustodyChain is the custody log of a piece of evidence.
func CustodyChain(evidenceID int64) Chain { return Chain{Kind: ChainCustody, Scope: evidenceID} }

// String writes the chain as checkpoints name it: "audit" or "custody:7".
func (c Chain) String() string {
	if c.Kind == ChainCustody {
		return "custody:" + strconv.FormatInt(c.Scope, 10)
	}
	return string(c.Kind)
}

// ParseChain reads a chain's name as String writes it.
func ParseChain(s string) (Chain, error) {
	if s == string(ChainAudit) {
		return AuditChain, nil
	}
	if rest, ok := strings.CutPrefix(s, "custody:"); ok {
		id, err := strconv.ParseInt(rest, 10, 64)
		if err == nil && id > 0 && strconv.FormatInt(id, 10) == rest {
			return CustodyChain(id), nil
		}
	}
	return Chain{}, fmt.Errorf("%q is not a chain (audit or custody:ID)", s)
}

// ChainHead is how far a chain reached: its length and its last entry's
// hash, which covers every entry before it. A checkpoint signs one.
type ChainHead struct {
	Chain Chain
	Seq   int64  // the number of entries, which is the last entry's Seq
	Hash  string // the last entry's hash, in hex
}

// ChainProblem says why a chain does not hold a head signed earlier.
type ChainProblem struct {
	Head    ChainHead
	Problem string // in words, safe to show
}

// AnchorService reads the chains' heads for checkpoints, and checks the
// chains against heads signed earlier (package anchor signs and reads
// them). A chain's own records (audit_head, an evidence record's custody
// head) can be rewritten by whoever can write to the database; a head
// signed and kept elsewhere cannot. Both methods need PermAuditRead.
type AnchorService interface {
	// ChainHeads returns the audit log's head and the head of every
	// custody log.
	ChainHeads(ctx context.Context) ([]ChainHead, error)
	// CheckChainHeads checks that each chain still holds each of heads:
	// at least Seq entries, entry Seq hashing to Hash; for a custody log
	// also every entry up to it linked to the one before (VerifyAudit does
	// that for the audit log). It returns one problem per head not held.
	CheckChainHeads(ctx context.Context, heads []ChainHead) ([]ChainProblem, error)
}
