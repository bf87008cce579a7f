package storetest

import (
	"testing"

	"github.com/vigil-ir/vigil"
)

func testMember(t *testing.T, open Opener) {
	s := open(t)
	mctx, _ := MustCreateUser(t, s, vigil.RoleManager)
	rctx, responder := MustCreateUser(t, s, vigil.RoleResponder)
	_, dpo := MustCreateUser(t, s, vigil.RoleViewer)
	inc := MustCreateIncident(t, mctx, s, &vigil.Incident{})

	_, err := s.Members.AddMember(rctx, inc.ID, dpo.ID, vigil.RoleLegal)
	wantCode(t, err, vigil.EFORBIDDEN)
	if _, err := s.Members.AddMember(mctx, inc.ID, responder.ID, vigil.RoleLead); err != nil {
		t.Fatal(err)
	}
	// The lead may assign roles themselves.
	if _, err := s.Members.AddMember(rctx, inc.ID, dpo.ID, vigil.RoleLegal); err != nil {
		t.Fatal(err)
	}
	_, err = s.Members.AddMember(rctx, inc.ID, dpo.ID, vigil.RoleLegal)
	wantCode(t, err, vigil.ECONFLICT)
	_, err = s.Members.AddMember(rctx, inc.ID, dpo.ID, "tea_maker")
	wantField(t, err, "role")
	_, err = s.Members.AddMember(rctx, inc.ID, 987654, vigil.RoleScribe)
	wantField(t, err, "user_id")

	members, err := s.Members.FindMembers(mctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(members) != 2 || members[0].Role != vigil.RoleLead || members[0].UserID != responder.ID || members[1].Role != vigil.RoleLegal {
		t.Errorf("members = %+v, want the lead then legal", members)
	}
	if got := MustFindIncident(t, mctx, s, inc.ID); got.LeadID == nil || *got.LeadID != responder.ID {
		t.Errorf("LeadID = %v, want %d", got.LeadID, responder.ID)
	}
	page, err := s.Incidents.FindIncidents(mctx, vigil.IncidentFilter{MemberID: &dpo.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 {
		t.Errorf("incidents where the DPO has a role = %d, want 1", len(page.Items))
	}
	if err := s.Members.RemoveMember(mctx, inc.ID, responder.ID, vigil.RoleLead); err != nil {
		t.Fatal(err)
	}
	if got := MustFindIncident(t, mctx, s, inc.ID); got.LeadID != nil {
		t.Errorf("LeadID = %v after removing the lead, want nil", got.LeadID)
	}
	wantCode(t, s.Members.RemoveMember(mctx, inc.ID, responder.ID, vigil.RoleLead), vigil.ENOTFOUND)
}
