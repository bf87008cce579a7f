package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
)

// mustIntegration creates an integration as an admin.
func mustIntegration(t *testing.T, s *Store, admin context.Context, in *vigil.Integration) string {
	t.Helper()
	token, err := s.Integrations.CreateIntegration(admin, in)
	if err != nil {
		t.Fatalf("CreateIntegration: %v (%v)", err, vigil.ErrorFields(err))
	}
	return token
}

// alertIn returns a prepared alert.
func alertIn(in *vigil.Integration, fp, title string, sev vigil.Severity, status vigil.AlertStatus, labels map[string]string) *vigil.AlertInput {
	a := &vigil.AlertInput{Fingerprint: fp, Title: title, Severity: sev, Status: status, Labels: labels}
	a.Prepare(in)
	return a
}

func mustIngest(t *testing.T, s *Store, in *vigil.Integration, alerts ...*vigil.AlertInput) *vigil.IngestResult {
	t.Helper()
	res, err := s.Alerts.IngestAlerts(context.Background(), in, alerts)
	if err != nil {
		t.Fatalf("IngestAlerts: %v", err)
	}
	return res
}

func testAlert(t *testing.T, open Opener) {
	s := open(t)
	admin, _ := MustCreateUser(t, s, vigil.RoleAdmin)
	responder, _ := MustCreateUser(t, s, vigil.RoleResponder)
	viewer, _ := MustCreateUser(t, s, vigil.RoleViewer)
	reporter, _ := MustCreateUser(t, s, vigil.RoleReporter)
	// The store reads its clock in the background too (the batcher folds
	// the log of repeats after it has answered): a clock safe for that.
	c := newClock(s, time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	tick := c.add

	t.Run("Integration", func(t *testing.T) {
		in := &vigil.Integration{Name: "Prometheus prod", Kind: vigil.IntegrationAlertmanager}
		token := mustIntegration(t, s, admin, in)
		if !strings.HasPrefix(token, vigil.IntegrationTokenPrefix) || in.ID == 0 || in.DefaultTLP != vigil.TLPAmber || !strings.HasPrefix(token, in.TokenHint) {
			t.Fatalf("token %q, integration %+v", token, in)
		}
		got, err := s.Integrations.AuthenticateIntegration(context.Background(), token)
		if err != nil || got.ID != in.ID {
			t.Fatalf("AuthenticateIntegration: %v %v", got, err)
		}
		if _, err := s.Integrations.AuthenticateIntegration(context.Background(), token+"x"); vigil.ErrorCode(err) != vigil.EUNAUTHORIZED {
			t.Errorf("wrong token: %v", err)
		}
		// Only admins manage integrations.
		if _, err := s.Integrations.CreateIntegration(responder, &vigil.Integration{Name: "x", Kind: vigil.IntegrationGrafana}); vigil.ErrorCode(err) != vigil.EFORBIDDEN {
			t.Errorf("responder creates: %v", err)
		}
		if _, err := s.Integrations.FindIntegrations(viewer); vigil.ErrorCode(err) != vigil.EFORBIDDEN {
			t.Errorf("viewer lists: %v", err)
		}
		// Names are unique; bad fields are named.
		_, err = s.Integrations.CreateIntegration(admin, &vigil.Integration{Name: "Prometheus prod", Kind: vigil.IntegrationAlertmanager})
		if !hasField(err, "name") {
			t.Errorf("duplicate name: %v", err)
		}
		_, err = s.Integrations.CreateIntegration(admin, &vigil.Integration{Name: "edr", Kind: vigil.IntegrationGeneric,
			Grouping: vigil.GroupingRule{By: []string{"nonsense"}}})
		if !hasField(err, "mapping.title") || !hasField(err, "grouping.by") {
			t.Errorf("bad integration: %v %v", err, vigil.ErrorFields(err))
		}
		if got, err := s.Integrations.FindIntegrationByID(admin, in.ID); err != nil || got.Name != in.Name {
			t.Errorf("FindIntegrationByID: %v %+v", err, got)
		}
		// Rotation replaces the token; disabling refuses it.
		newToken, err := s.Integrations.RotateIntegrationToken(admin, in.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Integrations.AuthenticateIntegration(context.Background(), token); vigil.ErrorCode(err) != vigil.EUNAUTHORIZED {
			t.Errorf("old token after rotation: %v", err)
		}
		dis := true
		upd, err := s.Integrations.UpdateIntegration(admin, in.ID, vigil.IntegrationUpdate{Disabled: &dis})
		if err != nil || !upd.Disabled {
			t.Fatalf("disable: %v", err)
		}
		if _, err := s.Integrations.AuthenticateIntegration(context.Background(), newToken); vigil.ErrorCode(err) != vigil.EFORBIDDEN {
			t.Errorf("disabled integration's token: %v", err)
		}
		if _, err := s.Integrations.UpdateIntegration(admin, in.ID, vigil.IntegrationUpdate{Version: 1}); vigil.ErrorCode(err) != vigil.ECONFLICT {
			t.Errorf("stale version: %v", err)
		}
		// An integration without alerts can be deleted.
		if err := s.Integrations.DeleteIntegration(admin, in.ID); err != nil {
			t.Errorf("delete: %v", err)
		}
	})

	in := &vigil.Integration{Name: "Alertmanager", Kind: vigil.IntegrationAlertmanager}
	mustIntegration(t, s, admin, in)

	t.Run("Dedup", func(t *testing.T) {
		a := func(status vigil.AlertStatus) *vigil.AlertInput {
			return alertIn(in, "fp-disk", "Disk almost full", vigil.SeverityMedium, status, map[string]string{"alertname": "DiskFull", "instance": "10.1.2.3:9100"})
		}
		first := mustIngest(t, s, in, a(vigil.AlertFiring))
		if first.Created != 1 || len(first.AlertIDs) != 1 {
			t.Fatalf("first: %+v", first)
		}
		id := first.AlertIDs[0]
		tick(time.Minute)
		again := mustIngest(t, s, in, a(vigil.AlertFiring), a(vigil.AlertFiring))
		if again.Repeated != 2 || again.AlertIDs[0] != id || again.AlertIDs[1] != id {
			t.Fatalf("repeats: %+v", again)
		}
		got, err := s.Alerts.FindAlertByID(responder, id)
		if err != nil {
			t.Fatal(err)
		}
		if got.Count != 3 || got.Status != vigil.AlertFiring || !got.LastSeen.Equal(c.now()) || got.Occurrence != 1 {
			t.Errorf("after repeats: count %d status %s last %v occurrence %d", got.Count, got.Status, got.LastSeen, got.Occurrence)
		}
		// Resolved, then told again it is resolved: neither adds to the
		// count, which counts firing notifications (it said 5 here).
		tick(time.Minute)
		if r := mustIngest(t, s, in, a(vigil.AlertResolved)); r.Resolved != 1 {
			t.Fatalf("resolve: %+v", r)
		}
		if r := mustIngest(t, s, in, a(vigil.AlertResolved)); r.Repeated != 1 {
			t.Fatalf("resolved again: %+v", r)
		}
		got, _ = s.Alerts.FindAlertByID(responder, id)
		if got.Status != vigil.AlertResolved || got.ResolvedAt == nil || got.Count != 3 || !got.LastSeen.Equal(c.now()) {
			t.Errorf("resolved: count %d, want 3; %+v", got.Count, got)
		}
		// Firing again is a new occurrence of the same alert.
		tick(time.Hour)
		r := mustIngest(t, s, in, a(vigil.AlertFiring))
		if r.Refired != 1 || r.AlertIDs[0] != id {
			t.Fatalf("refire: %+v", r)
		}
		got, _ = s.Alerts.FindAlertByID(responder, id)
		if got.Status != vigil.AlertFiring || got.Occurrence != 2 || got.ResolvedAt != nil || len(got.Occurrences) != 2 {
			t.Fatalf("after refire: %+v", got)
		}
		if got.Occurrences[0].N != 2 || got.Occurrences[1].ResolvedAt == nil || got.Occurrences[0].ResolvedAt != nil {
			t.Errorf("occurrences: %+v %+v", got.Occurrences[0], got.Occurrences[1])
		}
		// A resolution of an alert never seen firing is a new alert,
		// resolved from the start, with no firing notification counted;
		// told again, a repeat, still not counted.
		late := alertIn(in, "fp-late", "Seen only resolved", vigil.SeverityLow, vigil.AlertResolved, nil)
		if r := mustIngest(t, s, in, late); r.Created != 1 || r.Resolved != 0 {
			t.Fatalf("new resolved: %+v", r)
		} else if r2 := mustIngest(t, s, in, late); r2.Repeated != 1 || r2.AlertIDs[0] != r.AlertIDs[0] {
			t.Fatalf("new resolved, again: %+v", r2)
		} else if a, _ := s.Alerts.FindAlertByID(responder, r.AlertIDs[0]); a.Status != vigil.AlertResolved || a.Count != 0 || a.ResolvedAt == nil {
			t.Errorf("new resolved: %+v", a)
		}
		// The instance label became an observable.
		if len(got.Observables) == 0 || got.Observables[0].Value != "10.1.2.3" {
			t.Errorf("observables: %+v", got.Observables)
		}
	})

	t.Run("Warnings", func(t *testing.T) {
		// What intake could not read is kept with the alert: the warnings
		// of the notification that raised it, then of the one that
		// resolved it; firing again starts the occurrence's afresh.
		mk := func(status vigil.AlertStatus, w ...vigil.FieldError) *vigil.AlertInput {
			a := alertIn(in, "fp-warn", "Unreadable times", vigil.SeverityLow, status, nil)
			a.Warnings = w
			return a
		}
		start := vigil.FieldError{Field: "startsAt", Message: `startsAt "yesterday" is not a time Vigil reads.`}
		end := vigil.FieldError{Field: "endsAt", Message: `endsAt "soon" is not a time Vigil reads.`}
		id := mustIngest(t, s, in, mk(vigil.AlertFiring, start)).AlertIDs[0]
		check := func(when string, want ...vigil.FieldError) {
			t.Helper()
			got, err := s.Alerts.FindAlertByID(responder, id)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Warnings, want) {
				t.Errorf("%s: warnings %v, want %v", when, got.Warnings, want)
			}
			list, err := s.Alerts.FindAlerts(responder, vigil.AlertFilter{IntegrationID: in.ID, Limit: 500})
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range list {
				if a.ID == id && !slices.Equal(a.Warnings, want) {
					t.Errorf("%s: listed with warnings %v, want %v", when, a.Warnings, want)
				}
			}
		}
		check("raised", start)
		tick(time.Second)
		mustIngest(t, s, in, mk(vigil.AlertFiring)) // a repeat changes nothing
		check("repeated", start)
		mustIngest(t, s, in, mk(vigil.AlertResolved, end))
		check("resolved", start, end)
		tick(time.Minute)
		mustIngest(t, s, in, mk(vigil.AlertFiring))
		check("fired again")
		// An alert without warnings has none.
		clean := mustIngest(t, s, in, alertIn(in, "fp-clean", "Readable", vigil.SeverityLow, vigil.AlertFiring, nil)).AlertIDs[0]
		if got, _ := s.Alerts.FindAlertByID(responder, clean); got == nil || got.Warnings != nil {
			t.Errorf("clean alert: %+v", got)
		}
	})

	t.Run("RepeatLog", func(t *testing.T) {
		// Repeats are logged and folded into the alert about once a
		// second; reads add what is not folded yet, so the count and
		// last-seen time are exact before and after.
		fire := func() *vigil.AlertInput {
			return alertIn(in, "fp-folded", "Folded repeats", vigil.SeverityLow, vigil.AlertFiring, nil)
		}
		id := mustIngest(t, s, in, fire()).AlertIDs[0]
		for range 5 {
			tick(time.Second)
			mustIngest(t, s, in, fire())
		}
		mustIngest(t, s, in, fire(), fire()) // one log row of two
		check := func(when string) {
			t.Helper()
			got, err := s.Alerts.FindAlertByID(responder, id)
			if err != nil {
				t.Fatal(err)
			}
			if got.Count != 8 || !got.LastSeen.Equal(c.now()) {
				t.Errorf("%s: count %d, last seen %v; want 8, %v", when, got.Count, got.LastSeen, c.now())
			}
			list, err := s.Alerts.FindAlerts(responder, vigil.AlertFilter{IntegrationID: in.ID, Limit: 1})
			if err != nil || len(list) != 1 || list[0].ID != id || list[0].Count != 8 {
				t.Errorf("%s: the most recently seen alert first: %v %v", when, list, err)
			}
		}
		check("before the fold")
		// With intake quiet, the log is folded within a second or so.
		deadline := time.Now().Add(10 * time.Second)
		for {
			res, err := s.Exec(context.Background(), `UPDATE alert_repeats SET n = n WHERE alert_id = ?`, id)
			if err != nil {
				t.Fatal(err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				break
			} else if time.Now().After(deadline) {
				t.Fatalf("%d repeats still not folded", n)
			}
			time.Sleep(50 * time.Millisecond)
		}
		check("after the fold")
	})

	t.Run("Batch", func(t *testing.T) {
		fire := func(fp string) *vigil.AlertInput {
			return alertIn(in, fp, "Batch "+fp, vigil.SeverityLow, vigil.AlertFiring, nil)
		}
		mustIngest(t, s, in, fire("b-open"))
		res := mustIngest(t, s, in, fire("b-open"), fire("b-open"), fire("b-new"), fire("b-new"), fire("b-x"),
			alertIn(in, "b-x", "Batch b-x", vigil.SeverityLow, vigil.AlertResolved, nil), fire("b-open2"))
		if res.Created != 3 || res.Repeated != 3 || res.Resolved != 1 || res.Received != 7 {
			t.Fatalf("batch: %+v", res)
		}
		ids := res.AlertIDs
		if ids[0] != ids[1] || ids[2] != ids[3] || ids[4] != ids[5] || ids[0] == ids[2] || ids[6] == 0 {
			t.Errorf("ids in order: %v", ids)
		}
		a, _ := s.Alerts.FindAlertByID(responder, ids[0])
		x, _ := s.Alerts.FindAlertByID(responder, ids[4])
		if a.Count != 3 || x.Status != vigil.AlertResolved || x.Count != 1 { // b-x fired once
			t.Errorf("counts: open %d, b-x %s %d", a.Count, x.Status, x.Count)
		}
		// Concurrent requests are merged into shared writes; every one of
		// them is counted.
		const clients, per = 8, 25
		var wg sync.WaitGroup
		errs := make(chan error, clients*per)
		for c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range per {
					_, err := s.Alerts.IngestAlerts(context.Background(), in, []*vigil.AlertInput{fire("b-open"), fire(fmt.Sprintf("b-%d-%d", c, i))})
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		a, _ = s.Alerts.FindAlertByID(responder, ids[0])
		if a.Count != 3+clients*per {
			t.Errorf("after concurrent repeats: count %d, want %d", a.Count, 3+clients*per)
		}
	})

	t.Run("SeenBefore", func(t *testing.T) {
		a1 := alertIn(in, "fp-ssh-1", "SSH brute force from 203.0.113.9", vigil.SeverityHigh, vigil.AlertFiring, nil)
		a2 := alertIn(in, "fp-ssh-2", "Login from 203.0.113.9", vigil.SeverityLow, vigil.AlertFiring, nil)
		inc := MustCreateIncident(t, responder, s, &vigil.Incident{Title: "Brute force"})
		if _, err := s.Observables.AddObservables(responder, inc.ID, []*vigil.Observable{{Type: vigil.ObsIPv4, Value: "203.0.113.9"}}); err != nil {
			t.Fatal(err)
		}
		res := mustIngest(t, s, in, a1, a2)
		got, err := s.Alerts.FindAlertByID(viewer, res.AlertIDs[1])
		if err != nil {
			t.Fatal(err)
		}
		var ip *vigil.AlertObservable
		for _, o := range got.Observables {
			if o.Value == "203.0.113.9" {
				ip = o
			}
		}
		if ip == nil || ip.SeenInAlerts != 1 || ip.SeenAlerts[0].ID != res.AlertIDs[0] || len(ip.SeenIn) != 1 || ip.SeenIn[0].ID != inc.ID {
			t.Errorf("seen before: %+v", ip)
		}
	})

	t.Run("Grouping", func(t *testing.T) {
		hostIn := &vigil.Integration{Name: "Wazuh", Kind: vigil.IntegrationWazuh,
			Grouping:  vigil.GroupingRule{By: []string{"observable:hostname"}, Window: vigil.Duration(10 * time.Minute)},
			Promotion: vigil.PromotionRule{Count: 3}}
		mustIntegration(t, s, admin, hostIn)
		obs := func(host string) []vigil.ObservableInput {
			return []vigil.ObservableInput{{Type: vigil.ObsHostname, Value: host}}
		}
		mk := func(fp, host string) *vigil.AlertInput {
			a := &vigil.AlertInput{Fingerprint: fp, Title: "Rule " + fp + " on " + host, Observables: obs(host)}
			a.Prepare(hostIn)
			return a
		}
		r1 := mustIngest(t, s, hostIn, mk("r1", "web-1"), mk("r2", "web-1"), mk("r1b", "web-2"))
		if r1.GroupIDs[0] != r1.GroupIDs[1] || r1.GroupIDs[0] == r1.GroupIDs[2] {
			t.Fatalf("groups by host: %v", r1.GroupIDs)
		}
		// Past the window, the same host starts a new group.
		tick(11 * time.Minute)
		r2 := mustIngest(t, s, hostIn, mk("r3", "web-2"))
		if r2.GroupIDs[0] == r1.GroupIDs[2] {
			t.Errorf("joined a group after its window")
		}
		// The third alert on web-1 within the window promotes the group.
		tick(-11 * time.Minute)
		r3 := mustIngest(t, s, hostIn, mk("r4", "web-1"))
		if len(r3.Promoted) != 1 {
			t.Fatalf("no promotion at 3 alerts: %+v", r3)
		}
		inc, err := s.Incidents.FindIncidentByID(responder, r3.Promoted[0])
		if err != nil {
			t.Fatal(err)
		}
		if inc.Source != vigil.SourceAlert || inc.Status != vigil.StatusTriage {
			t.Errorf("promoted incident: %+v", inc)
		}
		tl, err := s.Timeline.FindTimeline(responder, inc.ID, vigil.TimelineFilter{Kinds: []vigil.TimelineKind{vigil.KindAlert}})
		if err != nil || len(tl.Items) != 1 || !strings.Contains(tl.Items[0].Message, "Rule r4 on web-1") {
			t.Fatalf("timeline: %v %+v", err, tl)
		}
		// The incident holds the group's observables.
		obsList, _ := s.Observables.FindObservables(responder, inc.ID)
		if len(obsList) != 1 || obsList[0].Value != "web-1" {
			t.Errorf("incident observables: %+v", obsList)
		}
		// A fourth alert feeds the incident's timeline.
		r4 := mustIngest(t, s, hostIn, mk("r5", "web-1"))
		if len(r4.Promoted) != 0 || !slices.Contains(r4.Incidents, inc.ID) {
			t.Errorf("fourth alert: %+v", r4)
		}
		tl, _ = s.Timeline.FindTimeline(responder, inc.ID, vigil.TimelineFilter{Kinds: []vigil.TimelineKind{vigil.KindAlert}})
		if len(tl.Items) != 2 {
			t.Errorf("timeline after fourth alert: %+v", tl.Items)
		}
		// Severity promotion.
		sevIn := &vigil.Integration{Name: "EDR", Kind: vigil.IntegrationTheHive, Promotion: vigil.PromotionRule{MinSeverity: vigil.SeverityHigh}}
		mustIntegration(t, s, admin, sevIn)
		low := alertIn(sevIn, "e1", "Adware", vigil.SeverityLow, vigil.AlertFiring, nil)
		crit := alertIn(sevIn, "e2", "Ransomware note", vigil.SeverityCritical, vigil.AlertFiring, nil)
		res := mustIngest(t, s, sevIn, low, crit)
		if len(res.Promoted) != 1 {
			t.Errorf("severity promotion: %+v", res)
		}
		// A TLP:RED alert joining raises the incident to TLP:RED first,
		// and a value with a NUL in it is stored without it.
		red := mk("r4b", "web-1")
		red.TLP = vigil.TLPRed
		red.Observables = append(red.Observables, vigil.ObservableInput{Type: vigil.ObsOtherText, Value: "evil\x00payload"})
		mustIngest(t, s, hostIn, red)
		if got := MustFindIncident(t, admin, s, inc.ID); got.TLP != vigil.TLPRed {
			t.Errorf("incident TLP after a RED alert joined: %s", got.TLP)
		}
		if _, err := s.Incidents.FindIncidentByID(responder, inc.ID); vigil.ErrorCode(err) != vigil.ENOTFOUND {
			t.Errorf("a responder still sees the now TLP:RED incident: %v", err)
		}
	})

	t.Run("Queue", func(t *testing.T) {
		qIn := &vigil.Integration{Name: "Grafana", Kind: vigil.IntegrationGrafana}
		mustIntegration(t, s, admin, qIn)
		res := mustIngest(t, s, qIn,
			alertIn(qIn, "q1", "CPU high", vigil.SeverityLow, vigil.AlertFiring, nil),
			alertIn(qIn, "q2", "Error rate", vigil.SeverityCritical, vigil.AlertFiring, nil),
			alertIn(qIn, "q3", "Latency", vigil.SeverityMedium, vigil.AlertFiring, nil),
			&vigil.AlertInput{Fingerprint: "q4", Title: "Board secret", Severity: vigil.SeverityHigh, TLP: vigil.TLPRed, Labels: map[string]string{}})
		res.AlertIDs = res.AlertIDs[:3]
		page, err := s.Alerts.FindAlertGroups(responder, vigil.AlertGroupFilter{IntegrationID: qIn.ID})
		if err != nil {
			t.Fatal(err)
		}
		// TLP:RED groups are for managers and admins.
		if page.Total != 3 || page.Groups[0].Severity != vigil.SeverityCritical || page.Groups[2].Severity != vigil.SeverityLow {
			t.Fatalf("queue by severity: total %d %+v", page.Total, page.Groups)
		}
		adminPage, _ := s.Alerts.FindAlertGroups(admin, vigil.AlertGroupFilter{IntegrationID: qIn.ID})
		if adminPage.Total != 4 {
			t.Errorf("admin sees %d groups", adminPage.Total)
		}
		if _, err := s.Alerts.FindAlertGroups(reporter, vigil.AlertGroupFilter{}); vigil.ErrorCode(err) != vigil.EFORBIDDEN {
			t.Errorf("reporter reads the queue: %v", err)
		}
		g1, g2, g3 := res.GroupIDs[0], res.GroupIDs[1], res.GroupIDs[2]
		// Viewers may look but not act.
		if _, err := s.Alerts.ActOnGroups(viewer, vigil.GroupAction{Action: "acknowledge", GroupIDs: []int64{g1}}); vigil.ErrorCode(err) != vigil.EFORBIDDEN {
			t.Errorf("viewer acts: %v", err)
		}
		// Dismiss needs a reason.
		if _, err := s.Alerts.ActOnGroups(responder, vigil.GroupAction{Action: "dismiss", GroupIDs: []int64{g1}}); !hasField(err, "reason") {
			t.Errorf("dismiss without reason: %v", err)
		}
		if _, err := s.Alerts.ActOnGroups(responder, vigil.GroupAction{Action: "dismiss", GroupIDs: []int64{g1}, Reason: "Batch job, expected."}); err != nil {
			t.Fatal(err)
		}
		// Bulk actions are all or none: one unknown group refuses them all.
		if _, err := s.Alerts.ActOnGroups(responder, vigil.GroupAction{Action: "acknowledge", GroupIDs: []int64{g2, 999999}}); vigil.ErrorCode(err) != vigil.ENOTFOUND {
			t.Errorf("unknown group: %v", err)
		}
		if g, _ := s.Alerts.FindAlertGroupByID(responder, g2); g.State != vigil.GroupNew {
			t.Errorf("partial bulk action: %s", g.State)
		}
		// Merge g3 into g2, then promote g2.
		if _, err := s.Alerts.ActOnGroups(responder, vigil.GroupAction{Action: "merge", GroupIDs: []int64{g3}, IntoID: g2}); err != nil {
			t.Fatal(err)
		}
		g, _ := s.Alerts.FindAlertGroupByID(responder, g2)
		if len(g.Alerts) != 2 || g.AlertCount != 2 {
			t.Fatalf("merged group: %+v", g)
		}
		incID, err := s.Alerts.ActOnGroups(responder, vigil.GroupAction{Action: "promote", GroupIDs: []int64{g2}, Type: vigil.TypeDenialOfService})
		if err != nil || incID == 0 {
			t.Fatalf("promote: %v", err)
		}
		inc, _ := s.Incidents.FindIncidentByID(responder, incID)
		if inc.Severity != vigil.SeverityCritical || inc.Type != vigil.TypeDenialOfService || inc.Title != "Error rate" {
			t.Errorf("promoted: %+v", inc)
		}
		tl, _ := s.Timeline.FindTimeline(responder, incID, vigil.TimelineFilter{Kinds: []vigil.TimelineKind{vigil.KindAlert}})
		if len(tl.Items) != 1 || !strings.Contains(tl.Items[0].Message, "Latency") || !strings.Contains(tl.Items[0].Message, "Error rate") {
			t.Errorf("promotion timeline: %+v", tl.Items)
		}
		// The queue now holds what is left to triage.
		page, _ = s.Alerts.FindAlertGroups(responder, vigil.AlertGroupFilter{IntegrationID: qIn.ID})
		if page.Total != 0 {
			t.Errorf("queue after triage: %+v", page.Groups)
		}
		// Attach a new alert's group to the incident.
		more := mustIngest(t, s, qIn, alertIn(qIn, "q5", "Disk latency", vigil.SeverityLow, vigil.AlertFiring, nil))
		if got, err := s.Alerts.ActOnGroups(responder, vigil.GroupAction{Action: "attach", GroupIDs: more.GroupIDs, IncidentID: incID}); err != nil || got != incID {
			t.Fatalf("attach: %v", err)
		}
		alert, _ := s.Alerts.FindAlertByID(responder, more.AlertIDs[0])
		if alert.IncidentID == nil || *alert.IncidentID != incID {
			t.Errorf("attached alert's incident: %v", alert.IncidentID)
		}
		// An integration with alerts cannot be deleted.
		if err := s.Integrations.DeleteIntegration(admin, qIn.ID); vigil.ErrorCode(err) != vigil.ECONFLICT {
			t.Errorf("delete with alerts: %v", err)
		}
	})
}

func hasField(err error, field string) bool {
	for _, f := range vigil.ErrorFields(err) {
		if f.Field == field {
			return true
		}
	}
	return false
}

// testAlertIsolation: a request that fails inside the store fails alone,
// however the store batched it with others.
func testAlertIsolation(t *testing.T, open Opener) {
	s := open(t)
	admin, _ := MustCreateUser(t, s, vigil.RoleAdmin)
	in := &vigil.Integration{Name: "am", Kind: vigil.IntegrationAlertmanager}
	mustIntegration(t, s, admin, in)
	// An integration the store does not know: its alerts cannot be stored
	// (foreign key), a failure inside the write.
	ghost := &vigil.Integration{ID: 999999, Name: "ghost", Kind: vigil.IntegrationAlertmanager}
	ghost.Normalize()
	const n = 40
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			target := in
			if i%10 == 0 {
				target = ghost
			}
			_, errs[i] = s.Alerts.IngestAlerts(context.Background(), target, []*vigil.AlertInput{alertIn(target, fmt.Sprintf("iso-%d", i), "Alert", vigil.SeverityLow, vigil.AlertFiring, nil)})
		}()
	}
	wg.Wait()
	stored := 0
	for i, err := range errs {
		switch {
		case i%10 == 0 && err == nil:
			t.Errorf("request %d for an unknown integration succeeded", i)
		case i%10 != 0 && err != nil:
			t.Errorf("request %d failed with another's: %v", i, err)
		case err == nil:
			stored++
		}
	}
	list, err := s.Alerts.FindAlerts(admin, vigil.AlertFilter{IntegrationID: in.ID, Limit: 100})
	if err != nil || len(list) != stored {
		t.Errorf("stored %d alerts, listed %d (%v)", stored, len(list), err)
	}
}

// testAlertTwoInstances: two instances on one database raise the same new
// alerts at the same moments, firing or already resolved; each request
// succeeds, and each alert is stored once, with every firing notification
// counted (and no resolution).
func testAlertTwoInstances(t *testing.T, open Opener) {
	s := open(t)
	if s.Twin == nil {
		t.Skip("one instance per database on " + s.Engine)
	}
	twin := s.Twin(t)
	admin, _ := MustCreateUser(t, s, vigil.RoleAdmin)
	responder, _ := MustCreateUser(t, s, vigil.RoleResponder)
	in := &vigil.Integration{Name: "Shared", Kind: vigil.IntegrationAlertmanager}
	mustIntegration(t, s, admin, in)
	const alerts, per = 40, 3 // per instance and alert
	for _, status := range []vigil.AlertStatus{vigil.AlertFiring, vigil.AlertResolved} {
		var wg sync.WaitGroup
		errs := make(chan error, 2*alerts*per)
		for _, st := range []*Store{s, twin} {
			for w := range per {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range alerts {
						fp := fmt.Sprintf("%s-%d", status, (i+w*7)%alerts) // the workers meet on each fingerprint
						a := alertIn(in, fp, "Race "+fp, vigil.SeverityLow, status, nil)
						_, err := st.Alerts.IngestAlerts(context.Background(), in, []*vigil.AlertInput{a})
						errs <- err
					}
				}()
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("%s: IngestAlerts: %v", status, err)
			}
		}
		list, err := s.Alerts.FindAlerts(responder, vigil.AlertFilter{IntegrationID: in.ID, Status: []vigil.AlertStatus{status}, Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		var total int64
		for _, a := range list {
			total += a.Count
		}
		want := int64(2 * alerts * per) // every firing notification; resolutions are not counted
		if status == vigil.AlertResolved {
			want = 0
		}
		if len(list) != alerts || total != want {
			t.Errorf("%s: %d alerts with %d notifications, want %d with %d", status, len(list), total, alerts, want)
		}
	}
}
