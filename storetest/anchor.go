package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/vigil-ir/vigil"
)

// custodyGuard is the SQL that removes each engine's append-only guard on
// custody logs.
var custodyGuard = map[string][]string{
	"sqlite":   {`DROP TRIGGER custody_no_update`, `DROP TRIGGER custody_no_delete`},
	"postgres": {`DROP TRIGGER custody_no_change ON custody`},
}

// mustExec runs raw SQL behind Vigil's back.
func mustExec(t *testing.T, s *Store, q string, args ...any) {
	t.Helper()
	if _, err := s.Exec(context.Background(), q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// mustChainHeads returns the chains' heads by chain.
func mustChainHeads(t *testing.T, s *Store) map[vigil.Chain]vigil.ChainHead {
	t.Helper()
	heads, err := s.Anchors.ChainHeads(SystemContext(t))
	if err != nil {
		t.Fatal(err)
	}
	out := map[vigil.Chain]vigil.ChainHead{}
	for _, h := range heads {
		out[h.Chain] = h
	}
	return out
}

// wantChainProblems checks heads against the store and wants one problem
// per head, each saying want.
func wantChainProblems(t *testing.T, s *Store, want string, heads ...vigil.ChainHead) {
	t.Helper()
	problems, err := s.Anchors.CheckChainHeads(SystemContext(t), heads)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != len(heads) {
		t.Fatalf("CheckChainHeads = %+v, want %d problems", problems, len(heads))
	}
	for _, p := range problems {
		if !strings.Contains(p.Problem, want) {
			t.Errorf("problem %q, want it to say %q", p.Problem, want)
		}
	}
}

func testAnchor(t *testing.T, open Opener) {
	t.Run("Heads", func(t *testing.T) {
		s := open(t)
		ctx, _ := MustCreateUser(t, s, vigil.RoleResponder)
		inc := MustCreateIncident(t, ctx, s, &vigil.Incident{Title: "Anchored"})
		e := mustAddEvidence(t, s, ctx, &vigil.Evidence{IncidentID: inc.ID, Name: "a.txt"}, "a")
		if _, err := s.Evidence.TransferEvidence(ctx, e.ID, vigil.Transfer{To: "Police"}); err != nil {
			t.Fatal(err)
		}
		heads := mustChainHeads(t, s)
		actx, _ := MustCreateUser(t, s, vigil.RoleAdmin)
		v, err := s.Audit.VerifyAudit(actx)
		if err != nil {
			t.Fatal(err)
		}
		events, err := s.Audit.FindAuditEvents(actx, vigil.AuditFilter{BeforeSeq: v.HeadSeq, Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		// The admin's creation came after the heads were read.
		if a := heads[vigil.AuditChain]; a.Seq != v.HeadSeq-1 || a.Hash != events[0].Hash {
			t.Errorf("audit head = %+v, want event %d (%s)", a, v.HeadSeq-1, events[0].Hash)
		}
		c := heads[vigil.CustodyChain(e.ID)]
		if c.Seq != 2 || len(c.Hash) != 64 || len(heads) != 2 {
			t.Errorf("heads = %+v, want the audit log's and evidence %d's at 2", heads, e.ID)
		}
		// The chains hold their own heads, and every earlier one.
		if p, err := s.Anchors.CheckChainHeads(actx, []vigil.ChainHead{heads[vigil.AuditChain], c,
			{Chain: vigil.AuditChain, Seq: 1, Hash: mustAuditEvent(t, s, 1).Hash}}); err != nil || len(p) != 0 {
			t.Errorf("CheckChainHeads = %+v, %v; want no problems", p, err)
		}
		// Only those who may read the audit log.
		_, err = s.Anchors.ChainHeads(ctx)
		wantCode(t, err, vigil.EFORBIDDEN)
		_, err = s.Anchors.CheckChainHeads(ctx, []vigil.ChainHead{c})
		wantCode(t, err, vigil.EFORBIDDEN)
	})

	// An attacker with database access deletes the newest audit events and
	// rewrites the head to match: the chain is consistent in itself, and
	// only a head signed and kept elsewhere shows what was lost.
	t.Run("AuditTailDeletedAndHeadRewritten", func(t *testing.T) {
		s := open(t)
		ctx, _ := MustCreateUser(t, s, vigil.RoleResponder)
		for i := range 4 {
			MustCreateIncident(t, ctx, s, &vigil.Incident{Title: fmt.Sprintf("Anchored %d", i)})
		}
		signed := mustChainHeads(t, s)[vigil.AuditChain]
		for _, q := range auditGuard[s.Engine] {
			mustExec(t, s, q)
		}
		mustExec(t, s, `DELETE FROM audit_events WHERE seq > ?`, signed.Seq-2)
		mustExec(t, s, `UPDATE audit_head SET seq = ?, hash = (SELECT hash FROM audit_events WHERE seq = ?) WHERE id = 1`, signed.Seq-2, signed.Seq-2)
		v, err := s.Audit.VerifyAudit(SystemContext(t))
		if err != nil {
			t.Fatal(err)
		}
		if !v.OK {
			t.Fatalf("VerifyAudit = %+v; the attack should leave a chain consistent in itself", v)
		}
		wantChainProblems(t, s, "events were removed", signed)

		// Writes go on and the chain grows past the signed length: the
		// event at the signed place is another one.
		for i := range 3 {
			MustCreateIncident(t, ctx, s, &vigil.Incident{Title: fmt.Sprintf("After the attack %d", i)})
		}
		if v, err := s.Audit.VerifyAudit(SystemContext(t)); err != nil || !v.OK || v.HeadSeq <= signed.Seq {
			t.Fatalf("VerifyAudit = %+v, %v; want OK past event %d", v, err, signed.Seq)
		}
		wantChainProblems(t, s, "is not the one signed", signed)
	})

	t.Run("AuditEventRewritten", func(t *testing.T) {
		s := open(t)
		ctx, _ := MustCreateUser(t, s, vigil.RoleResponder)
		MustCreateIncident(t, ctx, s, &vigil.Incident{Title: "Anchored"})
		signed := mustChainHeads(t, s)[vigil.AuditChain]
		for _, q := range auditGuard[s.Engine] {
			mustExec(t, s, q)
		}
		mustExec(t, s, `UPDATE audit_events SET actor_name = 'mallory' WHERE seq = ?`, signed.Seq)
		wantChainProblems(t, s, "was changed after it was written", signed)
	})

	t.Run("CustodyTailDeletedAndHeadRewritten", func(t *testing.T) {
		s := open(t)
		ctx, _ := MustCreateUser(t, s, vigil.RoleResponder)
		inc := MustCreateIncident(t, ctx, s, &vigil.Incident{Title: "Anchored"})
		e := mustAddEvidence(t, s, ctx, &vigil.Evidence{IncidentID: inc.ID, Name: "disk.E01"}, "an image")
		other := mustAddEvidence(t, s, ctx, &vigil.Evidence{IncidentID: inc.ID, Name: "mail.eml"}, "a mail")
		for _, to := range []string{"Kim", "Police"} {
			if _, err := s.Evidence.TransferEvidence(ctx, e.ID, vigil.Transfer{To: to}); err != nil {
				t.Fatal(err)
			}
		}
		heads := mustChainHeads(t, s)
		signed, kept := heads[vigil.CustodyChain(e.ID)], heads[vigil.CustodyChain(other.ID)]
		if signed.Seq != 3 {
			t.Fatalf("custody head = %+v, want 3 entries", signed)
		}
		for _, q := range custodyGuard[s.Engine] {
			mustExec(t, s, q)
		}
		// The transfer to the police never happened, as far as the
		// database now says.
		mustExec(t, s, `DELETE FROM custody WHERE evidence_id = ? AND seq = 3`, e.ID)
		mustExec(t, s, `UPDATE evidence SET custody_count = 2, custody_head = (SELECT hash FROM custody WHERE evidence_id = ? AND seq = 2) WHERE id = ?`, e.ID, e.ID)
		c, err := s.Evidence.VerifyEvidence(ctx, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		if c.Result != vigil.IntegrityOK {
			t.Fatalf("VerifyEvidence = %s %q; the attack should leave a log consistent in itself", c.Result, c.Problem)
		}
		// The verification appended entry 3 again: another entry 3.
		wantChainProblems(t, s, "entry 3 is not the one signed", signed)
		if p, err := s.Anchors.CheckChainHeads(SystemContext(t), []vigil.ChainHead{kept}); err != nil || len(p) != 0 {
			t.Errorf("the other evidence: %+v, %v; want no problems", p, err)
		}
		// Cut shorter than signed.
		mustExec(t, s, `DELETE FROM custody WHERE evidence_id = ? AND seq >= 2`, e.ID)
		mustExec(t, s, `UPDATE evidence SET custody_count = 1, custody_head = (SELECT hash FROM custody WHERE evidence_id = ? AND seq = 1) WHERE id = ?`, e.ID, e.ID)
		wantChainProblems(t, s, "entries were removed", signed)
		// A rewritten entry under the signed head.
		mustExec(t, s, `UPDATE custody SET actor_name = 'mallory' WHERE evidence_id = ? AND seq = 1`, other.ID)
		wantChainProblems(t, s, "entry 1 was changed", kept)
		// The evidence gone altogether, log and all.
		mustExec(t, s, `DELETE FROM custody WHERE evidence_id = ?`, other.ID)
		wantChainProblems(t, s, "entries were removed", kept)
	})
}

// mustAuditEvent returns the audit event at seq.
func mustAuditEvent(t *testing.T, s *Store, seq int64) *vigil.AuditEvent {
	t.Helper()
	events, err := s.Audit.FindAuditEvents(SystemContext(t), vigil.AuditFilter{BeforeSeq: seq + 1, Limit: 1})
	if err != nil || len(events) != 1 || events[0].Seq != seq {
		t.Fatalf("audit event %d: %v %+v", seq, err, events)
	}
	return events[0]
}
