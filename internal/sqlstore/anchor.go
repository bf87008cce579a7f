package sqlstore

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/vigil-ir/vigil"
)

// AnchorService reads the chains' heads and checks the chains against
// heads signed earlier (see vigil.AnchorService).
type AnchorService struct{ db *DB }

// ChainHeads returns the audit log's head and every custody log's head, as
// the chains' own records keep them.
func (s *AnchorService) ChainHeads(ctx context.Context) (heads []vigil.ChainHead, err error) {
	defer s.db.op("anchor.heads")(&err)
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermAuditRead); err != nil {
			return err
		}
		h := vigil.ChainHead{Chain: vigil.AuditChain}
		if err := tx.queryRow(`SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&h.Seq, &h.Hash); err != nil {
			return fmt.Errorf("read audit head: %w", err)
		}
		custody, err := queryAll(tx, func(r rowScanner) (vigil.ChainHead, error) {
			h := vigil.ChainHead{Chain: vigil.Chain{Kind: vigil.ChainCustody}}
			err := r.Scan(&h.Chain.Scope, &h.Seq, &h.Hash)
			return h, err
		}, `SELECT id, custody_count, custody_head FROM evidence WHERE custody_count > 0 ORDER BY id`)
		if err != nil {
			return err
		}
		heads = append([]vigil.ChainHead{h}, custody...)
		return nil
	})
	return heads, err
}

// CheckChainHeads checks that the chains hold heads. The audit log is
// read only at the signed events, in batches; a custody log is read whole
// up to its highest signed entry (custody logs are short).
func (s *AnchorService) CheckChainHeads(ctx context.Context, heads []vigil.ChainHead) (problems []vigil.ChainProblem, err error) {
	defer s.db.op("anchor.check")(&err)
	if err := vigil.Require(vigil.ActorFromContext(ctx), vigil.PermAuditRead); err != nil {
		return nil, err
	}
	byChain := map[vigil.Chain][]vigil.ChainHead{}
	for _, h := range heads {
		if h.Seq > 0 { // an empty chain holds nothing to check
			byChain[h.Chain] = append(byChain[h.Chain], h)
		}
	}
	chains := slices.SortedFunc(maps.Keys(byChain), func(a, b vigil.Chain) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Scope, b.Scope))
	})
	for _, c := range chains {
		hs := byChain[c]
		slices.SortFunc(hs, func(a, b vigil.ChainHead) int { return cmp.Compare(a.Seq, b.Seq) })
		var p []vigil.ChainProblem
		switch c.Kind {
		case vigil.ChainAudit:
			p, err = s.checkAudit(ctx, hs)
		case vigil.ChainCustody:
			p, err = s.checkCustody(ctx, c.Scope, hs)
		default:
			return nil, fmt.Errorf("check chain heads: unknown chain %q", c.Kind)
		}
		if err != nil {
			return nil, err
		}
		problems = append(problems, p...)
	}
	return problems, nil
}

// auditCheckBatch is how many signed events one query reads. Each batch
// is padded to it, so that one statement serves every batch.
const auditCheckBatch = 128

// checkAudit looks up the events at the signed heads (sorted by Seq).
func (s *AnchorService) checkAudit(ctx context.Context, heads []vigil.ChainHead) (problems []vigil.ChainProblem, err error) {
	var last int64
	if err := s.db.read(ctx, func(tx *Tx) error {
		return tx.queryRow(`SELECT COALESCE(MAX(seq), 0) FROM audit_events`).Scan(&last)
	}); err != nil {
		return nil, err
	}
	for batch := range slices.Chunk(heads, auditCheckBatch) {
		args := make([]any, auditCheckBatch)
		for i := range args {
			args[i] = batch[min(i, len(batch)-1)].Seq
		}
		var events map[int64]*vigil.AuditEvent
		err := s.db.read(ctx, func(tx *Tx) (err error) {
			events, err = queryMap(tx, func(r rowScanner) (int64, *vigil.AuditEvent, error) {
				e, err := scanAudit(r)
				if err != nil {
					return 0, nil, err
				}
				return e.Seq, e, nil
			}, `SELECT `+auditColumns+` FROM audit_events WHERE seq IN (`+placeholders(auditCheckBatch)+`)`, args...)
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, h := range batch {
			fail := func(format string, args ...any) {
				problems = append(problems, vigil.ChainProblem{Head: h, Problem: fmt.Sprintf(format, args...)})
			}
			e := events[h.Seq]
			switch {
			case h.Seq > last:
				fail("The audit log ends at event %d, but it held %d events when this checkpoint was signed: events were removed.", last, h.Seq)
			case e == nil:
				fail("Event %d, signed in this checkpoint, is missing from the audit log.", h.Seq)
			case e.Hash != h.Hash:
				fail("Event %d is not the one signed in this checkpoint: the log was rewritten at or before it.", h.Seq)
			case e.ComputeHash() != e.Hash:
				fail("Event %d was changed after it was written: its hash does not match its content.", h.Seq)
			}
		}
	}
	return problems, nil
}

// checkCustody reads a custody log up to its highest signed head and
// checks it against the signed heads (sorted by Seq).
func (s *AnchorService) checkCustody(ctx context.Context, evidenceID int64, heads []vigil.ChainHead) (problems []vigil.ChainProblem, err error) {
	var log []*vigil.CustodyEntry
	err = s.db.read(ctx, func(tx *Tx) (err error) {
		log, err = queryAll(tx, scanCustody, `SELECT `+custodyColumns+` FROM custody WHERE evidence_id = ? AND seq <= ? ORDER BY seq`,
			evidenceID, heads[len(heads)-1].Seq)
		return err
	})
	if err != nil {
		return nil, err
	}
	// The log is good up to its first broken entry.
	good, broken, prev := int64(0), "", ""
	for i, c := range log {
		switch {
		case c.Seq != int64(i+1):
			broken = fmt.Sprintf("entry %d is missing", i+1)
		case c.PrevHash != prev:
			broken = fmt.Sprintf("entry %d does not follow entry %d", c.Seq, c.Seq-1)
		case c.ComputeHash() != c.Hash:
			broken = fmt.Sprintf("entry %d was changed after it was written", c.Seq)
		}
		if broken != "" {
			break
		}
		good, prev = c.Seq, c.Hash
	}
	for _, h := range heads {
		fail := func(format string, args ...any) {
			problems = append(problems, vigil.ChainProblem{Head: h, Problem: fmt.Sprintf("The custody log of evidence %d: ", evidenceID) + fmt.Sprintf(format, args...)})
		}
		switch {
		case h.Seq > int64(len(log)) && broken == "":
			fail("it ends at entry %d, but it held %d entries when this checkpoint was signed: entries were removed.", len(log), h.Seq)
		case h.Seq > good:
			fail("%s, at or before entry %d signed in this checkpoint.", broken, h.Seq)
		case log[h.Seq-1].Hash != h.Hash:
			fail("entry %d is not the one signed in this checkpoint: the log was rewritten at or before it.", h.Seq)
		}
	}
	return problems, nil
}
