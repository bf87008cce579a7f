package storetest

import (
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
)

func testRecovery(t *testing.T, open Opener) {
	s := open(t)
	clk := newClock(s, time.Date(2026, 6, 1, 2, 0, 0, 0, time.UTC))
	mgr, _ := MustCreateUser(t, s, vigil.RoleManager)
	sys := SystemContext(t)

	last, lastOK, err := s.Recovery.LastRecoveryChecks(mgr)
	if err != nil || len(last) != 0 || len(lastOK) != 0 {
		t.Fatalf("empty: %v %v %v", err, last, lastOK)
	}
	wantCode(t, s.Recovery.RecordRecoveryCheck(mgr, &vigil.RecoveryCheck{Kind: vigil.RecoveryBackup, OK: true}), vigil.EFORBIDDEN)
	wantField(t, s.Recovery.RecordRecoveryCheck(sys, &vigil.RecoveryCheck{Kind: "guess"}), "kind")
	for _, c := range []*vigil.RecoveryCheck{
		{Kind: vigil.RecoveryBackup, OK: true, File: "/backups/a", Size: 100},
		{Kind: vigil.RecoveryRestoreTest, OK: true, Detail: "all good"},
		{Kind: vigil.RecoveryBackup, OK: false, File: "/backups/b", Detail: "disk full"},
		{Kind: vigil.RecoveryRestoreTest, OK: false, Detail: "audit chain broken"},
	} {
		clk.add(time.Hour)
		if err := s.Recovery.RecordRecoveryCheck(sys, c); err != nil {
			t.Fatal(err)
		}
	}
	last, lastOK, err = s.Recovery.LastRecoveryChecks(mgr)
	if err != nil {
		t.Fatal(err)
	}
	if b := last[vigil.RecoveryBackup]; b == nil || b.OK || b.File != "/backups/b" || b.Detail != "disk full" {
		t.Errorf("last backup: %+v", b)
	}
	if b := lastOK[vigil.RecoveryBackup]; b == nil || !b.OK || b.File != "/backups/a" || b.Size != 100 {
		t.Errorf("last good backup: %+v", b)
	}
	if r := lastOK[vigil.RecoveryRestoreTest]; r == nil || r.Detail != "all good" || !r.At.Equal(time.Date(2026, 6, 1, 4, 0, 0, 0, time.UTC)) {
		t.Errorf("last good restore test: %+v", r)
	}

	// Contacts are confirmed, and the time is kept.
	c := &vigil.Contact{Name: "Dana Patel", Roles: []vigil.ContactRole{vigil.ContactDPO}, Phone: "01632 960000"}
	if err := s.Contacts.CreateContact(mgr, c); err != nil {
		t.Fatal(err)
	}
	if c.VerifiedAt != nil {
		t.Error("a new contact is verified")
	}
	if c, err = s.Contacts.VerifyContact(mgr, c.ID); err != nil || c.VerifiedAt == nil || !c.VerifiedAt.Equal(clk.now()) {
		t.Fatalf("verify: %v %+v", err, c)
	}
	list, _ := s.Contacts.FindContacts(mgr)
	if len(list) != 1 || list[0].VerifiedAt == nil {
		t.Errorf("verified_at not kept: %+v", list)
	}
	_, err = s.Contacts.VerifyContact(mgr, 999)
	wantCode(t, err, vigil.ENOTFOUND)
}
