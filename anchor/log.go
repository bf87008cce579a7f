package anchor

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/vigil-ir/vigil"
)

// Log is what a file of checkpoints (an anchors file, a syslog file, what
// a webhook received) holds, as one key verifies it.
type Log struct {
	KeyID string
	// Heads is every head signed with the key, with when it was first
	// signed.
	Heads map[vigil.ChainHead]time.Time
	// Latest is each chain's longest signed head.
	Latest map[vigil.Chain]*Checkpoint
	// Bad lists the lines that hold a checkpoint of this key that does not
	// parse or verify ("line 12: …"): a forged or damaged line.
	Bad []string
	// OtherKeys counts the checkpoints signed with other keys, which were
	// not checked.
	OtherKeys int
}

// Count returns how many heads of kind the log holds.
func (l *Log) Count(kind vigil.ChainKind) int {
	n := 0
	for h := range l.Heads {
		if h.Chain.Kind == kind {
			n++
		}
	}
	return n
}

// maxLine bounds one line of a log; checkpoints are about 250 bytes, a
// syslog header adds little.
const maxLine = 64 << 10

// ReadLog reads the checkpoints in r and verifies each with pub. Lines
// without a checkpoint are skipped.
func ReadLog(r io.Reader, pub ed25519.PublicKey) (*Log, error) {
	l := &Log{KeyID: KeyID(pub), Heads: map[vigil.ChainHead]time.Time{}, Latest: map[vigil.Chain]*Checkpoint{}}
	err := scan(r, func(n int, c *Checkpoint, err error) {
		if err == nil {
			err = c.Verify(pub)
		}
		switch {
		case errors.Is(err, ErrOtherKey):
			l.OtherKeys++
		case err != nil:
			l.Bad = append(l.Bad, fmt.Sprintf("line %d: %v", n, err))
		default:
			if at, ok := l.Heads[c.ChainHead]; !ok || c.At.Before(at) {
				l.Heads[c.ChainHead] = c.At
			}
			if old := l.Latest[c.Chain]; old == nil || c.Seq > old.Seq {
				l.Latest[c.Chain] = c
			}
		}
	})
	return l, err
}

// ReadLogFile reads the checkpoints in the file at path (ReadLog).
func ReadLogFile(path string, pub ed25519.PublicKey) (*Log, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	l, err := ReadLog(f, pub)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return l, nil
}

// scan calls fn with each checkpoint line's number and what it parsed to.
func scan(r io.Reader, fn func(n int, c *Checkpoint, err error)) error {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 0, 4096), maxLine)
	for n := 1; s.Scan(); n++ {
		if line := s.Text(); IsCheckpoint(line) {
			c, err := Parse(line)
			fn(n, c, err)
		}
	}
	return s.Err()
}

// LatestHeads returns each chain's longest head signed with pub in r, for
// a checkpointer that starts again (Checkpointer.Seed). Only the heads
// returned are verified, so that a long file is read fast; a chain whose
// longest head does not verify is left out and named in bad.
func LatestHeads(r io.Reader, pub ed25519.PublicKey) (heads []*Checkpoint, bad []string, err error) {
	id := KeyID(pub)
	latest := map[vigil.Chain]*Checkpoint{}
	lines := map[vigil.Chain]int{}
	err = scan(r, func(n int, c *Checkpoint, err error) {
		if err != nil || c.KeyID != id {
			return
		}
		if old := latest[c.Chain]; old == nil || c.Seq >= old.Seq {
			latest[c.Chain], lines[c.Chain] = c, n
		}
	})
	for chain, c := range latest {
		if err := c.Verify(pub); err != nil {
			bad = append(bad, fmt.Sprintf("line %d: %v", lines[chain], err))
			continue
		}
		heads = append(heads, c)
	}
	return heads, bad, err
}

// Check checks the store's chains of kind against every head of kind in
// the log, and returns the heads they no longer hold.
func (l *Log) Check(ctx context.Context, anchors vigil.AnchorService, kind vigil.ChainKind) ([]vigil.ChainProblem, error) {
	var heads []vigil.ChainHead
	for h := range l.Heads {
		if h.Chain.Kind == kind {
			heads = append(heads, h)
		}
	}
	if len(heads) == 0 {
		return nil, nil
	}
	return anchors.CheckChainHeads(ctx, heads)
}
