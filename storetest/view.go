package storetest

import (
	"testing"

	"github.com/vigil-ir/vigil"
)

func testView(t *testing.T, open Opener) {
	s := open(t)
	ctx, _ := MustCreateUser(t, s, vigil.RoleResponder)
	other, _ := MustCreateUser(t, s, vigil.RoleResponder)
	v := &vigil.SavedView{Name: " My triage ", Query: "?status=triage&severity=high&cursor=abc"}
	if err := s.Views.CreateView(ctx, v); err != nil {
		t.Fatal(err)
	}
	if v.Name != "My triage" || v.Query != "severity=high&status=triage" {
		t.Errorf("prepared view: %+v", v)
	}
	if err := s.Views.CreateView(ctx, &vigil.SavedView{Name: "My triage", Query: "status=confirmed"}); !hasField(err, "name") {
		t.Errorf("duplicate name: %v", err)
	}
	if err := s.Views.CreateView(ctx, &vigil.SavedView{Name: "", Query: "x=%zz"}); !hasField(err, "name") || !hasField(err, "query") {
		t.Errorf("bad view: %v", err)
	}
	mine, err := s.Views.FindViews(ctx)
	if err != nil || len(mine) != 1 || mine[0].ID != v.ID {
		t.Fatalf("views: %v %+v", err, mine)
	}
	// Views are personal.
	if theirs, _ := s.Views.FindViews(other); len(theirs) != 0 {
		t.Errorf("another user sees %+v", theirs)
	}
	if err := s.Views.DeleteView(other, v.ID); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Errorf("another user deletes: %v", err)
	}
	if err := s.Views.DeleteView(ctx, v.ID); err != nil {
		t.Fatal(err)
	}
	if mine, _ = s.Views.FindViews(ctx); len(mine) != 0 {
		t.Errorf("after delete: %+v", mine)
	}
}
