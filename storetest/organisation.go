package storetest

import (
	"context"
	"errors"
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
		task := &vigil.Task{IncidentID: inc.ID, Title: "Re-image the HMI"}
		if err := s.Tasks.CreateTask(ctx, task); err != nil {
			t.Fatal(err)
		}
		obs, err := s.Observables.AddObservables(ctx, inc.ID, []*vigil.Observable{{Type: vigil.ObsIPv4, Value: "203.0.113.9"}})
		if err != nil {
			t.Fatal(err)
		}
		c := &vigil.Comment{IncidentID: inc.ID, Body: "Who had the HMI password?"}
		if err := s.Comments.CreateComment(ctx, c); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Orgs.UpdateOrganisation(sys, "east", vigil.OrganisationUpdate{Suspended: ptr(true), Version: o.Version}); err != nil {
			t.Fatal(err)
		}
		if got := MustFindIncident(t, ctx, s, inc.ID); got.Title != inc.Title {
			t.Errorf("a suspended organisation's incident is no longer readable")
		}
		_, err = s.Incidents.UpdateIncident(ctx, inc.ID, vigil.IncidentUpdate{Title: ptr("changed"), Version: inc.Version})
		wantCode(t, err, vigil.EFORBIDDEN)
		_, err = s.Timeline.AddNote(ctx, inc.ID, vigil.Note{Message: "x"})
		wantCode(t, err, vigil.EFORBIDDEN)
		err = s.Incidents.CreateIncident(ctx, &vigil.Incident{Title: "Another"})
		wantField(t, err, "organisation")
		// What hangs off its incidents is read-only too.
		_, err = s.Tasks.UpdateTask(ctx, task.ID, vigil.TaskUpdate{Title: ptr("changed"), Version: task.Version})
		wantCode(t, err, vigil.EFORBIDDEN)
		_, err = s.Observables.UpdateObservable(ctx, obs[0].ID, vigil.ObservableUpdate{Description: ptr("changed"), Version: obs[0].Version})
		wantCode(t, err, vigil.EFORBIDDEN)
		wantCode(t, s.Observables.DeleteObservable(ctx, obs[0].ID), vigil.EFORBIDDEN)
		_, err = s.Comments.UpdateComment(ctx, c.ID, "changed", c.Version)
		wantCode(t, err, vigil.EFORBIDDEN)
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
		inc := MustCreateIncident(t, ctx, s, &vigil.Incident{Title: title + " kingfisher", Organisation: org, Status: vigil.StatusConfirmed,
			PersonalData: true}) // so that it has duties due
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
	// The IDs of a task and an observable of each incident, for the
	// reads by ID.
	childIDs := map[int64]struct{ task, observable int64 }{}
	for _, inc := range all {
		tasks, _, err := s.Tasks.FindTasks(SystemContext(t), vigil.TaskFilter{IncidentID: &inc.ID})
		if err != nil {
			t.Fatal(err)
		}
		obs, err := s.Observables.FindObservables(SystemContext(t), inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		ids := childIDs[inc.ID]
		if len(tasks) > 0 {
			ids.task = tasks[0].ID
		}
		if len(obs) > 0 {
			ids.observable = obs[0].ID
		}
		childIDs[inc.ID] = ids
	}
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
				_, reads["FindAppliedPlans"] = s.Plans.FindAppliedPlans(c.ctx, inc.ID)
				if t := childIDs[inc.ID].task; t != 0 {
					_, reads["FindTaskByID"] = s.Tasks.FindTaskByID(c.ctx, t)
				}
				if o := childIDs[inc.ID].observable; o != 0 {
					_, reads["FindObservableByID"] = s.Observables.FindObservableByID(c.ctx, o)
				}
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
			// The lists across incidents.
			if tasks, _, err := s.Tasks.FindTasks(c.ctx, vigil.TaskFilter{}); err == nil {
				for _, tk := range tasks {
					if !slices.Contains(seen, tk.IncidentID) {
						t.Errorf("FindTasks listed a task of incident %d", tk.IncidentID)
					}
				}
			}
			if due, err := s.Duties.FindDueObligations(c.ctx, time.Now().AddDate(1, 0, 0), 500); err == nil {
				if len(due) == 0 && c.name != "NorthReporter" {
					t.Errorf("FindDueObligations lists none")
				}
				for _, o := range due {
					if !slices.Contains(seen, o.IncidentID) {
						t.Errorf("FindDueObligations listed a duty of %s", o.Incident.Reference)
					}
				}
			}
			if acts, err := s.Reviews.FindOpenActions(c.ctx); err == nil {
				for _, a := range acts {
					if !slices.Contains(seen, a.Task.IncidentID) {
						t.Errorf("FindOpenActions listed an action of incident %d", a.Task.IncidentID)
					}
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
		// Evidence too: the upload and the check of a file.
		ev := &vigil.Evidence{IncidentID: southInc.ID, Name: "signal-log.csv"}
		if err := s.Evidence.AddEvidence(southResp, ev, strings.NewReader("t,signal\n")); err != nil {
			t.Fatal(err)
		}
		wantCode(t, s.Evidence.AddEvidence(both, &vigil.Evidence{IncidentID: southInc.ID, Name: "x.txt"}, strings.NewReader("x")), vigil.EFORBIDDEN)
		_, err = s.Evidence.VerifyEvidence(both, ev.ID)
		wantCode(t, err, vigil.EFORBIDDEN)
		_, err = s.Evidence.TransferEvidence(both, ev.ID, vigil.Transfer{To: "Police"})
		wantCode(t, err, vigil.EFORBIDDEN)
		if _, _, err := s.Evidence.ViewEvidence(both, ev.ID); err != nil {
			t.Errorf("a viewer in south could not view its evidence: %v", err)
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

	t.Run("DefaultOrganisationPlans", func(t *testing.T) {
		// The response plans are the default organisation's, read through
		// a role in it: a member's people reach none through their own
		// incidents, and their reviews' actions go to their own people.
		if _, err := s.Plans.InstallStarterPlans(SystemContext(t)); err != nil {
			t.Fatal(err)
		}
		plans, err := s.Plans.FindPlans(coordResp)
		if err != nil || len(plans) == 0 {
			t.Fatalf("plans: %v %d", err, len(plans))
		}
		_, err = s.Plans.ApplyPlan(northResp, northInc.ID, plans[0].ID, true)
		wantCode(t, err, vigil.EFORBIDDEN)
		_, err = s.Plans.ApplyPlan(northResp, northInc.ID, plans[0].ID, false)
		wantCode(t, err, vigil.EFORBIDDEN)
		inc := MustCreateIncident(t, northResp, s, &vigil.Incident{Title: "Telemetry outage", Status: vigil.StatusConfirmed})
		if _, err := s.Incidents.TransitionIncident(northResp, inc.ID, vigil.Transition{To: vigil.StatusRecovered, Version: inc.Version}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Reviews.StartReview(northResp, inc.ID); err != nil {
			t.Fatal(err)
		}
		_, err = s.Reviews.AddAction(northResp, inc.ID, vigil.ActionInput{Title: "Tune the alarms", PlanID: &plans[0].ID, PlanChange: "Add a step"})
		wantField(t, err, "plan_id")
		_, southUser := orgUser(t, s, map[string]vigil.Role{"south": vigil.RoleResponder})
		_, err = s.Reviews.AddAction(northResp, inc.ID, vigil.ActionInput{Title: "Tune the alarms", AssigneeID: &southUser.ID})
		wantField(t, err, "assignee_id")

		// A plan's next version closes the actions it adopts, on incidents
		// where its writer may change tasks: not as a viewer in north.
		var rw *vigil.Plan
		for _, p := range plans {
			if p.Title == "Ransomware" {
				rw = p
			}
		}
		if rw == nil {
			t.Fatal("no Ransomware plan")
		}
		proposer, _ := orgUser(t, s, map[string]vigil.Role{"default": vigil.RoleViewer, "north": vigil.RoleResponder})
		act, err := s.Reviews.AddAction(proposer, inc.ID, vigil.ActionInput{Title: "Patch the edge", PlanID: &rw.ID, PlanChange: "Add a step"})
		if err != nil {
			t.Fatal(err)
		}
		planMgr, _ := orgUser(t, s, map[string]vigil.Role{"default": vigil.RoleManager, "north": vigil.RoleViewer})
		src := strings.Replace(rw.Source, "## Detect", "### Patch the edge {#patch-edge}\nOwner: technical\n\n## Detect", 1)
		_, err = s.Plans.UpdatePlan(planMgr, rw.ID, vigil.PlanInput{Source: src, Version: rw.Version, Adopts: []int64{act.Task.ID}})
		wantField(t, err, "adopts")
		if got, err := s.Tasks.FindTaskByID(northResp, act.Task.ID); err != nil || got.Status != vigil.TaskOpen {
			t.Errorf("a viewer in north closed its review action: %v %+v", err, got)
		}
	})

	t.Run("DefaultOrganisationIntel", func(t *testing.T) {
		// The TAXII collections and the alerts are the default
		// organisation's, reached through a role in it: a member's people
		// neither read nor fill its collections, nor see its alerts' hits.
		sys := SystemContext(t)
		integ := &vigil.Integration{Name: "coord-edr", Kind: vigil.IntegrationAlertmanager}
		mustIntegration(t, s, sys, integ)
		a := alertIn(integ, "osprey-1", "Beacon to osprey", vigil.SeverityHigh, vigil.AlertFiring, nil)
		a.Observables = []vigil.ObservableInput{{Type: vigil.ObsDomain, Value: "osprey.example"}}
		mustIngest(t, s, integ, a)
		if _, err := s.Observables.AddObservables(northResp, northInc.ID, []*vigil.Observable{{Type: vigil.ObsDomain, Value: "osprey.example"}}); err != nil {
			t.Fatal(err)
		}
		coll := &vigil.Collection{Title: "Coordinator intel"}
		if err := s.Sharing.CreateCollection(sys, coll); err != nil {
			t.Fatal(err)
		}
		ind := indicator(7001, `[domain-name:value = 'osprey.example']`, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), vigil.TLPGreen, `,"name":"Osprey C2"`)
		if _, err := s.Sharing.AddObjects(sys, coll.ID, []*vigil.IncomingObject{ind}, nil); err != nil {
			t.Fatal(err)
		}
		// Matching takes what was committed a while ago (PostgreSQL's
		// commit lag): from here on the store's clock runs a minute ahead.
		s.SetNow(func() time.Time { return time.Now().Add(time.Minute) })
		if n := matchAll(t, s, 1000); n < 2 {
			t.Fatalf("hits: %d, want the alert's and north's", n)
		}
		for _, ctx := range []context.Context{northResp, northAdmin, northReporter} {
			if cs, err := s.Sharing.FindCollections(ctx); err != nil || len(cs) != 0 {
				t.Errorf("a member's collections: %v %d", err, len(cs))
			}
			_, err := s.Sharing.FindCollection(ctx, coll.ID)
			wantCode(t, err, vigil.ENOTFOUND)
			_, err = s.Sharing.FindObjects(ctx, coll.ID, vigil.ObjectFilter{})
			wantCode(t, err, vigil.ENOTFOUND)
			_, err = s.Sharing.AddObjects(ctx, coll.ID, []*vigil.IncomingObject{indicator(7002, `[domain-name:value = 'x.example']`, time.Now(), vigil.TLPGreen, ``)}, nil)
			wantCode(t, err, vigil.ENOTFOUND)
		}
		page, err := s.IOC.FindHits(northResp, vigil.HitFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Hits) != 1 {
			t.Errorf("north's responder sees %d hits, want its incident's", len(page.Hits))
		}
		for _, h := range page.Hits {
			if h.IncidentID == nil || *h.IncidentID != northInc.ID {
				t.Errorf("north's responder sees a hit on alert %v (%q)", h.AlertID, h.AlertTitle)
			}
			_, err := s.IOC.ShareHit(northResp, h.ID, coll.ID, nil)
			wantCode(t, err, vigil.EFORBIDDEN)
			// Nor, as for its incidents' indicators, by one of the
			// coordinator's people who works in north too.
			inBoth, _ := orgUser(t, s, map[string]vigil.Role{"default": vigil.RoleResponder, "north": vigil.RoleResponder})
			_, err = s.IOC.ShareHit(inBoth, h.ID, coll.ID, nil)
			wantCode(t, err, vigil.EFORBIDDEN)
		}
		if page, err := s.IOC.FindHits(northReporter, vigil.HitFilter{}); vigil.ErrorCode(err) != vigil.EFORBIDDEN {
			t.Errorf("north's reporter sees hits: %v %+v", err, page)
		}
		page, err = s.IOC.FindHits(coordResp, vigil.HitFilter{})
		if err != nil || len(page.Hits) != 1 || page.Hits[0].AlertID == nil {
			t.Errorf("the coordinator's responder sees: %v %+v", err, page)
		}
	})

	t.Run("DefaultOrganisationContacts", func(t *testing.T) {
		// The key contacts and the checks of the install's backups are
		// the default organisation's: a member's people, who hold no role
		// in it, see none of its contacts (the authorities' public routes
		// serve their duties) and none of its checks.
		c := &vigil.Contact{Name: "Robin Crane", Organisation: "The CERT", Roles: []vigil.ContactRole{vigil.ContactDPO},
			Email: "dpo@cert.example", Phone: "01632 960001"}
		if err := s.Contacts.CreateContact(SystemContext(t), c); err != nil {
			t.Fatal(err)
		}
		if cs, err := s.Contacts.FindContacts(coordResp); err != nil || len(cs) != 1 {
			t.Errorf("the coordinator's contacts: %v %d", err, len(cs))
		}
		for _, ctx := range []context.Context{northResp, northAdmin} {
			if cs, err := s.Contacts.FindContacts(ctx); err != nil || len(cs) != 0 {
				t.Errorf("a member's people read the coordinator's contacts: %v %d", err, len(cs))
			}
			_, _, err := s.Recovery.LastRecoveryChecks(ctx)
			wantCode(t, err, vigil.EFORBIDDEN)
		}
		// Nor its profile (its name, its DPO): theirs is their own.
		p, err := s.Duties.FindProfile(coordAdmin)
		if err != nil {
			t.Fatal(err)
		}
		p.Name, p.DPO = "The CERT", "Robin Crane, dpo@cert.example"
		if err := s.Duties.UpdateProfile(coordAdmin, p); err != nil {
			t.Fatal(err)
		}
		for _, ctx := range []context.Context{northResp, northReporter} {
			_, err := s.Duties.FindProfile(ctx)
			wantCode(t, err, vigil.EFORBIDDEN)
			if own, err := s.Duties.FindOrgProfile(ctx, "north"); err != nil || own.DPO == p.DPO {
				t.Errorf("north's own profile: %v %+v", err, own)
			}
		}
		if got, err := s.Duties.FindProfile(coordResp); err != nil || got.DPO != p.DPO {
			t.Errorf("the coordinator's responder reads its profile: %v %+v", err, got)
		}
	})

	t.Run("Notifications", func(t *testing.T) {
		// The channels are the default organisation's, its people's
		// subscriptions hear only of what they may read, and the delivery
		// log is read as the incidents are. A member's duty escalates to
		// its own people, not to the coordinator's DPO.
		sys := SystemContext(t)
		mail := &vigil.Channel{Name: "CERT mail", Kind: vigil.ChannelEmail, Enabled: true, Escalation: true,
			SMTP: &vigil.SMTPConfig{Host: "smtp.example.org", From: "vigil@cert.example", To: []string{"soc@cert.example"}}}
		if err := s.Notify.CreateChannel(sys, mail); err != nil {
			t.Fatal(err)
		}
		hook := &vigil.Channel{Name: "CERT chat", Kind: vigil.ChannelWebhook, URL: "https://chat.cert.example/hook", Enabled: true}
		if err := s.Notify.CreateChannel(sys, hook); err != nil {
			t.Fatal(err)
		}
		if err := s.Notify.CreateSubscription(coordAdmin, &vigil.Subscription{ChannelID: hook.ID, Events: vigil.EventKinds}); err != nil {
			t.Fatal(err)
		}
		dpo := &vigil.Contact{Name: "Sam Teal", Roles: []vigil.ContactRole{vigil.ContactDPO}, Email: "teal@cert.example"}
		if err := s.Contacts.CreateContact(sys, dpo); err != nil {
			t.Fatal(err)
		}
		lead := &vigil.User{Username: "north-lead", Name: "North Lead", Email: "lead@north.example"}
		if err := s.Users.CreateUser(sys, lead, "correct horse battery staple"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Orgs.AddMember(sys, "north", lead.Username, vigil.RoleManager); err != nil {
			t.Fatal(err)
		}
		leadCtx := loginContext(t, s, lead.Username)
		if err := s.Notify.CreateSubscription(leadCtx, &vigil.Subscription{ChannelID: mail.ID, Events: vigil.EventKinds}); err != nil {
			t.Fatal(err)
		}
		inc := MustCreateIncident(t, leadCtx, s, &vigil.Incident{Title: "Customer records emailed out", Status: vigil.StatusConfirmed,
			PersonalData: true, LeadID: &lead.ID})
		obs, err := s.Duties.FindObligations(leadCtx, inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		ico := obligation(t, obs, "ico-notification")
		expandAll(t, s, "org-w")
		if _, err := s.Worker.Schedule(workerCtx(), ico.DueAt.Add(time.Minute), 0); err != nil {
			t.Fatal(err)
		}
		expandAll(t, s, "org-w")
		all, err := s.Notify.FindDeliveries(sys, vigil.DeliveryFilter{IncidentID: inc.ID, Limit: 500})
		if err != nil || len(all) == 0 {
			t.Fatalf("deliveries about north's incident: %v %d", err, len(all))
		}
		escalated := false
		for _, d := range all {
			if d.ChannelID == hook.ID {
				t.Errorf("the coordinator's admin heard of north's incident: %s", d.Message.Subject)
			}
			if slices.Contains(d.Recipients, dpo.Email) {
				t.Errorf("the coordinator's DPO was sent %s (redacted: %v)", d.Message.Subject, d.Message.Redacted)
			}
			escalated = escalated || slices.Contains(d.Recipients, lead.Email) && d.Event == vigil.EventDutyOverdue
		}
		if !escalated {
			t.Errorf("the overdue duty did not escalate to its lead: %+v", all)
		}
		for _, ctx := range []context.Context{coordAdmin, coordResp, southResp} {
			ds, err := s.Notify.FindDeliveries(ctx, vigil.DeliveryFilter{Limit: 500})
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range ds {
				if d.IncidentID != nil && *d.IncidentID == inc.ID {
					t.Errorf("the delivery log shows %q to another organisation", d.Message.Subject)
				}
			}
		}
		_, err = s.Notify.RetryDelivery(coordAdmin, all[0].ID)
		wantCode(t, err, vigil.ENOTFOUND)
		if ds, err := s.Notify.FindDeliveries(leadCtx, vigil.DeliveryFilter{IncidentID: inc.ID}); err != nil || len(ds) == 0 {
			t.Errorf("north's lead reads its incident's deliveries: %v %d", err, len(ds))
		}
		// They fail; an administrator of both retries one, which is
		// audited as about north's incident.
		jobs, err := s.Worker.ClaimJobs(workerCtx(), "org-d", []string{vigil.JobDeliver}, 100, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs {
			if err := s.Worker.Delivered(workerCtx(), "org-d", j, errors.New("connection refused"), time.Time{}); err != nil {
				t.Fatal(err)
			}
		}
		failed, err := s.Notify.FindDeliveries(sys, vigil.DeliveryFilter{IncidentID: inc.ID, Status: vigil.DeliveryFailed})
		if err != nil || len(failed) == 0 {
			t.Fatalf("failed deliveries: %v %d", err, len(failed))
		}
		admins, _ := orgUser(t, s, map[string]vigil.Role{"default": vigil.RoleAdmin, "north": vigil.RoleAdmin})
		if _, err := s.Notify.RetryDelivery(admins, failed[0].ID); err != nil {
			t.Fatal(err)
		}
		if events, err := s.Audit.FindAuditEvents(coordAdmin, vigil.AuditFilter{Action: "delivery.retry"}); err != nil || len(events) != 0 {
			t.Errorf("the install's auditors read the retry of north's delivery: %v %d", err, len(events))
		}
		if events, err := s.Audit.FindAuditEvents(northAdmin, vigil.AuditFilter{Action: "delivery.retry"}); err != nil || len(events) != 1 {
			t.Errorf("north's admin reads %d retries of its delivery: %v", len(events), err)
		}
	})

	t.Run("Packs", func(t *testing.T) {
		// A change of duty pack evaluates again the duties of the open
		// incidents its writer may change: it neither stumbles on (and so
		// tells of) the members' incidents, nor changes them, those a
		// member lets the coordinator see included (grants are to read).
		crime := MustCreateIncident(t, northResp, s, &vigil.Incident{Title: "Extortion email", Status: vigil.StatusConfirmed, CrimeSuspected: true})
		setGrant := func(g vigil.Grant) {
			t.Helper()
			cur, err := s.Orgs.FindOrganisation(northAdmin, "north")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Orgs.UpdateOrganisation(northAdmin, "north", vigil.OrganisationUpdate{CoordinatorGrant: &g, Version: cur.Version}); err != nil {
				t.Fatal(err)
			}
		}
		setGrant(vigil.GrantFull)
		defer setGrant(vigil.GrantNone)
		insurer := `{"id": "insurer", "name": "Cyber insurance policy", "version": 1, "basis": "Policy 12345, clause 7.2",
			"duties": [{"id": "notify", "title": "Tell the insurer", "authority": "Insurer", "basis": "Clause 7.2", "clock": "aware_at",
				"when": {"fact": "crime_suspected", "eq": true, "why": "a crime is suspected"},
				"stages": [{"id": "notice", "name": "Notice of a claim", "due": "48h"}], "contact": "insurer"}]}`
		if _, err := s.Duties.SavePack(coordAdmin, []byte(insurer)); err != nil {
			t.Fatalf("the coordinator's admin saves a pack: %v", err)
		}
		obs, err := s.Duties.FindObligations(northResp, crime.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range obs {
			if o.Pack == "insurer" {
				t.Errorf("the coordinator's pack change wrote on north's incident: %+v", o)
			}
		}
		if err := s.Duties.DeletePack(coordAdmin, "insurer"); err != nil {
			t.Errorf("the coordinator's admin deletes a pack: %v", err)
		}
		p, err := s.Duties.FindProfile(coordAdmin)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Duties.UpdateProfile(coordAdmin, p); err != nil {
			t.Errorf("the coordinator's admin changes its profile: %v", err)
		}
	})

	t.Run("ChildWritesAudited", func(t *testing.T) {
		// A write that loads a task, an observable or a comment rather
		// than its incident still works on the incident's organisation:
		// its audit events are north's, which the install's auditors do
		// not read.
		tasks, _, err := s.Tasks.FindTasks(northResp, vigil.TaskFilter{IncidentID: &northInc.ID})
		if err != nil || len(tasks) == 0 {
			t.Fatalf("tasks: %v %d", err, len(tasks))
		}
		if _, err := s.Tasks.UpdateTask(northResp, tasks[0].ID, vigil.TaskUpdate{Title: ptr("Reset heron passwords"), Version: tasks[0].Version}); err != nil {
			t.Fatal(err)
		}
		obs, err := s.Observables.AddObservables(northResp, northInc.ID, []*vigil.Observable{{Type: vigil.ObsDomain, Value: "heron.example"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Observables.UpdateObservable(northResp, obs[0].ID, vigil.ObservableUpdate{Description: ptr("heron C2"), Version: obs[0].Version}); err != nil {
			t.Fatal(err)
		}
		if err := s.Observables.DeleteObservable(northResp, obs[0].ID); err != nil {
			t.Fatal(err)
		}
		c := &vigil.Comment{IncidentID: northInc.ID, Body: "Draft"}
		if err := s.Comments.CreateComment(northResp, c); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Comments.UpdateComment(northResp, c.ID, "heron comment", c.Version); err != nil {
			t.Fatal(err)
		}
		heron := func(ctx context.Context) (n int) {
			t.Helper()
			events, err := s.Audit.FindAuditEvents(ctx, vigil.AuditFilter{Limit: vigil.MaxPageSize})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range events {
				if strings.Contains(string(e.Before)+string(e.After), "heron") {
					n++
				}
			}
			return n
		}
		if n := heron(coordAdmin); n != 0 {
			t.Errorf("the install's auditors read %d events of north's incident", n)
		}
		// observable.create, .update and .delete; task.update; comment.update.
		if n := heron(northAdmin); n != 5 {
			t.Errorf("north's admin reads %d events of its incident, want 5", n)
		}

		// A write on incidents of two organisations (by someone who works
		// in both) is neither the install's nor one of theirs alone.
		linker, _ := orgUser(t, s, map[string]vigil.Role{"north": vigil.RoleResponder, "south": vigil.RoleResponder})
		l := &vigil.Link{IncidentID: northInc.ID, TargetID: southInc.ID, Kind: vigil.LinkRelated, Note: "Same heron phishing kit"}
		if err := s.Links.CreateLink(linker, l); err != nil {
			t.Fatal(err)
		}
		if n := heron(coordAdmin); n != 0 {
			t.Errorf("the install's auditors read the link of north's and south's incidents")
		}
		if n := heron(northAdmin); n != 5 {
			t.Errorf("north's admin reads %d events, want 5: the link is south's too", n)
		}
	})

	t.Run("Recurrence", func(t *testing.T) {
		// An incident linked as a recurrence of another organisation's
		// (by someone who works in both) counts as a recurrence only for
		// those who see both, as the link shows only to them.
		linker, _ := orgUser(t, s, map[string]vigil.Role{"north": vigil.RoleResponder, "south": vigil.RoleResponder})
		if err := s.Links.CreateLink(linker, &vigil.Link{IncidentID: northInc.ID, TargetID: southInc.ID, Kind: vigil.LinkRecurrenceOf}); err != nil {
			t.Fatal(err)
		}
		f := vigil.MetricsFilter{From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Hour)}
		if m, _, err := s.Metrics.IncidentMetrics(northResp, f); err != nil || m.Recurrences != 0 {
			t.Errorf("north's responder counts a recurrence of south's incident: %v", err)
		}
		if m, _, err := s.Metrics.IncidentMetrics(linker, f); err != nil || m.Recurrences != 1 {
			t.Errorf("one who sees both does not count the recurrence: %v", err)
		}
	})
	t.Run("WritesMatrix", func(t *testing.T) {
		// Every write on south's incident, by a viewer there who is a
		// responder (or a manager) in north, is refused and changes nothing
		// (a task or an observable, loaded for a write through the
		// visibility narrowed to where the actor may change things, is
		// not found; the incident itself is forbidden).
		mgrBoth, _ := orgUser(t, s, map[string]vigil.Role{"north": vigil.RoleManager, "south": vigil.RoleViewer})
		tasks, _, err := s.Tasks.FindTasks(southResp, vigil.TaskFilter{IncidentID: &southInc.ID})
		if err != nil || len(tasks) == 0 {
			t.Fatalf("south's tasks: %v %d", err, len(tasks))
		}
		obs, err := s.Observables.FindObservables(southResp, southInc.ID)
		if err != nil || len(obs) == 0 {
			t.Fatalf("south's observables: %v %d", err, len(obs))
		}
		evs, err := s.Evidence.FindEvidence(southResp, southInc.ID)
		if err != nil || len(evs) == 0 {
			t.Fatalf("south's evidence: %v %d", err, len(evs))
		}
		_, southPeer := orgUser(t, s, map[string]vigil.Role{"south": vigil.RoleResponder})
		before := MustFindIncident(t, southResp, s, southInc.ID)
		writes := map[string]func(ctx context.Context) error{
			"AddObservables": func(ctx context.Context) error {
				_, err := s.Observables.AddObservables(ctx, southInc.ID, []*vigil.Observable{{Type: vigil.ObsIPv4, Value: "192.0.2.200"}})
				return err
			},
			"UpdateObservable": func(ctx context.Context) error {
				_, err := s.Observables.UpdateObservable(ctx, obs[0].ID, vigil.ObservableUpdate{IOC: ptr(true), Version: obs[0].Version})
				return err
			},
			"DeleteObservable": func(ctx context.Context) error { return s.Observables.DeleteObservable(ctx, obs[0].ID) },
			"UpdateTask": func(ctx context.Context) error {
				_, err := s.Tasks.UpdateTask(ctx, tasks[0].ID, vigil.TaskUpdate{Status: ptr(vigil.TaskDone), Version: tasks[0].Version})
				return err
			},
			"ReorderTasks": func(ctx context.Context) error {
				_, err := s.Tasks.ReorderTasks(ctx, southInc.ID, []int64{tasks[0].ID})
				return err
			},
			"CreateComment": func(ctx context.Context) error {
				return s.Comments.CreateComment(ctx, &vigil.Comment{IncidentID: southInc.ID, Body: "x"})
			},
			"CreateLink": func(ctx context.Context) error {
				return s.Links.CreateLink(ctx, &vigil.Link{IncidentID: southInc.ID, TargetID: northInc.ID, Kind: vigil.LinkRelated})
			},
			"AddMember": func(ctx context.Context) error {
				_, err := s.Members.AddMember(ctx, southInc.ID, southPeer.ID, vigil.RoleScribe)
				return err
			},
			"Transition": func(ctx context.Context) error {
				_, err := s.Incidents.TransitionIncident(ctx, southInc.ID, vigil.Transition{To: vigil.StatusContained, Version: before.Version})
				return err
			},
			"MarkDuplicate": func(ctx context.Context) error {
				_, err := s.Incidents.TransitionIncident(ctx, southInc.ID, vigil.Transition{To: vigil.StatusDuplicate, DuplicateOf: northInc.ID, Version: before.Version})
				return err
			},
			"StartReview": func(ctx context.Context) error {
				_, err := s.Reviews.StartReview(ctx, southInc.ID)
				return err
			},
			"TransferEvidence": func(ctx context.Context) error {
				_, err := s.Evidence.TransferEvidence(ctx, evs[0].ID, vigil.Transfer{To: "x"})
				return err
			},
			"SetLegalHold": func(ctx context.Context) error {
				_, err := s.Evidence.SetLegalHold(ctx, evs[0].ID, true, "x")
				return err
			},
			"DeleteEvidence": func(ctx context.Context) error { return s.Evidence.DeleteEvidence(ctx, evs[0].ID, "x") },
			"ExportEvidence": func(ctx context.Context) error {
				_, err := s.Evidence.ExportEvidence(ctx, southInc.ID)
				return err
			},
		}
		for name, write := range writes {
			for who, ctx := range map[string]context.Context{"responder": both, "manager": mgrBoth} {
				if err := write(ctx); err == nil {
					t.Errorf("%s: a %s in north who views south did it on south's incident", name, who)
				} else if c := vigil.ErrorCode(err); c == vigil.EINTERNAL {
					t.Errorf("%s by a %s in north: %v", name, who, err)
				}
			}
		}
		if after := MustFindIncident(t, southResp, s, southInc.ID); after.Version != before.Version {
			t.Errorf("south's incident changed: version %d, was %d", after.Version, before.Version)
		}
	})
	t.Run("AlertFedIncident", func(t *testing.T) {
		// One of the coordinator's triagers who works in north too feeds
		// an alert group into north's incident: the coordinator's other
		// people still see their alerts, and not which incident they fed.
		sys := SystemContext(t)
		integ := &vigil.Integration{Name: "coord-ids", Kind: vigil.IntegrationAlertmanager}
		mustIntegration(t, s, sys, integ)
		res := mustIngest(t, s, integ, alertIn(integ, "egret-1", "Egret scan from the water works", vigil.SeverityMedium, vigil.AlertFiring, nil))
		triager, _ := orgUser(t, s, map[string]vigil.Role{"default": vigil.RoleResponder, "north": vigil.RoleResponder})
		if _, err := s.Alerts.ActOnGroups(triager, vigil.GroupAction{Action: "attach", GroupIDs: res.GroupIDs[:1], IncidentID: northInc.ID}); err != nil {
			t.Fatal(err)
		}
		if g, err := s.Alerts.FindAlertGroupByID(triager, res.GroupIDs[0]); err != nil || g.IncidentID == nil || *g.IncidentID != northInc.ID {
			t.Errorf("the triager does not see the incident the group feeds: %v %+v", err, g)
		}
		g, err := s.Alerts.FindAlertGroupByID(coordResp, res.GroupIDs[0])
		if err != nil {
			t.Fatal(err)
		}
		if g.IncidentID != nil || g.Incident != nil {
			t.Errorf("the coordinator's responder sees the group feed incident %v", *g.IncidentID)
		}
		for _, a := range g.Alerts {
			if a.IncidentID != nil {
				t.Errorf("the group's alert names incident %d", *a.IncidentID)
			}
		}
		page, err := s.Alerts.FindAlertGroups(coordResp, vigil.AlertGroupFilter{States: vigil.GroupStates, IntegrationID: integ.ID})
		if err != nil || len(page.Groups) != 1 || page.Groups[0].IncidentID != nil {
			t.Errorf("the queue names north's incident: %v %+v", err, page)
		}
		alerts, err := s.Alerts.FindAlerts(coordResp, vigil.AlertFilter{IntegrationID: integ.ID})
		if err != nil || len(alerts) != 1 || alerts[0].IncidentID != nil {
			t.Errorf("the alert list names north's incident: %v %+v", err, alerts)
		}
		if a, err := s.Alerts.FindAlertByID(coordResp, res.AlertIDs[0]); err != nil || a.IncidentID != nil {
			t.Errorf("the alert names north's incident: %v %+v", err, a)
		}
	})
	t.Run("ReportUpAudited", func(t *testing.T) {
		// A report up writes in two organisations: the coordinator's
		// incident is the coordinator's, in its audit log; the report is
		// the member's act on its own incident, in the member's.
		inc := MustCreateIncident(t, northResp, s, &vigil.Incident{Title: "Grebe outage at the pumping station", Status: vigil.StatusConfirmed})
		rep, err := s.Orgs.ReportUp(northResp, inc.ID, vigil.ReportUp{Message: "grebe"})
		if err != nil {
			t.Fatal(err)
		}
		events := func(ctx context.Context, action, id string) int {
			t.Helper()
			es, err := s.Audit.FindAuditEvents(ctx, vigil.AuditFilter{Action: action, ObjectID: id})
			if err != nil {
				t.Fatal(err)
			}
			return len(es)
		}
		coordID, northID := fmt.Sprint(rep.CoordinatorIncidentID), fmt.Sprint(inc.ID)
		if n := events(coordAdmin, "incident.create", coordID); n != 1 {
			t.Errorf("the coordinator's auditors read %d creations of their incident, want 1", n)
		}
		if n := events(northAdmin, "incident.report_up", northID); n != 1 {
			t.Errorf("north's admin reads %d reports up of its incident, want 1", n)
		}
		if n := events(northAdmin, "incident.create", coordID); n != 0 {
			t.Errorf("north's admin reads the creation of the coordinator's incident")
		}
	})
}
