package vigil_test

import (
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
)

// Duties are evaluated on every incident write: the profile's zone is
// loaded once, not read from the zone files each time.
func TestOrgProfileLocation(t *testing.T) {
	p := &vigil.OrgProfile{Timezone: "Europe/Paris"}
	a, err := p.Location()
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Location()
	if err != nil {
		t.Fatal(err)
	}
	if a != b || a.String() != "Europe/Paris" {
		t.Fatalf("Location() = %p %v, then %p %v; want one loaded Europe/Paris", a, a, b, b)
	}
	def, err := (&vigil.OrgProfile{}).Location()
	if err != nil || def.String() != "Europe/London" {
		t.Fatalf("default zone = %v, %v; want Europe/London", def, err)
	}
	for range 2 { // an unknown zone is an error every time, not cached
		if _, err := (&vigil.OrgProfile{Timezone: "Mars/Olympus"}).Location(); err == nil {
			t.Fatal("unknown zone accepted")
		}
	}
	if err := (&vigil.OrgProfile{Timezone: "Mars/Olympus"}).Validate(); err == nil {
		t.Fatal("Validate accepted an unknown zone")
	}
}

// TestObligationSetLate: a submission after the due time is late, and
// asks for the reasons for the delay until they are recorded.
func TestObligationSetLate(t *testing.T) {
	due := time.Date(2026, 6, 13, 14, 30, 0, 0, time.UTC)
	now := due.Add(48 * time.Hour)
	at := func(d time.Duration) *time.Time { t := due.Add(d); return &t }
	for _, c := range []struct {
		name              string
		o                 vigil.Obligation
		late, unexplained bool
	}{
		{"pending, before", vigil.Obligation{Status: vigil.ObligationPending, DueAt: at(49 * time.Hour)}, false, false},
		{"pending, after", vigil.Obligation{Status: vigil.ObligationPending, DueAt: at(0)}, true, false},
		{"submitted on time", vigil.Obligation{Status: vigil.ObligationSubmitted, DueAt: at(0), SubmittedAt: at(-time.Minute)}, false, false},
		{"submitted at the due time", vigil.Obligation{Status: vigil.ObligationSubmitted, DueAt: at(0), SubmittedAt: at(0)}, false, false},
		{"submitted late, no reasons", vigil.Obligation{Status: vigil.ObligationSubmitted, DueAt: at(0), SubmittedAt: at(time.Minute)}, true, true},
		{"submitted late, reasons given", vigil.Obligation{Status: vigil.ObligationSubmitted, DueAt: at(0), SubmittedAt: at(time.Minute), LateReason: "Logs."}, true, false},
		{"not required", vigil.Obligation{Status: vigil.ObligationNotRequired, DueAt: at(0)}, false, false},
		{"as soon as possible", vigil.Obligation{Status: vigil.ObligationSubmitted, ASAP: true, SubmittedAt: at(0)}, false, false},
	} {
		o := c.o
		o.SetLate(now)
		if o.Late != c.late || o.DelayUnexplained != c.unexplained {
			t.Errorf("%s: late %v, unexplained %v; want %v, %v", c.name, o.Late, o.DelayUnexplained, c.late, c.unexplained)
		}
	}
}

// TestOrgProfileWeekendRelief: DORA's weekend and bank holiday relief is
// off unless the profile takes it up; an essential or important entity
// under NIS2 may take it for final reports only (Delegated Regulation
// (EU) 2025/301 Art. 5(5)); bank holidays are dates, kept sorted once each.
func TestOrgProfileWeekendRelief(t *testing.T) {
	if p := vigil.DefaultOrgProfile(); p.DORAWeekendRelief != "" || p.BankHolidays == nil || len(p.BankHolidays) != 0 {
		t.Errorf("default profile: relief %q, bank holidays %v", p.DORAWeekendRelief, p.BankHolidays)
	}
	field := func(err error) string {
		if fs := vigil.ErrorFields(err); len(fs) > 0 {
			return fs[0].Field
		}
		return ""
	}
	for _, c := range []struct {
		name string
		p    vigil.OrgProfile
		want string // the field at fault, "" for none
	}{
		{"strict", vigil.OrgProfile{DORA: true}, ""},
		{"all", vigil.OrgProfile{DORA: true, DORAWeekendRelief: "all"}, ""},
		{"final, NIS2 essential", vigil.OrgProfile{DORA: true, NIS2: "essential", DORAWeekendRelief: "final"}, ""},
		{"all, NIS2 important", vigil.OrgProfile{DORA: true, NIS2: "important", DORAWeekendRelief: "all"}, "dora_weekend_relief"},
		{"not a DORA entity", vigil.OrgProfile{DORAWeekendRelief: "final"}, "dora_weekend_relief"},
		{"unknown value", vigil.OrgProfile{DORA: true, DORAWeekendRelief: "weekends"}, "dora_weekend_relief"},
		{"bank holidays", vigil.OrgProfile{DORA: true, BankHolidays: []string{"2026-12-25", " 2026-12-28", "2026-12-25"}}, ""},
		{"not a date", vigil.OrgProfile{DORA: true, BankHolidays: []string{"25/12/2026"}}, "bank_holidays"},
	} {
		p := c.p
		if got := field(p.Validate()); got != c.want {
			t.Errorf("%s: problem at %q, want %q", c.name, got, c.want)
		}
	}
	p := vigil.OrgProfile{DORA: true, BankHolidays: []string{"2026-12-28", " 2026-12-25", "2026-12-28"}}
	if err := p.Validate(); err != nil || len(p.BankHolidays) != 2 || p.BankHolidays[0] != "2026-12-25" || p.BankHolidays[1] != "2026-12-28" {
		t.Errorf("bank holidays kept as %q (%v)", p.BankHolidays, err)
	}
}
