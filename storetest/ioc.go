package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/stix"
)

// indicator makes an incoming indicator with a pattern and extra
// properties (JSON members, each with its leading comma).
func indicator(n int, pattern string, modified time.Time, tlp vigil.TLP, extra string) *vigil.IncomingObject {
	id := fmt.Sprintf("indicator--10000000-0000-4000-8000-%012d", n)
	raw := fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":%q,"created":"2026-01-01T00:00:00.000Z","modified":%q,"pattern":%q,"pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"%s}`,
		id, modified.UTC().Format("2006-01-02T15:04:05.000Z"), pattern, extra)
	return &vigil.IncomingObject{Raw: []byte(raw), ID: id, Type: "indicator", SpecVersion: "2.1", Version: modified, TLP: tlp}
}

// matchAll runs matching rounds until nothing more is left, and returns
// the hits they made.
func matchAll(t *testing.T, s *Store, limit int) int {
	t.Helper()
	hits := 0
	for i := 0; ; i++ {
		st, err := s.IOC.MatchIOCs(SystemContext(t), limit)
		if err != nil {
			t.Fatalf("MatchIOCs: %v", err)
		}
		hits += st.Hits
		if !st.More {
			return hits
		}
		if i > 1000 {
			t.Fatal("matching never finishes")
		}
	}
}

type hitKey struct {
	value string
	match vigil.MatchKind
	ind   string
	retro bool
}

func hitKeys(t *testing.T, s *Store, ctx context.Context, f vigil.HitFilter) []hitKey {
	t.Helper()
	var out []hitKey
	for {
		p, err := s.IOC.FindHits(ctx, f)
		if err != nil {
			t.Fatalf("FindHits: %v", err)
		}
		for _, h := range p.Hits {
			out = append(out, hitKey{h.Value, h.Match, h.IndicatorValue, h.Retro})
		}
		if p.Next == 0 {
			break
		}
		f.Before = p.Next
	}
	slices.SortFunc(out, func(a, b hitKey) int { return strings.Compare(a.value+a.ind, b.value+b.ind) })
	return out
}

func testIOC(t *testing.T, open Opener) {
	s := open(t)
	clk := newClock(s, time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
	admin, _ := MustCreateUser(t, s, vigil.RoleAdmin)
	resp, _ := MustCreateUser(t, s, vigil.RoleResponder)
	analyst, _ := MustCreateUser(t, s, vigil.RoleResponder)
	reporter, _ := MustCreateUser(t, s, vigil.RoleReporter)

	// What was seen before any intelligence arrived: an incident's
	// observables, and an alert's.
	inc := MustCreateIncident(t, resp, s, &vigil.Incident{Title: "Beaconing from the file server"})
	_, err := s.Observables.AddObservables(resp, inc.ID, []*vigil.Observable{
		{Type: vigil.ObsIPv4, Value: "10.1.2.3"},
		{Type: vigil.ObsDomain, Value: "cdn.a.evil.example"},
		{Type: vigil.ObsURL, Value: "http://drop.example/x.exe"},
		{Type: vigil.ObsSHA256, Value: strings.Repeat("ab", 32)},
		{Type: vigil.ObsHostname, Value: "mx.phish.example"},
		{Type: vigil.ObsEmail, Value: "ceo@spoof.example"},
		{Type: vigil.ObsIPv4, Value: "192.0.2.77"}, // matches nothing
	})
	if err != nil {
		t.Fatal(err)
	}
	integ := &vigil.Integration{Name: "edr", Kind: vigil.IntegrationAlertmanager}
	mustIntegration(t, s, admin, integ)
	old := alertIn(integ, "edr-1", "Outbound connection", vigil.SeverityLow, vigil.AlertFiring, nil)
	old.Observables = []vigil.ObservableInput{{Type: vigil.ObsIPv6, Value: "2001:db8:beef::1"}, {Type: vigil.ObsDomain, Value: "evil.example"}}
	oldRes := mustIngest(t, s, integ, old)
	oldAlert := oldRes.AlertIDs[0]

	if n := matchAll(t, s, 1000); n != 0 {
		t.Fatalf("hits with no intelligence: %d", n)
	}

	// Intelligence arrives.
	clk.add(time.Hour)
	coll := &vigil.Collection{Title: "Sector feed"}
	if err := s.Sharing.CreateCollection(admin, coll); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	own := stix.IdentityID(vigil.DefaultOrgProfile().Name)
	objs := []*vigil.IncomingObject{
		indicator(1, `[ipv4-addr:value ISSUBSET '10.1.0.0/16']`, t0, vigil.TLPGreen, `,"name":"Botnet range","confidence":80`),
		indicator(2, `[domain-name:value = 'evil.example']`, t0, vigil.TLPGreen, `,"name":"Evil domain"`),
		indicator(3, `[file:hashes.'SHA-256' = '`+strings.Repeat("AB", 32)+`']`, t0, vigil.TLPAmber, ``),
		indicator(4, `[url:value = 'http://drop.example/x.exe'] OR [ipv6-addr:value = '2001:db8:beef::/48']`, t0, vigil.TLPClear, ``),
		indicator(5, `[domain-name:value = 'phish.example']`, t0, vigil.TLPRed, `,"name":"Red domain"`),
		indicator(6, `[domain-name:value = 'spoof.example']`, t0, "", ``), // unmarked: shared and matched as AMBER
		// None of these give entries: two observations at once, made by
		// the organisation itself, revoked, expired, not STIX.
		indicator(7, `[ipv4-addr:value = '10.1.2.3' AND domain-name:value = 'x.example']`, t0, vigil.TLPGreen, ``),
		indicator(8, `[ipv4-addr:value = '10.1.2.3']`, t0, vigil.TLPGreen, `,"created_by_ref":"`+own+`"`),
		indicator(9, `[ipv4-addr:value = '192.0.2.77']`, t0, vigil.TLPGreen, `,"revoked":true`),
		indicator(10, `[ipv4-addr:value = '192.0.2.77']`, t0, vigil.TLPGreen, `,"valid_until":"2026-02-01T00:00:00Z"`),
		{Raw: []byte(`{"type":"indicator","spec_version":"2.1","id":"indicator--10000000-0000-4000-8000-000000000011","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"alert tcp any any -> 192.0.2.77 any","pattern_type":"snort","valid_from":"2026-01-01T00:00:00Z"}`),
			ID: "indicator--10000000-0000-4000-8000-000000000011", Type: "indicator", SpecVersion: "2.1", Version: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	if _, err := s.Sharing.AddObjects(admin, coll.ID, objs, nil); err != nil {
		t.Fatal(err)
	}
	clk.add(time.Minute)
	// Small rounds, to cross batch boundaries.
	if n := matchAll(t, s, 2); n != 8 {
		t.Errorf("retro-hunt made %d hits, want 8", n)
	}
	if n := matchAll(t, s, 2); n != 0 {
		t.Errorf("a second pass made %d hits", n)
	}
	hash := strings.Repeat("ab", 32)
	want := []hitKey{
		{"10.1.2.3", vigil.MatchCIDR, "10.1.0.0/16", true},
		{hash, vigil.MatchExact, hash, true},
		{"cdn.a.evil.example", vigil.MatchDomain, "evil.example", true},
		{"ceo@spoof.example", vigil.MatchDomain, "spoof.example", true},
		{"http://drop.example/x.exe", vigil.MatchExact, "http://drop.example/x.exe", true},
		{"mx.phish.example", vigil.MatchDomain, "phish.example", true},
	}
	slices.SortFunc(want, func(a, b hitKey) int { return strings.Compare(a.value+a.ind, b.value+b.ind) })
	if got := hitKeys(t, s, admin, vigil.HitFilter{IncidentID: inc.ID, Limit: 2}); !slices.Equal(got, want) {
		t.Errorf("incident hits:\n got %v\nwant %v", got, want)
	}
	// The alert queue's badges: hits by alert group.
	if counts, err := s.IOC.CountHitsByGroup(resp, []int64{oldRes.GroupIDs[0], 999999}); err != nil || counts[oldRes.GroupIDs[0]] != 2 || len(counts) != 1 {
		t.Errorf("hits by group: %v %v", err, counts)
	}
	if _, err := s.IOC.CountHitsByGroup(reporter, []int64{oldRes.GroupIDs[0]}); vigil.ErrorCode(err) != vigil.EFORBIDDEN {
		t.Errorf("a reporter counts hits: %v", err)
	}
	// A responder is not cleared for the RED indicator.
	if got := hitKeys(t, s, resp, vigil.HitFilter{IncidentID: inc.ID}); len(got) != 5 {
		t.Errorf("responder sees %d hits, want 5 (not the RED one): %v", len(got), got)
	}
	wantAlert := []hitKey{
		{"2001:db8:beef::1", vigil.MatchCIDR, "2001:db8:beef::/48", true},
		{"evil.example", vigil.MatchExact, "evil.example", true},
	}
	slices.SortFunc(wantAlert, func(a, b hitKey) int { return strings.Compare(a.value+a.ind, b.value+b.ind) })
	if got := hitKeys(t, s, admin, vigil.HitFilter{AlertID: oldAlert}); !slices.Equal(got, wantAlert) {
		t.Errorf("alert hits:\n got %v\nwant %v", got, wantAlert)
	}
	p, err := s.IOC.FindHits(admin, vigil.HitFilter{IncidentID: inc.ID})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range p.Hits {
		if h.IndicatorValue == "spoof.example" && h.TLP != vigil.TLPAmber {
			t.Errorf("hit on an unmarked indicator has TLP %q, want AMBER, the TLP it is shared at", h.TLP)
		}
		if h.IndicatorValue == "10.1.0.0/16" {
			if h.Confidence == nil || *h.Confidence != 80 || h.IndicatorName != "Botnet range" || h.Source != "Sector feed" ||
				h.Incident == nil || h.Incident.Reference != inc.Reference || h.TLP != vigil.TLPGreen {
				t.Errorf("hit: %+v", h)
			}
			one, err := s.IOC.FindHit(resp, h.ID)
			if err != nil || one.IndicatorID != h.IndicatorID {
				t.Errorf("FindHit: %+v, %v", one, err)
			}
		}
	}
	// The incident's timeline says so: each hit once (one entry per round
	// of matching that found some).
	tl, err := s.Timeline.FindTimeline(resp, inc.ID, vigil.TimelineFilter{Kinds: []vigil.TimelineKind{vigil.KindIntel}})
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, e := range tl.Items {
		all.WriteString(e.Message + "\n")
	}
	for _, w := range want {
		if n := strings.Count(all.String(), " "+w.value+" matches "); n != 1 {
			t.Errorf("timeline tells of %s %d times:\n%s", w.value, n, all.String())
		}
	}
	if !strings.Contains(all.String(), `"Botnet range" (confidence 80) (ipv4-addr 10.1.0.0/16), seen here before the indicator arrived.`) ||
		strings.Contains(all.String(), "Red domain") || !strings.Contains(all.String(), "mx.phish.example matches an indicator marked TLP:RED,") {
		t.Errorf("timeline:\n%s", all.String())
	}

	// New sightings after the intelligence: matched as they come, not retro.
	clk.add(time.Hour)
	fresh := alertIn(integ, "edr-2", "Beacon", vigil.SeverityLow, vigil.AlertFiring, nil)
	fresh.Observables = []vigil.ObservableInput{{Type: vigil.ObsURL, Value: "https://login.evil.example/reset"}, {Type: vigil.ObsIPv4, Value: "10.1.200.1"}}
	freshAlert := mustIngest(t, s, integ, fresh).AlertIDs[0]
	inc2 := MustCreateIncident(t, resp, s, &vigil.Incident{Title: "Second wave", TLP: vigil.TLPRed})
	if _, err := s.Observables.AddObservables(resp, inc2.ID, []*vigil.Observable{{Type: vigil.ObsSHA256, Value: hash}}); err != nil {
		t.Fatal(err)
	}
	clk.add(time.Minute)
	if n := matchAll(t, s, 1000); n != 3 {
		t.Errorf("new sightings made %d hits, want 3", n)
	}
	wantFresh := []hitKey{
		{"10.1.200.1", vigil.MatchCIDR, "10.1.0.0/16", false},
		{"https://login.evil.example/reset", vigil.MatchDomain, "evil.example", false},
	}
	if got := hitKeys(t, s, admin, vigil.HitFilter{AlertID: freshAlert}); !slices.Equal(got, wantFresh) {
		t.Errorf("fresh alert hits:\n got %v\nwant %v", got, wantFresh)
	}
	// A RED incident's hits are for its members: another responder is not one.
	if got := hitKeys(t, s, analyst, vigil.HitFilter{IncidentID: inc2.ID}); len(got) != 0 {
		t.Errorf("a non-member sees hits of a RED incident: %v", got)
	}
	if got := hitKeys(t, s, resp, vigil.HitFilter{IncidentID: inc2.ID}); len(got) != 1 || got[0].retro {
		t.Errorf("member's hits on the RED incident: %v", got)
	}
	if _, err := s.IOC.FindHits(reporter, vigil.HitFilter{}); vigil.ErrorCode(err) != vigil.EFORBIDDEN {
		t.Errorf("reporter lists hits: %v", err)
	}
	if _, err := s.IOC.MatchIOCs(resp, 10); vigil.ErrorCode(err) != vigil.EFORBIDDEN {
		t.Errorf("a responder runs matching: %v", err)
	}

	// A new version that revokes an indicator removes it from matching:
	// later sightings of its domain are not hits (hits already made stay).
	revoked := indicator(2, `[domain-name:value = 'evil.example']`, t0.Add(time.Hour), vigil.TLPGreen, `,"revoked":true`)
	if _, err := s.Sharing.AddObjects(admin, coll.ID, []*vigil.IncomingObject{revoked}, nil); err != nil {
		t.Fatal(err)
	}
	clk.add(time.Minute)
	matchAll(t, s, 1000)
	late := alertIn(integ, "edr-3", "Later", vigil.SeverityLow, vigil.AlertFiring, nil)
	late.Observables = []vigil.ObservableInput{{Type: vigil.ObsDomain, Value: "www.evil.example"}}
	lateAlert := mustIngest(t, s, integ, late).AlertIDs[0]
	clk.add(time.Minute)
	if n := matchAll(t, s, 1000); n != 0 {
		t.Errorf("a revoked indicator made %d hits", n)
	}
	if got := hitKeys(t, s, admin, vigil.HitFilter{AlertID: lateAlert}); len(got) != 0 {
		t.Errorf("hits on a revoked indicator: %v", got)
	}
	if got := hitKeys(t, s, admin, vigil.HitFilter{AlertID: oldAlert}); len(got) != 2 {
		t.Errorf("earlier hits lost: %v", got)
	}
}

// testIOCNotify: a round of matching that finds new hits on an incident
// tells the subscriptions asking for intel.hit, once per incident per
// round, naming no indicator; an exercise tells no one.
func testIOCNotify(t *testing.T, open Opener) {
	s := open(t)
	clk := newClock(s, time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
	admin, _ := MustCreateUser(t, s, vigil.RoleAdmin)
	hook := &vigil.Channel{Name: "SOC", Kind: vigil.ChannelWebhook, URL: "https://soc.example.org/hooks/intel", Enabled: true, TLP: vigil.TLPAmber}
	if err := s.Notify.CreateChannel(admin, hook); err != nil {
		t.Fatal(err)
	}
	if err := s.Notify.CreateSubscription(admin, &vigil.Subscription{ChannelID: hook.ID, Events: []vigil.EventKind{vigil.EventIntelHit}}); err != nil {
		t.Fatal(err)
	}
	inc := MustCreateIncident(t, admin, s, &vigil.Incident{Title: "Beaconing"})
	drill := MustCreateIncident(t, admin, s, &vigil.Incident{Title: "Drill", Exercise: true})
	for _, id := range []int64{inc.ID, drill.ID} {
		if _, err := s.Observables.AddObservables(admin, id, []*vigil.Observable{{Type: vigil.ObsIPv4, Value: "10.9.8.7"}, {Type: vigil.ObsDomain, Value: "c2.bad.example"}}); err != nil {
			t.Fatal(err)
		}
	}
	coll := &vigil.Collection{Title: "Feed"}
	if err := s.Sharing.CreateCollection(admin, coll); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	if _, err := s.Sharing.AddObjects(admin, coll.ID, []*vigil.IncomingObject{
		indicator(1, `[ipv4-addr:value = '10.9.8.7']`, t0, vigil.TLPGreen, ``),
		indicator(2, `[domain-name:value = 'bad.example']`, t0, vigil.TLPRed, `,"name":"Secret C2 domain"`),
	}, nil); err != nil {
		t.Fatal(err)
	}
	clk.add(time.Minute) // past PostgreSQL's commit lag (Dialect.CommitLag)
	before := lastDeliveryID(t, s)
	if n := matchAll(t, s, 1000); n != 4 {
		t.Fatalf("hits: %d, want 4 (two on each incident)", n)
	}
	expandAll(t, s, "w1")
	got := deliveriesSince(t, s, before)
	if len(got) != 1 || got[0].Event != vigil.EventIntelHit || got[0].Message.Subject != "Threat intelligence match: "+inc.Reference+" Beaconing" ||
		!strings.HasPrefix(got[0].Message.Text, "2 new matches") {
		for _, d := range got {
			t.Logf("delivery: %s %+v", d.Event, d.Message)
		}
		t.Fatalf("%d deliveries", len(got))
	}
	if strings.Contains(got[0].Message.Text, "Secret C2") || strings.Contains(got[0].Message.Text, "bad.example") {
		t.Errorf("the message names an indicator: %q", got[0].Message.Text)
	}
	// Nothing new, nothing sent.
	before = lastDeliveryID(t, s)
	matchAll(t, s, 1000)
	expandAll(t, s, "w1")
	if got := deliveriesSince(t, s, before); len(got) != 0 {
		t.Errorf("a round without new hits notified: %+v", got)
	}
}

// testIOCDeleteVersion: deleting an indicator's last version makes the
// version before it the one matched; deleting every version forgets it.
func testIOCDeleteVersion(t *testing.T, open Opener) {
	s := open(t)
	clk := newClock(s, time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
	admin, _ := MustCreateUser(t, s, vigil.RoleAdmin)
	coll := &vigil.Collection{Title: "Feed"}
	if err := s.Sharing.CreateCollection(admin, coll); err != nil {
		t.Fatal(err)
	}
	v1, v2 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	if _, err := s.Sharing.AddObjects(admin, coll.ID, []*vigil.IncomingObject{
		indicator(1, `[ipv4-addr:value = '10.5.5.5']`, v1, vigil.TLPGreen, ``),
		indicator(1, `[ipv4-addr:value = '10.6.6.6']`, v2, vigil.TLPGreen, ``),
	}, nil); err != nil {
		t.Fatal(err)
	}
	clk.add(time.Minute)
	matchAll(t, s, 1000)
	hitsOn := func(value string) int {
		t.Helper()
		inc := MustCreateIncident(t, admin, s, &vigil.Incident{Title: "Seen " + value})
		if _, err := s.Observables.AddObservables(admin, inc.ID, []*vigil.Observable{{Type: vigil.ObsIPv4, Value: value}}); err != nil {
			t.Fatal(err)
		}
		clk.add(time.Minute)
		matchAll(t, s, 1000)
		page, err := s.IOC.FindHits(admin, vigil.HitFilter{IncidentID: inc.ID})
		if err != nil {
			t.Fatal(err)
		}
		return len(page.Hits)
	}
	if hitsOn("10.6.6.6") != 1 || hitsOn("10.5.5.5") != 0 {
		t.Fatal("before the delete, only the last version matches")
	}
	id := "indicator--10000000-0000-4000-8000-000000000001"
	if err := s.Sharing.DeleteObject(admin, coll.ID, id, vigil.ObjectFilter{Versions: []string{v2.Format("2006-01-02T15:04:05.000Z")}}); err != nil {
		t.Fatal(err)
	}
	if hitsOn("10.5.5.5") != 1 || hitsOn("10.6.6.6") != 0 {
		t.Error("after deleting the last version, the one before it should be matched")
	}
	if err := s.Sharing.DeleteObject(admin, coll.ID, id, vigil.ObjectFilter{Versions: []string{"all"}}); err != nil {
		t.Fatal(err)
	}
	if hitsOn("10.5.5.5") != 0 {
		t.Error("a deleted indicator still matches")
	}
}

// testIOCScopeBackfill: observables stored before scope keys existed
// (their keys cleared here, and the pending mark of migration 00023 put
// back) get them from FillScopeKeys, and retro-hunting then finds them
// in blocks, under domains, and in URLs naming an address.
func testIOCScopeBackfill(t *testing.T, open Opener) {
	s := open(t)
	clk := newClock(s, time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
	admin, _ := MustCreateUser(t, s, vigil.RoleAdmin)
	inc := MustCreateIncident(t, admin, s, &vigil.Incident{Title: "Old case"})
	if _, err := s.Observables.AddObservables(admin, inc.ID, []*vigil.Observable{
		{Type: vigil.ObsIPv4, Value: "10.9.8.7"},
		{Type: vigil.ObsURL, Value: "http://203.0.113.5/gate.php"},
		{Type: vigil.ObsHostname, Value: "web.old.example"},
	}); err != nil {
		t.Fatal(err)
	}
	integ := &vigil.Integration{Name: "ids", Kind: vigil.IntegrationAlertmanager}
	mustIntegration(t, s, admin, integ)
	a := alertIn(integ, "ids-1", "Old alert", vigil.SeverityLow, vigil.AlertFiring, nil)
	a.Observables = []vigil.ObservableInput{{Type: vigil.ObsEmail, Value: "x@mail.old.example"}}
	mustIngest(t, s, integ, a)
	if n := matchAll(t, s, 1000); n != 0 {
		t.Fatalf("hits with no intelligence: %d", n)
	}
	ctx := context.Background()
	for _, q := range []string{`UPDATE observables SET scope_key = NULL`, `UPDATE alert_observables SET scope_key = NULL`} {
		if _, err := s.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Exec(ctx, `INSERT INTO settings (key, value, updated_at) VALUES ('scope_keys', '"pending"', ?)`, clk.now()); err != nil {
		t.Fatal(err)
	}
	if err := s.FillScopeKeys(ctx); err != nil {
		t.Fatal(err)
	}
	clk.add(time.Hour)
	coll := &vigil.Collection{Title: "Feed"}
	if err := s.Sharing.CreateCollection(admin, coll); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	if _, err := s.Sharing.AddObjects(admin, coll.ID, []*vigil.IncomingObject{
		indicator(1, `[ipv4-addr:value ISSUBSET '10.9.0.0/16']`, t0, vigil.TLPGreen, ``),
		indicator(2, `[ipv4-addr:value = '203.0.113.5']`, t0, vigil.TLPGreen, ``),
		indicator(3, `[domain-name:value = 'old.example']`, t0, vigil.TLPGreen, ``),
	}, nil); err != nil {
		t.Fatal(err)
	}
	clk.add(time.Minute)
	matchAll(t, s, 1000)
	want := []hitKey{
		{"10.9.8.7", vigil.MatchCIDR, "10.9.0.0/16", true},
		{"http://203.0.113.5/gate.php", vigil.MatchHost, "203.0.113.5", true},
		{"web.old.example", vigil.MatchDomain, "old.example", true},
		{"x@mail.old.example", vigil.MatchDomain, "old.example", true},
	}
	slices.SortFunc(want, func(a, b hitKey) int { return strings.Compare(a.value+a.ind, b.value+b.ind) })
	if got := hitKeys(t, s, admin, vigil.HitFilter{}); !slices.Equal(got, want) {
		t.Errorf("hits after the backfill:\n got %v\nwant %v", got, want)
	}
	if res, err := s.Exec(ctx, `DELETE FROM settings WHERE key = 'scope_keys'`); err != nil {
		t.Fatal(err)
	} else if n, _ := res.RowsAffected(); n != 0 {
		t.Error("the pending mark is still there after the backfill")
	}
}

// testIOCUnsettledVersion: a batch's date_added times can lie ahead of the
// clock (each batch keeps whole milliseconds to itself), so an indicator
// can be settled while one stored before it is not yet. Matching must
// wait for the earlier one, not move past it and never come back.
func testIOCUnsettledVersion(t *testing.T, open Opener) {
	s := open(t)
	start := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	clk := newClock(s, start)
	admin, _ := MustCreateUser(t, s, vigil.RoleAdmin)
	inc := MustCreateIncident(t, admin, s, &vigil.Incident{Title: "Beacons"})
	if _, err := s.Observables.AddObservables(admin, inc.ID, []*vigil.Observable{
		{Type: vigil.ObsIPv4, Value: "10.1.1.1"}, {Type: vigil.ObsIPv4, Value: "10.1.1.2"}, {Type: vigil.ObsIPv4, Value: "10.1.1.3"},
	}); err != nil {
		t.Fatal(err)
	}
	a, b := &vigil.Collection{Title: "A"}, &vigil.Collection{Title: "B"}
	for _, c := range []*vigil.Collection{a, b} {
		if err := s.Sharing.CreateCollection(admin, c); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	add := func(coll string, n int) {
		t.Helper()
		if _, err := s.Sharing.AddObjects(admin, coll, []*vigil.IncomingObject{
			indicator(n, fmt.Sprintf(`[ipv4-addr:value = '10.1.1.%d']`, n), t0, vigil.TLPGreen, ``)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	// date_added: the first at start, the second at start + 1 ms (A's
	// first batch keeps its millisecond), the third, stored after the
	// second, at start + 200 µs.
	add(a.ID, 1)
	clk.add(100 * time.Microsecond)
	add(a.ID, 2)
	clk.add(100 * time.Microsecond)
	add(b.ID, 3)
	lag := time.Duration(0) // how long the engine waits for rows to settle
	if s.Engine == "postgres" {
		lag = 10 * time.Second
	}
	clk.set(start.Add(lag + 500*time.Microsecond)) // the first and third settled, not the second
	matchAll(t, s, 1000)
	clk.add(time.Hour)
	matchAll(t, s, 1000)
	want := []hitKey{
		{"10.1.1.1", vigil.MatchExact, "10.1.1.1", true},
		{"10.1.1.2", vigil.MatchExact, "10.1.1.2", true},
		{"10.1.1.3", vigil.MatchExact, "10.1.1.3", true},
	}
	if got := hitKeys(t, s, admin, vigil.HitFilter{}); !slices.Equal(got, want) {
		t.Errorf("hits:\n got %v\nwant %v", got, want)
	}
}
