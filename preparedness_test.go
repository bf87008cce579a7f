package vigil_test

import (
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
)

func TestAssessReadiness(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	ago := func(d int) *time.Time { t := now.AddDate(0, 0, -d); return &t }
	def := func(ts ...vigil.IncidentType) *vigil.PlanDefinition { return &vigil.PlanDefinition{Types: ts} }
	in := vigil.ReadinessInput{
		Plans: []*vigil.Plan{
			{ID: 1, Title: "Phishing", Version: 2, ApprovedVersion: 2, ReviewDue: now.AddDate(0, 3, 0), Definition: def(vigil.TypePhishing)},
			{ID: 2, Title: "Ransomware", Version: 1, ReviewDue: now.AddDate(1, 0, 0), Definition: def(vigil.TypeRansomware, vigil.TypeMalware)},
			{ID: 3, Title: "DDoS", Version: 1, ApprovedVersion: 1, ReviewDue: now.AddDate(0, 0, -1), Definition: def(vigil.TypeDenialOfService)},
			{ID: 4, Title: "Breach", Version: 3, ApprovedVersion: 2, ReviewDue: now.AddDate(0, 6, 0), Definition: def(vigil.TypeDataBreach)},
		},
		Contacts: []*vigil.Contact{
			{Name: "Dana", Roles: []vigil.ContactRole{vigil.ContactDPO, vigil.ContactLegal}, VerifiedAt: ago(30)},
			{Name: "Old Dana", Roles: []vigil.ContactRole{vigil.ContactDPO}, VerifiedAt: ago(400)},
			{Name: "Comms", Roles: []vigil.ContactRole{vigil.ContactCommunications}, VerifiedAt: ago(200)},
			{Organisation: "Acme IR", Roles: []vigil.ContactRole{vigil.ContactCIRSupplier}},
		},
		LastBackup:    &vigil.RecoveryCheck{OK: false, At: *ago(1), Detail: "disk full"},
		LastBackupOK:  &vigil.RecoveryCheck{OK: true, At: *ago(3)},
		LastRestore:   &vigil.RecoveryCheck{OK: true, At: *ago(100)},
		LastRestoreOK: &vigil.RecoveryCheck{OK: true, At: *ago(100)},
		OpenActions:   []*vigil.Action{{Task: &vigil.Task{DueAt: ago(2)}}, {Task: &vigil.Task{DueAt: ago(-5)}}, {Task: &vigil.Task{}}},
		LastExercise:  map[int64]time.Time{1: *ago(100), 3: *ago(500)},
	}
	got := map[string]vigil.ReadinessState{}
	details := map[string]string{}
	for _, it := range vigil.AssessReadiness(in, now) {
		got[it.Area+"/"+it.Title] = it.State
		details[it.Area+"/"+it.Title] = it.Detail
	}
	want := map[string]vigil.ReadinessState{
		"plans/Phishing": vigil.ReadyOK, "plans/Ransomware": vigil.ReadyDue, "plans/DDoS": vigil.ReadyDue, "plans/Breach": vigil.ReadyDue,
		"plans/Incident types without a plan": vigil.ReadyMissing,
		"exercises/Phishing":                  vigil.ReadyOK, "exercises/Ransomware": vigil.ReadyMissing, "exercises/DDoS": vigil.ReadyDue, "exercises/Breach": vigil.ReadyMissing,
		"contacts/Data protection officer (DPO)": vigil.ReadyOK, "contacts/Legal": vigil.ReadyOK, "contacts/Communications": vigil.ReadyDue, "contacts/Executive": vigil.ReadyMissing,
		"contacts/IT operations": vigil.ReadyMissing, "contacts/Incident response supplier (CIR)": vigil.ReadyDue,
		"recovery/Backup of Vigil": vigil.ReadyDue, "recovery/Tested restore of Vigil": vigil.ReadyDue,
		"lessons/Review action items": vigil.ReadyDue,
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %s (%s), want %s", k, got[k], details[k], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d items, want %d: %v", len(got), len(want), got)
	}
	for k, w := range map[string]string{
		"plans/Incident types without a plan":    "unauthorised access, unauthorised use, unauthorised modification, insider misuse, supply chain, lost device",
		"lessons/Review action items":            "3 open, 1 past due.",
		"contacts/Data protection officer (DPO)": "Dana: confirmed 1 Nov 2026.",
		"plans/Breach":                           "Version 3 awaits approval (version 2 is approved).",
	} {
		if details[k] != w {
			t.Errorf("%s: %q, want %q", k, details[k], w)
		}
	}
	// Nothing at all: every recovery item is missing, no actions is fine.
	for _, it := range vigil.AssessReadiness(vigil.ReadinessInput{}, now) {
		if it.Area == "recovery" && it.State != vigil.ReadyMissing || it.Area == "lessons" && it.State != vigil.ReadyOK {
			t.Errorf("empty: %+v", it)
		}
	}
}
