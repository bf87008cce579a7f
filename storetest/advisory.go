package storetest

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
)

// advisoryWorld is two members and the users the advisory tests act as.
type advisoryWorld struct {
	s                          *Store
	manager, admin, responder  context.Context // the coordinator's
	coordReporter              context.Context
	northViewer, northReporter context.Context
	northAdmin                 context.Context
	southAdmin, southResponder context.Context
	both                       context.Context // a responder in north and south
	outsider                   context.Context // a member of a third member, not addressed
}

func newAdvisoryWorld(t *testing.T, s *Store) *advisoryWorld {
	t.Helper()
	sys := SystemContext(t)
	for _, o := range []*vigil.Organisation{
		{Slug: "north", Name: "North Water", Sector: "Water"},
		{Slug: "south", Name: "South Power", Sector: "Energy"},
		{Slug: "east", Name: "East Rail", Sector: "Transport"},
	} {
		if err := s.Orgs.CreateOrganisation(sys, o); err != nil {
			t.Fatal(err)
		}
	}
	w := &advisoryWorld{s: s}
	role := func(m map[string]vigil.Role) context.Context { ctx, _ := orgUser(t, s, m); return ctx }
	w.manager = role(map[string]vigil.Role{"default": vigil.RoleManager})
	w.admin = role(map[string]vigil.Role{"default": vigil.RoleAdmin})
	w.responder = role(map[string]vigil.Role{"default": vigil.RoleResponder})
	w.coordReporter = role(map[string]vigil.Role{"default": vigil.RoleReporter})
	w.northViewer = role(map[string]vigil.Role{"north": vigil.RoleViewer})
	w.northReporter = role(map[string]vigil.Role{"north": vigil.RoleReporter})
	w.northAdmin = role(map[string]vigil.Role{"north": vigil.RoleAdmin})
	w.southAdmin = role(map[string]vigil.Role{"south": vigil.RoleAdmin})
	w.southResponder = role(map[string]vigil.Role{"south": vigil.RoleResponder})
	w.both = role(map[string]vigil.Role{"north": vigil.RoleResponder, "south": vigil.RoleResponder})
	w.outsider = role(map[string]vigil.Role{"east": vigil.RoleAdmin})
	return w
}

// draft creates a complete draft as the coordinator's manager.
func (w *advisoryWorld) draft(t *testing.T, a *vigil.Advisory) *vigil.Advisory {
	t.Helper()
	if a.Title == "" {
		a.Title = "Exploited flaw in Acme VPN"
	}
	if a.Summary == "" {
		a.Summary = "Attackers exploit CVE-2026-1234 in Acme VPN."
	}
	if a.Actions == "" {
		a.Actions = "Patch to 9.2."
	}
	if err := w.s.Advisories.CreateAdvisory(w.manager, a); err != nil {
		t.Fatalf("CreateAdvisory: %v", err)
	}
	return a
}

// publish sends a draft for review and publishes it.
func (w *advisoryWorld) publish(t *testing.T, a *vigil.Advisory) *vigil.Advisory {
	t.Helper()
	a, err := w.s.Advisories.UpdateAdvisory(w.manager, a.Reference, vigil.AdvisoryUpdate{Status: new(vigil.AdvisoryInReview), Version: a.Version})
	if err != nil {
		t.Fatalf("to review: %v", err)
	}
	a, err = w.s.Advisories.PublishAdvisory(w.admin, a.Reference, vigil.AdvisoryPublish{Version: a.Version})
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	return a
}

func refsOf(as []*vigil.Advisory) []string {
	out := []string{}
	for _, a := range as {
		out = append(out, a.Reference)
	}
	slices.Sort(out)
	return out
}

// testAdvisory: drafting, review, publication, updates and withdrawal on
// the store, and bad input.
func testAdvisory(t *testing.T, open Opener) {
	s := open(t)
	c := newClock(s, time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	w := newAdvisoryWorld(t, s)

	a := w.draft(t, &vigil.Advisory{Kind: vigil.AdvisoryKindAlert, Severity: vigil.SeverityCritical, TLP: vigil.TLPGreen,
		Affected: vigil.Affected{Products: []string{"Acme VPN 9.1 and earlier"}, CVEs: []string{"cve-2026-1234"}},
		IOCs:     []vigil.AdvisoryIOC{{Type: vigil.ObsIPv4, Value: "198.51.100.7"}}, Refs: []string{"https://acme.example/psirt"}})
	if a.Reference != "ADV-2026-0001" || a.Status != vigil.AdvisoryDraft || a.Revision != 0 || a.Version != 1 || a.UUID == "" ||
		a.Affected.CVEs[0] != "CVE-2026-1234" || a.IOCs[0].TLP != vigil.TLPGreen || !a.CreatedAt.Equal(c.now()) {
		t.Fatalf("created: %+v", a)
	}
	b := w.draft(t, &vigil.Advisory{Title: "Second"})
	if b.Reference != "ADV-2026-0002" {
		t.Errorf("second reference %q", b.Reference)
	}

	t.Run("WhoMayDraft", func(t *testing.T) {
		for _, ctx := range []context.Context{w.responder, w.coordReporter, w.northAdmin} {
			err := s.Advisories.CreateAdvisory(ctx, &vigil.Advisory{Title: "x"})
			wantCode(t, err, vigil.EFORBIDDEN)
		}
		// A member cannot change what it cannot see: 404, not 403.
		_, err := s.Advisories.UpdateAdvisory(w.northAdmin, a.Reference, vigil.AdvisoryUpdate{Title: new("x"), Version: a.Version})
		wantCode(t, err, vigil.ENOTFOUND)
		_, err = s.Advisories.UpdateAdvisory(w.responder, a.Reference, vigil.AdvisoryUpdate{Title: new("x"), Version: a.Version})
		wantCode(t, err, vigil.EFORBIDDEN)
		got, err := s.Advisories.FindAdvisory(w.responder, strings.ToLower(a.Reference))
		if err != nil || got.Reference != a.Reference || got.CreatedBy == "" {
			t.Errorf("the coordinator's responder reads drafts: %v %+v", err, got)
		}
	})

	t.Run("BadInput", func(t *testing.T) {
		err := s.Advisories.CreateAdvisory(w.manager, &vigil.Advisory{Title: "", TLP: "PINK"})
		wantField(t, err, "title")
		wantField(t, err, "tlp")
		err = s.Advisories.CreateAdvisory(w.manager, &vigil.Advisory{Title: "x", Audience: vigil.Audience{Kind: vigil.AudienceMembers, Members: []string{"north", "nowhere", "default"}}})
		if fs := vigil.ErrorFields(err); len(fs) != 2 || fs[0].Field != "audience.members[1]" || fs[1].Field != "audience.members[2]" {
			t.Errorf("unknown and non-member slugs: %v", err)
		}
		err = s.Advisories.CreateAdvisory(w.manager, &vigil.Advisory{Title: "x", TLP: vigil.TLPGreen,
			IOCs: []vigil.AdvisoryIOC{{Type: vigil.ObsDomain, Value: "evil.example", TLP: vigil.TLPRed}}})
		wantField(t, err, "iocs[0].tlp")
		if !strings.Contains(vigil.ErrorFields(err)[0].Message, "above the advisory's TLP:GREEN") {
			t.Errorf("the refusal does not give the reason: %v", err)
		}
		_, err = s.Advisories.UpdateAdvisory(w.manager, a.Reference, vigil.AdvisoryUpdate{Title: new("x"), Version: a.Version + 1})
		wantCode(t, err, vigil.ECONFLICT)
		_, err = s.Advisories.FindAdvisory(w.manager, "ADV-2026-9999")
		wantCode(t, err, vigil.ENOTFOUND)
		_, err = s.Advisories.FindAdvisory(w.manager, "../etc")
		wantCode(t, err, vigil.ENOTFOUND)
		// Publishing a draft that lacks what members need, through review.
		inc, err := s.Advisories.UpdateAdvisory(w.manager, b.Reference, vigil.AdvisoryUpdate{Summary: new(""), Status: new(vigil.AdvisoryInReview), Version: b.Version})
		wantField(t, err, "summary")
		_ = inc
		_, err = s.Advisories.PublishAdvisory(w.manager, b.Reference, vigil.AdvisoryPublish{Version: b.Version})
		wantField(t, err, "status") // a draft goes to review first
	})

	c.add(time.Hour)
	a = w.publish(t, a)
	if a.Status != vigil.AdvisoryPublished || a.Revision != 1 || a.PublishedAt == nil || !a.PublishedAt.Equal(c.now()) ||
		len(a.History) != 1 || a.History[0].ChangeNote != "First published." {
		t.Fatalf("published: %+v", a)
	}

	t.Run("Update", func(t *testing.T) {
		_, err := s.Advisories.UpdateAdvisory(w.manager, a.Reference, vigil.AdvisoryUpdate{Actions: new("Patch to 9.3."), Version: a.Version})
		wantField(t, err, "change_note")
		c.add(time.Hour)
		got, err := s.Advisories.UpdateAdvisory(w.manager, a.Reference, vigil.AdvisoryUpdate{Actions: new("Patch to 9.3."),
			ChangeNote: "9.2 did not fix it.", Version: a.Version})
		if err != nil || got.Status != vigil.AdvisoryUpdated || got.Revision != 2 || len(got.History) != 2 ||
			got.History[1].ChangeNote != "9.2 did not fix it." || !got.UpdatedAt.Equal(c.now()) {
			t.Fatalf("update: %v %+v", err, got)
		}
		a = got
		var snap string
		if err := s.QueryRow(t.Context(), `SELECT snapshot FROM advisory_revisions WHERE revision = 2`).Scan(&snap); err != nil || !strings.Contains(snap, "Patch to 9.3.") {
			t.Errorf("revision 2's snapshot: %v %s", err, snap)
		}
	})

	t.Run("Withdraw", func(t *testing.T) {
		got, err := s.Advisories.UpdateAdvisory(w.manager, a.Reference, vigil.AdvisoryUpdate{Status: new(vigil.AdvisoryWithdrawn),
			ChangeNote: "Acme's notice was wrong.", Version: a.Version})
		if err != nil || got.Status != vigil.AdvisoryWithdrawn || got.WithdrawnAt == nil || got.Revision != 3 {
			t.Fatalf("withdraw: %v %+v", err, got)
		}
		// Still there, as withdrawn, for members too.
		m, err := s.Advisories.FindAdvisory(w.northViewer, a.Reference)
		if err != nil || m.Status != vigil.AdvisoryWithdrawn || m.History[2].ChangeNote != "Acme's notice was wrong." {
			t.Errorf("a member reads the withdrawn advisory: %v %+v", err, m)
		}
		_, err = s.Advisories.UpdateAdvisory(w.manager, a.Reference, vigil.AdvisoryUpdate{Title: new("y"), ChangeNote: "z", Version: got.Version})
		wantField(t, err, "status")
	})

	t.Run("Audit", func(t *testing.T) {
		evs, err := s.Audit.FindAuditEvents(SystemContext(t), vigil.AuditFilter{ObjectType: "advisory", Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range evs {
			actions = append(actions, e.Action)
		}
		for _, want := range []string{"advisory.create", "advisory.update", "advisory.publish", "advisory.publish_update", "advisory.withdraw"} {
			if !slices.Contains(actions, want) {
				t.Errorf("no %s in the audit log: %v", want, actions)
			}
		}
	})
}

// testAdvisoryVisibility: who sees which advisory, in lists, one by one
// and in the feed's list.
func testAdvisoryVisibility(t *testing.T, open Opener) {
	s := open(t)
	w := newAdvisoryWorld(t, s)
	draft := w.draft(t, &vigil.Advisory{Title: "Draft"})
	all := w.publish(t, w.draft(t, &vigil.Advisory{Title: "All members", TLP: vigil.TLPAmber}))
	strict := w.publish(t, w.draft(t, &vigil.Advisory{Title: "All, strict", TLP: vigil.TLPAmberStrict}))
	green := w.publish(t, w.draft(t, &vigil.Advisory{Title: "Water, green", TLP: vigil.TLPGreen,
		Audience: vigil.Audience{Kind: vigil.AudienceSector, Sector: "water"}}))
	south := w.publish(t, w.draft(t, &vigil.Advisory{Title: "South only", TLP: vigil.TLPClear,
		Audience: vigil.Audience{Kind: vigil.AudienceMembers, Members: []string{"south"}}}))
	red := w.publish(t, w.draft(t, &vigil.Advisory{Title: "Red to north", TLP: vigil.TLPRed,
		Audience: vigil.Audience{Kind: vigil.AudienceMembers, Members: []string{"north"}}}))
	review := w.draft(t, &vigil.Advisory{Title: "In review"})
	review, err := s.Advisories.UpdateAdvisory(w.manager, review.Reference, vigil.AdvisoryUpdate{Status: new(vigil.AdvisoryInReview), Version: review.Version})
	if err != nil {
		t.Fatal(err)
	}
	every := []*vigil.Advisory{draft, all, strict, green, south, red, review}

	for _, c := range []struct {
		name string
		ctx  context.Context
		want []*vigil.Advisory
		feed []*vigil.Advisory
	}{
		{"CoordinatorManager", w.manager, every, []*vigil.Advisory{all, strict, green, south}},
		{"CoordinatorResponder", w.responder, every, []*vigil.Advisory{all, strict, green, south}},
		{"CoordinatorReporter", w.coordReporter, nil, nil},
		{"NorthViewer", w.northViewer, []*vigil.Advisory{all, strict, green}, []*vigil.Advisory{all, strict, green}},
		{"NorthReporter", w.northReporter, []*vigil.Advisory{green}, []*vigil.Advisory{green}},
		{"SouthAdmin", w.southAdmin, []*vigil.Advisory{all, strict, south}, []*vigil.Advisory{all, strict, south}},
		{"Both", w.both, []*vigil.Advisory{all, strict, green, south}, []*vigil.Advisory{all, strict, green, south}},
		{"Outsider", w.outsider, []*vigil.Advisory{all, strict}, []*vigil.Advisory{all, strict}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, total, err := s.Advisories.FindAdvisories(c.ctx, vigil.AdvisoryFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if g, wnt := refsOf(got), refsOf(c.want); !slices.Equal(g, wnt) || total != len(c.want) {
				t.Errorf("list = %v (total %d), want %v", g, total, wnt)
			}
			feed, _, err := s.Advisories.FindAdvisories(c.ctx, vigil.AdvisoryFilter{Feed: true})
			if err != nil {
				t.Fatal(err)
			}
			if g, wnt := refsOf(feed), refsOf(c.feed); !slices.Equal(g, wnt) {
				t.Errorf("feed = %v, want %v", g, wnt)
			}
			for _, a := range every {
				one, err := s.Advisories.FindAdvisory(c.ctx, a.Reference)
				if slices.Contains(c.want, a) {
					if err != nil {
						t.Errorf("%s: %v", a.Title, err)
					}
					continue
				}
				wantCode(t, err, vigil.ENOTFOUND)
				_ = one
			}
			if c.ctx == w.manager {
				return
			}
			for _, a := range got {
				staff := c.ctx == w.responder
				if !staff && (a.CreatedBy != "" || a.Audience.Members != nil || a.SourceIncident != nil) {
					t.Errorf("a member reads internal fields of %s: %+v", a.Reference, a)
				}
			}
		})
	}

	t.Run("Filters", func(t *testing.T) {
		got, _, err := s.Advisories.FindAdvisories(w.manager, vigil.AdvisoryFilter{Status: []vigil.AdvisoryStatus{vigil.AdvisoryDraft, vigil.AdvisoryInReview}})
		if err != nil || !slices.Equal(refsOf(got), refsOf([]*vigil.Advisory{draft, review})) {
			t.Errorf("drafts: %v %v", err, refsOf(got))
		}
		got, total, err := s.Advisories.FindAdvisories(w.manager, vigil.AdvisoryFilter{Limit: 2})
		if err != nil || len(got) != 2 || total != len(every) || got[0].Reference != review.Reference {
			t.Errorf("page: %v %d %v", err, total, refsOf(got))
		}
	})

	t.Run("SectorChange", func(t *testing.T) {
		// The sector is read from the organisation at each request.
		o, err := s.Orgs.FindOrganisation(SystemContext(t), "south")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Orgs.UpdateOrganisation(SystemContext(t), "south", vigil.OrganisationUpdate{Sector: new(" WATER "), Version: o.Version}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Advisories.FindAdvisory(w.southAdmin, green.Reference); err != nil {
			t.Errorf("south, now in water, reads the water advisory: %v", err)
		}
	})
}

// testAdvisoryFromIncident: drafting from an incident copies only what is
// chosen, by staff who may see the incident.
func testAdvisoryFromIncident(t *testing.T, open Opener) {
	s := open(t)
	w := newAdvisoryWorld(t, s)
	inc := MustCreateIncident(t, w.manager, s, &vigil.Incident{Title: "Phishing wave", Summary: "Internal: finance clicked.", TLP: vigil.TLPAmber, Severity: vigil.SeverityHigh})
	obs, err := s.Observables.AddObservables(w.manager, inc.ID, []*vigil.Observable{
		{Type: vigil.ObsDomain, Value: "evil.example", TLP: vigil.TLPGreen, Description: "internal note"},
		{Type: vigil.ObsIPv4, Value: "198.51.100.9", TLP: vigil.TLPAmber},
		{Type: vigil.ObsEmail, Value: "ceo@corp.example", TLP: vigil.TLPRed},
	})
	if err != nil {
		t.Fatal(err)
	}
	id := func(v string) int64 {
		for _, o := range obs {
			if o.Value == v {
				return o.ID
			}
		}
		t.Fatalf("no observable %s", v)
		return 0
	}

	t.Run("OK", func(t *testing.T) {
		a, err := s.Advisories.DraftAdvisoryFromIncident(w.manager, inc.ID, vigil.AdvisoryFromIncident{Observables: []int64{id("evil.example"), id("198.51.100.9")}})
		if err != nil {
			t.Fatal(err)
		}
		if a.Title != inc.Title || a.Summary != "" || a.TLP != vigil.TLPAmber || a.Severity != vigil.SeverityHigh || len(a.IOCs) != 2 ||
			a.SourceIncident == nil || a.SourceIncident.Reference != inc.Reference || a.Status != vigil.AdvisoryDraft {
			t.Fatalf("drafted: %+v", a)
		}
		for _, c := range a.IOCs {
			if c.Description != "" {
				t.Errorf("an observable's description was copied: %+v", c)
			}
		}
		b, err := s.Advisories.DraftAdvisoryFromIncident(w.manager, inc.ID, vigil.AdvisoryFromIncident{Title: "Phishing against the sector", IncludeSummary: true})
		if err != nil || b.Title != "Phishing against the sector" || b.Summary != inc.Summary || len(b.IOCs) != 0 {
			t.Errorf("with summary, no observables: %v %+v", err, b)
		}
		// A member reading it later never sees where it came from.
		b, err = s.Advisories.UpdateAdvisory(w.manager, b.Reference, vigil.AdvisoryUpdate{Actions: new("Block the domain."), Version: b.Version})
		if err != nil {
			t.Fatal(err)
		}
		b = w.publish(t, b)
		m, err := s.Advisories.FindAdvisory(w.northViewer, b.Reference)
		if err != nil || m.SourceIncident != nil {
			t.Errorf("a member reads the source: %v %+v", err, m)
		}
	})
	t.Run("ErrRedObservable", func(t *testing.T) {
		_, err := s.Advisories.DraftAdvisoryFromIncident(w.manager, inc.ID, vigil.AdvisoryFromIncident{Observables: []int64{id("ceo@corp.example")}})
		wantField(t, err, "iocs[0].tlp")
		_, err = s.Advisories.DraftAdvisoryFromIncident(w.manager, inc.ID, vigil.AdvisoryFromIncident{Observables: []int64{999999}})
		wantField(t, err, "observables[0]")
	})
	t.Run("WhoMay", func(t *testing.T) {
		_, err := s.Advisories.DraftAdvisoryFromIncident(w.responder, inc.ID, vigil.AdvisoryFromIncident{})
		wantCode(t, err, vigil.EFORBIDDEN)
		// A member's incident the coordinator was granted nothing of.
		member := MustCreateIncident(t, w.northAdmin, s, &vigil.Incident{Title: "North's own"})
		_, err = s.Advisories.DraftAdvisoryFromIncident(w.manager, member.ID, vigil.AdvisoryFromIncident{})
		wantCode(t, err, vigil.ENOTFOUND)
		// A TLP:RED incident the manager is not on.
		red := MustCreateIncident(t, w.admin, s, &vigil.Incident{Title: "Red", TLP: vigil.TLPRed})
		_, err = s.Advisories.DraftAdvisoryFromIncident(w.manager, red.ID, vigil.AdvisoryFromIncident{})
		wantCode(t, err, vigil.ENOTFOUND)
		// Its observables are found only on the incident named.
		other := MustCreateIncident(t, w.manager, s, &vigil.Incident{Title: "Other"})
		_, err = s.Advisories.DraftAdvisoryFromIncident(w.manager, other.ID, vigil.AdvisoryFromIncident{Observables: []int64{id("evil.example")}})
		wantField(t, err, "observables[0]")
	})
}

// testAdvisoryResponses: the members' answers and the coordinator's table.
func testAdvisoryResponses(t *testing.T, open Opener) {
	s := open(t)
	w := newAdvisoryWorld(t, s)
	a := w.publish(t, w.draft(t, &vigil.Advisory{Title: "North and south", TLP: vigil.TLPGreen, Audience: vigil.Audience{Kind: vigil.AudienceMembers, Members: []string{"north", "south"}}}))

	r, err := s.Advisories.RespondToAdvisory(w.northViewer, a.Reference, vigil.AdvisoryResponseInput{Status: vigil.ResponseInvestigating, Note: "Looking."})
	if err != nil || r.Organisation != "north" || r.Status != vigil.ResponseInvestigating || r.Advisory != a.Reference {
		t.Fatalf("answer: %v %+v", err, r)
	}
	if _, err := s.Advisories.RespondToAdvisory(w.northAdmin, a.Reference, vigil.AdvisoryResponseInput{Status: vigil.ResponseAffected, Note: "Two gateways."}); err != nil {
		t.Fatal(err)
	}

	t.Run("BadInput", func(t *testing.T) {
		_, err := s.Advisories.RespondToAdvisory(w.northViewer, a.Reference, vigil.AdvisoryResponseInput{Status: "fine"})
		wantField(t, err, "status")
		_, err = s.Advisories.RespondToAdvisory(w.northReporter, a.Reference, vigil.AdvisoryResponseInput{Status: vigil.ResponseAffected})
		wantCode(t, err, vigil.EFORBIDDEN)
		_, err = s.Advisories.RespondToAdvisory(w.outsider, a.Reference, vigil.AdvisoryResponseInput{Status: vigil.ResponseAffected})
		wantCode(t, err, vigil.ENOTFOUND)
		_, err = s.Advisories.RespondToAdvisory(w.manager, a.Reference, vigil.AdvisoryResponseInput{Status: vigil.ResponseAffected})
		wantCode(t, err, vigil.EFORBIDDEN)
		_, err = s.Advisories.RespondToAdvisory(w.both, a.Reference, vigil.AdvisoryResponseInput{Status: vigil.ResponseAffected})
		wantField(t, err, "organisation")
		_, err = s.Advisories.RespondToAdvisory(w.both, a.Reference, vigil.AdvisoryResponseInput{Status: vigil.ResponseAffected, Organisation: "east"})
		wantField(t, err, "organisation")
		d := w.draft(t, &vigil.Advisory{Title: "Draft"})
		_, err = s.Advisories.RespondToAdvisory(w.northAdmin, d.Reference, vigil.AdvisoryResponseInput{Status: vigil.ResponseAffected})
		wantCode(t, err, vigil.ENOTFOUND)
	})

	t.Run("Table", func(t *testing.T) {
		got, err := s.Advisories.FindAdvisoryResponses(w.responder, a.Reference)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Table) != 2 || got.Table[0].Organisation != "north" || got.Table[0].Status != vigil.ResponseAffected ||
			got.Table[1].Organisation != "south" || got.Table[1].Status != "" || !slices.Equal(got.Silent, []string{"south"}) ||
			got.Counts["affected"] != 1 || got.Counts["none"] != 1 || len(got.Answers) != 2 {
			t.Fatalf("table: %+v %+v", got, got.Table)
		}
		if _, err := s.Advisories.RespondToAdvisory(w.both, a.Reference, vigil.AdvisoryResponseInput{Status: vigil.ResponseMitigated, Organisation: "south"}); err != nil {
			t.Fatal(err)
		}
		got, err = s.Advisories.FindAdvisoryResponses(w.manager, a.Reference)
		if err != nil || got.Table[1].Status != vigil.ResponseMitigated || len(got.Silent) != 0 || got.Counts["none"] != 0 {
			t.Errorf("after south answered: %v %+v", err, got)
		}
	})

	t.Run("MemberSeesItsOwn", func(t *testing.T) {
		got, err := s.Advisories.FindAdvisoryResponses(w.southAdmin, a.Reference)
		if err != nil || got.Table != nil || got.Silent != nil || len(got.Answers) != 1 || got.Answers[0].Organisation != "south" {
			t.Errorf("south's view: %v %+v", err, got)
		}
		_, err = s.Advisories.FindAdvisoryResponses(w.outsider, a.Reference)
		wantCode(t, err, vigil.ENOTFOUND)
	})

	t.Run("ErrWithdrawn", func(t *testing.T) {
		cur, err := s.Advisories.FindAdvisory(w.manager, a.Reference)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Advisories.UpdateAdvisory(w.manager, a.Reference, vigil.AdvisoryUpdate{Status: new(vigil.AdvisoryWithdrawn), ChangeNote: "Wrong.", Version: cur.Version}); err != nil {
			t.Fatal(err)
		}
		_, err = s.Advisories.RespondToAdvisory(w.southAdmin, a.Reference, vigil.AdvisoryResponseInput{Status: vigil.ResponseAffected})
		wantField(t, err, "status")
	})
}
