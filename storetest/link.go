package storetest

import (
	"testing"

	"github.com/vigil-ir/vigil"
)

func testLink(t *testing.T, open Opener) {
	s := open(t)
	ctx, _ := MustCreateUser(t, s, vigil.RoleResponder)
	a := MustCreateIncident(t, ctx, s, &vigil.Incident{Title: "A"})
	b := MustCreateIncident(t, ctx, s, &vigil.Incident{Title: "B"})
	c := MustCreateIncident(t, ctx, s, &vigil.Incident{Title: "C"})

	rel := &vigil.Link{IncidentID: a.ID, TargetID: b.ID, Kind: vigil.LinkRelated, Note: "Same phishing kit"}
	if err := s.Links.CreateLink(ctx, rel); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.Links.CreateLink(ctx, &vigil.Link{IncidentID: a.ID, TargetID: b.ID, Kind: vigil.LinkRelated}), vigil.ECONFLICT)
	wantCode(t, s.Links.CreateLink(ctx, &vigil.Link{IncidentID: b.ID, TargetID: a.ID, Kind: vigil.LinkRelated}), vigil.ECONFLICT)
	if err := s.Links.CreateLink(ctx, &vigil.Link{IncidentID: c.ID, TargetID: a.ID, Kind: vigil.LinkRecurrenceOf}); err != nil {
		t.Fatal(err)
	}
	wantField(t, s.Links.CreateLink(ctx, &vigil.Link{IncidentID: a.ID, TargetID: a.ID, Kind: vigil.LinkRelated}), "target_id")
	wantField(t, s.Links.CreateLink(ctx, &vigil.Link{IncidentID: a.ID, TargetID: c.ID, Kind: "friend_of"}), "kind")

	links, err := s.Links.FindLinks(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(links) != 2 {
		t.Fatalf("links of A = %d, want 2", len(links))
	}
	if l := links[0]; l.Target.Reference != b.Reference || l.Inbound || l.Note != "Same phishing kit" {
		t.Errorf("first link = %+v, want outbound related to B", l)
	}
	if l := links[1]; l.Target.ID != c.ID || !l.Inbound || l.Kind != vigil.LinkRecurrenceOf {
		t.Errorf("second link = %+v, want C's recurrence_of pointing here", l)
	}
	fromB, err := s.Links.FindLinks(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(fromB) != 1 || fromB[0].Target.ID != a.ID || !fromB[0].Inbound {
		t.Errorf("links of B = %+v, want the related link to A", fromB)
	}
	if err := s.Links.DeleteLink(ctx, rel.ID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.Links.DeleteLink(ctx, rel.ID), vigil.ENOTFOUND)
}
