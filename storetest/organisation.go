package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
)

// orgUser creates a user with a role in each of the organisations given
// (slug to role; "default" is the default organisation) and returns a
// context acting as them, built by logging in, as a request's is.
func orgUser(t *testing.T, s *Store, roles map[string]vigil.Role) (context.Context, *vigil.User) {
	t.Helper()
	sys := SystemContext(t)
	n := userSeq.Add(1)
	u := &vigil.User{Username: fmt.Sprintf("org%d", n), Name: fmt.Sprintf("Org user %d", n), Role: roles[vigil.DefaultOrganisationSlug]}
	if err := s.Users.CreateUser(sys, u, "correct horse battery staple"); err != nil {
		t.Fatal(err)
	}
	for slug, r := range roles {
		if slug == vigil.DefaultOrganisationSlug {
			continue
		}
		if _, err := s.Orgs.AddMember(sys, slug, u.Username, r); err != nil {
			t.Fatal(err)
		}
	}
	return loginContext(t, s, u.Username), u
}

// loginContext logs username in and returns a context acting as the
// session's actor.
func loginContext(t *testing.T, s *Store, username string) context.Context {
	t.Helper()
	_, secret, err := s.Auth.Login(context.Background(), username, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	a, _, err := s.Auth.AuthenticateSession(context.Background(), secret)
	if err != nil {
		t.Fatal(err)
	}
	return vigil.NewContextWithActor(context.Background(), a)
}

func mustCreateOrg(t *testing.T, s *Store, slug, name string) *vigil.Organisation {
	t.Helper()
	o := &vigil.Organisation{Slug: slug, Name: name, Kind: vigil.OrgMember}
	if err := s.Orgs.CreateOrganisation(SystemContext(t), o); err != nil {
		t.Fatal(err)
	}
	return o
}

// testOrganisations: the organisations and their members, and bad input.
func testOrganisations(t *testing.T, open Opener) {
	s := open(t)
	sys := SystemContext(t)
	adminCtx, _ := MustCreateUser(t, s, vigil.RoleAdmin)

	orgs, err := s.Orgs.FindOrganisations(adminCtx)
	if err != nil || len(orgs) != 1 || orgs[0].Slug != vigil.DefaultOrganisationSlug || orgs[0].Kind != vigil.OrgCoordinator {
		t.Fatalf("a new store's organisations: %v %+v", err, orgs)
	}

	north := &vigil.Organisation{Slug: " North-Water ", Name: "North Water plc", Sector: "Water", ContactEmail: "soc@north.example"}
	if err := s.Orgs.CreateOrganisation(adminCtx, north); err != nil {
		t.Fatal(err)
	}
	if north.Slug != "north-water" || north.Kind != vigil.OrgMember || north.Version != 1 {
		t.Errorf("created: %+v", north)
	}

	t.Run("BadInput", func(t *testing.T) {
		for _, o := range []*vigil.Organisation{
			{Slug: "", Name: "x"}, {Slug: "-x", Name: "x"}, {Slug: "a/b", Name: "x"}, {Slug: "ok", Name: ""},
			{Slug: "ok", Name: "x\u0000y"}, {Slug: "ok", Name: "x", Kind: "partner"}, {Slug: "ok", Name: "x", ContactEmail: "not mail"},
		} {
			err := s.Orgs.CreateOrganisation(adminCtx, o)
			wantCode(t, err, vigil.EINVALID)
		}
		err := s.Orgs.CreateOrganisation(adminCtx, &vigil.Organisation{Slug: "second-cert", Name: "x", Kind: vigil.OrgCoordinator})
		wantField(t, err, "kind")
		err = s.Orgs.CreateOrganisation(adminCtx, &vigil.Organisation{Slug: "north-water", Name: "Again"})
		wantCode(t, err, vigil.ECONFLICT)
		if fs := vigil.ErrorFields(err); len(fs) != 1 || fs[0].Field != "slug" {
			t.Errorf("a taken slug's error names %v", fs)
		}

		_, err = s.Orgs.AddMember(adminCtx, "no-such-org", "nobody", vigil.RoleViewer)
		wantCode(t, err, vigil.ENOTFOUND)
		_, err = s.Orgs.AddMember(adminCtx, "north-water", "nobody", vigil.RoleViewer)
		wantField(t, err, "username")
		_, u := MustCreateUser(t, s, vigil.RoleViewer)
		_, err = s.Orgs.AddMember(adminCtx, "north-water", u.Username, "owner")
		wantField(t, err, "role")
		if _, err := s.Orgs.AddMember(adminCtx, "north-water", u.Username, vigil.RoleViewer); err != nil {
			t.Fatal(err)
		}
		_, err = s.Orgs.AddMember(adminCtx, "north-water", u.Username, vigil.RoleAdmin)
		wantCode(t, err, vigil.ECONFLICT)

		_, err = s.Orgs.UpdateOrganisation(adminCtx, vigil.DefaultOrganisationSlug, vigil.OrganisationUpdate{Suspended: ptr(true), Version: 1})
		wantField(t, err, "suspended")
	})

	t.Run("WhoMaySee", func(t *testing.T) {
		outsiderCtx, _ := MustCreateUser(t, s, vigil.RoleResponder) // default organisation only
		_, err := s.Orgs.FindOrganisation(outsiderCtx, "north-water")
		wantCode(t, err, vigil.ENOTFOUND)
		_, err = s.Orgs.FindMembers(outsiderCtx, "north-water")
		wantCode(t, err, vigil.ENOTFOUND)
		orgs, err := s.Orgs.FindOrganisations(outsiderCtx)
		if err != nil || len(orgs) != 1 || orgs[0].Slug != vigil.DefaultOrganisationSlug || orgs[0].Role != vigil.RoleResponder {
			t.Errorf("an outsider's organisations: %v %+v", err, orgs)
		}
		err = s.Orgs.CreateOrganisation(outsiderCtx, &vigil.Organisation{Slug: "mine", Name: "Mine"})
		wantCode(t, err, vigil.EFORBIDDEN)

		// A member organisation's admin manages its members, and nothing else.
		nAdminCtx, _ := orgUser(t, s, map[string]vigil.Role{"north-water": vigil.RoleAdmin})
		_, newcomer := orgUser(t, s, map[string]vigil.Role{})
		if _, err := s.Orgs.AddMember(nAdminCtx, "north-water", newcomer.Username, vigil.RoleResponder); err != nil {
			t.Fatal(err)
		}
		ms, err := s.Orgs.FindMembers(nAdminCtx, "north-water")
		if err != nil || !slices.ContainsFunc(ms, func(m *vigil.Membership) bool { return m.Username == newcomer.Username }) {
			t.Errorf("members: %v %+v", err, ms)
		}
		if _, err := s.Orgs.AddMember(nAdminCtx, vigil.DefaultOrganisationSlug, newcomer.Username, vigil.RoleViewer); vigil.ErrorCode(err) != vigil.ENOTFOUND {
			t.Errorf("a member's admin added someone to the coordinator: %v", err)
		}
		cur, err := s.Orgs.FindOrganisation(nAdminCtx, "north-water")
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Orgs.UpdateOrganisation(nAdminCtx, "north-water", vigil.OrganisationUpdate{Suspended: ptr(true), Version: cur.Version})
		wantCode(t, err, vigil.EFORBIDDEN)
		got, err := s.Orgs.UpdateOrganisation(nAdminCtx, "north-water", vigil.OrganisationUpdate{Name: ptr("North Water Ltd"), Version: cur.Version})
		if err != nil || got.Name != "North Water Ltd" || got.Slug != "north-water" {
			t.Errorf("rename: %v %+v", err, got)
		}
		if _, _, err := s.Users.FindUsers(nAdminCtx, vigil.UserFilter{}); vigil.ErrorCode(err) != vigil.EFORBIDDEN {
			t.Errorf("a member's admin read the install's user directory: %v", err)
		}
		// The audit log: each organisation's admins read the events of
		// its incidents; the install's auditors the rest.
		nResp := loginContext(t, s, newcomer.Username)
		inc := MustCreateIncident(t, nResp, s, &vigil.Incident{Title: "Chlorine dosing alarm spoofed"})
		if _, err := s.Timeline.AddNote(nResp, inc.ID, vigil.Note{Message: "Isolated the PLC."}); err != nil {
			t.Fatal(err)
		}
		events, err := s.Audit.FindAuditEvents(nAdminCtx, vigil.AuditFilter{})
		if err != nil || len(events) < 2 {
			t.Fatalf("a member's admin reads %d events: %v", len(events), err)
		}
		for _, e := range events {
			if e.Organisation != "north-water" {
				t.Errorf("a member's admin read %s (%q)", e.Action, e.Organisation)
			}
		}
		events, err = s.Audit.FindAuditEvents(adminCtx, vigil.AuditFilter{Limit: vigil.MaxPageSize})
		if err != nil || len(events) == 0 {
			t.Fatalf("the install's admin reads %d events: %v", len(events), err)
		}
		for _, e := range events {
			if e.Organisation != "" && e.Organisation != vigil.DefaultOrganisationSlug {
				t.Errorf("the install's admin read %s of %q", e.Action, e.Organisation)
			}
		}
		if _, err := s.Audit.FindAuditEvents(nResp, vigil.AuditFilter{}); vigil.ErrorCode(err) != vigil.EFORBIDDEN {
			t.Errorf("a member's responder read the audit log: %v", err)
		}
		if v, err := s.Audit.VerifyAudit(sys); err != nil || !v.OK {
			t.Errorf("the chain with organisations' events: %v %+v", err, v)
		}
	})

	t.Run("BoundTokens", func(t *testing.T) {
		mustCreateOrg(t, s, "west", "West Gas")
		ctx, _ := orgUser(t, s, map[string]vigil.Role{vigil.DefaultOrganisationSlug: vigil.RoleResponder, "west": vigil.RoleResponder})
		own := MustCreateIncident(t, ctx, s, &vigil.Incident{Title: "Coordinator's own", Organisation: vigil.DefaultOrganisationSlug})
		west := MustCreateIncident(t, ctx, s, &vigil.Incident{Title: "West's", Organisation: "west"})
		tok := &vigil.Token{Name: "west only", Scopes: []vigil.Scope{vigil.ScopeRead, vigil.ScopeWrite}, Organisation: "WEST"}
		secret, err := s.Auth.CreateToken(ctx, 0, tok)
		if err != nil || tok.Organisation != "west" {
			t.Fatalf("bound token: %v %+v", err, tok)
		}
		a, err := s.Auth.AuthenticateToken(context.Background(), secret)
		if err != nil {
			t.Fatal(err)
		}
		if a.Role != "" || len(a.Orgs) != 1 || a.Orgs[0].Slug != "west" {
			t.Errorf("a bound token's actor: %+v", a)
		}
		tctx := vigil.NewContextWithActor(context.Background(), a)
		if _, err := s.Incidents.FindIncidentByID(tctx, west.ID); err != nil {
			t.Errorf("the bound organisation's incident: %v", err)
		}
		if _, err := s.Incidents.FindIncidentByID(tctx, own.ID); vigil.ErrorCode(err) != vigil.ENOTFOUND {
			t.Errorf("a token bound to west read the default organisation's incident: %v", err)
		}
		if inc := MustCreateIncident(t, tctx, s, &vigil.Incident{Title: "By the bound token"}); inc.Organisation != "west" {
			t.Errorf("a bound token reported into %q", inc.Organisation)
		}
		_, err = s.Auth.CreateToken(ctx, 0, &vigil.Token{Name: "x", Scopes: []vigil.Scope{vigil.ScopeRead}, Organisation: "north-water"})
		wantField(t, err, "organisation")
		// The admin scope: for an organisation's admins too.
		wAdmin, _ := orgUser(t, s, map[string]vigil.Role{"west": vigil.RoleAdmin})
		if _, err := s.Auth.CreateToken(wAdmin, 0, &vigil.Token{Name: "members", Scopes: []vigil.Scope{vigil.ScopeAdmin}, Organisation: "west"}); err != nil {
			t.Errorf("an organisation's admin's admin token: %v", err)
		}
		_, err = s.Auth.CreateToken(ctx, 0, &vigil.Token{Name: "x", Scopes: []vigil.Scope{vigil.ScopeAdmin}})
		wantField(t, err, "scopes")
	})

	t.Run("Profiles", func(t *testing.T) {
		// Each organisation's regimes decide its incidents' duties.
		mustCreateOrg(t, s, "south-ops", "South Ops")
		sAdmin, _ := orgUser(t, s, map[string]vigil.Role{"south-ops": vigil.RoleAdmin})
		sResp, _ := orgUser(t, s, map[string]vigil.Role{"south-ops": vigil.RoleResponder})
		coordMgr, _ := orgUser(t, s, map[string]vigil.Role{vigil.DefaultOrganisationSlug: vigil.RoleManager})
		has := func(ctx context.Context, id int64, dutyID string) bool {
			t.Helper()
			obs, err := s.Duties.FindObligations(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			return slices.ContainsFunc(obs, func(o *vigil.Obligation) bool { return o.Duty == dutyID && o.Status == vigil.ObligationPending })
		}
		theirs := MustCreateIncident(t, sResp, s, &vigil.Incident{Title: "Customer list e-mailed out", Status: vigil.StatusConfirmed, PersonalData: true})
		ours := MustCreateIncident(t, coordMgr, s, &vigil.Incident{Title: "Our own breach", Status: vigil.StatusConfirmed, PersonalData: true})
		if !has(sResp, theirs.ID, "ico-notification") || !has(coordMgr, ours.ID, "ico-notification") {
			t.Fatalf("both start with the default profile's ICO duty")
		}
		// South is not a UK GDPR controller (a processor): its incident loses
		// the controller's duty; the coordinator's keeps it.
		p, err := s.Duties.FindOrgProfile(sResp, "south-ops")
		if err != nil {
			t.Fatal(err)
		}
		p.UKGDPR, p.UKGDPRProcessor = false, true
		err = s.Duties.UpdateOrgProfile(sResp, "south-ops", p)
		wantCode(t, err, vigil.EFORBIDDEN)
		if err := s.Duties.UpdateOrgProfile(sAdmin, "south-ops", p); err != nil {
			t.Fatal(err)
		}
		if has(sResp, theirs.ID, "ico-notification") {
			t.Errorf("south's incident kept the controller's duty after south's profile dropped it")
		}
		if !has(coordMgr, ours.ID, "ico-notification") {
			t.Errorf("the coordinator's incident lost its duty to a member's profile")
		}
		if def, err := s.Duties.FindProfile(coordMgr); err != nil || !def.UKGDPR {
			t.Errorf("the coordinator's profile changed: %v %+v", err, def)
		}
		_, err = s.Duties.FindOrgProfile(sResp, "north-water")
		wantCode(t, err, vigil.ENOTFOUND)
		err = s.Duties.UpdateOrgProfile(sAdmin, vigil.DefaultOrganisationSlug, p)
		wantCode(t, err, vigil.ENOTFOUND)
	})

	t.Run("Suspended", func(t *testing.T) {
		o := mustCreateOrg(t, s, "east", "East Grid")
		ctx, _ := orgUser(t, s, map[string]vigil.Role{"east": vigil.RoleResponder})
		inc := MustCreateIncident(t, ctx, s, &vigil.Incident{Title: "Substation HMI defaced"})
		if inc.Organisation != "east" {
			t.Fatalf("organisation of an only member's incident: %q", inc.Organisation)
		}
		if _, err := s.Orgs.UpdateOrganisation(sys, "east", vigil.OrganisationUpdate{Suspended: ptr(true), Version: o.Version}); err != nil {
			t.Fatal(err)
		}
		if got := MustFindIncident(t, ctx, s, inc.ID); got.Title != inc.Title {
			t.Errorf("a suspended organisation's incident is no longer readable")
		}
		_, err := s.Incidents.UpdateIncident(ctx, inc.ID, vigil.IncidentUpdate{Title: ptr("changed"), Version: inc.Version})
		wantCode(t, err, vigil.EFORBIDDEN)
		_, err = s.Timeline.AddNote(ctx, inc.ID, vigil.Note{Message: "x"})
		wantCode(t, err, vigil.EFORBIDDEN)
		err = s.Incidents.CreateIncident(ctx, &vigil.Incident{Title: "Another"})
		wantField(t, err, "organisation")
	})
}

// testOrganisationLeaks is the cross-organisation leak matrix: two
// members and the coordinator, each with incidents that share an
// observable and a search word; every read path must show an actor only
// their own organisations' incidents, as if the others did not exist.
func testOrganisationLeaks(t *testing.T, open Opener) {
	s := open(t)
	mustCreateOrg(t, s, "north", "North Water")
	mustCreateOrg(t, s, "south", "South Rail")

	northResp, _ := orgUser(t, s, map[string]vigil.Role{"north": vigil.RoleResponder})
	northAdmin, _ := orgUser(t, s, map[string]vigil.Role{"north": vigil.RoleAdmin})
	northReporter, _ := orgUser(t, s, map[string]vigil.Role{"north": vigil.RoleReporter})
	southResp, _ := orgUser(t, s, map[string]vigil.Role{"south": vigil.RoleResponder})
	coordAdmin, _ := orgUser(t, s, map[string]vigil.Role{"default": vigil.RoleAdmin})
	coordResp, _ := orgUser(t, s, map[string]vigil.Role{"default": vigil.RoleResponder})
	// Responder in north, viewer in south: reads both, changes north's only.
	both, _ := orgUser(t, s, map[string]vigil.Role{"north": vigil.RoleResponder, "south": vigil.RoleViewer})

	const ip = "198.51.100.77"
	mk := func(ctx context.Context, org, title string) *vigil.Incident {
		inc := MustCreateIncident(t, ctx, s, &vigil.Incident{Title: title + " kingfisher", Organisation: org, Status: vigil.StatusConfirmed})
		if inc.Organisation != org {
			t.Fatalf("created in %q, want %q", inc.Organisation, org)
		}
		if _, err := s.Observables.AddObservables(ctx, inc.ID, []*vigil.Observable{{Type: vigil.ObsIPv4, Value: ip}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Timeline.AddNote(ctx, inc.ID, vigil.Note{Message: "kingfisher note in " + org}); err != nil {
			t.Fatal(err)
		}
		if err := s.Tasks.CreateTask(ctx, &vigil.Task{IncidentID: inc.ID, Title: "Reset kingfisher passwords"}); err != nil {
			t.Fatal(err)
		}
		return inc
	}
	northInc := mk(northResp, "north", "Water treatment phishing")
	southInc := mk(southResp, "south", "Signalling ransomware")
	coordInc := mk(coordResp, "default", "CERT portal scan")
	northRed := MustCreateIncident(t, northResp, s, &vigil.Incident{Title: "Board kingfisher takeover", TLP: vigil.TLPRed})
	northReported := MustCreateIncident(t, northReporter, s, &vigil.Incident{Title: "Lost kingfisher laptop"})

	all := map[string]*vigil.Incident{"north": northInc, "south": southInc, "coord": coordInc, "northRed": northRed, "northReported": northReported}
	cases := []struct {
		name string
		ctx  context.Context
		sees []string
	}{
		{"NorthResponder", northResp, []string{"north", "northRed", "northReported"}},
		{"NorthAdmin", northAdmin, []string{"north", "northRed", "northReported"}},
		{"NorthReporter", northReporter, []string{"northReported"}},
		{"SouthResponder", southResp, []string{"south"}},
		{"CoordinatorAdmin", coordAdmin, []string{"coord"}},
		{"CoordinatorResponder", coordResp, []string{"coord"}},
		{"NorthAndSouth", both, []string{"north", "south", "northReported"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var seen []int64
			for name, inc := range all {
				want := slices.Contains(c.sees, name)
				if want {
					seen = append(seen, inc.ID)
				}
				reads := map[string]error{}
				_, reads["FindIncidentByID"] = s.Incidents.FindIncidentByID(c.ctx, inc.ID)
				_, reads["FindIncidentByReference"] = s.Incidents.FindIncidentByReference(c.ctx, inc.Reference)
				_, reads["FindTimeline"] = s.Timeline.FindTimeline(c.ctx, inc.ID, vigil.TimelineFilter{})
				_, reads["FindObservables"] = s.Observables.FindObservables(c.ctx, inc.ID)
				_, reads["FindObligations"] = s.Duties.FindObligations(c.ctx, inc.ID)
				_, reads["FindEvidence"] = s.Evidence.FindEvidence(c.ctx, inc.ID)
				_, reads["FindLinks"] = s.Links.FindLinks(c.ctx, inc.ID)
				_, reads["FindComments"] = s.Comments.FindComments(c.ctx, inc.ID, nil)
				_, reads["FindMembers"] = s.Members.FindMembers(c.ctx, inc.ID)
				for what, err := range reads {
					if want && err != nil {
						t.Errorf("%s: %s: %v, want visible", name, what, err)
					} else if !want && vigil.ErrorCode(err) != vigil.ENOTFOUND {
						t.Errorf("%s: %s: %v, want ENOTFOUND", name, what, err)
					}
				}
				tasks, _, err := s.Tasks.FindTasks(c.ctx, vigil.TaskFilter{IncidentID: &inc.ID})
				if !want && err == nil && len(tasks) > 0 {
					t.Errorf("%s: FindTasks listed %d tasks", name, len(tasks))
				}
			}
			slices.Sort(seen)
			listed := func(what string, f vigil.IncidentFilter) {
				t.Helper()
				page, err := s.Incidents.FindIncidents(c.ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				var got []int64
				for _, inc := range page.Items {
					got = append(got, inc.ID)
				}
				slices.Sort(got)
				if !slices.Equal(got, seen) {
					t.Errorf("%s lists %v, want %v", what, got, seen)
				}
				n, err := s.Incidents.CountIncidents(c.ctx, f)
				if err != nil || n != len(seen) {
					t.Errorf("%s counts %d (%v), want %d", what, n, err, len(seen))
				}
			}
			listed("FindIncidents", vigil.IncidentFilter{})
			listed("FindIncidents(open)", vigil.IncidentFilter{Open: ptr(true)}) // counted from the totals
			listed("FindIncidents(q)", vigil.IncidentFilter{Query: "kingfisher"})

			hits, err := s.Search.Search(c.ctx, vigil.SearchQuery{Query: "kingfisher"})
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range hits {
				if !slices.Contains(seen, h.Incident.ID) {
					t.Errorf("Search found %s's %s", h.Incident.Reference, h.Kind)
				}
			}
			refs, err := s.Observables.FindSightings(c.ctx, vigil.ObsIPv4, ip, 20)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range refs {
				if !slices.Contains(seen, r.ID) {
					t.Errorf("FindSightings named %s", r.Reference)
				}
			}
			for name, inc := range all {
				if !slices.Contains(c.sees, name) || name == "northRed" || name == "northReported" {
					continue
				}
				obs, err := s.Observables.FindObservables(c.ctx, inc.ID)
				if err != nil || len(obs) != 1 {
					t.Fatalf("%s: observables %v %d", name, err, len(obs))
				}
				for _, ref := range obs[0].SeenIn {
					if !slices.Contains(seen, ref.ID) {
						t.Errorf("%s: seen in %s", name, ref.Reference)
					}
				}
				// Seen in the other visible incidents that hold it, no more.
				others := 0
				for _, n := range []string{"north", "south", "coord"} {
					if n != name && slices.Contains(c.sees, n) {
						others++
					}
				}
				if obs[0].SeenCount != others {
					t.Errorf("%s: seen count %d, want %d", name, obs[0].SeenCount, others)
				}
			}
			_, facts, err := s.Metrics.IncidentMetrics(c.ctx, vigil.MetricsFilter{From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Hour)})
			if err == nil {
				for _, f := range facts {
					if !slices.Contains(seen, f.ID) {
						t.Errorf("metrics counted %s", f.Reference)
					}
				}
			}
		})
	}

	t.Run("Writes", func(t *testing.T) {
		// A viewer in south reads its incident and may not change it,
		// though the same user is a responder in north.
		cur := MustFindIncident(t, both, s, southInc.ID)
		_, err := s.Incidents.UpdateIncident(both, southInc.ID, vigil.IncidentUpdate{Title: ptr("changed"), Version: cur.Version})
		wantCode(t, err, vigil.EFORBIDDEN)
		_, err = s.Timeline.AddNote(both, southInc.ID, vigil.Note{Message: "x"})
		if err == nil {
			t.Errorf("a viewer in south added a note to its incident")
		}
		err = s.Tasks.CreateTask(both, &vigil.Task{IncidentID: southInc.ID, Title: "x"})
		if err == nil {
			t.Errorf("a viewer in south added a task to its incident")
		}
		if _, err := s.Incidents.UpdateIncident(both, northInc.ID, vigil.IncidentUpdate{Title: ptr("Water treatment phishing kingfisher, contained"),
			Version: MustFindIncident(t, both, s, northInc.ID).Version}); err != nil {
			t.Errorf("a responder in north could not change its incident: %v", err)
		}
		// Out of another organisation, as if it did not exist.
		_, err = s.Incidents.UpdateIncident(southResp, northInc.ID, vigil.IncidentUpdate{Title: ptr("x"), Version: 1})
		wantCode(t, err, vigil.ENOTFOUND)
		err = s.Links.CreateLink(southResp, &vigil.Link{IncidentID: southInc.ID, TargetID: northInc.ID, Kind: vigil.LinkRelated})
		wantField(t, err, "target_id")
		// Its people come from its organisation.
		_, southUser := orgUser(t, s, map[string]vigil.Role{"south": vigil.RoleResponder})
		_, err = s.Members.AddMember(northAdmin, northInc.ID, southUser.ID, vigil.RoleLead)
		wantField(t, err, "user_id")
		err = s.Tasks.CreateTask(northResp, &vigil.Task{IncidentID: northInc.ID, Title: "x", AssigneeID: &southUser.ID})
		wantField(t, err, "assignee_id")
		// Reported only where one belongs, and unknown slugs answer alike.
		err = s.Incidents.CreateIncident(northResp, &vigil.Incident{Title: "x", Organisation: "south"})
		wantField(t, err, "organisation")
		err2 := s.Incidents.CreateIncident(northResp, &vigil.Incident{Title: "x", Organisation: "nowhere"})
		wantField(t, err2, "organisation")
		if m1, m2 := vigil.ErrorMessage(err), vigil.ErrorMessage(err2); strings.ReplaceAll(m1, "south", "nowhere") != m2 {
			t.Errorf("a member's slug and an unknown one answer differently: %q, %q", vigil.ErrorMessage(err), vigil.ErrorMessage(err2))
		}
		// The TAXII collections are the coordinator's: a member's
		// incident is not published through them.
		coll := &vigil.Collection{Title: "Sector feed"}
		if err := s.Sharing.CreateCollection(SystemContext(t), coll); err != nil {
			t.Fatal(err)
		}
		_, err = s.Sharing.PublishIncident(northAdmin, northInc.ID, coll.ID, nil)
		wantCode(t, err, vigil.EFORBIDDEN)
		err = s.Incidents.CreateIncident(both, &vigil.Incident{Title: "Which one?"})
		wantField(t, err, "organisation")
		err = s.Incidents.CreateIncident(both, &vigil.Incident{Title: "Viewer may not report", Organisation: "south"})
		wantCode(t, err, vigil.EFORBIDDEN)
	})

	t.Run("Grants", func(t *testing.T) {
		sys := SystemContext(t)
		north, err := s.Orgs.FindOrganisation(northAdmin, "north")
		if err != nil || north.CoordinatorGrant != vigil.GrantNone {
			t.Fatalf("a new member's grant: %v %+v", err, north)
		}
		// The coordinator cannot grant itself anything; nor can the
		// member's responders.
		_, err = s.Orgs.UpdateOrganisation(sys, "north", vigil.OrganisationUpdate{CoordinatorGrant: ptr(vigil.Grant("everything")), Version: north.Version})
		wantField(t, err, "coordinator_grant")
		for _, ctx := range []context.Context{coordAdmin, northResp} {
			_, err = s.Orgs.UpdateOrganisation(ctx, "north", vigil.OrganisationUpdate{CoordinatorGrant: ptr(vigil.GrantFull), Version: north.Version})
			if c := vigil.ErrorCode(err); c != vigil.EFORBIDDEN && c != vigil.ENOTFOUND {
				t.Errorf("granted by someone else: %v", err)
			}
		}
		def, _ := s.Orgs.FindOrganisation(coordAdmin, vigil.DefaultOrganisationSlug)
		_, err = s.Orgs.UpdateOrganisation(coordAdmin, vigil.DefaultOrganisationSlug, vigil.OrganisationUpdate{CoordinatorGrant: ptr(vigil.GrantFull), Version: def.Version})
		wantField(t, err, "coordinator_grant")

		grant := func(g vigil.Grant) {
			t.Helper()
			cur, err := s.Orgs.FindOrganisation(northAdmin, "north")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Orgs.UpdateOrganisation(northAdmin, "north", vigil.OrganisationUpdate{CoordinatorGrant: &g, Version: cur.Version}); err != nil {
				t.Fatal(err)
			}
		}
		// What the coordinator's responder gets of north's incidents.
		check := func(g vigil.Grant) {
			t.Helper()
			listedIDs := func(f vigil.IncidentFilter) []int64 {
				page, err := s.Incidents.FindIncidents(coordResp, f)
				if err != nil {
					t.Fatal(err)
				}
				var ids []int64
				for _, inc := range page.Items {
					ids = append(ids, inc.ID)
					if inc.OrganisationID != 1 && inc.SummaryOnly != (g == vigil.GrantSummary) {
						t.Errorf("%s: %s listed with summary_only %v", g, inc.Reference, inc.SummaryOnly)
					}
					if inc.SummaryOnly && (inc.Summary != "" || inc.LeadID != nil || inc.CreatedBy != nil) {
						t.Errorf("%s: a summary shows more: %+v", g, inc)
					}
				}
				slices.Sort(ids)
				return ids
			}
			want := []int64{coordInc.ID}
			if g != vigil.GrantNone {
				want = append(want, northInc.ID, northReported.ID) // never the TLP:RED one
			}
			slices.Sort(want)
			if got := listedIDs(vigil.IncidentFilter{}); !slices.Equal(got, want) {
				t.Errorf("%s: the coordinator lists %v, want %v", g, got, want)
			}
			for _, f := range []vigil.IncidentFilter{{}, {Open: ptr(true)}} {
				if n, err := s.Incidents.CountIncidents(coordResp, f); err != nil || n != len(want) {
					t.Errorf("%s: the coordinator counts %d (%v), want %d", g, n, err, len(want))
				}
			}
			inc, err := s.Incidents.FindIncidentByID(coordResp, northInc.ID)
			switch g {
			case vigil.GrantNone:
				wantCode(t, err, vigil.ENOTFOUND)
			case vigil.GrantSummary:
				if err != nil || !inc.SummaryOnly || inc.Title != MustFindIncident(t, northResp, s, northInc.ID).Title {
					t.Errorf("summary: %v %+v", err, inc)
				}
			case vigil.GrantFull:
				if err != nil || inc.SummaryOnly {
					t.Errorf("full: %v %+v", err, inc)
				}
			}
			_, err = s.Incidents.FindIncidentByID(coordResp, northRed.ID)
			wantCode(t, err, vigil.ENOTFOUND)
			// Under the incident: only with a full grant.
			_, err = s.Timeline.FindTimeline(coordResp, northInc.ID, vigil.TimelineFilter{})
			_, err2 := s.Observables.FindObservables(coordResp, northInc.ID)
			for _, err := range []error{err, err2} {
				if g == vigil.GrantFull && err != nil {
					t.Errorf("full: %v", err)
				} else if g != vigil.GrantFull && vigil.ErrorCode(err) != vigil.ENOTFOUND {
					t.Errorf("%s: read under the incident: %v", g, err)
				}
			}
			hits, err := s.Search.Search(coordResp, vigil.SearchQuery{Query: "kingfisher"})
			if err != nil {
				t.Fatal(err)
			}
			found := slices.ContainsFunc(hits, func(h *vigil.SearchHit) bool { return h.Incident.ID == northInc.ID })
			if found != (g == vigil.GrantFull) {
				t.Errorf("%s: search found north's incident: %v", g, found)
			}
			page, err := s.Incidents.FindIncidents(coordResp, vigil.IncidentFilter{Query: "kingfisher note"})
			if err != nil {
				t.Fatal(err)
			}
			for _, inc := range page.Items {
				if inc.OrganisationID != 1 && g != vigil.GrantFull {
					t.Errorf("%s: a query matched %s's notes", g, inc.Organisation)
				}
			}
			// Read-only, whatever the grant.
			_, err = s.Incidents.UpdateIncident(coordAdmin, northInc.ID, vigil.IncidentUpdate{Title: ptr("x"), Version: 99})
			if c := vigil.ErrorCode(err); c != vigil.EFORBIDDEN && c != vigil.ENOTFOUND {
				t.Errorf("%s: the coordinator's admin changed north's incident: %v", g, err)
			}
			_, err = s.Timeline.AddNote(coordAdmin, northInc.ID, vigil.Note{Message: "x"})
			if c := vigil.ErrorCode(err); c != vigil.EFORBIDDEN && c != vigil.ENOTFOUND {
				t.Errorf("%s: the coordinator's admin added a note: %v", g, err)
			}
			// The other member sees nothing, whatever north grants.
			if _, err := s.Incidents.FindIncidentByID(southResp, northInc.ID); vigil.ErrorCode(err) != vigil.ENOTFOUND {
				t.Errorf("%s: south sees north's incident: %v", g, err)
			}
		}
		check(vigil.GrantNone)
		grant(vigil.GrantSummary)
		check(vigil.GrantSummary)
		grant(vigil.GrantFull)
		check(vigil.GrantFull)
		grant(vigil.GrantNone)
		check(vigil.GrantNone)
	})

	t.Run("ReportUp", func(t *testing.T) {
		rep, err := s.Orgs.ReportUp(northResp, northInc.ID, vigil.ReportUp{Share: []string{vigil.ShareObservables}, Message: "Treatment works 3 only."})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Update || rep.CoordinatorIncidentReference == "" || rep.IncidentReference != northInc.Reference || rep.Organisation != "north" ||
			!slices.Equal(rep.Shared, []string{"summary", "observables"}) {
			t.Errorf("report: %+v", rep)
		}
		// The coordinator has it in triage as its own; the member's stays the member's.
		coord, err := s.Incidents.FindIncidentByReference(coordResp, rep.CoordinatorIncidentReference)
		if err != nil {
			t.Fatal(err)
		}
		cur := MustFindIncident(t, northResp, s, northInc.ID)
		if coord.Organisation != vigil.DefaultOrganisationSlug || coord.Status != vigil.StatusTriage || coord.Source != vigil.SourceMember ||
			coord.Title != cur.Title || coord.Severity != cur.Severity || coord.CreatedBy != nil || coord.SummaryOnly {
			t.Errorf("the coordinator's incident: %+v", coord)
		}
		obs, err := s.Observables.FindObservables(coordResp, coord.ID)
		if err != nil || len(obs) != 1 || obs[0].Value != ip {
			t.Errorf("observables shared: %v %+v", err, obs)
		}
		if duties, err := s.Duties.FindObligations(coordResp, coord.ID); err != nil || len(duties) != 0 {
			t.Errorf("the coordinator took on the member's duties: %v %d", err, len(duties))
		}
		if _, err := s.Incidents.FindIncidentByID(coordResp, northInc.ID); vigil.ErrorCode(err) != vigil.ENOTFOUND {
			t.Errorf("reporting up opened the member's incident to the coordinator: %v", err)
		}
		if _, err := s.Incidents.FindIncidentByID(northResp, coord.ID); vigil.ErrorCode(err) != vigil.ENOTFOUND {
			t.Errorf("the member sees the coordinator's incident: %v", err)
		}
		// Both sides see the link and what was shared.
		for _, side := range []struct {
			ctx context.Context
			id  int64
		}{{northResp, northInc.ID}, {coordResp, coord.ID}} {
			reps, err := s.Orgs.FindUpwardReports(side.ctx, side.id)
			if err != nil || len(reps) != 1 || reps[0].CoordinatorIncidentReference != coord.Reference || reps[0].IncidentReference != northInc.Reference {
				t.Errorf("reports seen from %d: %v %+v", side.id, err, reps)
			}
		}
		if _, err := s.Orgs.FindUpwardReports(southResp, northInc.ID); vigil.ErrorCode(err) != vigil.ENOTFOUND {
			t.Errorf("south read north's reports: %v", err)
		}
		tl := func(ctx context.Context, id int64, want string) {
			t.Helper()
			page, err := s.Timeline.FindTimeline(ctx, id, vigil.TimelineFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(page.Items, func(e *vigil.TimelineEntry) bool { return strings.Contains(e.Message, want) }) {
				t.Errorf("timeline of %d has no %q", id, want)
			}
		}
		tl(northResp, northInc.ID, "Reported to Default organisation")
		tl(coordResp, coord.ID, "Reported by North Water")
		tl(coordResp, coord.ID, "Treatment works 3 only.")

		// Again: an update on the same incident, not a second one.
		before, _ := s.Incidents.CountIncidents(coordResp, vigil.IncidentFilter{})
		again, err := s.Orgs.ReportUp(northResp, northInc.ID, vigil.ReportUp{Message: "Contained."})
		if err != nil || !again.Update || again.CoordinatorIncidentID != coord.ID {
			t.Errorf("second report: %v %+v", err, again)
		}
		if after, _ := s.Incidents.CountIncidents(coordResp, vigil.IncidentFilter{}); after != before {
			t.Errorf("a second report made another incident: %d, then %d", before, after)
		}
		tl(coordResp, coord.ID, "Contained.")

		// Refused: TLP:RED, the coordinator's own, a viewer, another organisation's.
		_, err = s.Orgs.ReportUp(northResp, northRed.ID, vigil.ReportUp{})
		wantField(t, err, "tlp")
		_, err = s.Orgs.ReportUp(coordResp, coordInc.ID, vigil.ReportUp{})
		wantField(t, err, "incident")
		_, err = s.Orgs.ReportUp(both, southInc.ID, vigil.ReportUp{})
		wantCode(t, err, vigil.EFORBIDDEN)
		_, err = s.Orgs.ReportUp(southResp, northInc.ID, vigil.ReportUp{})
		wantCode(t, err, vigil.ENOTFOUND)
		_, err = s.Orgs.ReportUp(northResp, northInc.ID, vigil.ReportUp{Share: []string{"everything"}})
		wantField(t, err, "share")
	})
}
