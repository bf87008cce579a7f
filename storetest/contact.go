package storetest

import (
	"testing"

	"github.com/vigil-ir/vigil"
)

func testContact(t *testing.T, open Opener) {
	s := open(t)
	mgr, _ := MustCreateUser(t, s, vigil.RoleManager)
	viewer, _ := MustCreateUser(t, s, vigil.RoleViewer)
	reporter, _ := MustCreateUser(t, s, vigil.RoleReporter)
	c := &vigil.Contact{Name: "Dana Patel", Organisation: "Anytown Council", Roles: []vigil.ContactRole{vigil.ContactDPO, vigil.ContactDPO, vigil.ContactLegal},
		Phone: "01632 960000", Email: "dpo@anytown.example", OutOfHours: "Mobile 07700 900000"}
	if err := s.Contacts.CreateContact(viewer, c); vigil.ErrorCode(err) != vigil.EFORBIDDEN {
		t.Errorf("viewer adds a contact: %v", err)
	}
	if err := s.Contacts.CreateContact(mgr, c); err != nil {
		t.Fatal(err)
	}
	if len(c.Roles) != 2 {
		t.Errorf("roles not deduplicated: %v", c.Roles)
	}
	bad := &vigil.Contact{Roles: []vigil.ContactRole{"astrologer"}, Email: "not an address"}
	err := s.Contacts.CreateContact(mgr, bad)
	for _, f := range []string{"name", "roles", "email"} {
		if !hasField(err, f) {
			t.Errorf("bad contact: no problem at %s (%v)", f, vigil.ErrorFields(err))
		}
	}
	list, err := s.Contacts.FindContacts(viewer)
	if err != nil || len(list) != 1 || list[0].Email != "dpo@anytown.example" || !list[0].Has(vigil.ContactLegal) {
		t.Fatalf("contacts: %v %+v", err, list)
	}
	// Reporters may read incidents (their own), so they see whom to call.
	if _, err := s.Contacts.FindContacts(reporter); err != nil {
		t.Errorf("reporter: %v", err)
	}
	c.Phone = "01632 960001"
	if err := s.Contacts.UpdateContact(mgr, c); err != nil || c.Version != 2 {
		t.Fatalf("update: %v %d", err, c.Version)
	}
	stale := *c
	stale.Version = 1
	if err := s.Contacts.UpdateContact(mgr, &stale); vigil.ErrorCode(err) != vigil.ECONFLICT {
		t.Errorf("stale update: %v", err)
	}
	if err := s.Contacts.DeleteContact(mgr, c.ID); err != nil {
		t.Fatal(err)
	}
	if list, _ = s.Contacts.FindContacts(viewer); len(list) != 0 {
		t.Errorf("after delete: %+v", list)
	}
}
