package storetest

import (
	"context"
	"testing"

	"github.com/vigil-ir/vigil"
)

// testVisibility checks that a TLP:RED incident is visible only to its
// lead, creator, members and admins — in every read path — and that
// reporters see only their own reports.
func testVisibility(t *testing.T, open Opener) {
	s := open(t)
	creatorCtx, _ := MustCreateUser(t, s, vigil.RoleResponder)
	adminCtx, _ := MustCreateUser(t, s, vigil.RoleAdmin)
	mgrCtx, _ := MustCreateUser(t, s, vigil.RoleManager)
	memberCtx, member := MustCreateUser(t, s, vigil.RoleViewer)
	leadCtx, lead := MustCreateUser(t, s, vigil.RoleResponder)
	outsiderCtx, _ := MustCreateUser(t, s, vigil.RoleResponder)
	viewerCtx, _ := MustCreateUser(t, s, vigil.RoleViewer)
	reporterCtx, _ := MustCreateUser(t, s, vigil.RoleReporter)
	otherReporterCtx, _ := MustCreateUser(t, s, vigil.RoleReporter)

	red := MustCreateIncident(t, creatorCtx, s, &vigil.Incident{Title: "Board member account takeover zebrafish", TLP: vigil.TLPRed})
	if _, err := s.Members.AddMember(adminCtx, red.ID, member.ID, vigil.RoleLegal); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Members.AddMember(adminCtx, red.ID, lead.ID, vigil.RoleLead); err != nil {
		t.Fatal(err)
	}
	red = MustFindIncident(t, adminCtx, s, red.ID)
	if _, err := s.Timeline.AddNote(leadCtx, red.ID, vigil.Note{Message: "zebrafish note only members may read"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Observables.AddObservables(leadCtx, red.ID, []*vigil.Observable{{Type: vigil.ObsIPv4, Value: "203.0.113.66"}}); err != nil {
		t.Fatal(err)
	}
	amber := MustCreateIncident(t, creatorCtx, s, &vigil.Incident{Title: "Ordinary zebrafish phishing", TLP: vigil.TLPAmberStrict})
	if _, err := s.Observables.AddObservables(creatorCtx, amber.ID, []*vigil.Observable{{Type: vigil.ObsIPv4, Value: "203.0.113.66"}}); err != nil {
		t.Fatal(err)
	}
	reported := MustCreateIncident(t, reporterCtx, s, &vigil.Incident{Title: "My laptop was stolen zebrafish"})

	type who struct {
		name       string
		ctx        context.Context
		red, amber bool
		reported   bool
	}
	cases := []who{
		{"Creator", creatorCtx, true, true, true},
		{"Admin", adminCtx, true, true, true},
		{"Manager", mgrCtx, false, true, true},
		{"Member", memberCtx, true, true, true},
		{"Lead", leadCtx, true, true, true},
		{"Outsider", outsiderCtx, false, true, true},
		{"Viewer", viewerCtx, false, true, true},
		{"Reporter", reporterCtx, false, false, true},
		{"OtherReporter", otherReporterCtx, false, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			check := func(what string, id int64, want bool) {
				t.Helper()
				_, err := s.Incidents.FindIncidentByID(c.ctx, id)
				if want && err != nil {
					t.Errorf("%s: FindIncidentByID: %v, want visible", what, err)
				} else if !want {
					wantCode(t, err, vigil.ENOTFOUND)
				}
				_, err = s.Timeline.FindTimeline(c.ctx, id, vigil.TimelineFilter{})
				if (err == nil) != want {
					t.Errorf("%s: FindTimeline err = %v, want visible=%v", what, err, want)
				}
				_, err = s.Observables.FindObservables(c.ctx, id)
				if (err == nil) != want {
					t.Errorf("%s: FindObservables err = %v, want visible=%v", what, err, want)
				}
			}
			check("red", red.ID, c.red)
			check("amber", amber.ID, c.amber)
			check("reported", reported.ID, c.reported)

			want := 0
			for _, v := range []bool{c.red, c.amber, c.reported} {
				if v {
					want++
				}
			}
			page, err := s.Incidents.FindIncidents(c.ctx, vigil.IncidentFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Items) != want {
				t.Errorf("FindIncidents = %d incidents, want %d", len(page.Items), want)
			}
			n, err := s.Incidents.CountIncidents(c.ctx, vigil.IncidentFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if n != want {
				t.Errorf("CountIncidents = %d, want %d", n, want)
			}
			page, err = s.Incidents.FindIncidents(c.ctx, vigil.IncidentFilter{Query: "zebrafish"})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Items) != want {
				t.Errorf("FindIncidents(q=zebrafish) = %d incidents, want %d", len(page.Items), want)
			}
			n, err = s.Incidents.CountIncidents(c.ctx, vigil.IncidentFilter{Query: "zebrafish"})
			if err != nil {
				t.Fatal(err)
			}
			if n != want {
				t.Errorf("CountIncidents(q=zebrafish) = %d, want %d", n, want)
			}
			hits, err := s.Search.Search(c.ctx, vigil.SearchQuery{Query: "zebrafish"})
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range hits {
				if h.Incident.ID == red.ID && !c.red {
					t.Errorf("Search found the TLP:RED incident's %s", h.Kind)
				}
				if h.Incident.ID == reported.ID && !c.reported {
					t.Errorf("Search found another reporter's incident")
				}
			}
			refs, err := s.Observables.FindSightings(c.ctx, vigil.ObsIPv4, "203.0.113.66", 10)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range refs {
				if r.ID == red.ID && !c.red {
					t.Errorf("FindSightings revealed the TLP:RED incident")
				}
			}
			if c.amber {
				obs, err := s.Observables.FindObservables(c.ctx, amber.ID)
				if err != nil {
					t.Fatal(err)
				}
				wantSeen := 0
				if c.red {
					wantSeen = 1
				}
				if len(obs) != 1 || obs[0].SeenCount != wantSeen || len(obs[0].SeenIn) != wantSeen {
					t.Errorf("observable seen in %d (%v), want %d", obs[0].SeenCount, obs[0].SeenIn, wantSeen)
				}
			}
		})
	}

	t.Run("LosingMembershipHides", func(t *testing.T) {
		if err := s.Members.RemoveMember(adminCtx, red.ID, member.ID, vigil.RoleLegal); err != nil {
			t.Fatal(err)
		}
		_, err := s.Incidents.FindIncidentByID(memberCtx, red.ID)
		wantCode(t, err, vigil.ENOTFOUND)
	})

	t.Run("OutsiderCannotWrite", func(t *testing.T) {
		_, err := s.Incidents.UpdateIncident(outsiderCtx, red.ID, vigil.IncidentUpdate{Title: ptr("x"), Version: red.Version})
		wantCode(t, err, vigil.ENOTFOUND)
		_, err = s.Timeline.AddNote(outsiderCtx, red.ID, vigil.Note{Message: "x"})
		wantCode(t, err, vigil.ENOTFOUND)
		err = s.Tasks.CreateTask(outsiderCtx, &vigil.Task{IncidentID: red.ID, Title: "x"})
		wantCode(t, err, vigil.ENOTFOUND)
		err = s.Links.CreateLink(outsiderCtx, &vigil.Link{IncidentID: amber.ID, TargetID: red.ID, Kind: vigil.LinkRelated})
		wantField(t, err, "target_id")
	})
}
