package storetest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/vigil-ir/vigil"
)

// auditGuard is the SQL that removes each engine's append-only guard, as an
// attacker with database access would before editing the log.
var auditGuard = map[string][]string{
	"sqlite":   {`DROP TRIGGER audit_events_no_update`, `DROP TRIGGER audit_events_no_delete`},
	"postgres": {`DROP TRIGGER audit_events_no_change ON audit_events`},
}

func testAudit(t *testing.T, open Opener) {
	t.Run("EveryWriteIsRecorded", func(t *testing.T) {
		s := open(t)
		ctx, u := MustCreateUser(t, s, vigil.RoleResponder)
		inc := MustCreateIncident(t, ctx, s, &vigil.Incident{Title: "Audited"})
		if _, err := s.Incidents.UpdateIncident(ctx, inc.ID, vigil.IncidentUpdate{Severity: ptr(vigil.SeverityHigh), Version: inc.Version}); err != nil {
			t.Fatal(err)
		}
		actx, _ := MustCreateUser(t, s, vigil.RoleAdmin)
		events, err := s.Audit.FindAuditEvents(actx, vigil.AuditFilter{ObjectType: "incident", Asc: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != 2 || events[0].Action != "incident.create" || events[1].Action != "incident.update" {
			t.Fatalf("events = %+v", events)
		}
		if events[1].ActorID == nil || *events[1].ActorID != u.ID || string(events[1].Before) == "null" {
			t.Errorf("update event = %+v, want actor %d and a before image", events[1], u.ID)
		}
		_, err = s.Audit.FindAuditEvents(ctx, vigil.AuditFilter{})
		wantCode(t, err, vigil.EFORBIDDEN)
		v, err := s.Audit.VerifyAudit(actx)
		if err != nil {
			t.Fatal(err)
		}
		if !v.OK || v.Checked < 4 || v.HeadSeq != v.Checked {
			t.Errorf("VerifyAudit = %+v, want OK over every event", v)
		}
	})

	t.Run("RefusedWritesLeaveNoEvent", func(t *testing.T) {
		s := open(t)
		ctx, _ := MustCreateUser(t, s, vigil.RoleResponder)
		actx, _ := MustCreateUser(t, s, vigil.RoleAdmin)
		before, err := s.Audit.VerifyAudit(actx)
		if err != nil {
			t.Fatal(err)
		}
		_ = s.Incidents.CreateIncident(ctx, &vigil.Incident{Title: ""})
		after, err := s.Audit.VerifyAudit(actx)
		if err != nil {
			t.Fatal(err)
		}
		if after.HeadSeq != before.HeadSeq {
			t.Errorf("audit head moved from %d to %d on a refused write", before.HeadSeq, after.HeadSeq)
		}
	})

	// Concurrent writes, some refused, some committed: with group commit
	// they share transactions, and each must land or vanish on its own.
	t.Run("ConcurrentMixedWritesKeepTheChain", func(t *testing.T) {
		s := open(t)
		ctx, _ := MustCreateUser(t, s, vigil.RoleResponder)
		actx, _ := MustCreateUser(t, s, vigil.RoleAdmin)
		const workers, each = 8, 25
		var wg sync.WaitGroup
		var good, bad atomic.Int64
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					title := fmt.Sprintf("w%d-%d", w, i)
					if i%3 == 0 {
						title = "" // refused
					}
					err := s.Incidents.CreateIncident(ctx, &vigil.Incident{Title: title})
					switch {
					case err == nil:
						good.Add(1)
					case vigil.ErrorCode(err) == vigil.EINVALID:
						bad.Add(1)
					default:
						t.Errorf("CreateIncident: %v", err)
					}
				}
			}()
		}
		wg.Wait()
		n, err := s.Incidents.CountIncidents(actx, vigil.IncidentFilter{})
		if err != nil {
			t.Fatal(err)
		}
		page, err := s.Incidents.FindIncidents(actx, vigil.IncidentFilter{Limit: vigil.MaxPageSize})
		if err != nil {
			t.Fatal(err)
		}
		if int64(n) != good.Load() || int64(len(page.Items)) != good.Load() || bad.Load() == 0 {
			t.Errorf("count %d, listed %d; want %d created (and %d refused)", n, len(page.Items), good.Load(), bad.Load())
		}
		v, err := s.Audit.VerifyAudit(actx)
		if err != nil {
			t.Fatal(err)
		}
		// Two user creations plus one event per created incident.
		if !v.OK || v.Checked != good.Load()+2 {
			t.Errorf("VerifyAudit = %+v, want OK over %d events", v, good.Load()+2)
		}
	})

	t.Run("TamperingIsCaught", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			sql  string
			bad  int64
		}{
			{"EditedRow", `UPDATE audit_events SET actor_name = 'mallory' WHERE seq = 3`, 3},
			{"EditedPayload", `UPDATE audit_events SET after = replace(after, 'Audited', 'Harmless') WHERE seq = 2`, 2},
			{"DeletedRow", `DELETE FROM audit_events WHERE seq = 2`, 2},
			{"DeletedTail", `DELETE FROM audit_events WHERE seq = (SELECT max(seq) FROM audit_events)`, 0},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s := open(t)
				ctx, _ := MustCreateUser(t, s, vigil.RoleResponder)
				MustCreateIncident(t, ctx, s, &vigil.Incident{Title: "Audited"})
				MustCreateIncident(t, ctx, s, &vigil.Incident{Title: "Audited too"})
				actx, _ := MustCreateUser(t, s, vigil.RoleAdmin)
				if _, err := s.Exec(t.Context(), tc.sql); err == nil {
					t.Fatal("the append-only guard let a raw change through")
				}
				for _, q := range auditGuard[s.Engine] {
					if _, err := s.Exec(t.Context(), q); err != nil {
						t.Fatalf("%s: %v", q, err)
					}
				}
				if _, err := s.Exec(t.Context(), tc.sql); err != nil {
					t.Fatalf("%s: %v", tc.sql, err)
				}
				v, err := s.Audit.VerifyAudit(actx)
				if err != nil {
					t.Fatal(err)
				}
				if v.OK {
					t.Fatalf("VerifyAudit = OK after %s", tc.name)
				}
				if tc.bad != 0 && v.BadSeq != tc.bad {
					t.Errorf("BadSeq = %d, want %d (%s)", v.BadSeq, tc.bad, v.Problem)
				}
				if v.Problem == "" {
					t.Error("no problem described")
				}
			})
		}
	})
}
